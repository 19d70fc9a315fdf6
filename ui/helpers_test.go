package ui

import (
	"strings"
	"sync"
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
type fixture struct {
	t     *testing.T
	clock *testClock
	b     *apptest.FakeBackend
	m     *Model
	msgs  []tea.Msg // every message the model's commands returned
}

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
	m := New(b, Options{Now: c.Now, NoColor: true})
	f := &fixture{t: t, clock: c, b: b, m: m}
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	f.drainEvents()
	return f
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
	_, cmd := f.m.Update(msg)
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
func (f *fixture) screen() string { return ansi.Strip(f.m.Render()) }

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
