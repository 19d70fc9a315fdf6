package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/app/apptest"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

// goldenState drives a running program into one state. wait is text the
// screen must show before the final frame is taken.
type goldenState struct {
	name     string
	items    int
	unlocked bool
	steps    func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, b *apptest.FakeBackend)
	wait     string
	mod      func(its []app.Item) []app.Item // changes the sample items first
}

func sendKeys(tm *teatest.TestModel, ks ...string) {
	for _, k := range ks {
		tm.Send(uitest.Key(k))
	}
}

var goldenStates = []goldenState{
	{name: "empty", wait: "press u to unlock"},
	{name: "list", items: 30, unlocked: true, wait: "Pending 30"},
	{name: "detail", items: 30, unlocked: true, wait: "Raw payload", steps: func(_ *testing.T, _ *Model, tm *teatest.TestModel, _ *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "j", "j", "tab", "p")
	}},
	{name: "confirm", items: 30, unlocked: true, wait: "Press y to approve", steps: func(_ *testing.T, _ *Model, tm *teatest.TestModel, _ *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "a")
	}},
	{name: "override", items: 30, unlocked: true, wait: "by CFO", steps: func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "j", "j", "a")
		waitFrame(t, m, tm, "verdict is")
		c.Advance(time.Second)
		tm.Type("CR-1234 signed off by CFO")
	}},
	{name: "passphrase", items: 30, wait: "••••••█", steps: func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "a")
		waitFrame(t, m, tm, "Press y")
		c.Advance(time.Second)
		sendKeys(tm, "y")
		waitFrame(t, m, tm, "Passphrase")
		c.Advance(time.Second)
		tm.Type("nope")
		sendKeys(tm, "enter")
		waitFrame(t, m, tm, "wrong passphrase")
		tm.Type("secret")
	}},
	{name: "error", items: 30, unlocked: true, wait: "Could not approve", steps: func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, b *apptest.FakeBackend) {
		b.DecideFunc = func(app.Decision) (app.Outcome, error) {
			return app.Outcome{Result: app.ResultUnknown, Err: "connection reset by peer"}, nil
		}
		sendKeys(tm, "a")
		waitFrame(t, m, tm, "Press y")
		c.Advance(time.Second)
		sendKeys(tm, "y")
	}},
	{name: "help", items: 30, unlocked: true, wait: "close help", steps: func(_ *testing.T, _ *Model, tm *teatest.TestModel, _ *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "?")
	}},
	{name: "strong", items: 30, unlocked: true, wait: "does not match", mod: func(its []app.Item) []app.Item {
		its[0].Verdict.StrongConfirm = "amount above the profile's limit of 1 ETH"
		return its
	}, steps: func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "a", "y")
		waitFrame(t, m, tm, "Strong confirmation")
		c.Advance(time.Second)
		tm.Type("0002")
		sendKeys(tm, "enter")
	}},
	{name: "reject", items: 30, unlocked: true, wait: "act-7█", steps: func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "j", "r")
		waitFrame(t, m, tm, "Reason (optional")
		c.Advance(time.Second)
		tm.Type("duplicate of act-7")
	}},
	{name: "minimal", wait: "chain 1", unlocked: true, mod: func([]app.Item) []app.Item {
		raw := `{"policyName":"Ops","externalExtension":{"network":{"chainID":1}},"extra":{"deep":[1,2]}}`
		a := &client.Action{
			ID: "act-5f1c2e", Type: client.TypeTransaction, Status: client.StatusPending, Messages: [][]byte{make([]byte, 32)},
			Payload: &client.Payload{PolicyName: "Ops", Transaction: &client.Transaction{Network: &client.Network{ChainID: "1"}}},
			Detail:  &client.ActionDetail{PayloadErr: "not understood: unknown field extra", RawPayload: []byte(raw)},
		}
		return []app.Item{{Action: a, Verdict: app.Verdict{Level: app.VerdictReview}}}
	}},
	{name: "offline", items: 30, wait: "auth refused", steps: func(t *testing.T, m *Model, tm *teatest.TestModel, _ *testClock, b *apptest.FakeBackend) {
		b.SetSelftestRunning()
		b.Push(app.Conn{State: app.ConnOffline, Reason: "auth refused: unknown API key", AsOf: base.Add(-3 * time.Minute)})
		waitFrame(t, m, tm, "checking…")
	}},
	{name: "extras", wait: "≈5,000 USD", unlocked: true, mod: withExtras},
	{name: "people", wait: "Alice Moreau", unlocked: true, mod: withExtras, steps: scrollDetail(0, "Alice Moreau")},
	{name: "call", wait: "NOT to the", unlocked: true, mod: withExtras, steps: scrollDetail(0, "(0x8a2E")},
	{name: "unreachable", wait: "can no longer reach", unlocked: true, mod: withExtras, steps: scrollDetail(1, "members left to decide")},
	{name: "confirm_call", wait: "Call     transferFrom", unlocked: true, mod: withExtras, steps: func(_ *testing.T, _ *Model, tm *teatest.TestModel, _ *testClock, _ *apptest.FakeBackend) {
		sendKeys(tm, "a")
	}},
	{name: "expired", items: 30, unlocked: true, wait: "This action expired", steps: func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, b *apptest.FakeBackend) {
		sendKeys(tm, "a")
		waitFrame(t, m, tm, "Press y")
		b.IdleLock = time.Hour
		c.Advance(91 * time.Second)
	}},
}

