package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"regexp"
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
	scr := s.waitFor(30*time.Second, "unlocked")
	if strings.Contains(scr, "wrong passphrase") || strings.Contains(scr, "ignored") {
		t.Fatalf("typed text was lost:\n%s", scr)
	}
	quit(s)
}

// quit leaves the console and waits for it to exit, so nothing writes
// into the test's home while it is removed.
func quit(s *tmuxTerm) {
	s.t.Helper()
	s.keys("q")
	s.waitFor(15*time.Second, "EXIT=")
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
	s.keys("u")
	s.waitFor(5*time.Second, "Passphrase")
	s.line(pass)
	s.waitFor(30*time.Second, "unlocked")
	s.waitFor(20*time.Second, "▸")
	s.keys("/")
	s.line(approveID)
	s.waitFor(10*time.Second, "Pending 1")
	info, _ := srv.Action(approveID)
	msgHex := hex.EncodeToString(info.Message)

	s.keys("Tab")
	var seen []string
	for i := 0; i < 80; i++ {
		seen = append(seen, strings.Split(s.screen(), "\n")...)
		s.keys("j")
		time.Sleep(20 * time.Millisecond)
	}
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
	var raw []string
	for i := 0; i < 120; i++ {
		raw = append(raw, strings.Split(s.screen(), "\n")...)
		s.keys("j")
		time.Sleep(20 * time.Millisecond)
	}
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
	s.keys("Escape")
	time.Sleep(400 * time.Millisecond) // ESC and q together read as alt+q
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
	s.keys("u")
	s.waitFor(5*time.Second, "Passphrase")
	s.line(pass)
	s.waitFor(30*time.Second, "unlocked")
	s.waitFor(20*time.Second, "from the feed (no list endpoint)", "▸")

	// The hostile action: its description and policy name arrive raw on
	// the feed; the screen shows their escapes.
	s.keys("/")
	s.line(hostile)
	scr := s.waitFor(10*time.Second, "Pending 1")
	if !strings.Contains(scr, `\x1b`) && !strings.Contains(scr, `\u202e`) {
		t.Fatalf("hostile text is not shown escaped:\n%s", scr)
	}
	s.keys("Escape")
	time.Sleep(400 * time.Millisecond)

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
	s.keys("/")
	s.line(id)
	s.waitFor(10*time.Second, "Pending 1", "REVIEW")
	s.keys("a")
	s.waitFor(10*time.Second, "Why?")
	time.Sleep(700 * time.Millisecond) // the dialog's grace period
	s.line("minimal protocol: checked by phone")
	s.waitFor(10*time.Second, "Press y", "cannot check")
	time.Sleep(700 * time.Millisecond)
	s.keys("y")
	_, kid, _ := srv.Credentials()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if info, _ := srv.Action(id); info.Decisions[kid] == client.StatusApproved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox never recorded the approval; screen:\n%s", s.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.waitFor(10*time.Second, "Approved")
	s.keys("q")
	s.waitFor(15*time.Second, "EXIT=0")
	out, err := exec.Command(bin, "--home", home, "--keystore", "file", "--profile", "e2e", "journal", "verify").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "intact") || strings.Contains(string(out), "not sealed") {
		t.Fatalf("journal verify: %v\n%s", err, out)
	}
}
