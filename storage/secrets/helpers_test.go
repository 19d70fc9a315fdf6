package secrets

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
)

// TestMain makes every test in this package use tiny KDF parameters except
// where a test restores the defaults (TestSealOpenDefaultParams).
func TestMain(m *testing.M) {
	restore := UseWeakKDFForTesting()
	code := m.Run()
	restore()
	os.Exit(code)
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
	b, err := Seal(testPublic(profile), s, []byte(testPass))
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
