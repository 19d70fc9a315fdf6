package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// ConnState is the state of the feed connection.
type ConnState int

// Feed connection states.
const (
	StateOffline      ConnState = iota // not connected, and not expecting to be soon (auth, many failures)
	StateReconnecting                  // connecting or waiting to reconnect
	StateLive                          // connected; frames flow
)

// String names the state.
func (s ConnState) String() string {
	switch s {
	case StateLive:
		return "live"
	case StateReconnecting:
		return "reconnecting"
	}
	return "offline"
}

// FeedEvent is what Feed reports: a new or changed action (Action set), a
// state change, or a problem (Err set). A malformed frame does not end the
// connection: it is reported with Skipped set (naming the action when its
// ID can be read) and Err. RetryAt tells when the next connection attempt
// is due.
type FeedEvent struct {
	Action      *Action
	Fingerprint uint64 // Action.Fingerprint(), taken by the feed (which deduplicates by it)
	State       ConnState
	Err         error
	Skipped     *Skipped
	RetryAt     time.Time
}

// Feed tuning; tests may shorten them.
var (
	feedPingEvery    = 20 * time.Second
	feedPingTimeout  = 10 * time.Second
	feedBackoffFloor = 500 * time.Millisecond
	feedBackoffCeil  = 30 * time.Second
)

// feedOfflineAfter is the number of failed attempts in a row after which the
// state is reported as offline (attempts go on).
const feedOfflineAfter = 5

// FeedURL returns the WebSocket URL of the sign-request feed.
func (c *Client) FeedURL() string {
	if c.cfg.FeedURL != "" {
		return c.cfg.FeedURL
	}
	u := *c.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = c.base.Path + "/actions/signrequests"
	return u.String()
}

// Feed connects to the WebSocket feed and reports events until ctx is done,
// reconnecting with jittered exponential backoff. Actions are deduplicated
// by ID: a frame for an ID reported recently is passed on only when the
// action changed (its Fingerprint: status, this key's decision, expiry,
// messages, payload hash, approvals so far). Feed closes nothing: the caller owns events.
func (c *Client) Feed(ctx context.Context, events chan<- FeedEvent) {
	dd := newDedup(feedDedupWindow)
	failures := 0
	for ctx.Err() == nil {
		emit(ctx, events, FeedEvent{State: StateReconnecting})
		live, err := c.feedOnce(ctx, events, dd)
		if ctx.Err() != nil {
			return
		}
		if live {
			failures = 0
		}
		failures++
		d := feedBackoff(failures)
		state := StateReconnecting
		if failures >= feedOfflineAfter || errors.Is(err, ErrUnlockNeeded) {
			state = StateOffline
		}
		retry := time.Now().Add(d)
		emit(ctx, events, FeedEvent{State: state, Err: err, RetryAt: retry})
		if sleepCtx(ctx, d) != nil {
			return
		}
	}
}

func feedBackoff(failures int) time.Duration {
	d := feedBackoffFloor << min(failures-1, 10)
	d = min(d, feedBackoffCeil)
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: retry jitter spreads reconnects; it guards nothing
}

func emit(ctx context.Context, events chan<- FeedEvent, ev FeedEvent) bool {
	select {
	case events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// feedOnce runs one connection; live reports whether it got connected.
func (c *Client) feedOnce(ctx context.Context, events chan<- FeedEvent, dd *dedup) (live bool, err error) {
	tok, err := c.currentToken(ctx)
	if err != nil {
		return false, err
	}
	u := c.FeedURL()
	h := http.Header{}
	if c.cfg.FeedQueryToken {
		wt, err := c.WebSocketToken(ctx)
		if err != nil {
			return false, err
		}
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set("token", wt)
		pu.RawQuery = q.Encode()
		u = pu.String()
	} else {
		h.Set("x-token", tok)
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			c.dropToken()
			return false, &Error{Kind: KindAuth, Status: 401, Msg: "the feed refused our token", Err: err}
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return false, statusError("GET", "/actions/signrequests", resp.StatusCode, nil, retryAfter(resp.Header.Get("Retry-After"), c.now()))
		}
		return false, &Error{Kind: KindNetwork, Msg: "cannot connect to the feed", Err: err}
	}
	defer conn.CloseNow()
	conn.SetReadLimit(MaxResponseBytes)
	if !emit(ctx, events, FeedEvent{State: StateLive}) {
		return true, nil
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { // keep-alive: a failed ping ends the connection
		t := time.NewTicker(feedPingEvery)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
				pctx, pc := context.WithTimeout(cctx, feedPingTimeout)
				err := conn.Ping(pctx)
				pc()
				if err != nil {
					_ = conn.CloseNow() // ends the read below, which reports the loss
					return
				}
			}
		}
	}()
	for {
		typ, frame, err := conn.Read(cctx)
		if err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			msg := "the feed connection was lost"
			if strings.Contains(err.Error(), "read limited") {
				msg = "the feed sent a frame larger than the limit; reconnecting"
			}
			return true, &Error{Kind: KindNetwork, Msg: msg, Err: err}
		}
		a, err := decodeFrame(typ, frame)
		if err != nil {
			sk := skippedAction(frame, err)
			if !emit(ctx, events, FeedEvent{State: StateLive, Err: err, Skipped: &sk}) {
				return true, nil
			}
			continue
		}
		fp := a.Fingerprint()
		if !dd.fresh(a.ID, fp) {
			continue
		}
		if !emit(ctx, events, FeedEvent{Action: a, Fingerprint: fp, State: StateLive}) {
			return true, nil
		}
	}
}

// decodeFrame decodes a text frame; a binary frame is an error.
func decodeFrame(typ websocket.MessageType, frame []byte) (*Action, error) {
	if typ != websocket.MessageText {
		return nil, errf(KindBadResponse, "the feed sent a binary frame; skipped")
	}
	return DecodeFeedFrame(frame)
}

// feedDedupWindow is how many action IDs the feed remembers. It only
// spares the caller repeats of recent frames (a replay after a reconnect
// of a longer list passes through), so it is small: the engine compares
// fingerprints of everything it holds.
const feedDedupWindow = 4096

// dedup remembers the fingerprint last seen per action ID, bounded with
// FIFO eviction.
type dedup struct {
	seen  map[string]uint64
	order []string
	next  int
}

func newDedup(n int) *dedup {
	return &dedup{seen: make(map[string]uint64, n), order: make([]string, n)}
}

// fresh reports whether (id, fingerprint) is new, and records it.
func (d *dedup) fresh(id string, fp uint64) bool {
	if s, ok := d.seen[id]; ok {
		if s == fp {
			return false
		}
		d.seen[id] = fp
		return true
	}
	if old := d.order[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.order[d.next] = id
	d.next = (d.next + 1) % len(d.order)
	d.seen[id] = fp
	return true
}
