package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/app/apptest"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

func TestLiveUpsertKeepsSelection(t *testing.T) {
	f := newFixture(t, items(5), true)
	f.key("j")
	f.key("j")
	sel := f.m.Pending().SelectedID()
	if sel == "" {
		t.Fatal("nothing selected")
	}
	// A new action that expires first sorts to the top, above the cursor.
	it := apptest.SampleItems(6, base)[5]
	it.Action.Expires = base.Add(10 * time.Second)
	f.send(eventMsg{app.ActionUpserted{Item: it}})
	if got := f.m.Pending().SelectedID(); got != sel {
		t.Fatalf("selection moved from %s to %s", sel, got)
	}
	if f.m.Pending().Len() != 6 {
		t.Fatalf("len = %d, want 6", f.m.Pending().Len())
	}
	if f.m.Pending().Visible() != 6 || f.m.Pending().rows.visible[0].action.ID != it.Action.ID {
		t.Fatal("new action not at the top of the expiry order")
	}
}

func TestRemovedElsewhereDropsWithNote(t *testing.T) {
	f := newFixture(t, items(3), true)
	id := f.m.Pending().SelectedID()
	f.send(eventMsg{app.ActionRemoved{ID: id, Why: app.RemovedElsewhere}})
	if _, ok := f.m.Pending().Item(id); ok {
		t.Fatal("removed action still held")
	}
	f.mustShow("dropped out: decided elsewhere")
	if f.m.Pending().SelectedID() == id || f.m.Pending().SelectedID() == "" {
		t.Fatalf("selection should move to a remaining action, got %q", f.m.Pending().SelectedID())
	}
	// The note goes away after its time.
	f.clock.Advance(noteFor + time.Second)
	f.mustNotShow("dropped out")
}

func TestExpiryDropsOnTick(t *testing.T) {
	its := items(3)
	f := newFixture(t, its, true)
	first := its[0].Action
	f.clock.Advance(first.Expires.Sub(base))
	f.send(tickMsg{})
	if _, ok := f.m.Pending().Item(first.ID); ok {
		t.Fatal("expired action still listed")
	}
	if f.m.Pending().Len() != 2 {
		t.Fatalf("len = %d, want 2", f.m.Pending().Len())
	}
	f.mustShow("1 expired action(s) dropped out")
}

func TestCountdownFollowsClock(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.mustShow("1m30s") // sample 0 expires 90 s after base
	f.clock.Advance(61 * time.Second)
	f.send(tickMsg{})
	f.mustShow("29s")
}

func TestGraceSwallowsKeysAndEnterNeverConfirms(t *testing.T) {
	f := newFixture(t, items(1), true) // item 0: approve verdict
	f.key("a")
	if !f.m.DialogOpen() {
		t.Fatal("approve did not open a dialog")
	}
	f.key("y") // typed at once: swallowed by the grace period
	if !f.m.DialogOpen() || len(f.b.Decisions()) != 0 {
		t.Fatal("a key typed inside the grace period answered the dialog")
	}
	f.afterGrace()
	f.key("enter")
	if !f.m.DialogOpen() || len(f.b.Decisions()) != 0 {
		t.Fatal("Enter confirmed an approval")
	}
	f.mustShow("Enter does not confirm")
	f.clock.Advance(time.Second)
	f.key("y")
	ds := f.b.Decisions()
	if len(ds) != 1 || !ds[0].Approve || ds[0].Override != "" {
		t.Fatalf("decisions = %+v, want one approval without override", ds)
	}
	it, _ := f.m.Pending().Item(ds[0].ActionID)
	if it.Decided != "approved" {
		t.Fatalf("outcome not shown in place: %+v", it)
	}
}

func TestGraceEndsAfterMax(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.key("a")
	for range 10 { // keep typing fast: swallowed until graceMax
		f.clock.Advance(200 * time.Millisecond)
		f.key("x")
	}
	f.key("y")
	if len(f.b.Decisions()) != 1 {
		t.Fatal("y after the maximum grace period did not confirm")
	}
}

func TestCancelSignsNothing(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.key("r") // rejecting an approve verdict: asks for a reason
	f.afterGrace()
	f.key("esc")
	if f.m.DialogOpen() || len(f.b.Decisions()) != 0 {
		t.Fatal("esc did not cancel")
	}
	f.mustShow("nothing was signed")
}

