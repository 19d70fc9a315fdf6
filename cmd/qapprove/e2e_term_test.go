package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// e2ePass is a passphrase the strength estimator accepts.
const e2ePass = "tundra-Violet-88-lantern-quartz"

var tmuxSeq atomic.Int64

// tmuxTerm is one tmux server (own socket) running one command in a
// 120x40 window; the command's exit code is printed as EXIT=n and the
// pane stays open so the last screen can be read.
type tmuxTerm struct {
	t              testing.TB
	socket, target string
}

func startTmux(t *testing.T, argv ...string) *tmuxTerm {
	t.Helper()
	tm := &tmuxTerm{t: t, socket: fmt.Sprintf("qapprove-e2e-%d-%d", os.Getpid(), tmuxSeq.Add(1)), target: "qa"}
	var q []string
	for _, a := range argv {
		q = append(q, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	script := strings.Join(q, " ") + `; echo "EXIT=$?"; sleep 600`
	out, err := exec.Command("tmux", "-L", tm.socket, "-f", "/dev/null", "new-session", "-d", "-s", tm.target,
		"-x", "120", "-y", "40", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	// The server may be gone already: cleanup has nothing to assert.
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	return tm
}

// keys sends tmux key names (Enter, Tab, q …).
func (tm *tmuxTerm) keys(keys ...string) {
	tm.t.Helper()
	args := append([]string{"-L", tm.socket, "send-keys", "-t", tm.target}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		tm.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// text types text literally.
func (tm *tmuxTerm) text(text string) {
	tm.t.Helper()
	tm.keys("-l", text)
}

// line types text literally, then presses Enter.
func (tm *tmuxTerm) line(text string) {
	tm.t.Helper()
	tm.text(text)
	tm.keys("Enter")
}

// resize changes the window size.
func (tm *tmuxTerm) resize(w, h int) error {
	return exec.Command("tmux", "-L", tm.socket, "resize-window", "-t", tm.target, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)).Run()
}

func (tm *tmuxTerm) screen() string {
	out, err := exec.Command("tmux", "-L", tm.socket, "capture-pane", "-p", "-t", tm.target).Output()
	if err != nil {
		return "(capture-pane failed: " + err.Error() + ")"
	}
	return string(out)
}

// joined is the screen and its scrollback with wrapped lines joined: what
// a command printed after its full-screen UI closed, whole.
func (tm *tmuxTerm) joined() string {
	out, err := exec.Command("tmux", "-L", tm.socket, "capture-pane", "-p", "-J", "-S", "-", "-t", tm.target).Output()
	if err != nil {
		return "(capture-pane failed: " + err.Error() + ")"
	}
	return string(out)
}

// waitFor polls the screen until it shows every one of want (bounded).
func (tm *tmuxTerm) waitFor(timeout time.Duration, want ...string) string {
	tm.t.Helper()
	return tm.waitUntil(timeout, fmt.Sprintf("%q", want), func(s string) bool {
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

// waitGone polls the screen until it no longer shows gone (bounded): the
// sign that a key such as Escape was read on its own.
func (tm *tmuxTerm) waitGone(timeout time.Duration, gone string) string {
	tm.t.Helper()
	return tm.waitUntil(timeout, fmt.Sprintf("no %q", gone), func(s string) bool { return !strings.Contains(s, gone) })
}

// waitUntil polls the screen until ok holds for it (bounded); a command
// that exits first fails the test.
func (tm *tmuxTerm) waitUntil(timeout time.Duration, what string, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.screen()
		if ok(s) {
			return s
		}
		if strings.Contains(s, "EXIT=") || time.Now().After(deadline) {
			tm.t.Fatalf("the screen never showed %s; it shows:\n%s", what, s)
		}
		time.Sleep(25 * time.Millisecond) // polling interval
	}
}

// eventually polls cond until it holds (bounded), then returns; the
// screen is shown when it never does.
func (tm *tmuxTerm) eventually(timeout time.Duration, what string, cond func() bool) {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tm.t.Fatalf("%s never happened; the screen shows:\n%s", what, tm.screen())
		}
		time.Sleep(25 * time.Millisecond) // polling interval
	}
}

// buildBinary returns qapprove built from the repository root, once per
// test binary (TestMain removes it at the end).
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() { built.bin, built.err = build() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// built is the binary buildBinary made, in a folder of its own.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func build() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's working directory")
		}
		dir = parent
	}
	if built.dir, err = os.MkdirTemp("", "qapprove-e2e-"); err != nil {
		return "", err
	}
	bin := filepath.Join(built.dir, "qapprove")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/qapprove")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// TestMain removes the binary buildBinary made.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// needTmux skips (saying why) when tmux or the go tool is missing.
func needTmux(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the end-to-end terminal test cannot run")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH: cannot build the binary for the end-to-end test")
	}
}
