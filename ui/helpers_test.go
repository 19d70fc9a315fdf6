package ui

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/app/apptest"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

// base is the fixed start time of every test clock.
var base = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// testClock is an injectable clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: base} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a model on a fake backend with a test clock, sized 120x40.
// The model sees the backend through an ioGuard: every test fails if
// Update or View calls a backend method that does IO.
type fixture struct {
	t     *testing.T
	clock *testClock
	b     *apptest.FakeBackend
	guard *ioGuard
	m     *Model
	msgs  []tea.Msg // every message the model's commands returned
}

// ioGuard is the fake backend as the model sees it. The slow methods
// (Lock, Unlock, Decide, Abandon, RawPayload, Notify) fail the test when
// called from the goroutine running the model's Update or Render: they
// must run in a tea.Cmd, which the fixture runs on another goroutine.
type ioGuard struct {
	*apptest.FakeBackend
	t     *testing.T
	model atomic.Uint64 // the goroutine inside Update or Render (0: none)
	calls atomic.Int32  // slow calls made (from commands)
}

// goid is the current goroutine's ID, from its stack header (tests only).
func goid() uint64 {
	var buf [64]byte
	f := strings.Fields(string(buf[:runtime.Stack(buf[:], false)]))
	id, _ := strconv.ParseUint(f[1], 10, 64)
	return id
}

// inModel runs fn as the model's Update or Render.
func (g *ioGuard) inModel(fn func()) {
	g.model.Store(goid())
	defer g.model.Store(0)
	fn()
}

func (g *ioGuard) slow(name string) {
	g.t.Helper()
	if id := g.model.Load(); id != 0 && id == goid() {
		g.t.Errorf("Backend.%s called from Update or View: it must run in a tea.Cmd", name)
	}
	g.calls.Add(1)
}

func (g *ioGuard) Lock(reason string) { g.slow("Lock"); g.FakeBackend.Lock(reason) }
func (g *ioGuard) Unlock(p []byte) error {
	g.slow("Unlock")
	return g.FakeBackend.Unlock(p)
}
func (g *ioGuard) Decide(ctx context.Context, d app.Decision) (app.Outcome, error) {
	g.slow("Decide")
	return g.FakeBackend.Decide(ctx, d)
}
func (g *ioGuard) Abandon(d app.Decision, why string) error {
	g.slow("Abandon")
	return g.FakeBackend.Abandon(d, why)
}
func (g *ioGuard) RawPayload(ctx context.Context, id string) ([]byte, error) {
	g.slow("RawPayload")
	return g.FakeBackend.RawPayload(ctx, id)
}
func (g *ioGuard) Notify(title, body string) { g.slow("Notify"); g.FakeBackend.Notify(title, body) }

func newFixture(t *testing.T, items []app.Item, unlocked bool) *fixture {
	t.Helper()
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{
		Info:       app.Info{Profile: "default", Workspace: "ws-test"},
		Now:        c.Now,
		Passphrase: "correct horse",
		Items:      items,
		Unlocked:   unlocked,
	})
	f := fixtureOn(t, c, b, Options{Now: c.Now, NoColor: true})
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	f.drainEvents()
	return f
}

// fixtureOn is a fixture on a backend the test built, not yet sized.
func fixtureOn(t *testing.T, c *testClock, b *apptest.FakeBackend, opts Options) *fixture {
	g := &ioGuard{FakeBackend: b, t: t}
	return &fixture{t: t, clock: c, b: b, guard: g, m: New(g, opts)}
}

// drainEvents feeds every queued backend event to the model.
func (f *fixture) drainEvents() {
	for {
		select {
		case ev := <-f.b.Subscribe():
			f.send(eventMsg{ev})
		default:
			return
		}
	}
}

// send feeds a message and runs the resulting commands synchronously,
// skipping timers (ticks, spinner, debounce) and the event wait.
func (f *fixture) send(msg tea.Msg) {
	f.t.Helper()
	var cmd tea.Cmd
	f.guard.inModel(func() { _, cmd = f.m.Update(msg) })
	f.run(cmd)
}

func (f *fixture) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(200 * time.Millisecond):
		return // a timer or the event wait: not run in model tests
	}
	if msg != nil {
		f.msgs = append(f.msgs, msg)
	}
	switch msg := msg.(type) {
	case nil, spinner.TickMsg, tickMsg, filterTickMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			f.run(c)
		}
	default:
		f.send(msg)
	}
}

// key sends one key press ("a", "enter", "esc", "ctrl+c", ...).
func (f *fixture) key(k string) {
	f.t.Helper()
	f.send(uitest.Key(k))
}

// typeText sends each rune of s as a key press.
func (f *fixture) typeText(s string) {
	for _, m := range uitest.Type(s) {
		f.send(m)
	}
}

// screen is the plain text on screen.
func (f *fixture) screen() string {
	var s string
	f.guard.inModel(func() { s = f.m.Render() })
	return ansi.Strip(s)
}

// topDialog is the dialog on top (nil: none).
func (f *fixture) topDialog() dialog {
	if len(f.m.dialogs) == 0 {
		return nil
	}
	return f.m.dialogs[len(f.m.dialogs)-1].d
}

func (f *fixture) mustShow(s string) {
	f.t.Helper()
	if !strings.Contains(f.screen(), s) {
		f.t.Fatalf("screen does not show %q:\n%s", s, f.screen())
	}
}

func (f *fixture) mustNotShow(s string) {
	f.t.Helper()
	if strings.Contains(f.screen(), s) {
		f.t.Fatalf("screen shows %q but should not:\n%s", s, f.screen())
	}
}

// saw reports whether a command of the model returned msg.
func (f *fixture) saw(msg tea.Msg) bool {
	for _, m := range f.msgs {
		if m == msg {
			return true
		}
	}
	return false
}

// abandonedWhy is what the backend was told about abandoned decisions.
func (f *fixture) abandonedWhy() []string {
	var out []string
	for _, a := range f.b.Abandoned() {
		out = append(out, a.Why)
	}
	return out
}

// afterGrace moves the clock past a dialog's grace period.
func (f *fixture) afterGrace() { f.clock.Advance(graceQuiet + 50*time.Millisecond) }

// items builds n sample items at the test base time.
func items(n int) []app.Item { return apptest.SampleItems(n, base) }
