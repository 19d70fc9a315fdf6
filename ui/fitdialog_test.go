package ui

import (
	"strings"
	"testing"
)

// A dialog too tall for the terminal keeps its end whole (the prompt and
// the field to type in) and says how much of the rest is hidden.
func TestFitDialogKeepsThePromptAndField(t *testing.T) {
	var lines []string
	lines = append(lines, "TITLE", "")
	for i := 0; i < 18; i++ {
		lines = append(lines, "summary line")
	}
	lines = append(lines, "", "Against the verdict.", "  reason", "", "Strong confirmation: mainnet.", "Type the last 4", "> field")
	faint := func(s ...string) string { return strings.Join(s, "") }
	got := fitDialog(lines, 20, faint)
	if len(got) > 20 {
		t.Fatalf("%d lines, want at most 20", len(got))
	}
	if got[len(got)-1] != "> field" || got[len(got)-3] != "Strong confirmation: mainnet." {
		t.Fatalf("the end of the dialog was cut:\n%s", strings.Join(got, "\n"))
	}
	if got[0] != "TITLE" {
		t.Fatalf("the title was cut:\n%s", strings.Join(got, "\n"))
	}
	if !strings.Contains(strings.Join(got, "\n"), "more line(s): enlarge the terminal") {
		t.Fatalf("nothing says lines are hidden:\n%s", strings.Join(got, "\n"))
	}
	if short := fitDialog(lines[:5], 20, faint); len(short) != 5 {
		t.Fatalf("a dialog that fits was changed: %q", short)
	}
}