func TestOverrideNeedsReason(t *testing.T) {
	f := newFixture(t, items(3), true) // item 2: reject verdict
	f.key("j")
	f.key("j")
	it := f.m.Pending().Selected()
	if level(it.Verdict) != app.VerdictReject {
		t.Fatalf("fixture: want a reject verdict, got %s", it.Verdict.Level)
	}
	f.key("a")
	f.mustShow("verdict is REJECT")
	f.afterGrace()
	f.typeText("ok")
	f.key("enter")
	f.mustShow("at least 8 characters")
	f.typeText(" because ticket CR-42 says so")
	f.key("enter")
	f.mustShow("Against the verdict")
	f.afterGrace()
	f.key("y")
	ds := f.b.Decisions()
	if len(ds) != 1 || ds[0].Override != "ok because ticket CR-42 says so" || ds[0].Verdict != app.VerdictReject {
		t.Fatalf("decisions = %+v", ds)
	}
}

func TestLockedAsksPassphraseWithBackoff(t *testing.T) {
	f := newFixture(t, items(1), false)
	f.mustShow("LOCKED")
	f.key("a")
	f.afterGrace()
	f.key("y")
	if _, ok := f.topDialog().(*passphraseDialog); !ok {
		t.Fatal("locked key did not ask for the passphrase")
	}
	f.afterGrace()
	f.typeText("wrong")
	f.mustShow("•••••")
	f.mustNotShow("wrong")
	d, ok := f.topDialog().(*passphraseDialog)
	if !ok {
		t.Fatal("no passphrase dialog")
	}
	f.key("enter")
	if d.field.Len() != 0 {
		t.Fatal("passphrase field not emptied after submit")
	}
	f.mustShow("wrong passphrase")
	if f.b.UnlockBackoff() <= 0 {
		t.Fatal("no back-off after a wrong passphrase")
	}
	f.typeText("correct horse")
	f.key("enter")
	f.mustShow("Too many wrong passphrases: wait 1s")
	f.mustShow("what you typed was cleared")
	if d.field.Len() != 0 {
		t.Fatal("text typed during the back-off kept for the next try")
	}
	if len(f.b.Decisions()) != 0 {
		t.Fatal("signed while locked")
	}
	f.clock.Advance(2 * time.Second)
	f.typeText("correct horse")
	f.key("enter")
	if f.m.DialogOpen() {
		t.Fatalf("dialog still open:\n%s", f.screen())
	}
	if len(f.b.Decisions()) != 1 {
		t.Fatal("decision not sent after unlock")
	}
	f.mustShow("unlocked")
}

func TestLockTimingIdleAndAbsolute(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.b.IdleLock = 5 * time.Minute
	f.b.AbsoluteLock = 12 * time.Minute
	f.send(tickMsg{})
	f.mustShow("unlocked 5m00s left")
	f.clock.Advance(4 * time.Minute)
	f.send(tickMsg{})
	f.mustShow("unlocked 1m00s left")
	f.key("j") // activity resets the idle timer
	f.send(tickMsg{})
	f.mustShow("unlocked 5m00s left")
	f.clock.Advance(4 * time.Minute)
	f.key("j") // idle again reset, but the absolute limit is 12 min after unlock
	f.send(tickMsg{})
	f.mustShow("unlocked 4m00s left")
	f.clock.Advance(4 * time.Minute)
	f.send(tickMsg{})
	f.mustShow("LOCKED")
	f.key("j")
	f.send(tickMsg{})
	f.mustShow("LOCKED")
}

func TestLockKey(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.key("L")
	if locked, _ := f.b.Locked(); !locked {
		t.Fatal("L did not lock")
	}
	f.mustShow("LOCKED")
}

func TestNeverSignsExpired(t *testing.T) {
	its := items(1)
	f := newFixture(t, its, true)
	f.key("a")
	f.clock.Advance(its[0].Action.Expires.Sub(base)) // expires while the dialog is open
	f.key("y")
	if len(f.b.Decisions()) != 0 {
		t.Fatal("signed an expired action")
	}
	f.mustShow("will not be signed")

	// And an action that is not pending cannot even open the dialog.
	it := apptest.SampleItems(2, base)[1]
	it.Action.Status = client.StatusApproved
	f.send(eventMsg{app.ActionUpserted{Item: it}})
	f.m.Pending().setCursor(0)
	for f.m.Pending().SelectedID() != it.Action.ID {
		f.key("j")
	}
	f.key("r")
	if f.m.DialogOpen() {
		t.Fatal("dialog opened for an action that is not pending")
	}
}

