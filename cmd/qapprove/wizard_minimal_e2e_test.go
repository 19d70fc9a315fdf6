package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
)

// The wizard against the confirmed protocol alone: the key update is
// still pending after the proof of possession, so the wizard, its closing
// summary and keys show say "submitted, awaiting approval under the Admin
// Policy"; once the admin approves, the next sign-in records it as
// registered.
func TestE2EWizardMinimalProtocolAwaitsAdmin(t *testing.T) {
	needTmux(t)
	bin := buildBinary(t)
	srv, url := sandboxtest.StartProtocol(t, sandbox.ProtocolMinimal, sandbox.Options{})
	ws, kid, sec := srv.Credentials()
	home := t.TempDir()
	global := []string{bin, "--home", home, "--keystore", "file", "--profile", "e2e"}
	tm := startTmux(t, append(global, "keys", "register")...)
	wizardToRegister(t, tm, url, ws, kid, sec)
	tm.waitFor(60*time.Second, "step 6 of 6: Backup", "awaiting approval under the Admin")
	tm.line(filepath.Join(t.TempDir(), "backup.json"))
	tm.waitFor(30*time.Second, "Backup written")
	tm.keys("Enter")
	s := tm.waitFor(30*time.Second, "EXIT=")
	if !strings.Contains(s, "EXIT=0") || !strings.Contains(tm.joined(), "awaiting approval under the Admin Policy") {
		t.Fatalf("the wizard's summary does not say the key awaits the Admin Policy:\n%s", tm.joined())
	}
	show := func() string {
		out, err := exec.Command(bin, append(global[1:], "keys", "show")...).CombinedOutput()
		if err != nil {
			t.Fatalf("keys show: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := show(); !strings.Contains(out, "awaiting approval under the Admin Policy") {
		t.Fatalf("keys show:\n%s", out)
	}

	srv.ApproveKeyUpdates()
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(e2ePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append(global[1:], "pending", "--passphrase-file", passFile)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pending: %v\n%s", err, out)
	}
	if out := show(); !strings.Contains(out, "registration:    registered ") {
		t.Fatalf("after the admin approved and a sign-in, keys show says:\n%s", out)
	}
}
