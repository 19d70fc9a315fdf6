// Package app is the non-drawing core of qapprove that the console and
// the scripting commands share. It implements the console's Backend on the real
// packages: it loads the profile and the key bundle, keeps the unlock
// session, evaluates the governance rules, follows the feed, and performs
// decisions in the order sign → journal (fsync) → send → journal outcome.
package app

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/crypto/selftest"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

// ErrNoProfile is returned by Open when config.toml has no such profile.
var ErrNoProfile = errors.New("no such profile")

// ErrRebindNeeded is returned by Open when config.toml points the profile
// at another API base URL, workspace or API key than the one its key was
// registered with (recorded in the keystore bundle): a config edit must
// not redirect signatures. `qapprove keys rebind` changes it deliberately.
var ErrRebindNeeded = errors.New("the profile's settings differ from the ones its key is bound to")

// Options configure Open.
type Options struct {
	Paths    storage.Paths
	Profile  string
	Keystore string      // "keychain" or "file"
	KDF      secrets.KDF // the key-derivation policy (zero: production)
	Version  string
	Now      func() time.Time // nil = time.Now
	HTTP     client.Config    // optional client overrides (HTTP client, timeouts)
	// SelftestFailure, when set, replaces the built-in crypto self-test
	// with this failure (tests).
	SelftestFailure string
	// Rebinding opens a profile whose settings differ from the ones its
	// key is bound to, for `keys rebind` (Rebind) only.
	Rebinding bool
}

// Engine is the console's backend. Create it with Open, call Start to
// connect, and Close when done (it writes a signed checkpoint if it can,
// locks the key and closes the journal).
type Engine struct {
	opts     Options
	now      func() time.Time
	settings storage.Profile
	backend  secrets.Backend
	warning  string
	bundle   *secrets.Bundle
	pk       qbls.PublicKey
	sess     *secrets.Session
	rules    *governance.RuleSet
	jr       *journal.Journal
	recovery *journal.Recovery
	cl       *client.Client
	hist     *history // what this key already decided (the journal)

	selftestOK  bool   // guarded by mu
	selftestWhy string // guarded by mu

	out *outbox // the events for the subscriber

	mu    sync.Mutex
	items map[string]held // the pending list, by action ID

	// listMu orders the list events that describe the whole list (a
	// snapshot, or a refresh's changes against the last one), so a stale
	// snapshot never follows a newer refresh.
	listMu sync.Mutex

	verdictMu  sync.Mutex
	verdicts   map[string]Verdict // shared verdicts (see item)
	lockReason string
	lockLogged bool      // Lock journaled the lock (signed) before the session locked
	feedOnly   bool      // the API has no list endpoint: the list is the feed's
	asOf       time.Time // when the list was last known complete
	failures   int
	connecting bool
	started    bool
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	cacheDirty bool
	cacheSaved time.Time
	loaded     bool          // a list from the API has arrived
	wasLive    bool          // the feed has been live before
	cacheDone  chan struct{} // closed when the background cache load is over (nil: none started)
}

// Open loads everything the console needs; it does not touch the network.
func Open(o Options) (*Engine, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg, err := storage.LoadConfig(o.Paths.ConfigFile())
	if err != nil {
		return nil, err
	}
	prof, ok := cfg.Profiles[o.Profile]
	if !ok {
		return nil, fmt.Errorf("%w %q in %s: run `qapprove keys register` first", ErrNoProfile, o.Profile, o.Paths.ConfigFile())
	}
	if err := prof.Validate(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", o.Profile, err)
	}
	e := &Engine{opts: o, now: o.Now, settings: prof, items: map[string]held{}, verdicts: map[string]Verdict{}}
	e.out = newOutbox(eventBuffer, e.snapshot)
	e.backend, e.warning, err = secrets.OpenBackend(o.Keystore, o.Paths)
	if err != nil {
		return nil, err
	}
	e.bundle, err = secrets.LoadBundle(e.backend, o.Profile)
	if err != nil {
		return nil, err
	}
	if e.pk, err = e.bundle.BLSPublic(); err != nil {
		return nil, err
	}
	if err := checkBinding(o.Profile, prof, e.bundle); err != nil && !o.Rebinding {
		return nil, err
	}
	if f := prof.RulesPath(o.Paths); f != "" {
		e.rules, err = governance.LoadFile(f)
		if err != nil {
			return nil, err
		}
	} else {
		e.rules = governance.Default()
	}
	e.hist = newHistory()
	e.jr, e.recovery, err = journal.Open(o.Paths.JournalFile(o.Profile), journal.Options{
		Anchors:           Anchors(e.backend, o.Profile),
		ExpectedPublicKey: &e.pk,
		Profile:           o.Profile,
		Now:               o.Now,
		OnEntry:           e.hist.onEntry,
	})
	if err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	idle, abs := prof.LockTimeouts()
	e.sess = secrets.NewSession(e.bundle, secrets.SessionOptions{Idle: idle, Absolute: abs, Now: o.Now, OnEvent: e.onSessionEvent, KDF: o.KDF})
	hc := o.HTTP
	hc.BaseURL, hc.WorkspaceID, hc.APIKeyID = prof.APIBaseURL, prof.WorkspaceID, prof.APIKeyID
	hc.Credentials = sessionCredentials{e.sess}
	hc.Now = o.Now
	if prof.FeedURL != "" {
		hc.FeedURL = prof.FeedURL
	}
	if e.cl, err = client.New(hc); err != nil {
		e.jr.Close()
		return nil, err
	}
	return e, nil
}

