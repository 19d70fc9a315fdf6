// sync.go: the pending list: the list endpoint or the feed, the diff
// against what the UI holds, expiry, and the events that tell the UI.

package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/qapprove/qapprove/client"
)

// Start begins the background work: the expiry and auto-lock ticker, and
// the connection once the key is unlocked.
func (e *Engine) Start(ctx context.Context) {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return
	}
	e.started = true
	e.ctx, e.cancel = context.WithCancel(ctx)
	e.mu.Unlock()
	e.emit(e.conn(ConnOffline, time.Time{}, ""))
	// The self-test and the cache load run in the background, so the first
	// frame does not wait for them. A refresh waits for the cache, so that
	// it finds the cached actions and keeps those that did not change.
	cacheDone := make(chan struct{})
	e.mu.Lock()
	e.cacheDone = cacheDone
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(cacheDone)
		e.runSelftest()
		if n := e.loadCache(); n > 0 {
			e.listMu.Lock()
			e.emit(ActionsLoaded{Items: e.snapshot()})
			e.listMu.Unlock()
		}
	}()
	if e.sess.Locked() {
		e.emit(Notice{Text: "locked: unlock with your passphrase to connect and sign"})
	} else {
		e.connect()
	}
	e.wg.Add(1)
	go e.ticker()
	if e.gov.src != nil {
		e.wg.Add(1)
		go e.priceLoop()
	}
	if e.ship != nil {
		e.wg.Add(1)
		go e.shipLoop(e.ctx)
	}
}

// connect fetches a token, loads the pending actions and follows the feed.
func (e *Engine) connect() {
	e.mu.Lock()
	if !e.started || e.connecting {
		e.mu.Unlock()
		return
	}
	e.connecting = true
	ctx := e.ctx
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.SignIn(ctx); err != nil {
			e.emit(e.conn(ConnOffline, time.Time{}, "could not sign in: "+err.Error()))
			e.mu.Lock()
			e.connecting = false
			e.mu.Unlock()
			return
		}
		_ = e.Refresh(ctx) // a failure is already shown: Refresh emits a notice
		feed := make(chan client.FeedEvent, 256)
		go e.cl.Feed(ctx, feed)
		for {
			select {
			case <-ctx.Done():
				return
			case fe := <-feed:
				e.onFeed(ctx, fe)
			}
		}
	}()
}

