package ui

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/ui/internal/uitest"
	"github.com/qapprove/qapprove/ui/keys"
)

// handle sends each message to d and returns the last action.
func handle(d dialog, msgs ...tea.Msg) Action {
	var a Action = ActionNone{}
	for _, m := range msgs {
		a = d.HandleMsg(m)
	}
	return a
}

func typed(s string) []tea.Msg { return uitest.Type(s) }

func wantAction(t *testing.T, what string, got, want Action) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: action %#v, want %#v", what, got, want)
	}
}

func testDecision(approve bool) app.Decision {
	return app.Decision{ActionID: "act-1", Approve: approve, Verdict: app.VerdictApprove, MessageSHA256: "ab", Confirmation: app.ConfirmKey}
}

func TestConfirmDialogActions(t *testing.T) {
	km := keys.Default()
	it := items(1)[0]
	d := testDecision(true)
	cancel := ActionCancel{Decision: d, Why: "cancelled in the confirmation dialog", Note: cancelNote}

	c := newConfirmDialog(km, d, it)
	wantAction(t, "enter", handle(c, uitest.Key("enter")), ActionNone{})
	if !strings.Contains(c.hint, "Enter does not confirm") {
		t.Fatalf("enter: hint %q", c.hint)
	}
	wantAction(t, "a spinner tick", handle(c, spinner.TickMsg{}), ActionNone{})
	wantAction(t, "y", handle(c, uitest.Key("y")), ActionConfirm{Decision: d})
	wantAction(t, "n", handle(newConfirmDialog(km, d, it), uitest.Key("n")), cancel)
	wantAction(t, "esc", handle(newConfirmDialog(km, d, it), uitest.Key("esc")), cancel)
}

func TestStrongConfirmDialogActions(t *testing.T) {
	km := keys.Default()
	it := items(1)[0]
	it.Verdict.StrongConfirm = "mainnet"
	d := testDecision(true)
	c := newConfirmDialog(km, d, it)
	if c.strong == "" || len([]rune(c.want)) != 4 {
		t.Fatalf("not a strong confirmation: %+v", c)
	}
	wantAction(t, "enter alone", handle(c, uitest.Key("enter")), ActionNone{})
	wantAction(t, "y is text here", handle(c, uitest.Key("y")), ActionNone{})
	wrong := strings.Repeat("#", 4)
	wantAction(t, "wrong", handle(c, append(typed(wrong[1:]), uitest.Key("enter"))...), ActionAbandon{Decision: d, Why: "wrong typed confirmation"})
	if c.field.Len() != 0 || !strings.Contains(c.hint, "does not match") {
		t.Fatalf("wrong confirmation: field %d, hint %q", c.field.Len(), c.hint)
	}
	right := d
	right.Confirmation = app.ConfirmTyped
	wantAction(t, "right", handle(c, append(typed(c.want), uitest.Key("enter"))...), ActionConfirm{Decision: right})
	wantAction(t, "esc", handle(newConfirmDialog(km, d, it), uitest.Key("esc")),
		ActionCancel{Decision: d, Why: "cancelled in the confirmation dialog", Note: cancelNote})
}

func TestReasonDialogActions(t *testing.T) {
	d := testDecision(true)
	r := newReasonDialog(d, true)
	wantAction(t, "too short", handle(r, append(typed("ok"), uitest.Key("enter"))...),
		ActionAbandon{Decision: d, Why: "no reason given for going against the verdict"})
	if !strings.Contains(r.err, "at least 8 characters") {
		t.Fatalf("too short: err %q", r.err)
	}
	over := d
	over.Override = "ok because CR-42"
	wantAction(t, "a reason", handle(r, append(typed(" because CR-42"), uitest.Key("enter"))...), ActionContinue{Decision: over})
	wantAction(t, "esc", handle(newReasonDialog(d, true), uitest.Key("esc")),
		ActionCancel{Decision: d, Why: "cancelled in the reason dialog", Note: cancelNote})

	rej := testDecision(false)
	wantAction(t, "optional reason left empty", handle(newReasonDialog(rej, false), uitest.Key("enter")), ActionContinue{Decision: rej})
	withWhy := rej
	withWhy.Reason = "dup"
	wantAction(t, "optional reason", handle(newReasonDialog(rej, false), append(typed("dup"), uitest.Key("enter"))...), ActionContinue{Decision: withWhy})
}