// Recovery reports what opening the journal repaired (nil when nothing).
func (e *Engine) Recovery() *journal.Recovery { return e.recovery }

// Info implements the console's Backend.
func (e *Engine) Info() Info {
	return Info{
		Profile: e.opts.Profile, Workspace: e.settings.WorkspaceID, APIBase: e.settings.APIBaseURL,
		Keystore: e.backend.Kind(), KeystoreWarning: e.warning, Version: e.opts.Version,
		Bell: e.settings.Bell, ExpiryWarning: e.settings.ExpiryWarningBefore(),
	}
}

// Subscribe implements the console's Backend.
func (e *Engine) Subscribe() <-chan Event { return e.out.ch }

// emit reports ev to the subscriber: a state event is always delivered,
// in order; a notice may be dropped while the UI is behind (see outbox).
func (e *Engine) emit(ev Event) { e.out.emit(ev) }

// Locked implements the console's Backend.
func (e *Engine) Locked() (bool, time.Time) {
	if e.sess.Locked() {
		return true, time.Time{}
	}
	return false, e.sess.UnlockedUntil()
}

// UnlockBackoff implements the console's Backend.
func (e *Engine) UnlockBackoff() time.Duration { return e.sess.Backoff() }

// Unlock implements the console's Backend: runs the KDF, journals the unlock and
// connects to the API if not connected yet.
func (e *Engine) Unlock(passphrase []byte) error {
	err := e.sess.Unlock(passphrase)
	// scrypt at n=2^18 leaves 256 MiB of garbage: hand it back to the OS
	// now rather than keep it resident for minutes.
	debug.FreeOSMemory()
	if err != nil {
		return err
	}
	e.connect()
	return nil
}

// Lock implements the console's Backend: a signed checkpoint and a signed lock
// entry, then the lock, so a run that ends locked leaves nothing unsealed.
func (e *Engine) Lock(reason string) {
	if e.sess.Locked() {
		return
	}
	e.checkpoint(reason)
	_, err := e.jr.AppendSigned(journal.KindLock, journal.LockBody{Reason: reason}, e.signer())
	e.mu.Lock()
	e.lockReason, e.lockLogged = reason, err == nil
	e.mu.Unlock()
	e.sess.Lock()
}

// Touch implements the console's Backend.
func (e *Engine) Touch() { e.sess.Touch() }

// SelftestOK reports whether signing is allowed by the self-test, and
// why not. Until the self-test has run, signing is refused.
func (e *Engine) SelftestOK() (bool, string) {
	done, ok, why := e.Selftest()
	if !done {
		return false, "the crypto self-test is still running"
	}
	return ok, why
}

// Selftest implements the console's Backend.
func (e *Engine) Selftest() (done, ok bool, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.selftestOK || e.selftestWhy != "", e.selftestOK, e.selftestWhy
}

// Abandon implements the console's Backend: it journals a decision that was started
// and not completed (unsigned; sealed by the next signed entry).
func (e *Engine) Abandon(d Decision, why string) error {
	decision := "reject"
	if d.Approve {
		decision = "approve"
	}
	_, err := e.jr.Append(journal.KindAbandoned, journal.AbandonedBody{ActionID: d.ActionID, Decision: decision, Why: why})
	return err
}

// Notify implements the console's Backend.
func (e *Engine) Notify(title, body string) {
	if e.notifyOn() {
		notify(title, body)
	}
}

