package secrets

import (
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// TestErrorsDoNotLeakSecrets provokes every failure path that sees a
// secret and checks that no error message or event holds the passphrase,
// the API secret or the hex of a secret key.
func TestErrorsDoNotLeakSecrets(t *testing.T) {
	s := newSecrets(t, 80)
	copy(s.APISecret, "API-SECRET-MARKER")
	pass := []byte("PASSPHRASE-MARKER")
	b, err := testKDF().Seal(testPublic("default"), s, pass)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{
		"PASSPHRASE-MARKER", "API-SECRET-MARKER",
		hex.EncodeToString(s.BLS[16:]), hex.EncodeToString(s.EC[:]),
		strings.ToUpper(hex.EncodeToString(s.EC[:])),
	}
	var msgs []string
	add := func(err error) {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	_, err = testKDF().Open(b, []byte("PASSPHRASE-MARKER-wrong"))
	add(err)
	other, _ := newBundle(t, "default")
	x := *b
	x.BLSPublicKey = other.BLSPublicKey
	_, err = testKDF().Open(&x, pass)
	add(err)
	// Secrets that decrypt but are out of range.
	bad := newSecrets(t, 80)
	bad.BLS = [48]byte{}
	_, err = testKDF().Seal(testPublic("default"), bad, pass)
	add(err)
	sess := NewSession(b, SessionOptions{KDF: testKDF(), OnEvent: func(e Event) { msgs = append(msgs, e.Reason) }})
	add(sess.Unlock([]byte("PASSPHRASE-MARKER-2")))
	add(sess.Unlock(pass)) // refused: back-off
	add(sess.WithAPISecret(func([]byte) error { return nil }))
	keyring.MockInitWithError(errors.New("dbus: connection refused"))
	add(NewKeychainBackend().Set("default", []byte("API-SECRET-MARKER")))
	keyring.MockInit()
	fb := NewFileBackend(tempPaths(t))
	add(fb.Set("default", []byte(strings.Repeat("API-SECRET-MARKER", 200))))
	data, _ := b.Marshal()
	if err := fb.Set("default", data); err != nil {
		t.Fatal(err)
	}
	path, _ := fb.Path("default")
	if err := os.Chmod(path, 0o644); err != nil { //nolint:gosec // G302: too open on purpose, Get must refuse it
		t.Fatal(err)
	}
	_, err = fb.Get("default")
	add(err)
	_, err = ParseBundle([]byte(`{"version":"API-SECRET-MARKER"}`))
	add(err)

	if len(msgs) < 10 {
		t.Fatalf("only %d failure messages collected: %q", len(msgs), msgs)
	}
	for _, m := range msgs {
		for _, f := range forbidden {
			if strings.Contains(m, f) {
				t.Errorf("message %q contains a secret", m)
			}
		}
	}
}
