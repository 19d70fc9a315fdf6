package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/app/apptest"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

// Issue 13 defect 2: a normal typist unlocks. u, then 250 ms later a
// 12-character passphrase at 80 ms a key, then Enter: nothing is lost.
func TestGraceKeepsTypedPassphrase(t *testing.T) {
	f := newFixture(t, items(1), false)
	f.b.SetPassphrase("tr0ub4dor&3x")
	f.key("u")
	f.clock.Advance(250 * time.Millisecond)
	for i, m := range uitest.Type("tr0ub4dor&3x") {
		if i > 0 {
			f.clock.Advance(80 * time.Millisecond)
		}
		f.send(m)
	}
	f.clock.Advance(80 * time.Millisecond)
	f.key("enter")
	if locked, _ := f.b.Locked(); locked || f.b.Unlocks() != 1 {
		t.Fatalf("unlock with a typed passphrase failed (unlocks=%d):\n%s", f.b.Unlocks(), f.screen())
	}
	if f.m.DialogOpen() {
		t.Fatal("the unlock dialog stayed open")
	}
}

// Confirmation keys typed just before a dialog opened are dropped, and
// the dialog says how many.
func TestGraceSaysHowManyKeysItDropped(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.key("a")
	f.clock.Advance(50 * time.Millisecond)
	f.key("y")
	f.clock.Advance(50 * time.Millisecond)
	f.key("enter")
	if len(f.b.Decisions()) != 0 {
		t.Fatal("a key inside the grace period confirmed")
	}
	f.mustShow("2 keys ignored: typed before the dialog opened")
}

// Issue 13 defect 3: the end of what is signed can be seen. The message
// hex and the raw payload's closing brace are reachable at 120x40 and
// 80x24; the scroll marker never takes the place of content.
func TestDetailEndIsReachable(t *testing.T) {
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		its := items(30)
		msg := make([]byte, 67) // 134 hex characters, as in the report
		for i := range msg {
			msg[i] = byte(0xa0 + i)
		}
		its[0].Action.Messages = [][]byte{msg}
		f := newFixture(t, its, true)
		f.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		f.key("tab")
		f.key("G")
		scr := f.screen()
		lines := strings.Split(scr, "\n")
		start, end := -1, -1
		for i, l := range lines {
			if strings.Contains(l, "SHA-256") {
				start = i + 1
			}
			if strings.Contains(l, "(end)") {
				end = i
			}
		}
		if start < 0 || end < start {
			t.Fatalf("%dx%d: no SHA-256 line before an (end) marker:\n%s", size[0], size[1], scr)
		}
		var got strings.Builder
		for _, l := range lines[start:end] {
			got.WriteString(strings.TrimSpace(l))
		}
		if want := hex.EncodeToString(msg); got.String() != want {
			t.Fatalf("%dx%d: message hex shown %q, want %q", size[0], size[1], got.String(), want)
		}

		f.key("p")
		f.key("G")
		lines = strings.Split(f.screen(), "\n")
		for i, l := range lines {
			if strings.Contains(l, "(end)") {
				if i == 0 || strings.TrimSpace(lines[i-1]) != "}" {
					t.Fatalf("%dx%d: the raw payload's closing brace is not above (end):\n%s", size[0], size[1], f.screen())
				}
			}
		}
	}
}

// Issue 13 defect 4: no false "SELF-TEST FAILED" while the self-test runs;
// signing waits for it.
func TestSelftestCheckingIsNotFailure(t *testing.T) {
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now, Items: items(1), Unlocked: true})
	b.SetSelftestRunning()
	f := fixtureOn(t, c, b, Options{Now: c.Now, NoColor: true})
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	f.drainEvents()
	f.mustShow("self-test: checking…")
	f.mustNotShow("FAILED")
	f.key("a")
	if f.m.DialogOpen() {
		t.Fatal("a decision started while the self-test was running")
	}
	f.mustShow("the self-test is still running")
	if why := f.abandonedWhy(); len(why) != 1 || !strings.Contains(why[0], "self-test") {
		t.Fatalf("refusal not journaled as abandoned: %q", why)
	}
	b.SetSelftest(true, "")
	f.send(tickMsg{})
	f.mustNotShow("checking")
	f.key("a")
	if !f.m.DialogOpen() {
		t.Fatal("no dialog once the self-test passed")
	}
}