func TestPassphraseDialogActions(t *testing.T) {
	p := newPassphraseDialog(nil)
	wantAction(t, "enter on nothing", handle(p, uitest.Key("enter")), ActionNone{})
	a := handle(p, append(typed("secret"), uitest.Key("enter"))...)
	u, ok := a.(ActionUnlock)
	if !ok || string(u.Passphrase) != "secret" || p.field.Len() != 0 {
		t.Fatalf("enter: action %#v, field %d", a, p.field.Len())
	}
	if c, ok := handle(p, unlockStartedMsg{}).(ActionCmd); !ok || c.Cmd == nil || !p.busy || p.typing() {
		t.Fatal("started: no spinner, or not busy")
	}
	wantAction(t, "text while busy", handle(p, typed("x")...), ActionNone{})
	wantAction(t, "enter while busy", handle(p, uitest.Key("enter")), ActionNone{})
	wantAction(t, "wrong", handle(p, unlockDoneMsg{err: errors.New("wrong passphrase"), wait: 1e9}), ActionNone{})
	if p.busy || !strings.Contains(p.err, "wrong passphrase — wait 1s") || !strings.Contains(p.err, "2 keys typed while checking ignored") {
		t.Fatalf("wrong: busy %v err %q", p.busy, p.err)
	}
	handle(p, typed("more")...)
	wantAction(t, "back-off", handle(p, unlockRefusedMsg{wait: 2e9}), ActionNone{})
	if p.field.Len() != 0 || !strings.Contains(p.err, "Too many wrong passphrases: wait 2s") {
		t.Fatalf("back-off: field %d err %q", p.field.Len(), p.err)
	}
	wantAction(t, "unlocked", handle(p, unlockDoneMsg{}), ActionClose{Note: "Key unlocked."})
	const note = "Cancelled: the key stays locked, nothing was signed."
	wantAction(t, "esc", handle(newPassphraseDialog(nil), uitest.Key("esc")), ActionClose{Note: note})

	d := testDecision(true)
	wantAction(t, "unlocked for a decision", handle(newPassphraseDialog(&d), unlockDoneMsg{}), ActionConfirm{Decision: d})
	wantAction(t, "esc on a decision", handle(newPassphraseDialog(&d), uitest.Key("esc")),
		ActionCancel{Decision: d, Why: "cancelled at the passphrase: the key stayed locked", Note: note})
}

func TestQuitDialogActions(t *testing.T) {
	q := quitDialog{keys: keys.Default()}
	wantAction(t, "y", handle(q, uitest.Key("y")), ActionQuit{})
	wantAction(t, "n", handle(q, uitest.Key("n")), ActionClose{})
	wantAction(t, "esc", handle(q, uitest.Key("esc")), ActionClose{})
	wantAction(t, "enter", handle(q, uitest.Key("enter")), ActionNone{})
}

// L locks in a command: Update returns at once, the header says
// "locking…" and no decision starts until the lock is done.
func TestLockRunsInCmdAndHoldsDecisions(t *testing.T) {
	f := newFixture(t, items(1), true)
	var cmd tea.Cmd
	f.guard.inModel(func() { _, cmd = f.m.Update(uitest.Key("L")) })
	if cmd == nil {
		t.Fatal("L returned no command")
	}
	if locked, _ := f.b.Locked(); locked {
		t.Fatal("L locked inside Update")
	}
	f.mustShow("locking…")
	f.key("a")
	if f.m.DialogOpen() {
		t.Fatal("a decision started while the key was being locked")
	}
	if why := f.abandonedWhy(); len(why) != 1 || !strings.Contains(why[0], "being locked") {
		t.Fatalf("the refused attempt was not journaled: %q", why)
	}
	f.run(cmd)
	if locked, _ := f.b.Locked(); !locked {
		t.Fatal("the lock command did not lock")
	}
	f.mustShow("LOCKED")
	f.key("j") // clears the refusal line
	f.mustShow("Key locked.")
	f.mustNotShow("locking…")
}

// InterruptMsg (cmd's signal handling) wipes the dialogs, locks with
// reason "signal" in a command, then quits, even with a decision in flight.
func TestInterruptLocksThenQuits(t *testing.T) {
	f := newFixture(t, nil, false)
	f.m.inflight = 1
	f.key("u")
	f.afterGrace()
	f.typeText("typed")
	p, ok := f.topDialog().(*passphraseDialog)
	if !ok {
		t.Fatal("no passphrase dialog")
	}
	var cmd tea.Cmd
	f.guard.inModel(func() { _, cmd = f.m.Update(InterruptMsg{}) })
	if f.m.DialogOpen() || p.field.Len() != 0 {
		t.Fatal("dialogs not closed and wiped")
	}
	if err := f.b.Unlock([]byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	f.drainEvents()
	if locked, _ := f.b.Locked(); locked || cmd == nil {
		t.Fatal("locked inside Update, or no command")
	}
	msg := cmd()
	reason := ""
	for len(f.b.Subscribe()) > 0 {
		if lc, ok := (<-f.b.Subscribe()).(app.LockChanged); ok && lc.Locked {
			reason = lc.Reason
		}
	}
	if reason != "signal" {
		t.Fatalf("lock reason %q, want signal", reason)
	}
	f.key("q") // ignored while quitting
	var quit tea.Cmd
	f.guard.inModel(func() { _, quit = f.m.Update(msg) })
	if quit == nil {
		t.Fatal("no quit after the lock")
	}
	if _, ok := quit().(tea.QuitMsg); !ok {
		t.Fatal("the console did not quit")
	}
}
