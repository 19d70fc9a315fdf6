package wizard

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/keys"
	"github.com/qapprove/qapprove/ui/styles"
)

const goodPass = "plum-orbit-Canyon-42-vivid"

type fixture struct {
	t     *testing.T
	w     *Wizard
	sb    *sandbox.Server
	url   string
	ws    string
	kid   string
	sec   string
	paths storage.Paths
	be    secrets.Backend
}

func newFixture(t *testing.T) *fixture {
	e := newTestEnv(t, 1)
	w := New(e.ctx, Options{Registrar: &app.Registration{Paths: e.paths, Profile: "default", Backend: e.be, KDF: secretstest.KDF()}, Profile: "default", Where: "file keystore", Timeout: 20 * time.Second})
	w.SetSize(80, 24)
	t.Cleanup(w.Close)
	return &fixture{t: t, w: w, sb: e.sb, url: e.url, ws: e.ws, kid: e.kid, sec: e.sec, paths: e.paths, be: e.be}
}

// testEnv is what a wizard test runs against: a sandbox with its
// credentials, an empty home with a file keystore, a UI context at a
// fixed time, and the weak KDF.
type testEnv struct {
	sb                *sandbox.Server
	url, ws, kid, sec string
	paths             storage.Paths
	be                secrets.Backend
	ctx               *ui.Context
}

func newTestEnv(t *testing.T, seed int64) testEnv {
	t.Helper()
	e := testEnv{paths: storage.ResolvePaths(t.TempDir())}
	e.sb, e.url = sandboxtest.Start(t, sandbox.Options{Seed: seed})
	e.ws, e.kid, e.sec = e.sb.Credentials()
	e.be = secrets.NewFileBackend(e.paths)
	e.ctx = &ui.Context{Now: func() time.Time { return time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC) }, Styles: styles.New(true, true), Keys: keys.Default()}
	return e
}

func (f *fixture) send(msgs ...tea.Msg) {
	for _, m := range msgs {
		_, cmd := f.w.Update(m)
		for cmd != nil {
			r := cmd()
			if r == nil || IsDone(r) {
				break
			}
			_, cmd = f.w.Update(r)
		}
	}
}

func (f *fixture) typ(s string) {
	for _, r := range s {
		f.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (f *fixture) enter() { f.send(tea.KeyPressMsg{Code: tea.KeyEnter}) }

func (f *fixture) screen() string { return ansi.Strip(f.w.View()) }

func (f *fixture) mustShow(s string) {
	f.t.Helper()
	if !strings.Contains(f.screen(), s) {
		f.t.Fatalf("screen does not show %q:\n%s", s, f.screen())
	}
}

// profile fills step 1 with secret and submits it.
func (f *fixture) profile(secret string) {
	f.typ(f.url)
	f.enter()
	f.typ(f.ws)
	f.enter()
	f.typ(f.kid)
	f.enter()
	f.typ(secret)
	f.enter()
}

func (f *fixture) noKeyNoJournal() {
	f.t.Helper()
	if _, err := f.be.Get("default"); !errors.Is(err, secrets.ErrNotFound) {
		f.t.Fatalf("a keystore item was left behind: %v", err)
	}
	if _, err := os.Stat(f.paths.JournalFile("default")); !os.IsNotExist(err) {
		f.t.Fatalf("a journal was left behind: %v", err)
	}
}

func TestWizardRegistersAndBacksUp(t *testing.T) {
	f := newFixture(t)
	f.profile(f.sec)
	f.mustShow("step 2 of 6: Keys")
	f.mustShow("BLS fingerprint")
	f.enter()
	f.typ("short")
	f.send(tea.KeyPressMsg{Code: tea.KeyTab})
	f.typ("short")
	f.enter()
	f.mustShow("too weak")
	if f.w.Step() != StepPassphrase {
		t.Fatal("a weak passphrase was accepted")
	}
	f.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	f.send(tea.KeyPressMsg{Code: tea.KeyTab})
	f.send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	f.typ(goodPass)
	f.send(tea.KeyPressMsg{Code: tea.KeyTab})
	f.typ(goodPass + "x")
	f.enter()
	f.mustShow("The two passphrases differ")
	f.typ(goodPass)
	f.enter()
	f.mustShow("read back")
	f.enter()
	f.mustShow("step 6 of 6: Backup")
	b, err := secrets.LoadBundle(f.be, "default")
	if err != nil || b.Registered == nil {
		t.Fatalf("bundle not registered: %v", err)
	}
	rep, err := journal.Verify(f.paths.JournalFile("default"), journal.VerifyOptions{})
	if err != nil || !rep.Intact {
		t.Fatalf("journal: %v %+v", err, rep)
	}
	out := t.TempDir() + "/backup.json"
	f.typ(out)
	f.enter()
	f.mustShow("Backup written to")
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.ParseBundle([]byte(strings.TrimSpace(string(data)))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), goodPass) || strings.Contains(string(data), f.sec) {
		t.Fatal("backup holds a secret in clear")
	}
	if f.w.Cleanup() != "" {
		t.Fatal("cleanup after success reported something")
	}
	if _, err := f.be.Get("default"); err != nil {
		t.Fatal("the registered key was removed")
	}
}

func TestWizardWrongSecret(t *testing.T) {
	f := newFixture(t)
	f.profile("d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA")
	f.mustShow("could not sign in")
	if f.w.Step() != StepProfile {
		t.Fatal("went on with a wrong secret")
	}
	f.noKeyNoJournal()
}

// TestRegistrationFailingAtStep5LeavesNothing injects API errors after
// the key is stored: discarding leaves no keystore item and no journal.
func TestRegistrationFailingAtStep5LeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.toStore()
	if _, err := f.be.Get("default"); err != nil {
		t.Fatal("key not stored before registration")
	}
	f.failRegistration()
	f.send(tea.KeyPressMsg{Code: 'd', Text: "d"})
	f.noKeyNoJournal()
}