// Refresh reloads the pending actions from the API. Pages are taken in as
// they arrive (keeping only the decoded payloads), so memory does not
// hold a second copy of a long list. When a list was already shown and
// little changed (a restart from the cache, a reconnect), only the changes
// go to the UI rather than the whole list again.
func (e *Engine) Refresh(ctx context.Context) error {
	e.mu.Lock()
	cacheDone := e.cacheDone
	e.mu.Unlock()
	if cacheDone != nil {
		select {
		case <-cacheDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := e.now()
	e.mu.Lock()
	items := make(map[string]held, len(e.items))
	e.mu.Unlock()
	err := e.cl.ListPages(ctx, func(page []*client.Action, skipped []client.Skipped) error {
		for _, sk := range skipped {
			e.emit(skippedNotice(sk))
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, a := range page {
			if !a.Pending(now) || e.decidedByMe(a) {
				continue
			}
			h := holding(a, a.Fingerprint())
			if old, ok := e.items[a.ID]; ok && old.fp == h.fp {
				h = old // unchanged: keep the copy already held
			}
			items[a.ID] = h
		}
		return nil
	})
	if errors.Is(err, client.ErrNoListEndpoint) {
		// The list is our extension: the real API may only have the feed.
		e.mu.Lock()
		first := !e.feedOnly
		e.feedOnly = true
		e.mu.Unlock()
		if first {
			e.emit(Notice{Text: "the API has no list endpoint: pending actions come from the feed (and the cache)"})
		}
		return err
	}
	if err != nil {
		e.emit(Notice{Text: "could not load pending actions: " + err.Error()})
		return err
	}
	e.listMu.Lock()
	defer e.listMu.Unlock()
	e.mu.Lock()
	old := e.items
	e.items = items
	e.loaded = true
	e.asOf = now
	changed, gone, few := listChanges(old, items, maxRefreshChanges)
	// Without a short list of changes, something changed unless both
	// lists are empty.
	e.cacheDirty = e.cacheDirty || len(changed)+len(gone) > 0 || (!few && len(old)+len(items) > 0)
	e.mu.Unlock()
	if !few {
		e.emit(ActionsLoaded{Items: e.snapshot()})
		return nil
	}
	for _, a := range changed {
		e.emit(ActionUpserted{Item: e.item(a)})
	}
	for _, a := range gone {
		e.emit(ActionRemoved{ID: a.ID, Why: removedWhy(a, now)})
	}
	return nil
}

// listChanges lists the actions of now that are new or replaced since
// before, and those of before that are gone. It stops, with few false,
// once there are more than limit changes (or before is empty).
func listChanges(before, now map[string]held, limit int) (changed, gone []*client.Action, few bool) {
	if len(before) == 0 {
		return nil, nil, false
	}
	for id, h := range now {
		if o, ok := before[id]; !ok || o.a != h.a {
			if changed = append(changed, h.a); len(changed) > limit {
				return nil, nil, false
			}
		}
	}
	for id, o := range before {
		if _, ok := now[id]; !ok {
			if gone = append(gone, o.a); len(changed)+len(gone) > limit {
				return nil, nil, false
			}
		}
	}
	return changed, gone, true
}

// eventBuffer is the capacity of the event channel.
const eventBuffer = 1024

// maxRefreshChanges is how many changes a refresh sends one by one; past
// it the whole list is sent again (the event channel holds 1024).
const maxRefreshChanges = 256

func (e *Engine) onFeed(ctx context.Context, fe client.FeedEvent) {
	if fe.Skipped != nil {
		e.emit(skippedNotice(*fe.Skipped))
		return
	}
	if fe.Action == nil {
		reason := ""
		if fe.Err != nil {
			reason = fe.Err.Error()
		}
		switch fe.State {
		case client.StateLive:
			e.mu.Lock()
			if e.feedOnly {
				e.asOf = e.now()
			}
			e.mu.Unlock()
			e.emit(e.conn(ConnLive, time.Time{}, ""))
			// After a reconnect, catch up on what happened while
			// disconnected (the first connection follows a fresh list).
			e.mu.Lock()
			again := e.wasLive
			e.wasLive = true
			e.mu.Unlock()
			if again {
				// A failure is already shown: Refresh emits a notice.
				go func() { _ = e.Refresh(ctx) }()
			}
		case client.StateReconnecting:
			e.emit(e.conn(ConnReconnecting, fe.RetryAt, reason))
		default:
			e.emit(e.conn(ConnOffline, time.Time{}, reason))
		}
		return
	}
	a := fe.Action
	now := e.now()
	e.mu.Lock()
	old, had := e.items[a.ID]
	if a.Pending(now) && !e.decidedByMe(a) {
		if had && old.fp == fe.Fingerprint {
			// Unchanged (the feed replays what is pending on every
			// connect): nothing to tell the UI.
			e.mu.Unlock()
			return
		}
		e.items[a.ID] = holding(a, fe.Fingerprint)
		e.cacheDirty = true
		e.mu.Unlock()
		e.emit(ActionUpserted{Item: e.item(a)})
		return
	}
	e.mu.Unlock()
	e.drop(a.ID, a, now)
}

// ticker drops expired actions, locks before the session deadline (so the
// checkpoint can still be signed) and saves the cache.
func (e *Engine) ticker() {
	defer e.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		now := e.now()
		for _, id := range e.expireDue(now) {
			e.emit(ActionRemoved{ID: id, Why: RemovedExpired})
		}
		if !e.sess.Locked() {
			if left := e.sess.UnlockedUntil().Sub(now); left <= 1500*time.Millisecond {
				e.Lock(e.sess.DeadlineReason())
			}
		}
		e.saveCacheIfDirty(false)
	}
}

// expireDue drops the actions whose expiry has passed and returns their
// IDs. It does not mark the cache for saving: loading it skips expired
// actions anyway, and rewriting a long list every time one expires would
// cost far more than it saves.
func (e *Engine) expireDue(now time.Time) []string {
	var expired []string
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, h := range e.items {
		if h.a.ExpiryKnown() && !now.Before(h.a.Expires) {
			expired = append(expired, id)
			e.forget(id)
		}
	}
	return expired
}

// snapshot is the current pending list with verdicts, soonest expiry
// first.
func (e *Engine) snapshot() []Item {
	list := e.Actions()
	items := make([]Item, len(list))
	for i, a := range list {
		items[i] = e.item(a)
	}
	return items
}

// Actions is the current pending list, soonest expiry first, without
// verdicts (a caller that needs the rules' full verdict runs Evaluate).
func (e *Engine) Actions() []*client.Action {
	e.mu.Lock()
	list := make([]*client.Action, 0, len(e.items))
	for _, h := range e.items {
		list = append(list, h.a)
	}
	e.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.ExpiryKnown() != b.ExpiryKnown() {
			return a.ExpiryKnown() // an unknown expiry sorts last
		}
		if !a.Expires.Equal(b.Expires) {
			return a.Expires.Before(b.Expires)
		}
		return a.ID < b.ID
	})
	return list
}

