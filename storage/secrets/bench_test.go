package secrets

import (
	"testing"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// defaultBundle seals fresh secrets with the production KDF.
func defaultBundle(b *testing.B) *Bundle {
	bundle, err := KDF{}.Seal(testPublic("default"), newSecrets(b, 80), []byte(testPass))
	if err != nil {
		b.Fatal(err)
	}
	return bundle
}

// BenchmarkSealDefault: encrypting a bundle at scrypt N=2^18 (key registration).
func BenchmarkSealDefault(b *testing.B) {
	s := newSecrets(b, 80)
	for b.Loop() {
		if _, err := (KDF{}).Seal(testPublic("default"), s, []byte(testPass)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnlockDefault: Session.Unlock at scrypt N=2^18 (KDF, decrypt,
// public-key checks, copy into locked memory).
func BenchmarkUnlockDefault(b *testing.B) {
	bundle := defaultBundle(b)
	sess := NewSession(bundle, SessionOptions{})
	for b.Loop() {
		if err := sess.Unlock([]byte(testPass)); err != nil {
			b.Fatal(err)
		}
		sess.Lock()
	}
}

// BenchmarkOpenWrongPassphrase: the cost of a wrong guess (KDF only).
func BenchmarkOpenWrongPassphrase(b *testing.B) {
	bundle := defaultBundle(b)
	for b.Loop() {
		if _, err := (KDF{}).Open(bundle, []byte("wrong")); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkFileBackendSet(b *testing.B) {
	fb := NewFileBackend(tempPaths(b))
	bundle, _ := newBundle(b, "default")
	data, _ := bundle.Marshal()
	for b.Loop() {
		if err := fb.Set("default", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileBackendGet(b *testing.B) {
	fb := NewFileBackend(tempPaths(b))
	bundle, _ := newBundle(b, "default")
	data, _ := bundle.Marshal()
	if err := fb.Set("default", data); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := fb.Get("default"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadBundleFile(b *testing.B) {
	fb := NewFileBackend(tempPaths(b))
	bundle, _ := newBundle(b, "default")
	if err := SaveBundle(fb, "default", bundle); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := LoadBundle(fb, "default"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionWithBLSSign: signing through the session (expiry check,
// locks, BLS sign in locked memory).
func BenchmarkSessionWithBLSSign(b *testing.B) {
	bundle, _ := newBundle(b, "default")
	sess := NewSession(bundle, SessionOptions{KDF: testKDF()})
	if err := sess.Unlock([]byte(testPass)); err != nil {
		b.Fatal(err)
	}
	defer sess.Lock()
	msg := make([]byte, 32)
	for b.Loop() {
		if err := sess.WithBLS(func(sk *qbls.SecretKey) error { _ = sk.Sign(msg); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionWithAPISecret: the per-request overhead of reaching the API secret.
func BenchmarkSessionWithAPISecret(b *testing.B) {
	bundle, _ := newBundle(b, "default")
	sess := NewSession(bundle, SessionOptions{KDF: testKDF()})
	if err := sess.Unlock([]byte(testPass)); err != nil {
		b.Fatal(err)
	}
	defer sess.Lock()
	for b.Loop() {
		if err := sess.WithAPISecret(func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