func TestVerdictChangedWhileDeciding(t *testing.T) {
	its := items(1)
	f := newFixture(t, its, true)
	f.key("a")
	changed := its[0]
	changed.Verdict = app.Verdict{Level: app.VerdictReject}
	f.send(eventMsg{app.ActionUpserted{Item: changed}})
	f.afterGrace()
	f.key("y")
	if len(f.b.Decisions()) != 0 {
		t.Fatal("signed after the verdict changed")
	}
	f.mustShow("verdict changed")
}

func TestFailureStaysListedWithError(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.b.DecideFunc = func(app.Decision) (app.Outcome, error) {
		return app.Outcome{Result: app.ResultRefused, Err: "HTTP 400: status not pending"}, nil
	}
	f.key("a")
	f.afterGrace()
	f.key("y")
	it := f.m.Pending().Selected()
	if it == nil || it.LastErr == "" || it.Decided != "" {
		t.Fatalf("failed action: %+v", it)
	}
	f.mustShow("Could not approve")
	f.mustShow("Failed: HTTP 400")
}

func TestSelftestFailureRefusesToSign(t *testing.T) {
	f := newFixture(t, items(1), true)
	f.b.SetSelftest(false, "BLS vector 3 mismatch")
	f.send(tickMsg{})
	f.mustShow("SELF-TEST FAILED")
	f.key("a")
	if f.m.DialogOpen() {
		t.Fatal("dialog opened although the self-test failed")
	}
	f.mustShow("Signing is disabled")
}

func TestQuitAsksOnlyWhenInFlight(t *testing.T) {
	f := newFixture(t, items(2), true)
	f.m.inflight = 1
	_, cmd := f.m.Update(uitest.Key("q"))
	if cmd != nil || !f.m.DialogOpen() {
		t.Fatal("quit with a decision in flight did not ask")
	}
	f.afterGrace()
	f.key("n")
	if f.m.DialogOpen() {
		t.Fatal("n did not close the quit dialog")
	}
	f.m.inflight = 0
	_, cmd = f.m.Update(uitest.Key("q"))
	if cmd == nil {
		t.Fatal("q did not quit")
	}
	if locked, _ := f.b.Locked(); locked {
		t.Fatal("q locked the key inside Update: the lock must run in a tea.Cmd")
	}
	msg := cmd()
	if locked, _ := f.b.Locked(); !locked {
		t.Fatal("quitting did not lock the key")
	}
	if _, cmd = f.m.Update(msg); cmd == nil {
		t.Fatal("no quit once locked")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("the program does not quit once the key is locked")
	}
}

func TestFilterSmallListAndEsc(t *testing.T) {
	f := newFixture(t, items(8), true)
	f.key("/")
	f.typeText("btc")
	if got := f.m.Pending().Visible(); got != 2 {
		t.Fatalf("visible = %d, want 2 BTC actions", got)
	}
	f.key("q") // q types into the filter, does not quit
	if f.m.Pending().Query() != "btcq" {
		t.Fatalf("query = %q", f.m.Pending().Query())
	}
	f.key("backspace")
	f.key("enter")
	f.mustShow("filter: btc")
	f.key("esc")
	if f.m.Pending().Visible() != 8 {
		t.Fatal("esc did not clear the filter")
	}
}

func TestFilterLargeListDropsStaleResults(t *testing.T) {
	f := newFixture(t, items(syncLimit+500), true)
	p := f.m.Pending()
	p.filterOn = true
	cmdE := p.setQuery("eth")
	if cmdE == nil {
		t.Fatal("large list should filter asynchronously")
	}
	genE := p.gen
	jobE := p.launch(false)
	cmdB := p.setQuery("btc")
	_ = cmdB
	jobB := p.launch(false)
	// The newer result arrives first, then the stale one.
	p.Update(jobB())
	resE, ok := jobE().(listResultMsg)
	if !ok {
		t.Fatal("the job did not return a list result")
	}
	if resE.gen != genE {
		t.Fatal("job lost its generation")
	}
	p.Update(resE)
	if p.Query() != "btc" {
		t.Fatalf("stale result applied: query %q", p.Query())
	}
	for _, r := range p.rows.visible {
		if !r.matches("btc") {
			t.Fatalf("row %s does not match btc", r.action.ID)
		}
	}
}

