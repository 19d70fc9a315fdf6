package main

import (
	"fmt"
	"strings"
	"testing"
)

// drawn is a screen with a dialog framed by corners and side drawn over
// background rows that carry their own box-drawing characters.
func drawn(tl, tr, side, bl, br, edge string, lines ...string) string {
	const inner = 50
	rows := []string{" qapprove │ keystore: file │ □ unlocked", "  Verdict REJECT  " + tl + strings.Repeat(edge, inner+2) + tr + " tail"}
	for _, l := range lines {
		rows = append(rows, "  • rule │ reject "+side+" "+fmt.Sprintf("%-*s", inner, l)+" "+side+" tail")
	}
	return strings.Join(append(rows, "                  "+bl+strings.Repeat(edge, inner+2)+br, " y confirm • esc/n cancel"), "\n")
}

// TestFindDialog reads the dialog, and only the dialog, off a screen:
// rounded and thick frames, its title, the keys it says it ignored.
func TestFindDialog(t *testing.T) {
	scr := drawn("╭", "╮", "│", "╰", "╯", "─", "", "REJECT this action?", "", "Action   2FcY", "Press y to reject and sign", "2 keys ignored: typed before the dialog opened.")
	b, ok := findDialog(scr)
	if !ok || b.title() != "REJECT this action?" || b.ignored() != 2 || !strings.Contains(b.text(), "Action   2FcY") || strings.Contains(b.text(), "tail") || strings.Contains(b.text(), "Verdict") {
		t.Fatalf("rounded frame: %v %q (title %q, ignored %d)", ok, b, b.title(), b.ignored())
	}
	b, ok = findDialog(drawn("┏", "┓", "┃", "┗", "┛", "━", "APPROVE this action?", "1 key ignored: typed before the dialog opened."))
	if !ok || b.title() != "APPROVE this action?" || b.ignored() != 1 {
		t.Fatalf("thick frame: %v %q", ok, b)
	}
	if b, ok := findDialog(" Pending 9\n ▸ REVIEW  Bitcoin │ x │\n Detail"); ok {
		t.Fatalf("a screen without a dialog gave %q", b)
	}
	d := &dialogDriver{title: "REJECT this action?", contents: []string{"Action   2FcY"}}
	if b, _ := findDialog(scr); !d.matches(b) {
		t.Fatal("the checked dialog does not match")
	}
	d.contents = append(d.contents, "Action   9XYZ")
	if b, _ := findDialog(scr); d.matches(b) {
		t.Fatal("a dialog about another action matches")
	}
}

// fatalTB records the first Fatalf and stops the driver there.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

// refusal runs act against a terminal that is not there and returns why
// the driver failed the test ("" when it did not).
func refusal(act func(tm *tmuxTerm)) (msg string) {
	tb := &fatalTB{}
	defer func() {
		if r := recover(); r != nil {
			if r != tb {
				panic(r)
			}
			msg = tb.msg
		}
	}()
	act(&tmuxTerm{t: tb, socket: "qapprove-e2e-none", target: "none"})
	return ""
}

// TestDialogDriverRefusesUncheckedDialogs: no key reaches a dialog whose
// title and content the test did not check, or that the screen does not
// show.
func TestDialogDriverRefusesUncheckedDialogs(t *testing.T) {
	cases := []struct {
		name, why string
		act       func(tm *tmuxTerm)
	}{
		{"nothing checked", "did not check", func(tm *tmuxTerm) { tm.Dialog().Confirm() }},
		{"title only", "did not check", func(tm *tmuxTerm) { (&dialogDriver{tm: tm, title: "APPROVE this action?"}).Confirm() }},
		{"content only", "did not check", func(tm *tmuxTerm) { (&dialogDriver{tm: tm, contents: []string{"Action   x"}}).Press("Enter") }},
		{"type unchecked", "did not check", func(tm *tmuxTerm) { tm.Dialog().Type("secret") }},
		{"content before title", "before Title", func(tm *tmuxTerm) { tm.Dialog().Contains("Action   x") }},
		{"not on the screen", "no longer shows it", func(tm *tmuxTerm) {
			(&dialogDriver{tm: tm, title: "APPROVE this action?", contents: []string{"Action   x"}}).Confirm()
		}},
	}
	for _, c := range cases {
		if msg := refusal(c.act); !strings.Contains(msg, c.why) {
			t.Errorf("%s: the driver did not refuse with %q: %q", c.name, c.why, msg)
		}
	}
}
