package secrets

import (
	"errors"
	"os"
	"testing"
)

// realKeychain returns the OS keychain backend when QAPPROVE_REAL_KEYCHAIN=1
// (set by scripts/keychain-test.sh inside a private D-Bus session with an
// unlocked gnome-keyring), and skips otherwise. These tests must not run
// against a developer's own keychain by accident.
func realKeychain(t *testing.T) Backend {
	t.Helper()
	if os.Getenv("QAPPROVE_REAL_KEYCHAIN") != "1" {
		t.Skip("real keychain tests need QAPPROVE_REAL_KEYCHAIN=1 (run scripts/keychain-test.sh)")
	}
	kc := keychainBackend{}
	if err := kc.probe(probeTimeout); err != nil {
		t.Fatalf("QAPPROVE_REAL_KEYCHAIN=1 but the keychain does not answer: %v", err)
	}
	const profile = "qapprove-real-test"
	t.Cleanup(func() {
		kc.Delete(profile)
		kc.Delete(profile + AnchorSuffix)
	})
	return kc
}

func TestRealKeychainBackend(t *testing.T) {
	be := realKeychain(t)
	be.Delete("p1")
	be.Delete("p1" + AnchorSuffix)
	exerciseBackend(t, be)
}

func TestRealKeychainBundle(t *testing.T) {
	be := realKeychain(t)
	const profile = "qapprove-real-test"
	if _, err := LoadBundle(be, profile); !errors.Is(err, ErrNotFound) {
		t.Fatalf("load absent: %v", err)
	}
	b, s := newBundle(t, profile)
	if err := SaveBundle(be, profile, b); err != nil {
		t.Fatal(err)
	}
	got, err := LoadBundle(be, profile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testKDF().Open(got, []byte("not the passphrase")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	o, err := testKDF().Open(got, []byte(testPass))
	if err != nil || o.BLS != s.BLS || string(o.APISecret) != string(s.APISecret) {
		t.Fatalf("open: %v", err)
	}
	o.Zero()
	b2, s2 := newBundle(t, profile)
	if err := SaveBundle(be, profile, b2); err != nil {
		t.Fatal(err)
	}
	got, err = LoadBundle(be, profile)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := testKDF().Open(got, []byte(testPass)); err != nil || o.BLS != s2.BLS {
		t.Fatalf("overwrite: %v", err)
	}
	if err := be.Delete(profile); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(be, profile); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	// OpenBackend picks the real keychain without a warning.
	kb, warn, err := OpenBackend(KindKeychain, tempPaths(t))
	if err != nil || warn != "" || kb.Kind() != KindKeychain {
		t.Fatalf("OpenBackend: %v %q %v", kb, warn, err)
	}
}