// Issue 13 defect 5: a connection failure says why and how old the data is;
// a feed-only API says so; a lock by itself says why.
func TestConnectionReasonAgeAndLockReason(t *testing.T) {
	f := newFixture(t, items(2), true)
	f.send(eventMsg{app.Conn{State: app.ConnOffline, Reason: "auth refused: unknown API key", AsOf: base.Add(-3 * time.Minute)}})
	header := strings.SplitN(f.screen(), "\n", 2)[0]
	for _, want := range []string{"offline", "auth refused: unknown API key", "as of 11:57, 3 min ago"} {
		if !strings.Contains(header, want) {
			t.Fatalf("header lacks %q: %q", want, header)
		}
	}
	f.mustShow("Connection offline: auth refused")
	f.send(eventMsg{app.Conn{State: app.ConnLive, FeedOnly: true}})
	f.mustShow("from the feed (no list endpoint)")

	f.clock.Advance(5*time.Minute + time.Second)
	f.send(eventMsg{app.LockChanged{Locked: true, Reason: "idle"}})
	f.clock.Advance(noteFor)
	f.mustShow("Locked: idle for 5 min")
	f.key("j")
	f.mustNotShow("Locked: idle")
	f.send(eventMsg{app.LockChanged{Locked: true, Reason: "signal"}})
	f.mustShow("Locked: the process received a signal")
}

// Issue 13 defects 6 and 7: at 40 columns the lock state is whole and the
// keystore kind is shown; other parts give way.
func TestHeaderAt40KeepsLockWhole(t *testing.T) {
	for _, unlocked := range []bool{false, true} {
		c := newClock()
		b := apptest.NewFakeBackend(apptest.FakeOptions{Info: app.Info{Profile: "treasury-eu", Workspace: "ws-7f3a", Keystore: "file", KeystoreWarning: "no Secret Service"}, Now: c.Now, Unlocked: unlocked})
		b.SetSelftestRunning()
		m := New(b, Options{Now: c.Now, NoColor: true})
		m.Update(tea.WindowSizeMsg{Width: 40, Height: 12})
		m.handleEvent(app.Conn{State: app.ConnReconnecting, Reason: "TLS: certificate signed by unknown authority"})
		header := strings.SplitN(ansi.Strip(m.Render()), "\n", 2)[0]
		lock := "■ LOCKED"
		if unlocked {
			lock = "□ unlocked 5m00s"
		}
		if !strings.Contains(header, lock) || !strings.Contains(header, "file") || ansi.StringWidth(header) != 40 {
			t.Fatalf("40-column header %q lacks %q or the keystore kind", header, lock)
		}
	}
}

// Issue 13 defect 7: the dialog of an action that expired says so, offers
// only esc, and the attempt is journaled.
func TestExpiredDialogSaysExpired(t *testing.T) {
	its := items(1)
	f := newFixture(t, its, true)
	f.key("a")
	f.clock.Advance(its[0].Action.Expires.Sub(base))
	f.send(tickMsg{})
	f.mustShow("This action expired.")
	f.mustNotShow("is gone")
	footer := f.screen()[strings.LastIndex(f.screen(), "\n")+1:]
	if strings.Contains(footer, "enter") || !strings.Contains(footer, "esc close") {
		t.Fatalf("footer of the expired dialog: %q", footer)
	}
	f.afterGrace()
	f.key("enter")
	if !f.m.DialogOpen() {
		t.Fatal("Enter closed the expired dialog although it offers only esc")
	}
	f.key("esc")
	if f.m.DialogOpen() || len(f.b.Decisions()) != 0 {
		t.Fatal("esc did not close, or something was signed")
	}
	if why := f.abandonedWhy(); len(why) != 1 || !strings.Contains(why[0], "expired") {
		t.Fatalf("abandoned = %q", why)
	}
}

