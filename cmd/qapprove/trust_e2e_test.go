package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
)

// consoleOn registers profile e2e against srv (in a fresh home, with the
// built binary's real KDF) and opens the console in tmux, locked.
func consoleOn(t *testing.T, srv *sandbox.Server, base, pass string) (*tmuxTerm, string, string) {
	t.Helper()
	needTmux(t)
	bin := buildBinary(t)
	home := t.TempDir()
	env := &Env{Home: home, Keystore: "file", Profile: "e2e", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	if err := setupDemoHome(env, srv, base, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	srv.ApproveKeyUpdates() // minimal mode: the Admin Policy approves the key
	s := startTmux(t, bin, "--home", home, "--keystore", "file", "--profile", "e2e")
	s.waitFor(20*time.Second, "LOCKED")
	return s, bin, home
}

// Issue 13, defect 2: a normal typist unlocks. u, a pause of 250 ms, then
// the passphrase at 80 ms a key and Enter: nothing typed is swallowed by
// the dialog's grace period.
func TestE2EUnlockAtHumanSpeed(t *testing.T) {
	srv, base := sandboxtest.Start(t, sandbox.Options{})
	pass := "typed at eighty ms a key"
	s, _, _ := consoleOn(t, srv, base, pass)
	s.keys("u")
	time.Sleep(250 * time.Millisecond)
	for _, r := range pass {
		s.text(string(r))
		time.Sleep(80 * time.Millisecond)
	}
	s.keys("Enter")
	// The header can say unlocked a moment before the dialog closes.
	lost := func(x string) bool { return strings.Contains(x, "wrong passphrase") || strings.Contains(x, "ignored") }
	scr := s.waitUntil(30*time.Second, "unlocked, the dialog closed", func(x string) bool {
		_, open := findDialog(x)
		return lost(x) || !open && strings.Contains(x, "unlocked")
	})
	if lost(scr) {
		t.Fatalf("typed text was lost:\n%s", scr)
	}
	quit(s)
}

// filterTo filters the pending list to the action id and waits until
// the filter is applied.
func filterTo(s *tmuxTerm, id string) string {
	s.t.Helper()
	s.keys("/")
	s.line(id)
	return s.waitFor(10*time.Second, "Pending 1 of", " filter: "+strings.ToLower(id))
}

// clearFilter clears the applied filter with Escape and waits until the
// screen shows it cleared: ESC and a key sent together read as alt+key,
// as in any terminal.
func clearFilter(s *tmuxTerm) {
	s.t.Helper()
	s.keys("Escape")
	s.waitGone(5*time.Second, " filter: ")
}

// unlock opens the passphrase dialog with u, types pass into it and
// waits until the key is unlocked.
func unlock(s *tmuxTerm, pass string) {
	s.t.Helper()
	s.keys("u")
	s.Dialog().Title("Unlock the approver key").Contains("Passphrase:").Type(pass).Press("Enter")
	s.waitFor(30*time.Second, "unlocked")
}

// undecided is a dialog guard: it fails once the sandbox holds a decision
// by kid on id, so a decision is never confirmed twice.
func undecided(srv *sandbox.Server, id, kid string) func() error {
	return func() error {
		if info, _ := srv.Action(id); info.Decisions[kid] != 0 {
			return fmt.Errorf("the sandbox already holds decision %d by this key on %s", info.Decisions[kid], id)
		}
		return nil
	}
}

// quit leaves the console and waits for it to exit, so nothing writes
// into the test's home while it is removed.
func quit(s *tmuxTerm) {
	s.t.Helper()
	s.keys("q")
	s.waitFor(15*time.Second, "EXIT=")
}

// detailMarker is the detail pane's scroll marker while more is below.
var detailMarker = regexp.MustCompile(`(?m)^\s*(\d+) more below ↓\s*$`)

// scrollDetail scrolls the focused detail pane to its end a line at a
// time, each j seen taken before the next is sent, and returns the lines
// of every screen on the way.
func scrollDetail(s *tmuxTerm) []string {
	s.t.Helper()
	below := func(scr string) int { // lines still below; 0 at the end
		if m := detailMarker.FindStringSubmatch(scr); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return 0
	}
	scr := s.screen()
	var seen []string
	for n := below(scr); ; n = below(scr) {
		seen = append(seen, strings.Split(scr, "\n")...)
		if n == 0 {
			return seen
		}
		s.keys("j")
		scr = s.waitUntil(5*time.Second, fmt.Sprintf("the detail scrolled from %d more below", n), func(x string) bool { return below(x) < n })
	}
}

var hexRun = regexp.MustCompile(`[0-9a-f]{8,}`)

// Issue 13, defect 3: the end of what is signed can be seen. At 120x40
// every line of the detail is reachable: the message hex to its last
// character and the raw payload to its closing brace.
func TestE2EDetailShowsAllOfTheMessage(t *testing.T) {
	srv, base := sandboxtest.Start(t, sandbox.Options{})
	pass := "detail end to end passphrase"
	approveID, _ := pickActions(t, srv, base)
	s, _, _ := consoleOn(t, srv, base, pass)
	unlock(s, pass)
	s.waitFor(20*time.Second, "▸")
	filterTo(s, approveID)
	info, _ := srv.Action(approveID)
	msgHex := hex.EncodeToString(info.Message)

	s.keys("Tab")
	s.waitGone(5*time.Second, "(tab, then j/k to scroll)") // the detail has the focus
	seen := scrollDetail(s)
	var runs string
	for _, l := range seen {
		for _, r := range hexRun.FindAllString(l, -1) {
			if strings.Contains(msgHex, r) {
				runs += r + "\n"
			}
		}
	}
	if !strings.Contains(runs, msgHex[:16]) {
		t.Fatalf("the start of the message hex never showed")
	}
	tailSeen := false
	for _, r := range strings.Split(runs, "\n") {
		if len(r) >= 8 && strings.HasSuffix(msgHex, r) {
			tailSeen = true
		}
	}
	if !tailSeen {
		t.Fatalf("the last characters of the message hex (…%s) never showed while scrolling the detail", msgHex[len(msgHex)-12:])
	}

	// The raw payload, pretty-printed, to its closing brace.
	s.keys("p")
	s.waitFor(10*time.Second, "policyName")
	raw := scrollDetail(s)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, info.Payload, "", "  "); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(pretty.String(), "\n")
	last := strings.TrimSpace(lines[len(lines)-2]) // the line before the closing brace
	sawLast, sawBrace := false, false
	for i, l := range raw {
		if strings.Contains(l, last) {
			sawLast = true
			if i+1 < len(raw) && regexp.MustCompile(`(^|\s|│)}\s*$`).MatchString(strings.TrimRight(raw[i+1], " │")) {
				sawBrace = true
			}
		}
	}
	if !sawLast || !sawBrace {
		t.Fatalf("the end of the raw payload (%q then }) was never reachable", last)
	}
	clearFilter(s)
	quit(s)
}

// The console works on the confirmed protocol alone: the list comes from
// the feed and says so, a not-understood payload gets review, and an
// approval against it (with its journaled reason) reaches the sandbox
// with a valid signature. Hostile text from the server shows escaped.
func TestE2EConsoleMinimalProtocol(t *testing.T) {
	srv, base := sandboxtest.StartProtocol(t, sandbox.ProtocolMinimal, sandbox.Options{})
	hostile := sandboxtest.AddHostileAction(t, srv)
	pass := "minimal protocol console passphrase"
	s, bin, home := consoleOn(t, srv, base, pass)
	unlock(s, pass)
	s.waitFor(20*time.Second, "from the feed (no list endpoint)", "▸")

	// The hostile action: its description and policy name arrive raw on
	// the feed; the screen shows their escapes.
	scr := filterTo(s, hostile)
	if !strings.Contains(scr, `\x1b`) && !strings.Contains(scr, `\u202e`) {
		t.Fatalf("hostile text is not shown escaped:\n%s", scr)
	}
	clearFilter(s)

	// A testnet transfer: pending, in a 1-of-N policy.
	var id string
	for _, x := range srv.ActionIDs() {
		info, _ := srv.Action(x)
		if info.Type == 25 && info.Status == client.StatusPending && bytes.Contains(info.Payload, []byte(`"chainID":11155111`)) && time.Until(info.Expires) > 10*time.Minute {
			id = x
			break
		}
	}
	if id == "" {
		t.Fatal("the scenario has no pending Sepolia transfer")
	}
	filterTo(s, id)
	s.waitFor(10*time.Second, "REVIEW")
	_, kid, _ := srv.Credentials()
	reason := "minimal protocol: checked by phone"
	s.keys("a")
	s.Dialog().Title("You are about to approve an action whose verdict is REVIEW.").Contains("Action   "+id, "Why?").
		Guard(undecided(srv, id, kid)).Type(reason).Press("Enter")
	s.Dialog().Title("APPROVE this action?").Contains("Action   "+id, "cannot check", reason, "Press y to approve and sign").
		Guard(undecided(srv, id, kid)).Confirm()
	s.eventually(30*time.Second, "the sandbox recording the approval", func() bool {
		info, _ := srv.Action(id)
		return info.Decisions[kid] == client.StatusApproved
	})
	// The decision's own note (the detail's "Approved by" line is always
	// there): the decision is complete, so q quits without asking.
	s.waitFor(10*time.Second, "Approved "+id+".")
	s.keys("q")
	s.waitFor(15*time.Second, "EXIT=0")
	out, err := exec.Command(bin, "--home", home, "--keystore", "file", "--profile", "e2e", "journal", "verify").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "intact") || strings.Contains(string(out), "not sealed") {
		t.Fatalf("journal verify: %v\n%s", err, out)
	}
}
