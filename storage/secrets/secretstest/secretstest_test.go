package secretstest_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

// A bundle sealed with KDF() opens with KDF() and in a session carrying it,
// and the production policy refuses it before running the KDF.
func TestKDFRoundTrip(t *testing.T) {
	s, err := secrets.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Zero()
	s.APISecret = []byte("api-secret")
	pub := secrets.BundlePublic{Profile: "default", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, err := secretstest.KDF().Seal(pub, s, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Crypto.KDF.Params, []byte(`"n":1024`)) {
		t.Fatalf("kdf params %s, want n=1024", b.Crypto.KDF.Params)
	}
	got, err := secretstest.KDF().Open(b, []byte("pw"))
	if err != nil || got.BLS != s.BLS {
		t.Fatalf("Open: %v", err)
	}
	got.Zero()
	sess := secrets.NewSession(b, secrets.SessionOptions{KDF: secretstest.KDF()})
	if err := sess.Unlock([]byte("pw")); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	sess.Lock()
	if _, err := (secrets.KDF{}).Open(b, []byte("pw")); !errors.Is(err, eip2335.ErrInvalidModule) {
		t.Fatalf("production Open of a test bundle: err = %v", err)
	}
}
