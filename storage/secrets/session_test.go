package secrets

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
)

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *recorder) last() Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return Event{}
	}
	return r.events[len(r.events)-1]
}
func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.events) }

func newTestSession(t *testing.T) (*Session, *Secrets, *fakeClock, *recorder) {
	t.Helper()
	b, s := newBundle(t, "default")
	clk := &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	sess := NewSession(b, SessionOptions{KDF: testKDF(), Idle: 5 * time.Minute, Absolute: 8 * time.Hour, Now: clk.Now, OnEvent: rec.add})
	t.Cleanup(sess.Lock)
	return sess, s, clk, rec
}

func TestSessionUnlockUseLock(t *testing.T) {
	sess, s, clk, rec := newTestSession(t)
	if !sess.Locked() || !sess.UnlockedUntil().IsZero() || sess.TimeLeft() != 0 {
		t.Fatal("new session is not locked")
	}
	if err := sess.WithBLS(func(*qbls.SecretKey) error { return nil }); !errors.Is(err, ErrLocked) {
		t.Fatalf("WithBLS while locked: %v", err)
	}
	if err := sess.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	if sess.Locked() || rec.last() != (Event{Kind: EventUnlock}) {
		t.Fatalf("after unlock: locked=%v event=%+v", sess.Locked(), rec.last())
	}
	if got := sess.UnlockedUntil(); !got.Equal(clk.Now().Add(5 * time.Minute)) {
		t.Fatalf("UnlockedUntil = %v", got)
	}
	wantPub := blsPub(s.BLS)
	err := sess.WithBLS(func(sk *qbls.SecretKey) error {
		if sk.Public() != wantPub {
			t.Error("WithBLS key does not match")
		}
		msg := []byte("approve")
		if !qbls.Verify(wantPub, msg, sk.Sign(msg)) {
			t.Error("signature from the session key does not verify")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantEC := ecPub(s.EC)
	if err := sess.WithEC(func(k *eckey.PrivateKey) error {
		if k.Public() != wantEC {
			t.Error("WithEC key does not match")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sess.WithAPISecret(func(b []byte) error {
		if !bytes.Equal(b, s.APISecret) {
			t.Error("WithAPISecret differs")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sentinel := errors.New("from callback")
	if err := sess.WithAPISecret(func([]byte) error { return sentinel }); err != sentinel {
		t.Fatalf("callback error not returned: %v", err)
	}
	sess.Lock()
	if !sess.Locked() || rec.last() != (Event{Kind: EventLock, Reason: ReasonManual}) {
		t.Fatalf("after Lock: locked=%v event=%+v", sess.Locked(), rec.last())
	}
	n := rec.count()
	sess.Lock() // no second event
	if rec.count() != n {
		t.Fatal("Lock of a locked session emitted an event")
	}
	if err := sess.WithAPISecret(func([]byte) error { return nil }); !errors.Is(err, ErrLocked) {
		t.Fatalf("after Lock: %v", err)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	sess, _, clk, rec := newTestSession(t)
	if err := sess.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * time.Minute)
	sess.Touch()
	clk.Advance(4 * time.Minute) // 8 min after unlock, 4 after Touch
	if sess.Expired() || sess.Locked() {
		t.Fatal("Touch did not push back the idle timeout")
	}
	if err := sess.WithBLS(func(*qbls.SecretKey) error { return nil }); err != nil {
		t.Fatal(err) // use counts as activity too
	}
	clk.Advance(5*time.Minute - time.Second)
	if sess.Locked() {
		t.Fatal("locked before the idle timeout")
	}
	if got := sess.TimeLeft(); got != time.Second {
		t.Fatalf("TimeLeft = %v, want 1s", got)
	}
	clk.Advance(time.Second)
	if !sess.Locked() {
		t.Fatal("Locked() false at the idle deadline")
	}
	if err := sess.WithBLS(func(*qbls.SecretKey) error { return nil }); !errors.Is(err, ErrLocked) {
		t.Fatalf("use after idle timeout: %v", err)
	}
	if rec.last() != (Event{Kind: EventLock, Reason: ReasonIdle}) {
		t.Fatalf("event = %+v", rec.last())
	}
	if sess.Expired() {
		t.Fatal("Expired reported twice")
	}
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	sess, _, clk, rec := newTestSession(t)
	if err := sess.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	for range 8*60/4 - 1 {
		clk.Advance(4 * time.Minute)
		sess.Touch()
	}
	if sess.Locked() {
		t.Fatal("locked before 8 h")
	}
	if got := sess.UnlockedUntil(); !got.Equal(time.Date(2026, 1, 1, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("UnlockedUntil = %v, want the absolute deadline", got)
	}
	clk.Advance(4 * time.Minute)
	if !sess.Expired() {
		t.Fatal("Expired false after 8 h")
	}
	if rec.last() != (Event{Kind: EventLock, Reason: ReasonAbsolute}) {
		t.Fatalf("event = %+v", rec.last())
	}
}

func TestSessionBackoff(t *testing.T) {
	sess, _, clk, rec := newTestSession(t)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 60 * time.Second, 60 * time.Second, 60 * time.Second}
	for i, w := range want {
		err := sess.Unlock([]byte("wrong"))
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if rec.last() != (Event{Kind: EventUnlockFailed, Reason: ReasonWrongPassphrase}) {
			t.Fatalf("event = %+v", rec.last())
		}
		if got := sess.Backoff(); got != w {
			t.Fatalf("after %d failures Backoff = %v, want %v", i+1, got, w)
		}
		// Even the right passphrase is refused during the back-off, and
		// the refusal is not another failure.
		n := rec.count()
		err = sess.Unlock([]byte(testPass))
		if !errors.Is(err, ErrBackoff) || !sess.Locked() || rec.count() != n {
			t.Fatalf("attempt during back-off: %v (locked=%v)", err, sess.Locked())
		}
		clk.Advance(w / 2)
		if got := sess.Backoff(); got != w-w/2 {
			t.Fatalf("Backoff after waiting half = %v", got)
		}
		clk.Advance(w - w/2)
		if sess.Backoff() != 0 {
			t.Fatal("Backoff not over")
		}
	}
	if err := sess.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	sess.Lock()
	if err := sess.Unlock([]byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatal(err)
	}
	if got := sess.Backoff(); got != time.Second {
		t.Fatalf("back-off not reset by a successful unlock: %v", got)
	}
}

func TestSessionInconsistentBundle(t *testing.T) {
	b, _ := newBundle(t, "default")
	other, _ := newBundle(t, "default")
	b.BLSPublicKey = other.BLSPublicKey
	rec := &recorder{}
	sess := NewSession(b, SessionOptions{KDF: testKDF(), OnEvent: rec.add})
	if err := sess.Unlock([]byte(testPass)); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("err = %v", err)
	}
	if !sess.Locked() || rec.last().Kind != EventUnlockFailed || sess.Backoff() != 0 {
		t.Fatalf("locked=%v event=%+v backoff=%v", sess.Locked(), rec.last(), sess.Backoff())
	}
}

func TestSessionDefaultsAndTimer(t *testing.T) {
	b, _ := newBundle(t, "default")
	sess := NewSession(b, SessionOptions{KDF: testKDF(), Idle: 30 * time.Millisecond})
	if sess.opts.Absolute != 8*time.Hour || sess.opts.Now == nil {
		t.Fatalf("defaults not applied: %+v", sess.opts)
	}
	locked := make(chan Event, 4)
	sess.opts.OnEvent = func(e Event) {
		if e.Kind == EventLock {
			locked <- e
		}
	}
	if err := sess.Unlock([]byte(testPass)); err != nil {
		t.Fatal(err)
	}
	// Nobody polls: the timer wipes the secrets after the idle timeout.
	select {
	case e := <-locked:
		if e.Reason != ReasonIdle || !sess.Locked() {
			t.Fatalf("event %+v, locked=%v", e, sess.Locked())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the idle timer never locked the session")
	}
}

// TestSessionConcurrent exercises Unlock, use and Lock from several
// goroutines (run with -race).
func TestSessionConcurrent(t *testing.T) {
	sess, _, _, _ := newTestSession(t)
	var wg sync.WaitGroup
	// Each call may find the session locked or unlocked by another goroutine:
	// the results vary by design; the race detector is the assertion.
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				switch (i + j) % 4 {
				case 0:
					_ = sess.Unlock([]byte(testPass))
				case 1:
					sess.Lock()
				case 2:
					_ = sess.WithBLS(func(sk *qbls.SecretKey) error { _ = sk.Public(); return nil })
				default:
					_ = sess.WithAPISecret(func(_ []byte) error { sess.Touch(); _ = sess.TimeLeft(); return nil })
				}
			}
		})
	}
	wg.Wait()
}