// Pending returns the current pending actions with their verdicts.
func (e *Engine) Pending() []Item { return e.snapshot() }

// drop forgets an action that is no longer pending (a is its latest
// state) and tells the UI why, if it was held.
func (e *Engine) drop(id string, a *client.Action, now time.Time) {
	e.mu.Lock()
	_, had := e.items[id]
	e.forget(id)
	e.cacheDirty = e.cacheDirty || had
	e.mu.Unlock()
	if had {
		e.emit(ActionRemoved{ID: id, Why: removedWhy(a, now)})
	}
}

// removedWhy is why a that left the pending list is gone: it expired, or
// it was decided elsewhere.
func removedWhy(a *client.Action, now time.Time) Removal {
	if a.Status == client.StatusExpired || (a.ExpiryKnown() && !now.Before(a.Expires)) {
		return RemovedExpired
	}
	return RemovedElsewhere
}

// held is one action of the pending list with its fingerprint.
type held struct {
	a  *client.Action
	fp uint64 // a.Fingerprint(), taken before slim
}

// holding slims a for the pending list and pairs it with fp, its
// fingerprint taken before (slim drops the raw payload it covers).
func holding(a *client.Action, fp uint64) held {
	slim(a)
	return held{a: a, fp: fp}
}

// slim drops what the console does not show of a held action, to keep
// memory flat at 100,000 actions: the raw payload bytes of an understood
// payload (RawPayload fetches them again) and the free-text description.
// A payload that is not understood keeps its raw bytes and why: they are
// all there is to show.
func slim(a *client.Action) {
	switch {
	case a.PayloadUnderstood():
		a.Detail = nil
	case a.Detail != nil:
		a.Detail = &client.ActionDetail{PayloadErr: a.Detail.PayloadErr, RawPayload: a.Detail.RawPayload}
	}
}

// forget drops an action from the pending list (e.mu held).
func (e *Engine) forget(id string) {
	delete(e.items, id)
}

// RawPayload implements the console's Backend: the payload exactly as the API sends
// it now (the engine keeps only the decoded form in memory).
func (e *Engine) RawPayload(ctx context.Context, id string) ([]byte, error) {
	e.mu.Lock()
	a := e.items[id].a
	e.mu.Unlock()
	if a != nil && len(a.RawPayload()) > 0 {
		return append([]byte(nil), a.RawPayload()...), nil
	}
	fresh, err := e.cl.GetAction(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("fetching the raw payload: %w", err)
	}
	if !fresh.HasPayload() {
		return nil, fmt.Errorf("the API's answer for %s carries no payload (it comes only on the feed); the details shown are decoded from the feed frame", id)
	}
	return fresh.RawPayload(), nil
}

// conn is a connection event with the list's state: feed-only or not,
// and when it was last known complete.
func (e *Engine) conn(state ConnState, retryAt time.Time, reason string) Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Conn{State: state, RetryAt: retryAt, Reason: reason, FeedOnly: e.feedOnly, AsOf: e.asOf}
}

// skippedNotice tells the operator about a malformed action that was left
// out (the others are shown).
func skippedNotice(sk client.Skipped) Notice {
	id := sk.ID
	if id == "" {
		id = "(no readable ID)"
	}
	return Notice{Text: "skipped a malformed action " + id + ": " + sk.Reason}
}
