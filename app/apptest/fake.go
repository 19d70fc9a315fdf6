// Package apptest holds what tests of the console share: FakeBackend, an
// in-memory stand-in for the engine, and deterministic sample actions.
// Only tests import it.
package apptest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
)

// FakeBackend is a complete in-memory ui.Backend for tests of the console.
// It has an injectable clock, a passphrase, idle and absolute
// auto-lock, exponential back-off after wrong passphrases, and decisions that
// can be delayed or made to fail. It is safe for concurrent use.
type FakeBackend struct {
	mu sync.Mutex

	info       app.Info
	now        func() time.Time
	passphrase []byte
	events     chan app.Event
	items      map[string]app.Item

	locked      bool
	unlockedAt  time.Time
	lastTouch   time.Time
	failures    int
	lastFail    time.Time
	decisions   []app.Decision
	selftestOK  bool
	selftestWhy string
	selftestRun bool // the self-test is still running
	abandoned   []Abandoned
	notified    []Notification
	unlocks     int

	// IdleLock and AbsoluteLock are the auto-lock limits (defaults 5 min, 8 h).
	IdleLock, AbsoluteLock time.Duration
	// KDFDelay is how long Unlock takes (real time), to show the spinner.
	KDFDelay time.Duration
	// DecideDelay is how long Decide takes (real time), honouring ctx.
	DecideDelay time.Duration
	// DecideFunc, when set, chooses the outcome of each decision after the
	// local checks passed.
	DecideFunc func(app.Decision) (app.Outcome, error)
	// RawFunc, when set, answers RawPayload for known actions.
	RawFunc func(id string) ([]byte, error)
}

// FakeOptions configure NewFakeBackend.
type FakeOptions struct {
	Info       app.Info
	Now        func() time.Time // default time.Now
	Passphrase string           // the passphrase Unlock accepts
	Items      []app.Item       // initial actions (sent as ActionsLoaded)
	Unlocked   bool             // start unlocked
}

// NewFakeBackend returns a FakeBackend; its first event is ActionsLoaded with
// opts.Items followed by Conn{live}.
func NewFakeBackend(opts FakeOptions) *FakeBackend {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	f := &FakeBackend{
		info:         opts.Info,
		now:          now,
		passphrase:   []byte(opts.Passphrase),
		events:       make(chan app.Event, 1024),
		items:        make(map[string]app.Item, len(opts.Items)),
		locked:       !opts.Unlocked,
		selftestOK:   true,
		IdleLock:     5 * time.Minute,
		AbsoluteLock: 8 * time.Hour,
	}
	for _, it := range opts.Items {
		f.items[it.Action.ID] = it
	}
	if opts.Unlocked {
		f.unlockedAt, f.lastTouch = now(), now()
	}
	f.events <- app.ActionsLoaded{Items: append([]app.Item(nil), opts.Items...)}
	f.events <- app.Conn{State: app.ConnLive}
	return f
}

// Info implements Backend.
func (f *FakeBackend) Info() app.Info { return f.info }

// Subscribe implements Backend.
func (f *FakeBackend) Subscribe() <-chan app.Event { return f.events }

// Push sends an event to the UI as the feed would (blocking when the
// channel is full). Upserts and removals also update the fake's own store.
func (f *FakeBackend) Push(ev app.Event) {
	f.mu.Lock()
	switch e := ev.(type) {
	case app.ActionUpserted:
		f.items[e.Item.Action.ID] = e.Item
	case app.ActionRemoved:
		delete(f.items, e.ID)
	case app.ActionsLoaded:
		clear(f.items)
		for _, it := range e.Items {
			f.items[it.Action.ID] = it
		}
	}
	f.mu.Unlock()
	f.events <- ev
}

// SetPassphrase changes the passphrase Unlock accepts.
func (f *FakeBackend) SetPassphrase(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passphrase = []byte(p)
}

// SetSelftest sets the self-test result the fake reports (and ends a
// running self-test).
func (f *FakeBackend) SetSelftest(ok bool, why string) {
	f.mu.Lock()
	f.selftestOK, f.selftestWhy, f.selftestRun = ok, why, false
	f.mu.Unlock()
}

// SetSelftestRunning makes the fake report a self-test that has no result
// yet, until SetSelftest.
func (f *FakeBackend) SetSelftestRunning() {
	f.mu.Lock()
	f.selftestRun = true
	f.mu.Unlock()
}

// Abandoned is one call of Abandon recorded by the fake.
type Abandoned struct {
	Decision app.Decision
	Why      string
}

// Notification is one call of Notify recorded by the fake.
type Notification struct{ Title, Body string }

// Abandoned returns the abandoned decisions, in order.
func (f *FakeBackend) Abandoned() []Abandoned {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Abandoned(nil), f.abandoned...)
}

// Notifications returns the desktop notifications asked for, in order.
func (f *FakeBackend) Notifications() []Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Notification(nil), f.notified...)
}

