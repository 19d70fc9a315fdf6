package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/sandbox"
)

// collect reads events until pred is true or the deadline passes.
func collect(t *testing.T, ev <-chan client.FeedEvent, within time.Duration, pred func(client.FeedEvent) bool) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-ev:
			if pred(e) {
				return
			}
		case <-deadline:
			t.Fatal("feed: expected event did not arrive")
		}
	}
}

func runFeed(t *testing.T, e *env) <-chan client.FeedEvent {
	ev := make(chan client.FeedEvent, 256)
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.c.Feed(c, ev); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ev
}

func TestFeedReplayDedupAndReconnect(t *testing.T) {
	for _, query := range []bool{false, true} {
		t.Run(map[bool]string{false: "header", true: "querytoken"}[query], func(t *testing.T) {
			e := start(t, sandbox.Options{}, func(c *client.Config) { c.FeedQueryToken = query })
			pending, err := e.c.ListPending(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			ev := runFeed(t, e)
			got := map[string]int{}
			collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
				if fe.Action != nil {
					got[fe.Action.ID]++
				}
				return len(got) == len(pending)
			})
			for _, a := range pending {
				if got[a.ID] != 1 {
					t.Fatalf("action %s seen %d times", a.ID, got[a.ID])
				}
			}
			// Drop the connection: the client reports reconnecting, comes back
			// live, and the replayed actions are deduplicated.
			e.srv.Faults().DropFeeds()
			sawReconnecting := false
			collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
				if fe.Action != nil {
					t.Fatalf("replayed action %s delivered twice", fe.Action.ID)
				}
				if fe.State == client.StateReconnecting {
					sawReconnecting = true
				}
				return sawReconnecting && fe.State == client.StateLive
			})
			id, err := e.srv.AddAction(sandbox.ActionSpec{Wallet: "wal-eth-sepolia", Asset: "SepoliaETH", To: "0x2C4e6A8b0D1f3A5c7E9b2D4f6A8c0E1b3D5f7A65", Amount: "1", ExpiresIn: "5m"})
			if err != nil {
				t.Fatal(err)
			}
			collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
				if fe.Action != nil && pendingReplay(fe.Action.ID, pending) {
					t.Fatalf("duplicate %s after reconnect", fe.Action.ID)
				}
				return fe.Action != nil && fe.Action.ID == id && fe.Action.Status == client.StatusPending
			})
			// A status change of a known action is passed on.
			if err := e.srv.ExpireAction(id); err != nil {
				t.Fatal(err)
			}
			collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
				return fe.Action != nil && fe.Action.ID == id && fe.Action.Status == client.StatusExpired
			})
		})
	}
}

func pendingReplay(id string, list []*client.Action) bool {
	for _, a := range list {
		if a.ID == id {
			return true
		}
	}
	return false
}

func TestFeedMalformedFrames(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	e.srv.Faults().Set(sandbox.FaultSettings{MalformedFrames: true})
	ev := runFeed(t, e)
	bad, good := 0, 0
	collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
		if fe.Err != nil && fe.State == client.StateLive {
			bad++
			if client.KindOf(fe.Err) != client.KindBadResponse {
				t.Fatalf("malformed frame error kind %v", client.KindOf(fe.Err))
			}
		}
		if fe.Action != nil {
			good++
		}
		return bad >= 3 && good >= 3
	})
}

func TestFeedOfflineWhenLocked(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := start(t, sandbox.Options{Now: clk.Now, TokenTTL: time.Minute}, nil)
	e.creds.lock()
	ev := runFeed(t, e)
	collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
		return fe.State == client.StateOffline && fe.Err != nil && client.KindOf(fe.Err) == client.KindAuth && !fe.RetryAt.IsZero()
	})
}

// An approval by another member leaves the action pending but changes its
// policy progress: the feed passes that frame on (deduplication is by the
// action's fingerprint, not its status).
func TestFeedPassesPolicyProgress(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	pending, err := e.c.ListPending(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, a := range pending {
		if info, ok := e.srv.Action(a.ID); ok && info.Threshold >= 2 && info.Approvals == 0 {
			id = a.ID
			break
		}
	}
	if id == "" {
		t.Fatal("the default scenario has no pending action with a threshold of 2 or more")
	}
	ev := runFeed(t, e)
	collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
		return fe.Action != nil && fe.Action.ID == id
	})
	if err := e.srv.DecideAsOther(id, true); err != nil {
		t.Fatal(err)
	}
	collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
		if fe.Action == nil || fe.Action.ID != id {
			return false
		}
		if fe.Action.Status != client.StatusPending || fe.Action.Payload == nil || fe.Action.Payload.Approvals != 1 {
			t.Fatalf("after one approval elsewhere: status %d, payload %+v", fe.Action.Status, fe.Action.Payload)
		}
		if fe.Fingerprint != fe.Action.Fingerprint() {
			t.Fatal("the feed event does not carry the action's fingerprint")
		}
		return true
	})
}