// Rebind binds the profile's key to the API base URL config.toml now
// gives (Options.Rebinding): the key must be unlocked, so only its owner
// can do it, and the change is journaled, signed. A changed workspace or
// API key ID is not rebound: the key is registered for one API key.
func (e *Engine) Rebind() (from, to string, err error) {
	if e.sess.Locked() {
		return "", "", secrets.ErrLocked
	}
	p := e.settings
	if p.WorkspaceID != e.bundle.WorkspaceID || p.APIKeyID != e.bundle.APIKeyID {
		return "", "", fmt.Errorf("config.toml names another workspace or API key than the one profile %s's key is registered for: register a key for it (qapprove keys register) instead of rebinding", e.opts.Profile)
	}
	from, to = e.bundle.APIBaseURL, p.APIBaseURL
	if strings.TrimRight(from, "/") == strings.TrimRight(to, "/") {
		return from, to, fmt.Errorf("profile %s is already bound to %s: nothing to rebind", e.opts.Profile, to)
	}
	if _, err := e.jr.AppendSigned(journal.KindRebound, journal.ReboundBody{From: from, To: to}, e.signer()); err != nil {
		return from, to, fmt.Errorf("the rebinding could not be journaled, so it was not made: %w", err)
	}
	b := *e.bundle
	b.APIBaseURL = to
	if err := secrets.SaveBundle(e.backend, e.opts.Profile, &b); err != nil {
		return from, to, fmt.Errorf("journaled, but the keystore could not be updated: %w", err)
	}
	e.bundle.APIBaseURL = to
	return from, to, nil
}

// runSelftest runs the built-in known-answer tests; signing stays
// refused when one fails.
func (e *Engine) runSelftest() {
	ok, why := true, ""
	if e.opts.SelftestFailure != "" {
		ok, why = false, e.opts.SelftestFailure
	} else if r := selftest.RunBuiltin(); r.Failed > 0 {
		ok, why = false, fmt.Sprintf("crypto self-test failed (%d of %d checks): signing is disabled", r.Failed, r.Failed+r.Passed)
	}
	e.mu.Lock()
	e.selftestOK, e.selftestWhy = ok, why
	e.mu.Unlock()
	if !ok {
		e.emit(Notice{Text: why})
	}
}

// Prepare runs the start-up work that Start otherwise does in the
// background (self-test, cache), for the scripting commands.
func (e *Engine) Prepare() {
	e.runSelftest()
	e.loadCache()
}

func (e *Engine) signer() journal.Signer { return sessionSigner{e.sess, e.pk} }

// checkpoint writes a signed checkpoint when the key is unlocked.
func (e *Engine) checkpoint(reason string) {
	if e.sess.Locked() {
		return
	}
	if _, err := e.jr.Checkpoint(e.signer(), reason); err != nil {
		e.emit(Notice{Text: "journal checkpoint failed: " + err.Error()})
	}
}

// onSessionEvent journals unlocks, failed unlocks and locks.
func (e *Engine) onSessionEvent(ev secrets.Event) {
	switch ev.Kind {
	case secrets.EventUnlock:
		e.mu.Lock()
		e.failures = 0
		e.mu.Unlock()
		if _, err := e.jr.AppendSigned(journal.KindUnlock, journal.UnlockBody{}, e.signer()); err != nil {
			e.emit(Notice{Text: "journal: " + err.Error()})
		}
		e.emit(LockChanged{Locked: false, Until: e.sess.UnlockedUntil()})
	case secrets.EventUnlockFailed:
		if _, err := e.jr.Append(journal.KindUnlockFailed, journal.UnlockFailedBody{Attempt: e.failedAttempt(), Backoff: e.sess.Backoff().Round(time.Second).String()}); err != nil {
			e.emit(Notice{Text: "journal: " + err.Error()})
		}
	case secrets.EventLock:
		e.mu.Lock()
		reason, logged := e.lockReason, e.lockLogged
		e.lockReason, e.lockLogged = "", false
		e.mu.Unlock()
		if reason == "" {
			reason = ev.Reason
		}
		if !logged {
			if _, err := e.jr.Append(journal.KindLock, journal.LockBody{Reason: reason}); err != nil {
				e.emit(Notice{Text: "journal: " + err.Error()})
			}
		}
		e.emit(LockChanged{Locked: true, Reason: reason})
	}
}

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
		e.Refresh(ctx)
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
				go e.Refresh(ctx)
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

// item evaluates the rules for a and builds the UI item. Identical
// verdicts share one Verdict (the UI never modifies them), which keeps
// memory flat with many actions.
func (e *Engine) item(a *client.Action) Item {
	gv := Evaluate(e.rules, a, e.now())
	strong := StrongConfirmWhy(gv, a, e.settings.StrongConfirmAbove)
	k := VerdictKey(gv, strong)
	e.verdictMu.Lock()
	defer e.verdictMu.Unlock()
	v, ok := e.verdicts[k]
	if !ok {
		v = UIVerdict(gv)
		v.StrongConfirm = strong
		if len(e.verdicts) >= maxSharedVerdicts {
			clear(e.verdicts)
		}
		e.verdicts[k] = v
	}
	return Item{Action: a, Verdict: v}
}