// Unlocks is how many times Unlock was called.
func (f *FakeBackend) Unlocks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unlocks
}

// Decisions returns the decisions Decide accepted for sending, in order.
func (f *FakeBackend) Decisions() []app.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]app.Decision(nil), f.decisions...)
}

// lockDeadline is when an unlocked key locks by itself; call with mu held.
func (f *FakeBackend) lockDeadline() time.Time {
	idle := f.lastTouch.Add(f.IdleLock)
	abs := f.unlockedAt.Add(f.AbsoluteLock)
	if abs.Before(idle) {
		return abs
	}
	return idle
}

// expireLock applies the auto-lock limits; call with mu held.
func (f *FakeBackend) expireLock() {
	if !f.locked && !f.now().Before(f.lockDeadline()) {
		f.locked = true
		why := "idle"
		if !f.unlockedAt.Add(f.AbsoluteLock).After(f.lastTouch.Add(f.IdleLock)) {
			why = "auto-lock"
		}
		select {
		case f.events <- app.LockChanged{Locked: true, Reason: why}:
		default:
		}
	}
}

// Locked implements Backend.
func (f *FakeBackend) Locked() (bool, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireLock()
	if f.locked {
		return true, time.Time{}
	}
	return false, f.lockDeadline()
}

// ErrWrongPassphrase is returned by FakeBackend.Unlock for a wrong passphrase.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// Unlock implements Backend. It never keeps the passphrase.
func (f *FakeBackend) Unlock(pass []byte) error {
	f.mu.Lock()
	f.unlocks++
	f.mu.Unlock()
	if wait := f.UnlockBackoff(); wait > 0 {
		return fmt.Errorf("too many wrong passphrases: wait %s", wait.Round(time.Second))
	}
	if f.KDFDelay > 0 {
		time.Sleep(f.KDFDelay)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if subtle.ConstantTimeCompare(pass, f.passphrase) != 1 {
		f.failures++
		f.lastFail = f.now()
		return ErrWrongPassphrase
	}
	f.failures = 0
	f.locked = false
	f.unlockedAt, f.lastTouch = f.now(), f.now()
	select {
	case f.events <- app.LockChanged{Locked: false, Until: f.lockDeadline()}:
	default:
	}
	return nil
}

// UnlockBackoff implements Backend: 1 s after the first wrong passphrase,
// doubling each time, at most 5 minutes.
func (f *FakeBackend) UnlockBackoff() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures == 0 {
		return 0
	}
	d := time.Second << min(f.failures-1, 8)
	d = min(d, 5*time.Minute)
	left := f.lastFail.Add(d).Sub(f.now())
	return max(left, 0)
}

// Lock implements Backend.
func (f *FakeBackend) Lock(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return
	}
	f.locked = true
	select {
	case f.events <- app.LockChanged{Locked: true, Reason: reason}:
	default:
	}
}

// Touch implements Backend.
func (f *FakeBackend) Touch() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireLock()
	if !f.locked {
		f.lastTouch = f.now()
	}
}

// RawPayload implements Backend: the item's own raw payload.
func (f *FakeBackend) RawPayload(_ context.Context, id string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.items {
		if it.Action != nil && it.Action.ID == id {
			if f.RawFunc != nil {
				return f.RawFunc(id)
			}
			return append([]byte(nil), it.Action.RawPayload()...), nil
		}
	}
	return nil, errors.New("no such action")
}

// Selftest implements Backend.
func (f *FakeBackend) Selftest() (bool, bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.selftestRun, f.selftestOK || f.selftestRun, f.selftestWhy
}

// Abandon implements Backend: it records the call.
func (f *FakeBackend) Abandon(d app.Decision, why string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.abandoned = append(f.abandoned, Abandoned{Decision: d, Why: why})
	return nil
}

// Notify implements Backend: it records the call.
func (f *FakeBackend) Notify(title, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified = append(f.notified, Notification{Title: title, Body: body})
}

// Decide implements Backend: it refuses when locked or when the action is
// unknown, no longer pending or expired, then waits DecideDelay and asks
// DecideFunc (default: accepted).
func (f *FakeBackend) Decide(ctx context.Context, d app.Decision) (app.Outcome, error) {
	f.mu.Lock()
	f.expireLock()
	if f.locked {
		f.mu.Unlock()
		return app.Outcome{Result: app.ResultRefused, Err: "key is locked"}, errors.New("key is locked")
	}
	it, ok := f.items[d.ActionID]
	if !ok || !it.Action.Pending(f.now()) {
		f.mu.Unlock()
		return app.Outcome{Result: app.ResultRefused, Err: "action is no longer pending"}, nil
	}
	f.lastTouch = f.now()
	f.decisions = append(f.decisions, d)
	fn := f.DecideFunc
	f.mu.Unlock()
	if f.DecideDelay > 0 {
		select {
		case <-time.After(f.DecideDelay):
		case <-ctx.Done():
			return app.Outcome{Result: app.ResultUnknown, Err: "cancelled"}, ctx.Err()
		}
	}
	out := app.Outcome{Result: app.ResultAccepted}
	var err error
	if fn != nil {
		out, err = fn(d)
	}
	if out.Result == app.ResultAccepted {
		f.mu.Lock()
		delete(f.items, d.ActionID)
		f.mu.Unlock()
	}
	return out, err
}

