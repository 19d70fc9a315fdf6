package app

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

// editConfig rewrites profile "p" of the config.
func editConfig(t *testing.T, paths storage.Paths, edit func(*storage.Profile)) {
	t.Helper()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles["p"]
	edit(&p)
	cfg.Profiles["p"] = p
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
}

// A config edit that points the profile at another server is refused:
// the key is bound to the URL recorded at registration. Rebinding is
// deliberate (unlock) and journaled, signed.
func TestConfigCannotRedirectTheKey(t *testing.T) {
	_, paths := setup(t)
	var bound string
	editConfig(t, paths, func(p *storage.Profile) { bound, p.APIBaseURL = p.APIBaseURL, "https://evil.example/api/v2" })
	_, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF()})
	if !errors.Is(err, ErrRebindNeeded) {
		t.Fatalf("Open with a redirected API URL = %v, want ErrRebindNeeded", err)
	}
	for _, want := range []string{"https://evil.example/api/v2", bound, "keys rebind"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	e, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF(), Rebinding: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Rebind(); !errors.Is(err, secrets.ErrLocked) {
		t.Fatalf("Rebind while locked = %v, want ErrLocked", err)
	}
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	from, to, err := e.Rebind()
	if err != nil || from != bound || to != "https://evil.example/api/v2" {
		t.Fatalf("Rebind = %q → %q, %v", from, to, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := open(t, paths)
	if got := e2.BoundURL(); got != to {
		t.Fatalf("bound to %q after rebinding, want %q", got, to)
	}
	e2.Close()
	b, err := os.ReadFile(paths.JournalFile("p"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"kind":"`+string(journal.KindRebound)+`"`) {
		t.Fatal("the rebinding is not in the journal")
	}
	rep, err := journal.Verify(paths.JournalFile("p"), journal.VerifyOptions{})
	if err != nil || rep.Problem != nil {
		t.Fatalf("journal after rebinding: %v %+v", err, rep.Problem)
	}
}

// Another workspace or API key is never rebound: the key is registered
// for one API key.
func TestRebindRefusesAnotherAPIKey(t *testing.T) {
	_, paths := setup(t)
	editConfig(t, paths, func(p *storage.Profile) { p.APIKeyID = "a.someoneElse" })
	if _, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF()}); !errors.Is(err, ErrRebindNeeded) {
		t.Fatalf("Open = %v, want ErrRebindNeeded", err)
	}
	e, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF(), Rebinding: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Rebind(); err == nil || !strings.Contains(err.Error(), "keys register") {
		t.Fatalf("Rebind to another API key = %v", err)
	}
}

// A console run that ends locked leaves nothing unsealed: the lock entry
// is signed before the key goes.
func TestCloseLeavesNothingUnsealed(t *testing.T) {
	_, paths := setup(t)
	e := open(t, paths)
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := journal.Verify(paths.JournalFile("p"), journal.VerifyOptions{})
	if err != nil || rep.Problem != nil {
		t.Fatalf("verify: %v %+v", err, rep.Problem)
	}
	if rep.Unsealed != 0 {
		t.Fatalf("%d entries unsealed after an unlocked run closed", rep.Unsealed)
	}
}
