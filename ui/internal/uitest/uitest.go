// Package uitest holds what the console's TUI tests share: key presses by
// name, typed text, and waiting for a frame of a teatest program. Only
// tests import it.
package uitest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// Key is the key press named k ("enter", "esc", "tab", "backspace",
// "ctrl+c", "up", "down"), or else the press of k's first character.
func Key(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// Type is one key press per character of s.
func Type(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// Probe is a message no model handles: sending it makes a program render
// again.
type Probe struct{}

// WaitFor makes tm render every 20 ms until the frame that last returns
// passes ok, and returns that frame; it fails t, naming what it waited
// for, when timeout passes first.
func WaitFor(t testing.TB, tm *teatest.TestModel, last func() string, ok func(string) bool, timeout time.Duration, what string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		tm.Send(Probe{})
		time.Sleep(20 * time.Millisecond)
		if f := last(); ok(f) {
			return f
		}
	}
	t.Fatalf("%s; last frame:\n%s", what, last())
	return ""
}

// WaitFrame waits (see WaitFor) until the frame shows s.
func WaitFrame(t testing.TB, tm *teatest.TestModel, last func() string, s string, timeout time.Duration) string {
	t.Helper()
	return WaitFor(t, tm, last, func(f string) bool { return strings.Contains(f, s) }, timeout, "screen never showed "+strconv.Quote(s))
}
