package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
)

// e2eSandbox starts an in-process sandbox.
func e2eSandbox(t *testing.T) (srv *sandbox.Server, url, ws, kid, sec string) {
	t.Helper()
	srv, url = sandboxtest.Start(t, sandbox.Options{})
	ws, kid, sec = srv.Credentials()
	return
}

// registerThroughWizard drives the wizard already on screen in tm and
// returns the fingerprints it showed at step 2 ("BLS fingerprint …" and
// "EC fingerprint …").
func registerThroughWizard(t *testing.T, tm *tmuxTerm, url, ws, kid, sec, backup string) (blsFP, ecFP string) {
	t.Helper()
	blsFP, ecFP = wizardToRegister(t, tm, url, ws, kid, sec)
	tm.waitFor(60*time.Second, "step 6 of 6: Backup", "approved with the new key")
	tm.line(backup)
	tm.waitFor(30*time.Second, "Backup written")
	tm.keys("Enter")
	return blsFP, ecFP
}

// wizardToRegister drives the wizard on screen in tm through steps 1 to 5
// (profile, keys, passphrase, store, register) and returns the
// fingerprints it showed at step 2.
func wizardToRegister(t *testing.T, tm *tmuxTerm, url, ws, kid, sec string) (blsFP, ecFP string) {
	t.Helper()
	tm.waitFor(30*time.Second, "step 1 of 6: Profile")
	tm.line(url)
	tm.line(ws)
	tm.line(kid)
	tm.line(sec)
	keys := tm.waitFor(60*time.Second, "step 2 of 6: Keys", "BLS fingerprint", "EC fingerprint")
	blsFP, ecFP = field(keys, "BLS fingerprint"), field(keys, "EC fingerprint")
	tm.keys("Enter")
	tm.waitFor(10*time.Second, "step 3 of 6: Passphrase")
	tm.line(e2ePass)
	tm.line(e2ePass)
	tm.waitFor(10*time.Second, "Passphrase — protection", "(•) passphrase only")
	tm.keys("Enter")
	// Real scrypt: one run to seal and one to prove the round trip.
	tm.waitFor(60*time.Second, "Encrypted, saved and read back")
	tm.keys("Enter")
	return blsFP, ecFP
}

// field is the value after label on the first line of s holding it
// ("label: value" or "label   value"), "" when there is none.
func field(s, label string) string {
	for _, l := range strings.Split(s, "\n") {
		if _, v, ok := strings.Cut(l, label); ok {
			return strings.TrimSpace(strings.TrimLeft(v, ": "))
		}
	}
	return ""
}