// Issue 13 defect 7: column headers, a policy line without repetition and
// "more below" hints at 80x24.
func TestColumnHeadersPolicyTextAndMoreBelow(t *testing.T) {
	its := items(30)
	its[0].Action.Payload.PolicyName = "Ops 1 of 2"
	its[0].Action.Payload.Policy = &client.Policy{Name: "Ops 1 of 2", Threshold: 1, Members: []string{"a", "b"}}
	f := newFixture(t, its, true)
	f.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	scr := f.screen()
	for _, want := range []string{"verdict", "network", "amount", "destination", "wl", "appr", "expires", "more below ↓"} {
		if !strings.Contains(scr, want) {
			t.Fatalf("80x24 list lacks %q:\n%s", want, scr)
		}
	}
	if strings.Count(scr, "more below ↓") < 2 {
		t.Fatalf("list and detail should both say there is more below:\n%s", scr)
	}
	f.key("a")
	f.mustShow("Policy   Ops 1 of 2 · 0 approved so far")
	f.mustNotShow("(1 of 2)")
	f.mustNotShow("needs 1 of 2")
}

// stubScreen is a tab with its own help, as the journal viewer is.
type stubScreen struct{}

func (stubScreen) Title() string                      { return "Journal" }
func (stubScreen) Init() tea.Cmd                      { return nil }
func (s stubScreen) Update(tea.Msg) (Screen, tea.Cmd) { return s, nil }
func (stubScreen) SetSize(int, int)                   {}
func (stubScreen) View() string                       { return "" }
func (stubScreen) Capturing() bool                    { return false }
func (stubScreen) ShortHelp() []key.Binding           { return nil }
func (stubScreen) FullHelp() [][]key.Binding {
	return [][]key.Binding{{key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "verify the chain"))}}
}
func (stubScreen) HelpText() []string { return []string{"The journal is append-only."} }

// Issue 13 defect 7: each tab's `?` shows its own help.
func TestHelpIsTheActiveTabs(t *testing.T) {
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now, Items: items(2), Unlocked: true})
	f := fixtureOn(t, c, b, Options{Now: c.Now, NoColor: true, ExtraScreens: []func(*Context) Screen{func(*Context) Screen { return stubScreen{} }}})
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	f.drainEvents()
	f.send(tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl})
	f.key("?")
	f.mustShow("verify the chain")
	f.mustShow("The journal is append-only.")
	f.mustNotShow("Deciding:")
	f.mustNotShow("reject")
	f.key("?")
	f.send(tea.KeyPressMsg{Code: 'p', Mod: tea.ModCtrl})
	f.key("?")
	f.mustShow("Deciding:")
	f.mustNotShow("verify the chain")
}

// Issue 13: the help lists the new keys and behaviours.
func TestHelpListsNewKeys(t *testing.T) {
	f := newFixture(t, items(2), true)
	f.key("?")
	for _, want := range []string{"c i", "copy action ID", "c d", "c m", "Strong confirmation", "optional reason", "announced", "checking…", "why it locked", "approvals so far"} {
		f.mustShow(want)
	}
}

// Issue 13: strong confirmation types the last 4 characters of the
// destination; a wrong one does not confirm, says so and is journaled.
func TestStrongConfirmation(t *testing.T) {
	its := items(1)
	its[0].Verdict.StrongConfirm = "mainnet transfer"
	f := newFixture(t, its, true)
	to := its[0].Action.Payload.Transaction.To
	f.key("a")
	f.mustShow("Strong confirmation: mainnet transfer")
	f.mustShow("Type the last 4 characters of the destination")
	f.afterGrace()
	f.key("y")
	if len(f.b.Decisions()) != 0 {
		t.Fatal("y confirmed a decision that needs the strong confirmation")
	}
	f.key("backspace")
	f.typeText(strings.ToUpper(to[len(to)-4:]) + "x")
	f.key("enter")
	if len(f.b.Decisions()) != 0 {
		t.Fatal("a wrong typed confirmation confirmed")
	}
	f.mustShow("does not match the last 4 characters: not confirmed")
	if why := f.abandonedWhy(); len(why) != 1 || why[0] != "wrong typed confirmation" {
		t.Fatalf("abandoned = %q", why)
	}
	f.typeText(to[len(to)-4:])
	f.key("enter")
	ds := f.b.Decisions()
	if len(ds) != 1 || ds[0].Confirmation != app.ConfirmTyped {
		t.Fatalf("decisions = %+v, want one typed confirmation", ds)
	}
}