// SampleItems builds n deterministic sample actions around now: a mix of
// networks, assets, verdicts, whitelisted and unknown destinations, policy
// thresholds (including 1-of-1 and N-of-N) and expiries. For demos, tests
// and benchmarks.
func SampleItems(n int, now time.Time) []app.Item {
	nets := []client.Network{
		{Name: "Ethereum Sepolia", Family: "evm", ChainID: "11155111", Testnet: true},
		{Name: "Ethereum", Family: "evm", ChainID: "1"},
		{Name: "Polygon Amoy", Family: "evm", ChainID: "80002", Testnet: true},
		{Name: "Bitcoin Testnet", Family: "bitcoin", ChainID: "bitcoin-testnet", Testnet: true},
	}
	assets := []client.Asset{
		{Symbol: "ETH", Decimals: 18},
		{Symbol: "USDC", Decimals: 6, Contract: "0x1c7d4b196cb0c7b01d743fbc6116a902379c7238"},
		{Symbol: "POL", Decimals: 18},
		{Symbol: "BTC", Decimals: 8},
	}
	amounts := []string{"1500000000000000000", "250000000", "42000000000000000000", "12345678", "100", "999999999999"}
	levels := []app.Level{app.VerdictApprove, app.VerdictReview, app.VerdictReject, app.VerdictApprove}
	items := make([]app.Item, n)
	for i := range n {
		net := &nets[i%len(nets)]
		asset := &assets[i%len(assets)]
		to := fmt.Sprintf("0x%040x", uint64(i)*0x9e3779b97f4a7c15+1)
		from := fmt.Sprintf("0x%040x", uint64(i%7)*0x1234567+0xabc)
		if net.Family == "bitcoin" {
			to = fmt.Sprintf("tb1q%038x", uint64(i)*0x9e3779b97f4a7c15+7)
			from = fmt.Sprintf("tb1q%038x", uint64(i%7)+0x77)
		}
		thr := []int{2, 1, 3, 2}[i%4]
		members := []string{"ak-alice", "ak-bob", "ak-carol"}[:[]int{3, 1, 3, 2}[i%4]]
		tx := &client.Transaction{
			Network: net, WalletID: fmt.Sprintf("w-%03d", i%17), From: from, To: to,
			Whitelisted: i%3 != 1, Asset: asset, Amount: amounts[i%len(amounts)],
			InitiatorName: []string{"treasury-bot", "ops", "payroll"}[i%3],
		}
		if tx.Whitelisted {
			tx.ToName = []string{"Cold storage", "Exchange deposit", "Payroll"}[i%3]
		}
		p := &client.Payload{
			PolicyName:  []string{"Treasury 2-of-3", "Hot wallet", "Payroll", "Ops"}[i%4],
			Approvals:   i % thr,
			Transaction: tx,
		}
		p.Policy = &client.Policy{ID: fmt.Sprintf("pol-%d", i%4), Name: p.PolicyName, Kind: "transaction", Threshold: thr, Members: members}
		raw, _ := json.Marshal(p)
		msg := fmt.Appendf(nil, "\x08\x01\x12\x20qapprove-sample-action-%08d-%s", i, asset.Symbol)
		a := &client.Action{
			ID:       fmt.Sprintf("act-%08d-%04x", i, (i*2654435761)&0xffff),
			Type:     client.TypeTransaction,
			Status:   client.StatusPending,
			Created:  now.Add(-time.Duration(i%600) * time.Second),
			Expires:  now.Add(time.Duration(90+(i*37)%3600) * time.Second),
			Messages: [][]byte{msg},
			Payload:  p,
			Detail:   &client.ActionDetail{Description: "transfer", RawPayload: raw},
		}
		lvl := levels[i%len(levels)]
		v := app.Verdict{Level: lvl}
		switch lvl {
		case app.VerdictApprove:
			v.Rules = []app.RuleHit{{Name: "testnet-ok", Verdict: app.VerdictApprove, Reason: "known test network"}}
		case app.VerdictReview:
			v.Rules = []app.RuleHit{{Name: "unknown-destination", Verdict: app.VerdictReview, Reason: "destination is not whitelisted"}}
		case app.VerdictReject:
			v.Rules = []app.RuleHit{
				{Name: "production-network", Verdict: app.VerdictReject, Reason: "production networks need a change request"},
				{Name: "large-amount", Verdict: app.VerdictReview, Reason: "amount above 10 units"},
			}
		}
		items[i] = app.Item{Action: a, Verdict: v}
	}
	return items
}
