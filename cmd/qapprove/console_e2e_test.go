package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
)

// TestConsoleEndToEnd runs the built binary in a real terminal (tmux)
// against an in-process sandbox: unlock, approve one action and reject
// another through keystrokes, then checks the sandbox and journal verify.
func TestConsoleEndToEnd(t *testing.T) {
	needTmux(t)
	bin := buildBinary(t)
	srv, base := sandboxtest.Start(t, sandbox.Options{})
	home := t.TempDir()
	pass := "e2e passphrase for the console"
	env := &Env{Home: home, Keystore: "file", Profile: "e2e", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	// The built binary uses the real scrypt parameters: so does this setup.
	if err := setupDemoHome(env, srv, base, []byte(pass)); err != nil {
		t.Fatal(err)
	}
	approveID, rejectID := pickActions(t, srv, base)

	s := startTmux(t, bin, "--home", home, "--keystore", "file", "--profile", "e2e")
	s.waitFor(20*time.Second, "LOCKED")
	unlock(s, pass)
	s.waitFor(20*time.Second, "▸") // the list has loaded

	_, kid, _ := srv.Credentials()
	decide := func(id, key, verb string, want int) {
		t.Helper()
		filterTo(s, id)
		s.keys(key)
		title := strings.ToUpper(verb) + " this action?"
		if key == "r" { // a reject first offers an optional reason
			s.Dialog().Title(title).Contains("Action   "+id, "Reason (optional").Guard(undecided(srv, id, kid)).Press("Enter")
		}
		confirm := s.Dialog().Title(title).Contains("Action   "+id, "Verdict  "+strings.ToUpper(verb), "Press y to "+verb+" and sign").Guard(undecided(srv, id, kid))
		confirm.Refuses("Enter", "Enter does not confirm") // Enter alone must never confirm
		if info, _ := srv.Action(id); info.Decisions[kid] != 0 {
			t.Fatalf("Enter confirmed a decision on %s", id)
		}
		confirm.Confirm()
		s.eventually(30*time.Second, "the sandbox recording decision "+fmt.Sprint(want)+" on "+id, func() bool {
			info, _ := srv.Action(id)
			return info.Decisions[kid] == want
		})
		clearFilter(s)
	}
	decide(approveID, "a", "approve", client.StatusApproved)
	decide(rejectID, "r", "reject", client.StatusRejected)

	// Small terminals still show the truth in the header.
	if err := s.resize(80, 24); err == nil {
		scr := s.waitUntil(5*time.Second, "the header redrawn at 80 columns", func(scr string) bool {
			header, _, _ := strings.Cut(scr, "\n")
			return strings.Contains(header, "unlocked")
		})
		for i, line := range strings.Split(strings.TrimRight(scr, "\n"), "\n") {
			if len([]rune(line)) > 80 {
				t.Fatalf("line %d wider than 80 columns at 80x24: %q", i, line)
			}
		}
	}

	s.keys("q")
	s.waitFor(15*time.Second, "EXIT=0")

	out, err := exec.Command(bin, "--home", home, "--keystore", "file", "--profile", "e2e", "journal", "verify").CombinedOutput()
	if err != nil {
		t.Fatalf("journal verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "intact") || !strings.Contains(string(out), "2 decisions") {
		t.Fatalf("journal verify says: %s", out)
	}

	// Tampering with a decision line is caught by the command, exit 1.
	jpath := storage.ResolvePaths(home).JournalFile("e2e")
	data, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(`"decision":"approve"`))
	if i < 0 {
		t.Fatal("no approve decision in the journal")
	}
	tampered := bytes.Replace(data, []byte(`"decision":"approve"`), []byte(`"decision":"reject!"`), 1)
	if err := os.WriteFile(jpath, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--home", home, "--keystore", "file", "--profile", "e2e", "journal", "verify")
	out, err = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "modified") {
		t.Fatalf("tampered journal: exit %d (%v): %s", code, err, out)
	}
}

// pickActions returns a pending transaction whose verdict is approve and
// one whose verdict is reject, as the console will compute them.
func pickActions(t *testing.T, srv *sandbox.Server, base string) (approveID, rejectID string) {
	t.Helper()
	wid, kid, secret := srv.Credentials()
	c, err := client.New(client.Config{BaseURL: base, WorkspaceID: wid, APIKeyID: kid, Credentials: client.StaticSecret(secret)})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, a := range list {
		if a.Type != client.TypeTransaction || a.Expires.Sub(now) < 5*time.Minute {
			continue
		}
		gv := app.Evaluate(governance.Default(), a, now)
		switch {
		case gv.Level == governance.Approve && approveID == "":
			approveID = a.ID
		case gv.Level == governance.Reject && rejectID == "":
			rejectID = a.ID
		}
	}
	if approveID == "" || rejectID == "" {
		t.Fatalf("scenario lacks an approve and a reject verdict (got %q, %q)", approveID, rejectID)
	}
	return approveID, rejectID
}