// Issue 13: a reject carries an optional reason; the confirm dialog names
// the rule behind the verdict; y is journaled as ConfirmKey.
func TestRejectReasonAndRuleInDialog(t *testing.T) {
	f := newFixture(t, items(2), true)
	f.key("j") // sample 1: review verdict
	f.key("r")
	f.mustShow("Reason (optional")
	f.afterGrace()
	f.typeText("duplicate of act-7")
	f.key("enter")
	f.mustShow("Rule     unknown-destination: destination is not whitelisted")
	f.afterGrace()
	f.key("y")
	ds := f.b.Decisions()
	if len(ds) != 1 || ds[0].Approve || ds[0].Reason != "duplicate of act-7" || ds[0].Confirmation != app.ConfirmKey {
		t.Fatalf("decisions = %+v", ds)
	}
}

// Issue 13: cancelling with n or esc, and a missing required reason, are
// journaled as abandoned.
func TestCancelAndMissingReasonAreJournaled(t *testing.T) {
	f := newFixture(t, items(3), true)
	f.key("a")
	f.afterGrace()
	f.key("n")
	f.key("j")
	f.key("j") // sample 2: reject verdict, so approving needs a reason
	f.key("a")
	f.afterGrace()
	f.typeText("no")
	f.key("enter")
	f.key("esc")
	why := f.abandonedWhy()
	if len(why) != 3 || !strings.Contains(why[0], "cancelled") || !strings.Contains(why[1], "no reason") || !strings.Contains(why[2], "cancelled") {
		t.Fatalf("abandoned = %q", why)
	}
	if a := f.b.Abandoned()[0].Decision; a.ActionID == "" || a.MessageSHA256 == "" || !a.Approve {
		t.Fatalf("abandoned decision lacks its details: %+v", a)
	}
}

// Issue 13: copy the action ID, the destination and the message SHA-256.
func TestCopyToClipboard(t *testing.T) {
	its := items(1)
	f := newFixture(t, its, true)
	a := its[0].Action
	sum := sha256.Sum256(a.Messages[0])
	for _, c := range []struct{ k, want, what string }{
		{"i", a.ID, "the action ID"},
		{"d", a.Payload.Transaction.To, "the destination"},
		{"m", hex.EncodeToString(sum[:]), "the message SHA-256"},
	} {
		f.key("c")
		f.key(c.k)
		if !f.saw(tea.SetClipboard(c.want)()) {
			t.Fatalf("c %s did not copy %q", c.k, c.want)
		}
		f.mustShow("Copied " + c.what)
	}
	f.key("c")
	f.key("x")
	f.mustShow("Nothing copied.")
	if f.m.Pending().copying {
		t.Fatal("copy mode stayed on")
	}
}

// Issue 13: notices for new arrivals and for actions about to expire, with
// the bell and a desktop notification.
func TestArrivalAndExpiryNotices(t *testing.T) {
	its := items(2)
	f := newFixture(t, its, true)
	f.m.info.Bell = true
	f.m.info.ExpiryWarning = time.Minute
	it := apptest.SampleItems(3, base)[2]
	f.send(eventMsg{app.ActionUpserted{Item: it}})
	f.send(tickMsg{})
	f.mustShow("New action " + it.Action.ID)
	if !f.saw(tea.RawMsg{Msg: "\a"}) {
		t.Fatal("no bell for a new action")
	}
	f.clock.Advance(its[0].Action.Expires.Sub(base) - 40*time.Second)
	f.send(tickMsg{})
	f.mustShow(its[0].Action.ID + " expires in 40s")
	f.send(tickMsg{}) // announced once only
	ns := f.b.Notifications()
	if len(ns) != 2 || !strings.Contains(ns[0].Body, it.Action.ID) || !strings.Contains(ns[1].Body, "expires in 40s") {
		t.Fatalf("notifications = %+v", ns)
	}
}