// TestGolden drives the real program (teatest, fixed size, ASCII colour
// profile, fixed clock) into each state and compares the final frame,
// stripped of styling, with testdata/TestGolden/<state>_<w>x<h>.golden.
// Regenerate with: go test ./ui -run TestGolden -update
func TestGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, gs := range goldenStates {
			t.Run(fmt.Sprintf("%s_%dx%d", gs.name, size[0], size[1]), func(t *testing.T) {
				c := newClock()
				items := apptest.SampleItems(gs.items, base)
				if gs.mod != nil {
					items = gs.mod(items)
				}
				b := apptest.NewFakeBackend(apptest.FakeOptions{
					Info:       app.Info{Profile: "default", Workspace: "ws-7f3a", Keystore: "file", KeystoreWarning: "file keystore"},
					Now:        c.Now,
					Passphrase: "correct horse",
					Items:      items,
					Unlocked:   gs.unlocked,
				})
				m := New(b, Options{Now: c.Now})
				tm := teatest.NewTestModel(t, m,
					teatest.WithInitialTermSize(size[0], size[1]),
					teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
				waitFrame(t, m, tm, "live")
				if gs.steps != nil {
					gs.steps(t, m, tm, c, b)
				}
				frame := waitFrame(t, m, tm, gs.wait)
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
				golden.RequireEqual(t, []byte(frame))
			})
		}
	}
}

// withExtras replaces the sample items with actions that have a value,
// people and contract calls (extrasItems).
func withExtras([]app.Item) []app.Item { return extrasItems(base) }

// scrollDetail selects row n, focuses the detail and scrolls it down
// until the pane shows until.
func scrollDetail(n int, until string) func(t *testing.T, m *Model, tm *teatest.TestModel, c *testClock, b *apptest.FakeBackend) {
	return func(t *testing.T, m *Model, tm *teatest.TestModel, _ *testClock, _ *apptest.FakeBackend) {
		for range n {
			sendKeys(tm, "j")
		}
		sendKeys(tm, "tab")
		waitFrame(t, m, tm, "▌Detail")
		for range 60 {
			frame := m.lastFrame()
			if _, pane, _ := strings.Cut(frame, "▌Detail"); strings.Contains(pane, until) {
				return
			}
			sendKeys(tm, "j")
			uitest.WaitFor(t, tm, m.lastFrame, func(s string) bool { return s != frame }, 5*time.Second, "the detail to scroll")
		}
		t.Fatalf("could not scroll the detail to %q", until)
	}
}

// waitFrame waits until the rendered frame shows s and returns it.
func waitFrame(t *testing.T, m *Model, tm *teatest.TestModel, s string) string {
	t.Helper()
	return uitest.WaitFrame(t, tm, m.lastFrame, s, 5*time.Second)
}

// lastFrame is the last rendered frame without styling (safe to call from
// the test goroutine: it reads a copy stored by View).
func (m *Model) lastFrame() string {
	m.frameMu.Lock()
	defer m.frameMu.Unlock()
	return ansi.Strip(m.frame)
}
