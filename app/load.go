package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/storage"
)

// How long the scripting commands listen to the feed when the API has no
// list endpoint: until it has been quiet for feedQuiet after connecting,
// and at most feedMax.
const (
	feedQuiet = 1500 * time.Millisecond
	feedMax   = 15 * time.Second
)

// LoadPending fills the pending list for a scripting command: from the
// list endpoint where the API has one, else from the feed, listened to
// for a bounded moment (merged with the cache). feedOnly reports the
// latter, so the command can say where the list came from.
func (e *Engine) LoadPending(ctx context.Context) (feedOnly bool, err error) {
	err = e.Refresh(ctx)
	if !errors.Is(err, client.ErrNoListEndpoint) {
		return false, err
	}
	return true, e.collectFeed(ctx, feedQuiet, feedMax)
}

// collectFeed follows the feed until it has been quiet for quiet after it
// went live, or for at most limit.
func (e *Engine) collectFeed(ctx context.Context, quiet, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	feed := make(chan client.FeedEvent, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.cl.Feed(ctx, feed)
	}()
	defer func() { cancel(); <-done }()
	var lastErr error
	live := false
	idle := time.NewTimer(limit)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			if live {
				return nil
			}
			if lastErr != nil {
				return fmt.Errorf("the feed did not connect: %w", lastErr)
			}
			return fmt.Errorf("the feed did not connect within %s", limit)
		case <-idle.C:
			return nil
		case fe := <-feed:
			e.onFeed(ctx, fe)
			if fe.Err != nil {
				lastErr = fe.Err
			}
			if fe.State == client.StateLive || (live && fe.Action != nil) {
				live = true
				idle.Reset(quiet)
			}
		}
	}
}

// Lookup is what a scripting command shows before deciding on action id:
// a fresh read merged with the copy from the list, the feed or the cache
// (the real API's read may carry only id, status and messages).
func (e *Engine) Lookup(ctx context.Context, id string) (*client.Action, error) {
	shown := e.heldAction(id)
	if shown == nil {
		if _, err := e.LoadPending(ctx); err != nil && !errors.Is(err, client.ErrNoListEndpoint) {
			return nil, err
		}
		shown = e.heldAction(id)
	}
	fresh, err := e.cl.GetAction(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := merge(fresh, shown)
	if err != nil {
		return nil, err
	}
	if len(a.Messages) > 0 {
		a.Binding, _ = client.CheckBinding(a.Messages[0], a)
	}
	return a, nil
}

// AsOf is when the pending list was last known complete: the last list
// or feed connection, or the time the cache was saved (zero: never).
func (e *Engine) AsOf() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.asOf
}

// Settings are the profile's settings from config.toml.
func (e *Engine) Settings() storage.Profile { return e.settings }