// maxSharedVerdicts bounds the table of shared verdicts.
const maxSharedVerdicts = 4096

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

// Assessment is an action judged by the profile's rules, for the
// scripting commands: the document the rules saw, their full verdict, and
// why a decision on it needs the strong confirmation ("" when it does not).
type Assessment struct {
	Action        *client.Action
	Input         governance.Input
	Verdict       governance.Verdict
	StrongConfirm string
}

// Assess runs the profile's rules on a at now.
func (e *Engine) Assess(a *client.Action, now time.Time) Assessment {
	in := GovernanceInput(a, now)
	gv := e.rules.Evaluate(in)
	return Assessment{Action: a, Input: in, Verdict: gv, StrongConfirm: StrongConfirmWhy(gv, a, e.settings.StrongConfirmAbove)}
}

// AssessPending assesses the current pending list, soonest expiry first.
func (e *Engine) AssessPending(now time.Time) []Assessment {
	list := e.Actions()
	out := make([]Assessment, len(list))
	for i, a := range list {
		out[i] = e.Assess(a, now)
	}
	return out
}

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
func removedWhy(a *client.Action, now time.Time) string {
	if a.Status == client.StatusExpired || (a.ExpiryKnown() && !now.Before(a.Expires)) {
		return RemovedExpired
	}
	return RemovedElsewhere
}

// Against reports whether decision ("approve" or "reject") goes against
// the verdict level, so that an override reason is required.
func Against(decision, level string) bool { return journal.AgainstVerdict(decision, level) }

func ruleNames(v governance.Verdict) []string {
	names := make([]string, 0, len(v.Matched))
	for _, m := range v.Matched {
		names = append(names, m.Rule)
	}
	return names
}

func summary(a *client.Action) *journal.DecisionSummary {
	if a.Payload == nil || a.Payload.Transaction == nil {
		return nil
	}
	t := a.Payload.Transaction
	return &journal.DecisionSummary{
		Amount: client.FormatAmount(t.Amount, t.Asset.Decimals), Asset: t.Asset.Symbol,
		To: t.To, Network: t.Network.Name,
	}
}

// Close writes a signed checkpoint (when unlocked), locks the key, stops
// the background work, saves the cache and closes the journal.
func (e *Engine) Close() error {
	e.Lock("exit")
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	e.out.close()
	e.saveCacheIfDirty(true)
	return e.jr.Close()
}

// sessionCredentials hands the API secret to the client while unlocked.
type sessionCredentials struct{ s *secrets.Session }

func (c sessionCredentials) WithSecret(fn func([]byte) error) error { return c.s.WithAPISecret(fn) }

// sessionSigner signs journal digests with the session's BLS key.
type sessionSigner struct {
	s  *secrets.Session
	pk qbls.PublicKey
}

func (s sessionSigner) PublicKey() qbls.PublicKey { return s.pk }

func (s sessionSigner) Sign(msg []byte) (qbls.Signature, error) {
	var sig qbls.Signature
	err := s.s.WithBLS(func(sk *qbls.SecretKey) error { sig = sk.Sign(msg); return nil })
	return sig, err
}

func (e *Engine) failedAttempt() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures++
	return e.failures
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

// checkBinding refuses a profile whose config.toml settings differ from
// the ones its key was registered with (kept in the keystore bundle).
func checkBinding(profile string, prof storage.Profile, b *secrets.Bundle) error {
	for _, f := range []struct{ what, config, bound string }{
		{"API base URL", prof.APIBaseURL, b.APIBaseURL},
		{"workspace ID", prof.WorkspaceID, b.WorkspaceID},
		{"API key ID", prof.APIKeyID, b.APIKeyID},
	} {
		if f.bound == "" || strings.TrimRight(f.config, "/") == strings.TrimRight(f.bound, "/") {
			continue
		}
		return fmt.Errorf("%w: config.toml gives profile %s the %s %q, but its key is bound to %q; refusing to use it. If the change is deliberate, run: qapprove --profile %s keys rebind",
			ErrRebindNeeded, profile, f.what, f.config, f.bound, profile)
	}
	return nil
}

// BoundURL is the API base URL the profile's key is bound to (recorded in
// the keystore at registration; the config's when none was recorded).
func (e *Engine) BoundURL() string {
	if e.bundle.APIBaseURL == "" {
		return e.settings.APIBaseURL
	}
	return e.bundle.APIBaseURL
}

// conn is a connection event with the list's state: feed-only or not,
// and when it was last known complete.
func (e *Engine) conn(state string, retryAt time.Time, reason string) Conn {
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
