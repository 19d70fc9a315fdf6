package secrets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/wrap"
	"github.com/qapprove/qapprove/storage/wrap/wraptest"
)

func kmsWrapper(t *testing.T, s *wraptest.KMSServer, arn string) *wrap.KMS {
	t.Helper()
	k, err := wrap.NewKMS(context.Background(), wrap.KMSOptions{KeyARN: arn, Region: wraptest.Region, Endpoint: s.Endpoint,
		Timeout: 5 * time.Second, Credentials: wraptest.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// storeAndReload saves b in a file keystore and loads it back, as a new
// process would.
func storeAndReload(t *testing.T, b *Bundle) *Bundle {
	t.Helper()
	be := NewFileBackend(tempPaths(t))
	if err := SaveBundle(be, b.Profile, b); err != nil {
		t.Fatal(err)
	}
	back, err := LoadBundle(be, b.Profile)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// unlockWith opens a fresh session over b with wrapper w.
func unlockWith(t *testing.T, b *Bundle, w wrap.Wrapper) (*Session, *recorder, error) {
	t.Helper()
	rec := &recorder{}
	sess := NewSession(b, SessionOptions{KDF: testKDF(), OnEvent: rec.add, Wrapper: w})
	t.Cleanup(sess.Lock)
	return sess, rec, sess.Unlock([]byte(testPass))
}

func wantRefused(t *testing.T, sess *Session, rec *recorder, err error, r wrap.Reason, words ...string) {
	t.Helper()
	if !errors.Is(err, wrap.ErrRefused) || wrap.ReasonOf(err) != r {
		t.Fatalf("unlock: %v (reason %q), want reason %q", err, wrap.ReasonOf(err), r)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q lacks %q", err.Error(), w)
		}
	}
	ev := rec.last()
	if !sess.Locked() || ev.Kind != EventUnlockFailed || ev.Reason != ReasonWrapRefused || ev.WrapReason != r || ev.Wrap == nil {
		t.Fatalf("locked=%v, event %+v", sess.Locked(), ev)
	}
	if sess.Failures() != 0 || sess.Backoff() != 0 {
		t.Fatal("a wrap refusal counted as a wrong passphrase")
	}
}

func TestKMSWrappedBundle(t *testing.T) {
	srv := wraptest.StartKMS(t)
	arn := srv.CreateKey(t)
	b0, s := newBundle(t, "desk")
	b, use, err := WrapBundle(context.Background(), b0, kmsWrapper(t, srv, arn))
	if err != nil {
		t.Fatal(err)
	}
	if use.KeyARN != arn || b.Crypto != nil || b.Wrap == nil || b.WrapKind() != wrap.KindKMS || !strings.Contains(b.DescribeWrap(), arn) {
		t.Fatalf("wrapped bundle: %+v, use %+v", b.Wrap, use)
	}
	if _, err := testKDF().Open(b, []byte(testPass)); !errors.Is(err, ErrWrapped) {
		t.Fatalf("Open without the wrap: %v", err)
	}
	// Restart: the bundle read back and a new KMS client.
	b = storeAndReload(t, b)
	sess, rec, err := unlockWith(t, b, kmsWrapper(t, srv, arn))
	if err != nil {
		t.Fatal(err)
	}
	if ev := rec.last(); ev.Kind != EventUnlock || ev.Wrap == nil || ev.Wrap.KeyARN != arn || ev.Wrap.Kind != wrap.KindKMS {
		t.Fatalf("unlock event %+v", ev)
	}
	if err := sess.WithBLS(func(sk *qblsKey) error {
		if *sk != s.BLS {
			t.Error("unlocked another BLS key")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sess.CheckWrap(context.Background()); err != nil {
		t.Fatalf("CheckWrap: %v", err)
	}

	srv.Disable(t, arn)
	if err := sess.CheckWrap(context.Background()); wrap.ReasonOf(err) != wrap.ReasonDisabled {
		t.Fatalf("CheckWrap after disabling: %v", err)
	}
	sess2, rec2, err := unlockWith(t, b, kmsWrapper(t, srv, arn))
	wantRefused(t, sess2, rec2, err, wrap.ReasonDisabled, "disabled", "re-enable", "nothing was signed")

	srv.Enable(t, arn)
	if _, _, err := unlockWith(t, b, kmsWrapper(t, srv, arn)); err != nil {
		t.Fatalf("after re-enabling: %v", err)
	}

	// Another context: the bundle claims another API key.
	moved := *b
	moved.APIKeyID = "key-other"
	sess3, rec3, err := unlockWith(t, &moved, kmsWrapper(t, srv, arn))
	wantRefused(t, sess3, rec3, err, wrap.ReasonContext, "encryption context")

	// A wrong passphrase still counts as one, after the KMS said yes.
	sess4 := NewSession(b, SessionOptions{KDF: testKDF(), Wrapper: kmsWrapper(t, srv, arn)})
	if err := sess4.Unlock([]byte("wrong")); !errors.Is(err, ErrWrongPassphrase) || sess4.Failures() != 1 {
		t.Fatalf("wrong passphrase: %v, failures %d", err, sess4.Failures())
	}

	srv.Stop()
	sess5, rec5, err := unlockWith(t, b, kmsWrapper(t, srv, arn))
	wantRefused(t, sess5, rec5, err, wrap.ReasonUnreachable, "could not be reached")
}

func TestPKCS11WrappedBundle(t *testing.T) {
	h := wraptest.StartSoftHSM(t)
	h.GenerateKey(t, "desk-wrap")
	opts := wrap.PKCS11Options{Module: h.Module, Token: h.Token, Label: "desk-wrap", PIN: h.PINFunc(), Timeout: 5 * time.Second}
	newP := func(o wrap.PKCS11Options) *wrap.PKCS11 {
		p, err := wrap.NewPKCS11(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	b0, s := newBundle(t, "desk")
	p := newP(opts)
	b, _, err := WrapBundle(context.Background(), b0, p)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	b = storeAndReload(t, b)
	p = newP(opts)
	sess, rec, err := unlockWith(t, b, p)
	if err != nil {
		t.Fatal(err)
	}
	if ev := rec.last(); ev.Wrap == nil || ev.Wrap.Token != h.Token || ev.Wrap.Label != "desk-wrap" {
		t.Fatalf("unlock event %+v", ev)
	}
	_ = sess.WithEC(func(k *eckeyKey) error {
		if *k != s.EC {
			t.Error("unlocked another EC key")
		}
		return nil
	})
	p.Close()

	wrongPIN := opts
	wrongPIN.PIN = func() ([]byte, error) { return []byte("0000"), nil }
	sess2, rec2, err := unlockWith(t, b, newP(wrongPIN))
	wantRefused(t, sess2, rec2, err, wrap.ReasonWrongPIN, "refused the PIN")

	h.DeleteKey(t, "desk-wrap")
	p3 := newP(opts)
	sess3, rec3, err := unlockWith(t, b, p3)
	wantRefused(t, sess3, rec3, err, wrap.ReasonKeyDeleted, "no AES key labelled")
	p3.Close()

	// Token absent: its files are gone (SoftHSM2 reads them when the
	// module is initialised, after every wrap closed its session).
	entries, _ := os.ReadDir(h.Dir)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(h.Dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	sess4, rec4, err := unlockWith(t, b, newP(opts))
	wantRefused(t, sess4, rec4, err, wrap.ReasonTokenAbsent, "not present")
}

// TestRewrapKeepsKeys moves a bundle none → KMS → PKCS#11 → none: the
// module inside, and so the keys and the passphrase, never change.
func TestRewrapKeepsKeys(t *testing.T) {
	srv := wraptest.StartKMS(t)
	h := wraptest.StartSoftHSM(t)
	h.GenerateKey(t, "rewrap")
	k := kmsWrapper(t, srv, srv.CreateKey(t))
	p, err := wrap.NewPKCS11(wrap.PKCS11Options{Module: h.Module, Token: h.Token, Label: "rewrap", PIN: h.PINFunc()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	b0, s := newBundle(t, "desk")
	b1, _, err := WrapBundle(ctx, b0, k)
	if err != nil {
		t.Fatal(err)
	}
	u1, _, err := UnwrapBundle(ctx, storeAndReload(t, b1), k)
	if err != nil {
		t.Fatal(err)
	}
	b2, _, err := WrapBundle(ctx, u1, p)
	if err != nil {
		t.Fatal(err)
	}
	b3, _, err := UnwrapBundle(ctx, storeAndReload(t, b2), p)
	if err != nil {
		t.Fatal(err)
	}
	if b3.Wrapped() || b3.Crypto.Cipher.Message != b0.Crypto.Cipher.Message || b3.Crypto.Checksum.Message != b0.Crypto.Checksum.Message ||
		string(b3.Crypto.KDF.Params) != string(b0.Crypto.KDF.Params) {
		t.Fatal("the module changed on the way")
	}
	got, err := testKDF().Open(storeAndReload(t, b3), []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Zero()
	if got.BLS != s.BLS || got.EC != s.EC || !bytes.Equal(got.APISecret, s.APISecret) {
		t.Fatal("other keys after the rewraps")
	}
	// A KMS-wrapped bundle handed to the PKCS#11 wrap is refused clearly.
	if _, _, err := UnwrapBundle(ctx, b1, p); wrap.ReasonOf(err) != wrap.ReasonConfig {
		t.Fatalf("wrong wrapper: %v", err)
	}
	if _, _, err := UnwrapBundle(ctx, b1, nil); !errors.Is(err, ErrWrapped) {
		t.Fatalf("no wrapper: %v", err)
	}
}

// bigBlobWrapper is a wrap whose record is as large as a real one can be
// here: a 256-character key ARN and a 256-byte wrapped key (AWS KMS
// returns 184 bytes for an AES-256 data key).
type bigBlobWrapper struct{ arn string }

func (bigBlobWrapper) Kind() string { return wrap.KindKMS }
func (bigBlobWrapper) Close() error { return nil }
func (w bigBlobWrapper) NewDataKey(context.Context, wrap.Context) ([]byte, wrap.Record, wrap.Use, error) {
	return make([]byte, wrap.DataKeySize), wrap.Record{Kind: wrap.KindKMS, KeyARN: w.arn, DataKey: bytes.Repeat([]byte{0xa5}, 256)}, wrap.Use{}, nil
}
func (bigBlobWrapper) Unwrap(context.Context, wrap.Record, wrap.Context) ([]byte, wrap.Use, error) {
	return make([]byte, wrap.DataKeySize), wrap.Use{}, nil
}

// TestWrappedBundleMaxSize: every field at its maximum, a long KMS key
// ARN and a long context still fit the 2,560-byte keychain limit.
func TestWrappedBundleMaxSize(t *testing.T) {
	s := newSecrets(t, MaxAPISecretLen)
	pub := maxBundlePublic()
	pub.AwaitingAdmin = strings.Repeat("a", 36)
	b0, err := testKDF().Seal(pub, s, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-" + strings.Repeat("f", 256-len("arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-"))
	b, _, err := WrapBundle(context.Background(), b0, bigBlobWrapper{arn: arn})
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatalf("maximal wrapped bundle refused: %v", err)
	}
	size := len(data) + len("262144") - len("1024") // production N
	t.Logf("maximal wrapped bundle: %d bytes (limit %d)", size, MaxValueSize)
	if size > MaxValueSize {
		t.Fatalf("maximal wrapped bundle is %d bytes, over %d", size, MaxValueSize)
	}
	back, err := ParseBundle(data)
	if err != nil || back.Wrap.KeyARN != arn {
		t.Fatalf("read back: %v", err)
	}
}

func TestParseWrappedBundleRefuses(t *testing.T) {
	b0, _ := newBundle(t, "desk")
	b, _, err := WrapBundle(context.Background(), b0, bigBlobWrapper{arn: "arn:aws:kms:eu-west-2:111122223333:key/k"})
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Bundle){
		"both":      func(b *Bundle) { b.Crypto = b0.Crypto },
		"kind":      func(b *Bundle) { b.Wrap.Kind = "gpg" },
		"big N":     func(b *Bundle) { b.Wrap.N = 1 << 22 },
		"N not 2^k": func(b *Bundle) { b.Wrap.N = 1000 },
		"short box": func(b *Bundle) { b.Wrap.Box = b.Wrap.Box[:40] },
		"no key":    func(b *Bundle) { b.Wrap.DataKey = nil },
	} {
		c := *b
		w := *b.Wrap
		c.Wrap = &w
		mutate(&c)
		if _, err := c.Marshal(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An altered box does not authenticate.
	c := *b
	w := *b.Wrap
	w.Box = bytes.Clone(w.Box)
	w.Box[20] ^= 1
	c.Wrap = &w
	if _, _, err := UnwrapBundle(context.Background(), &c, bigBlobWrapper{}); !errors.Is(err, wrap.ErrBoxAltered) {
		t.Fatalf("altered box: %v", err)
	}
}

type (
	qblsKey  = qbls.SecretKey
	eckeyKey = eckey.PrivateKey
)
