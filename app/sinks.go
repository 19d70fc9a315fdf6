// sinks.go: shipping the journal to the sinks of config.toml in the
// background, the state the header shows, and the require_sink rule.

package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qapprove/qapprove/storage/sink"
)

// ErrSinkBehind refuses a decision while a required sink is more than
// max_lag entries behind the journal (require_sink in config.toml).
var ErrSinkBehind = errors.New("a required sink is behind")

// SinkLevel sums up the sinks for the header.
type SinkLevel string

// Sink levels of SinkState events.
const (
	SinksOK     SinkLevel = "ok"     // every entry has been shipped
	SinksBehind SinkLevel = "behind" // entries wait to be shipped
	SinksDown   SinkLevel = "down"   // a sink cannot be reached (or refused the entries)
)

// SinkState reports the journal's sinks (only when config.toml sets any).
type SinkState struct {
	Level  SinkLevel
	Behind uint64 // entries the furthest-behind sink has not shipped
	Sink   string // the sink that is furthest behind or down
	Reason string // why it is down ("" otherwise)
	// Blocking is set when require_sink refuses new decisions until the
	// required sinks catch up.
	Blocking bool
}

func (SinkState) isEvent() {}

// Timings of the background shipping.
const (
	sinkPoll       = 2 * time.Second  // look for new entries this often
	sinkRetryFirst = time.Second      // first retry after a failure
	sinkRetryMax   = 30 * time.Second // longest wait between retries
	sinkPassLimit  = 30 * time.Second // one pass at most
	sinkGateLimit  = 10 * time.Second // a decision waits at most this for a catch-up
	sinkCloseLimit = 5 * time.Second  // the last pass on Close
)

// openSinks builds the shipper of the profile's journal from config.toml.
func (e *Engine) openSinks(targets []sink.Target) {
	if len(targets) == 0 {
		return
	}
	e.ship = sink.NewShipper(e.jr.Path(), e.opts.Paths.SinkDir(e.opts.Profile), targets)
	_ = e.ship.LoadCursors() // a bad cursor shows in the state; the journal was just opened
	e.sinkKick = make(chan struct{}, 1)
}

// kickSinks asks the background shipper to look for new entries now.
func (e *Engine) kickSinks() {
	if e.ship == nil {
		return
	}
	select {
	case e.sinkKick <- struct{}{}:
	default:
	}
}

// shipLoop ships new entries as they are written, retrying with back-off
// while a sink is down.
func (e *Engine) shipLoop(ctx context.Context) {
	defer e.wg.Done()
	retry := sinkRetryFirst
	e.emitSinkState()
	for {
		wait := sinkPoll
		if lag, _ := e.ship.Behind(e.jr.State().Seq); lag > 0 || e.sinkState().Level == SinksDown {
			if e.shipNow(ctx, sinkPassLimit).Level == SinksOK {
				retry = sinkRetryFirst
			} else {
				wait, retry = retry, min(2*retry, sinkRetryMax)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.sinkKick:
		case <-t.C:
		}
		t.Stop()
	}
}

// shipNow runs one pass (bounded by limit) and reports the new state.
func (e *Engine) shipNow(ctx context.Context, limit time.Duration) SinkState {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	_, err := e.ship.Ship(ctx, nil)
	if err != nil && !errors.Is(err, sink.ErrBusy) {
		e.mu.Lock()
		e.sinkErr = err.Error()
		e.mu.Unlock()
	} else {
		e.mu.Lock()
		e.sinkErr = ""
		e.mu.Unlock()
	}
	return e.emitSinkState()
}

// sinkState is the state as of the last pass.
func (e *Engine) sinkState() SinkState {
	head := e.jr.State().Seq
	behind, name := e.ship.Behind(head)
	st := SinkState{Level: SinksOK, Behind: behind, Sink: name}
	if behind > 0 {
		st.Level = SinksBehind
	}
	e.mu.Lock()
	passErr := e.sinkErr
	e.mu.Unlock()
	if passErr != "" {
		st.Level, st.Reason = SinksDown, passErr
	}
	for _, s := range e.ship.Statuses() {
		if s.Err != "" {
			st.Level, st.Sink, st.Reason = SinksDown, s.Name, s.Err
			break
		}
	}
	if e.settingsSinks.RequireSink {
		lag, _ := e.ship.Lag(head)
		st.Blocking = lag > uint64(e.settingsSinks.MaxLag) //nolint:gosec // G115: Validate keeps max_lag >= 0
	}
	return st
}

// emitSinkState reports the state when it changed, and returns it.
func (e *Engine) emitSinkState() SinkState {
	st := e.sinkState()
	e.mu.Lock()
	changed := st != e.sinkLast
	e.sinkLast = st
	e.mu.Unlock()
	if changed {
		e.emit(st)
	}
	return st
}

// sinkGate is the require_sink rule, checked before a decision is
// signed: a required sink more than max_lag entries behind gets one
// chance to catch up, then the decision is refused.
func (e *Engine) sinkGate(ctx context.Context) error {
	if e.ship == nil || !e.settingsSinks.RequireSink {
		return nil
	}
	maxLag := uint64(e.settingsSinks.MaxLag) //nolint:gosec // G115: Validate keeps max_lag >= 0
	if lag, _ := e.ship.Lag(e.jr.State().Seq); lag <= maxLag {
		return nil
	}
	st := e.shipNow(ctx, sinkGateLimit)
	lag, name := e.ship.Lag(e.jr.State().Seq)
	if lag <= maxLag {
		return nil
	}
	why := ""
	if st.Reason != "" {
		why = ": " + st.Reason
	}
	return fmt.Errorf("the %s sink is %d entries behind the journal (require_sink allows %d)%s", name, lag, maxLag, why)
}

// closeSinks ships what the last entries (the exit checkpoint and lock)
// added, then closes the sinks.
func (e *Engine) closeSinks() {
	if e.ship == nil {
		return
	}
	if lag, _ := e.ship.Behind(e.jr.State().Seq); lag > 0 {
		e.shipNow(context.Background(), sinkCloseLimit)
	}
	_ = e.ship.Close()
}