// TestE2EWizardApproveJournal registers a key through the wizard in a
// real terminal (tmux) against the sandbox, approves an action with it
// from a script, sees both entries in the journal viewer, and verifies
// the journal.
func TestE2EWizardApproveJournal(t *testing.T) {
	needTmux(t)
	bin := buildBinary(t)
	srv, url, ws, kid, sec := e2eSandbox(t)
	home := t.TempDir()
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(e2ePass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	global := []string{bin, "--home", home, "--keystore", "file", "--profile", "e2e"}

	// 1. The wizard.
	backup := filepath.Join(t.TempDir(), "backup.json")
	tm := startTmux(t, append(global, "keys", "register")...)
	shownBLS, shownEC := registerThroughWizard(t, tm, url, ws, kid, sec, backup)
	s := tm.waitFor(30*time.Second, "EXIT=")
	if !strings.Contains(s, "EXIT=0") || !strings.Contains(s, "registered keys for profile e2e") {
		t.Fatalf("keys register did not succeed:\n%s", s)
	}
	summary := tm.joined()
	if strings.Contains(s, sec) || strings.Contains(s, e2ePass) {
		t.Fatal("a secret is visible on the screen")
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup: %v", err)
	}
	if !srv.OperatorRegistered() {
		t.Fatal("the sandbox has no BLS key for the operator")
	}

	// 2. Approve an action whose verdict is approve, from a script.
	qapprove := func(args ...string) (int, string, string) {
		cmd := exec.Command(global[0], append(global[1:], args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	// The summary printed when the wizard closed is the key it showed and
	// the key keys show prints (issue 13 defect 1: it printed wiped keys).
	code, out, errs := qapprove("keys", "show")
	if code != exitOK {
		t.Fatalf("keys show: exit %d: %s", code, errs)
	}
	for _, label := range []string{"BLS public key", "BLS fingerprint", "EC public key", "EC fingerprint"} {
		printed, shown := field(summary, label+":"), field(out, label+":")
		if printed == "" || printed != shown || strings.Trim(printed, "0:") == "" {
			t.Errorf("%s: the wizard's summary printed %q, keys show prints %q", label, printed, shown)
		}
	}
	if field(summary, "BLS fingerprint:") != shownBLS || field(summary, "EC fingerprint:") != shownEC {
		t.Errorf("the wizard showed fingerprints %q and %q; its summary printed:\n%s", shownBLS, shownEC, summary)
	}
	if !strings.Contains(out, "registration:    registered ") {
		t.Errorf("keys show does not say the key is registered:\n%s", out)
	}

	code, out, errs = qapprove("pending", "--json", "--passphrase-file", passFile)
	if code != exitOK {
		t.Fatalf("pending: exit %d: %s", code, errs)
	}
	var pending []struct {
		ID      string `json:"id"`
		Verdict struct {
			Verdict string `json:"verdict"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &pending); err != nil {
		t.Fatalf("pending --json: %v\n%s", err, out)
	}
	id := ""
	for _, p := range pending {
		if p.Verdict.Verdict == "approve" {
			id = p.ID
			break
		}
	}
	if id == "" {
		t.Fatalf("no pending action with verdict approve:\n%s", out)
	}
	if code, out, errs := qapprove("approve", id, "--yes", "--passphrase-file", passFile); code != exitOK {
		t.Fatalf("approve %s: exit %d\n%s%s", id, code, out, errs)
	}
	if a, ok := srv.Action(id); !ok || a.Decisions[kid] != client.StatusApproved {
		t.Fatalf("the sandbox did not record the approval of %s: %+v", id, a)
	}

	// 3. The journal viewer shows the decision and the registration.
	jv := startTmux(t, append(global, "journal")...)
	s = jv.waitFor(30*time.Second, "intact", "key-registered", "decision", id)
	if strings.Contains(s, "TAMPERED") {
		t.Fatalf("the viewer reports tampering:\n%s", s)
	}
	jv.keys("/")
	jv.line("kind:decision")
	jv.waitFor(10*time.Second, "(1 of ")
	jv.keys("Escape")
	jv.waitFor(10*time.Second, "newest first")
	jv.keys("q")
	if s := jv.waitFor(10*time.Second, "EXIT="); !strings.Contains(s, "EXIT=0") {
		t.Fatalf("the viewer did not exit cleanly:\n%s", s)
	}

	// 4. The journal verifies.
	if code, out, errs := qapprove("journal", "verify"); code != exitOK {
		t.Fatalf("journal verify: exit %d\n%s%s", code, out, errs)
	}
}

// TestE2EConsoleOnboarding opens the console on a profile without a key:
// the wizard runs first, then the console opens with the journal tab.
func TestE2EConsoleOnboarding(t *testing.T) {
	needTmux(t)
	bin := buildBinary(t)
	_, url, ws, kid, sec := e2eSandbox(t)
	home := t.TempDir()
	tm := startTmux(t, bin, "--home", home, "--keystore", "file", "--profile", "new")
	registerThroughWizard(t, tm, url, ws, kid, sec, filepath.Join(t.TempDir(), "b.json"))
	tm.waitFor(30*time.Second, "Pending  Journal")
	tm.keys("C-n") // next tab
	tm.waitFor(30*time.Second, "intact", "key-registered")
	tm.keys("q")
	if s := tm.waitFor(10*time.Second, "EXIT="); !strings.Contains(s, "EXIT=0") {
		t.Fatalf("the console did not exit cleanly:\n%s", s)
	}
}

// TestJournalViewerMissingJournal: one clear line and exit 2.
func TestJournalViewerMissingJournal(t *testing.T) {
	code, out, errs := qa(t, t.TempDir(), "p", "journal")
	if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "no journal yet") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestE2EKeystoreConsent: with no Secret Service reachable the console
// and the commands refuse (exit 2, one line naming both ways to consent)
// instead of switching to the file keystore; --keystore file, or
// keystore = "file" in config.toml, opens the console.
func TestE2EKeystoreConsent(t *testing.T) {
	needTmux(t)
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service over D-Bus is Linux only")
	}
	bin := buildBinary(t)
	s := newKeysSandbox(t)
	home := t.TempDir()
	reg := exec.Command(bin, append([]string{"--home", home, "--keystore", "file", "--profile", "p"}, s.registerArgs(s.url, s.secFile)...)...)
	if out, err := reg.CombinedOutput(); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	noBus := "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/qapprove-e2e-bus"
	for _, args := range [][]string{{}, {"pending", "--cached"}, {"keys", "show"}} {
		cmd := exec.Command(bin, append([]string{"--home", home, "--profile", "p"}, args...)...)
		cmd.Env = append(os.Environ(), noBus)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
			t.Fatalf("%v without a keychain: %v, want exit 2\n%s%s", args, err, out.String(), errb.String())
		}
		msg := errb.String()
		if out.Len() != 0 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "without your consent") ||
			!strings.Contains(msg, "--keystore file") || !strings.Contains(msg, `keystore = "file" in config.toml`) {
			t.Fatalf("%v: stdout %q, stderr %q", args, out.String(), msg)
		}
	}
	console := func(args ...string) {
		t.Helper()
		argv := append([]string{"env", noBus, bin, "--home", home, "--profile", "p"}, args...)
		tm := startTmux(t, argv...)
		tm.waitFor(30*time.Second, "Pending  Journal", "LOCKED")
		tm.keys("q")
		if s := tm.waitFor(10*time.Second, "EXIT="); !strings.Contains(s, "EXIT=0") {
			t.Fatalf("the console did not exit cleanly:\n%s", s)
		}
	}
	console("--keystore", "file")
	paths := storage.ResolvePaths(home)
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keystore = "file"
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
	console()
}

// TestE2EDemoKeepSaysHowToUseIt: demo --keep ends by saying how to use
// the kept home, and the command it names works as printed (no keychain:
// the home's config names the file keystore).
func TestE2EDemoKeepSaysHowToUseIt(t *testing.T) {
	needTmux(t)
	bin := buildBinary(t)
	tmp := t.TempDir()
	tm := startTmux(t, "env", "TMPDIR="+tmp, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/qapprove-e2e-bus", bin, "demo", "--keep", "--arrivals", "0")
	tm.waitFor(60*time.Second, "Press Enter to open the console")
	tm.keys("Enter")
	tm.waitFor(30*time.Second, "Pending  Journal")
	tm.keys("q")
	tm.waitFor(10*time.Second, "EXIT=0")
	out := tm.joined()
	home := field(out, "qapprove demo: kept ")
	home, _, _ = strings.Cut(home, " (profile demo")
	if home == "" || !strings.HasPrefix(home, tmp) {
		t.Fatalf("demo --keep did not name the kept home:\n%s", out)
	}
	want := "qapprove --home " + home + " --profile demo keys show"
	if !strings.Contains(out, want) || !strings.Contains(out, "run `qapprove demo` again") {
		t.Fatalf("demo --keep does not say %q:\n%s", want, out)
	}
	cmd := exec.Command(bin, "--home", home, "--profile", "demo", "keys", "show")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/qapprove-e2e-bus")
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "profile:         demo") {
		t.Fatalf("the printed command fails: %v\n%s", err, b)
	}
}
