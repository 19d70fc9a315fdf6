package secrets

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
)

// testKDF is the policy of the tests: tiny scrypt parameters (the same as
// secretstest.KDF, which this package's own tests cannot import).
func testKDF() KDF {
	return KDF{Params: eip2335.Params{ScryptN: 1 << 10, ScryptR: 8, ScryptP: 1}, AllowWeak: true}
}

const testPass = "correct horse battery staple"

// newSecrets returns fresh random secrets with an API secret of apiLen bytes.
func newSecrets(t testing.TB, apiLen int) *Secrets {
	t.Helper()
	s, err := GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	s.APISecret = bytes.Repeat([]byte("S"), apiLen)
	copy(s.APISecret, "api-secret-")
	return s
}

func testPublic(profile string) BundlePublic {
	return BundlePublic{
		Profile:     profile,
		APIBaseURL:  "https://sandbox.example/api/v2",
		WorkspaceID: "ws-123",
		APIKeyID:    "key-456",
		Created:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func newBundle(t testing.TB, profile string) (*Bundle, *Secrets) {
	t.Helper()
	s := newSecrets(t, 80)
	b, err := testKDF().Seal(testPublic(profile), s, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	return b, s
}

func tempPaths(t testing.TB) storage.Paths {
	return storage.ResolvePaths(t.TempDir())
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// blsPub and ecPub take the key by value: qbls hands the key bytes to cgo,
// which refuses a pointer into a struct (Secrets) that holds Go pointers.
func blsPub(sk qbls.SecretKey) qbls.PublicKey  { return sk.Public() }
func ecPub(k eckey.PrivateKey) eckey.PublicKey { return k.Public() }