func TestSortCyclesAndKeepsSelection(t *testing.T) {
	f := newFixture(t, items(12), true)
	f.key("j")
	f.key("j")
	sel := f.m.Pending().SelectedID()
	f.key("s")
	if f.m.Pending().SortMode() != SortNewest || f.m.Pending().SelectedID() != sel {
		t.Fatal("sort did not change or lost the selection")
	}
	f.key("s")
	vis := f.m.Pending().rows.visible
	for i := 1; i < len(vis); i++ {
		if vis[i-1].rank > vis[i].rank {
			t.Fatal("verdict sort not ordered reject, review, approve")
		}
	}
}

func TestHostileTextIsCleaned(t *testing.T) {
	its := items(1)
	its[0].Action.Payload.Transaction.To = "0xabc\x1b]52;c;ZXZpbA==\x07\x1b[2J"
	its[0].Verdict.Rules = []app.RuleHit{{Name: "x\x1b[31m", Verdict: "review", Reason: "bell\x07"}}
	f := newFixture(t, its, true)
	out := f.m.Render()
	if strings.Contains(out, "\x1b]52") || strings.Contains(out, "\x07") || strings.Contains(out, "\x1b[2J") {
		t.Fatal("control sequences from the payload reached the terminal")
	}
}

func TestPolicyHygieneWarnings(t *testing.T) {
	it := items(2)[1] // sample 1: 1-of-1
	if ws := hygiene(&it); len(ws) != 1 || !strings.Contains(ws[0], "1-of-1") {
		t.Fatalf("1-of-1 not flagged: %v", ws)
	}
	it = items(3)[2] // sample 2: 3-of-3
	if ws := hygiene(&it); len(ws) != 1 || !strings.Contains(ws[0], "3-of-3") {
		t.Fatalf("N-of-N not flagged: %v", ws)
	}
	it.Verdict.Warnings = []string{"policy is 3-of-3 (from governance)"}
	if ws := hygiene(&it); len(ws) != 1 {
		t.Fatalf("warning duplicated: %v", ws)
	}
	it = items(1)[0] // 2-of-3
	if ws := hygiene(&it); len(ws) != 0 {
		t.Fatalf("2-of-3 flagged: %v", ws)
	}
}

func TestNoColorHasNoColour(t *testing.T) {
	f := newFixture(t, items(4), true)
	out := f.m.Render()
	for _, bad := range []string{"[38;", "[48;", "[31m", "[32m"} {
		if strings.Contains(out, bad) {
			t.Fatalf("NO_COLOR output contains colour %q", bad)
		}
	}
}

func TestInitialItemsShownAsCached(t *testing.T) {
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now})
	m := New(b, Options{Now: c.Now, NoColor: true, InitialItems: items(3)})
	m.Update(struct{}{})
	m.width, m.height = 120, 40
	m.layout()
	if s := m.Render(); !strings.Contains(s, "cached") || m.Pending().Len() != 3 {
		t.Fatalf("cache not shown at once:\n%s", s)
	}
}

func TestDecideHonoursContext(t *testing.T) {
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now, Items: items(1), Unlocked: true})
	b.DecideDelay = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := b.Decide(ctx, app.Decision{ActionID: items(1)[0].Action.ID, Approve: true})
	if err == nil || out.Result != app.ResultUnknown {
		t.Fatalf("cancelled decide: %+v %v", out, err)
	}
}

func TestUnlockKeyOpensPassphraseAlone(t *testing.T) {
	f := newFixture(t, nil, false)
	f.mustShow("LOCKED")
	f.key("u")
	d, ok := f.topDialog().(*passphraseDialog)
	if !ok || d.then != nil {
		t.Fatal("u did not open a plain unlock dialog")
	}
	f.afterGrace()
	f.typeText("correct horse")
	f.key("enter")
	if f.m.DialogOpen() {
		t.Fatalf("dialog still open after a right passphrase:\n%s", f.screen())
	}
	if locked, _ := f.b.Locked(); locked {
		t.Fatal("u + passphrase did not unlock")
	}
	if len(f.b.Decisions()) != 0 {
		t.Fatal("unlocking alone sent a decision")
	}
	f.key("u")
	if f.m.DialogOpen() {
		t.Fatal("u opened a dialog while already unlocked")
	}
	f.mustShow("already unlocked")
}

