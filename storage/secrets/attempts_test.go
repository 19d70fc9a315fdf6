package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The wrong-passphrase back-off survives the process: a new session over
// the same attempts file refuses until the wait has passed, counts on from
// the earlier failures, and a right passphrase clears it.
func TestBackoffSurvivesAcrossSessions(t *testing.T) {
	b, _ := newBundle(t, "default")
	store := FileAttempts(filepath.Join(t.TempDir(), "p", "unlock-attempts.json"))
	clk := &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	newSess := func() *Session {
		s := NewSession(b, SessionOptions{KDF: testKDF(), Now: clk.Now, Attempts: store})
		t.Cleanup(s.Lock)
		return s
	}
	first := newSess()
	for range 2 {
		if err := first.Unlock([]byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("wrong passphrase: %v", err)
		}
		clk.Advance(first.Backoff())
	}
	if err := first.Unlock([]byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatal(err)
	}
	if fi, err := os.Stat(string(store)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("attempts file: %v", err)
	}

	second := newSess() // a new process
	if second.Failures() != 3 || second.Backoff() != 4*time.Second {
		t.Fatalf("a new session sees %d failures and a wait of %v, want 3 and 4s", second.Failures(), second.Backoff())
	}
	if err := second.Unlock([]byte(testPass)); !errors.Is(err, ErrBackoff) {
		t.Fatalf("the right passphrase during the back-off: %v", err)
	}
	clk.Advance(4 * time.Second)
	if err := second.Unlock([]byte("wrong")); !errors.Is(err, ErrWrongPassphrase) || second.Failures() != 4 {
		t.Fatalf("the count goes on across sessions: %v, %d", err, second.Failures())
	}
	clk.Advance(second.Backoff())
	if err := second.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	if third := newSess(); third.Failures() != 0 || third.Backoff() != 0 {
		t.Fatalf("after an unlock a new session sees %d failures, wait %v", third.Failures(), third.Backoff())
	}
}

// The file is not authenticated: a wait beyond the longest back-off is
// not believed, and a file that is not understood is a failure, not a
// reset.
func TestAttemptsFileIsBounded(t *testing.T) {
	b, _ := newBundle(t, "default")
	dir := t.TempDir()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	far := FileAttempts(filepath.Join(dir, "far.json"))
	if err := far.Save(Attempts{Failures: 2, RetryAt: clk.Now().Add(240 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if s := NewSession(b, SessionOptions{KDF: testKDF(), Now: clk.Now, Attempts: far}); s.Backoff() != MaxBackoff {
		t.Fatalf("a far-future wait gives %v, want at most %v", s.Backoff(), MaxBackoff)
	}
	bad := FileAttempts(filepath.Join(dir, "bad.json"))
	if err := os.WriteFile(string(bad), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := bad.Load()
	if err != nil || a.Failures < 1 || !a.RetryAt.After(time.Now()) {
		t.Fatalf("an unreadable attempts file loads as %+v, %v", a, err)
	}
}