// toStore drives a fresh fixture to step 4 (stored, not registered).
func (f *fixture) toStore() {
	f.t.Helper()
	f.profile(f.sec)
	f.enter()
	f.typ(goodPass)
	f.enter()
	f.typ(goodPass)
	f.enter()
	f.mustShow("read back")
}

// failRegistration confirms the stored key with the API failing every
// call, and waits for the registration failure.
func (f *fixture) failRegistration() {
	f.t.Helper()
	f.sb.Faults().Set(sandbox.FaultSettings{ErrorRate: 1})
	f.enter()
	f.mustShow("NOT registered")
}

func TestWizardKeepsUnregisteredKeyWhenAsked(t *testing.T) {
	f := newFixture(t)
	f.toStore()
	f.failRegistration()
	f.send(tea.KeyPressMsg{Code: 'k', Text: "k"})
	b, err := secrets.LoadBundle(f.be, "default")
	if err != nil {
		t.Fatalf("the key was not kept: %v", err)
	}
	if b.Registered != nil {
		t.Fatal("an unregistered key is marked registered")
	}
	if _, err := os.Stat(f.paths.JournalFile("default")); !os.IsNotExist(err) {
		t.Fatal("a journal exists for an unregistered key")
	}
	if f.w.Registered() {
		t.Fatal("the wizard reports a registration")
	}
}

func TestWizardRetriesRegistration(t *testing.T) {
	f := newFixture(t)
	f.toStore()
	f.failRegistration()
	f.sb.Faults().Set(sandbox.FaultSettings{})
	f.send(tea.KeyPressMsg{Code: 'r', Text: "r"})
	f.mustShow("step 6 of 6: Backup")
	if !f.sb.OperatorRegistered() {
		t.Fatal("the sandbox has no key after the retry")
	}
	f.enter() // skip the backup
	f.mustShow("No backup written")
}

// TestWizardCleanupWaitsForRunningStep: closing the wizard while step 5 is
// on the wire cancels it and waits, then removes the unregistered key.
func TestWizardCleanupWaitsForRunningStep(t *testing.T) {
	f := newFixture(t)
	f.toStore()
	f.sb.Faults().Set(sandbox.FaultSettings{Latency: 2 * time.Second})
	_, cmd := f.w.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if cmd == nil || !f.w.Capturing() {
		t.Fatal("step 5 did not start, or q would quit while it runs")
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	time.Sleep(100 * time.Millisecond) // the request is waiting on the latency
	msg := f.w.Cleanup()
	select {
	case <-done:
	default:
		t.Fatal("Cleanup returned while the step was still running")
	}
	if !strings.Contains(msg, "removed") {
		t.Fatalf("cleanup said %q", msg)
	}
	f.noKeyNoJournal()
	if f.sb.OperatorRegistered() {
		t.Fatal("the key reached the sandbox")
	}
}