func TestRawPayloadFetchedWhenNotHeld(t *testing.T) {
	its := items(2)
	want := its[0].Action.RawPayload()
	for i := range its {
		a := *its[i].Action
		a.Detail = nil
		its[i].Action = &a
	}
	f := newFixture(t, its, true)
	calls := 0
	f.b.RawFunc = func(string) ([]byte, error) { calls++; return want, nil }
	f.key("p")
	if calls == 0 {
		t.Fatal("p did not ask the backend for the raw payload")
	}
	f.mustShow("Raw payload")
	f.mustShow(fmt.Sprintf("(%d bytes)", len(want)))
	f.key("j") // another action: fetched too
	if calls < 2 {
		t.Fatal("moving while the raw view is open did not fetch the next payload")
	}
	f.b.RawFunc = func(string) ([]byte, error) { return nil, errors.New("offline") }
	f.key("k")
	f.mustShow("Could not load the raw payload: offline")
}

func TestFilterTermsMatchAnyFieldIgnoringCase(t *testing.T) {
	r := newRow(items(1)[0], verdictPool{})
	a := r.action
	tx := a.Payload.Transaction
	for _, q := range []string{strings.ToLower(a.ID[:6]), strings.ToLower(tx.Network.Name), strings.ToLower(tx.Asset.Symbol) + " " + strings.ToLower(a.ID[:4])} {
		if !r.matches(q) {
			t.Errorf("row does not match %q", q)
		}
	}
	if r.matches(strings.ToLower(tx.Network.Name) + " zzzz-no-such-thing") {
		t.Error("a term that occurs nowhere still matched")
	}
}

func TestMouseClickSelectsAndWheelScrolls(t *testing.T) {
	f := newFixture(t, items(30), true)
	p := f.m.pending
	before := p.SelectedID()
	// Find the screen row of the third list entry and click it.
	lines := strings.Split(f.screen(), "\n")
	want := p.rows.visible[2].action
	y := -1
	for i, l := range lines {
		if strings.Contains(l, amountText(want.Payload.Transaction)) && strings.Contains(l, want.Payload.Transaction.Network.Name[:4]) {
			y = i
			break
		}
	}
	if y < 0 {
		t.Fatalf("row not on screen:\n%s", f.screen())
	}
	f.send(tea.MouseClickMsg{X: 3, Y: y, Button: tea.MouseLeft})
	if got := p.SelectedID(); got == before || got != want.ID {
		t.Fatalf("click on line %d selected %q, want %q", y, got, want.ID)
	}
	f.send(tea.MouseWheelMsg{X: 3, Y: y, Button: tea.MouseWheelDown})
	if got := p.SelectedID(); got == want.ID {
		t.Fatal("wheel down did not move the selection")
	}
}

func TestFilterTextBuiltOnDemandAndDroppedOnClear(t *testing.T) {
	f := newFixture(t, items(5), true)
	s := &f.m.pending.rows
	for _, r := range s.sorted {
		if r.search.Load() != nil {
			t.Fatal("an unfiltered list holds filter text")
		}
	}
	f.key("/")
	f.typeText("eth")
	built := 0
	for _, r := range s.sorted {
		if r.search.Load() != nil {
			built++
		}
	}
	if built != len(s.sorted) {
		t.Fatalf("filtering built %d of %d filter texts", built, len(s.sorted))
	}
	f.key("esc")
	for _, r := range s.sorted {
		if r.search.Load() != nil {
			t.Fatal("clearing the filter kept the filter text")
		}
	}
	warmSearch(s.sorted)()
	for _, r := range s.sorted {
		if p := r.search.Load(); p == nil || *p != searchText(r.item()) {
			t.Fatal("warmSearch did not build every row's text")
		}
	}
}

// On a narrow terminal the header drops " left" from the lock countdown,
// and only from there: a keystore warning is shown as it is.
func TestHeaderShortensOnlyTheLockCountdown(t *testing.T) {
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{Info: app.Info{Profile: "p", KeystoreWarning: "2 days left"}, Now: c.Now, Unlocked: true})
	m := New(b, Options{Now: c.Now, NoColor: true})
	for _, width := range []int{80, 120} {
		m.Update(tea.WindowSizeMsg{Width: width, Height: 24})
		header := strings.SplitN(ansi.Strip(m.Render()), "\n", 2)[0]
		if !strings.Contains(header, "2 days left") {
			t.Fatalf("at %d columns the warning was cut: %q", width, header)
		}
		if got := strings.Count(header, " left"); (width >= 100) != (got == 2) {
			t.Fatalf("at %d columns the header has %d \" left\": %q", width, got, header)
		}
	}
}
