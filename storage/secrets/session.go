package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/awnumar/memguard"

	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/wrap"
)

// ErrLocked is returned when secrets are used while the session is locked
// or has expired.
var ErrLocked = errors.New("keys are locked: unlock with your passphrase")

// ErrBackoff is wrapped by the error Unlock returns while it refuses
// attempts after wrong passphrases.
var ErrBackoff = errors.New("too many wrong passphrases")

// MaxBackoff caps the wait after wrong passphrases.
const MaxBackoff = 60 * time.Second

// Event kinds reported to SessionOptions.OnEvent.
const (
	EventUnlock       = "unlock"
	EventUnlockFailed = "unlock-failed"
	EventLock         = "lock"
)

// Reasons of events.
const (
	ReasonManual          = "manual"
	ReasonIdle            = "idle timeout"
	ReasonAbsolute        = "absolute timeout"
	ReasonWrongPassphrase = "wrong passphrase"
	ReasonWrapRefused     = "wrap refused" // the KMS or the token did not give the data key
)

// Event is a session change the caller may journal. It never holds a secret.
type Event struct {
	Kind   string // EventUnlock, EventUnlockFailed or EventLock
	Reason string // why (lock and failed unlock); "" for unlock
	// Wrap is the KMS or token call that gave the data key (unlock of a
	// wrapped bundle), or the one that refused it (failed unlock, with
	// WrapReason set). Nil for an unwrapped bundle.
	Wrap       *wrap.Use
	WrapReason wrap.Reason
}

// SessionOptions configure a Session. Zero values select the defaults.
type SessionOptions struct {
	Idle     time.Duration    // lock after this long without use (default storage.DefaultIdleLock)
	Absolute time.Duration    // lock this long after unlocking (default storage.DefaultAbsoluteLock)
	Now      func() time.Time // clock (default time.Now); tests inject one
	OnEvent  func(Event)      // called after each unlock, failed unlock and lock, outside any lock
	KDF      KDF              // policy Unlock opens the bundle with (zero: production)
	// Attempts, when set, keeps the wrong-passphrase count and the next
	// allowed time across processes (nil: this process only).
	Attempts AttemptStore
	// Wrapper opens the bundle's wrap (KMS or PKCS#11); required to unlock
	// a wrapped bundle, unused otherwise. The session does not close it.
	Wrapper wrap.Wrapper
}

// Session holds the secrets of one bundle while unlocked, in memguard
// locked memory (mlocked, guard pages, wiped on Lock). Secrets are reached
// only through the With* callbacks, which fail with ErrLocked once the
// session is locked or a timeout has passed. All methods are safe for
// concurrent use; callbacks must not call Lock, Unlock or Expired.
type Session struct {
	bundle *Bundle
	opts   SessionOptions

	unlockMu sync.Mutex   // serialises Unlock (the KDF runs without mu)
	secMu    sync.RWMutex // held for reading while a callback uses buf
	mu       sync.Mutex   // guards the fields below

	buf        *memguard.LockedBuffer // BLS ‖ EC ‖ API secret; nil when locked
	unlockedAt time.Time
	lastUse    time.Time
	failures   int
	retryAt    time.Time
	timer      *time.Timer
}

// NewSession returns a locked session over b.
func NewSession(b *Bundle, opts SessionOptions) *Session {
	if opts.Idle <= 0 {
		opts.Idle = storage.DefaultIdleLock
	}
	if opts.Absolute <= 0 {
		opts.Absolute = storage.DefaultAbsoluteLock
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Session{bundle: b, opts: opts}
	if opts.Attempts != nil {
		// What an earlier process left; a wait longer than the longest
		// back-off is not believed (the file is not authenticated).
		if a, err := opts.Attempts.Load(); err == nil {
			s.failures = a.Failures
			s.retryAt = a.RetryAt
			if limit := opts.Now().Add(MaxBackoff); s.retryAt.After(limit) {
				s.retryAt = limit
			}
		}
	}
	return s
}

// Failures is the number of wrong passphrases in a row, across processes
// when SessionOptions.Attempts is set.
func (s *Session) Failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// saveAttemptsLocked records the wrong-passphrase state (s.mu held).
func (s *Session) saveAttemptsLocked() {
	if s.opts.Attempts != nil {
		_ = s.opts.Attempts.Save(Attempts{Failures: s.failures, RetryAt: s.retryAt}) // best effort: the in-memory state still holds
	}
}

// kdf is the policy of Unlock.
func (s *Session) kdf() KDF { return s.opts.KDF }

func (s *Session) emit(e Event) {
	if s.opts.OnEvent != nil {
		s.opts.OnEvent(e)
	}
}

// backoffFor is the wait after n consecutive wrong passphrases:
// 0, 1 s, 2 s, 4 s, … capped at MaxBackoff.
func backoffFor(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if n > 7 {
		return MaxBackoff
	}
	return min(time.Second<<(n-1), MaxBackoff)
}

// Backoff returns how long the caller must wait before the next Unlock
// attempt is accepted (0 when it may try now).
func (s *Session) Backoff() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.retryAt.Sub(s.opts.Now()), 0)
}

// Unlock runs the KDF on passphrase (about a second at default parameters;
// call it from a goroutine in a UI), checks the secrets against the stored
// public keys and keeps them in locked memory. A wrong passphrase returns
// ErrWrongPassphrase and doubles the back-off; attempts during the back-off
// are refused with an error wrapping ErrBackoff, without running the KDF.
// The caller still owns passphrase and should clear it.
func (s *Session) Unlock(passphrase []byte) error {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	if wait := s.Backoff(); wait > 0 {
		return fmt.Errorf("%w: wait %s before the next attempt", ErrBackoff, wait.Round(time.Second))
	}
	inner, use, err := s.unwrap()
	if err != nil {
		return err
	}
	raw, err := s.kdf().openRaw(inner, passphrase)
	if err != nil {
		reason := err.Error()
		if errors.Is(err, ErrWrongPassphrase) {
			reason = ReasonWrongPassphrase
			s.mu.Lock()
			s.failures++
			s.retryAt = s.opts.Now().Add(backoffFor(s.failures))
			s.saveAttemptsLocked()
			s.mu.Unlock()
		}
		s.emit(Event{Kind: EventUnlockFailed, Reason: reason})
		return err
	}
	buf := memguard.NewBufferFromBytes(raw) // wipes raw
	buf.Freeze()

	s.secMu.Lock()
	s.mu.Lock()
	old := s.buf
	s.buf = buf
	now := s.opts.Now()
	s.unlockedAt, s.lastUse = now, now
	if s.failures > 0 || !s.retryAt.IsZero() {
		s.failures, s.retryAt = 0, time.Time{}
		s.saveAttemptsLocked()
	}
	s.armTimerLocked()
	s.mu.Unlock()
	s.secMu.Unlock()
	if old != nil {
		old.Destroy()
	}
	s.emit(Event{Kind: EventUnlock, Wrap: use})
	return nil
}

// unwrap opens the bundle's wrap (no passphrase needed yet); a refusal is
// reported as a failed unlock that does not count as a wrong passphrase.
func (s *Session) unwrap() (*Bundle, *wrap.Use, error) {
	b, w := s.current()
	if !b.Wrapped() {
		return b, nil, nil
	}
	inner, use, err := UnwrapBundle(context.Background(), b, w)
	if err != nil {
		ev := Event{Kind: EventUnlockFailed, Reason: ReasonWrapRefused, WrapReason: wrap.ReasonOf(err)}
		if w := b.Wrap; w != nil {
			ev.Wrap = &wrap.Use{Kind: w.Kind, KeyARN: w.KeyARN, Token: w.Token, Label: w.Label}
		}
		s.emit(ev)
		return nil, nil, err
	}
	return inner, &use, nil
}

// CheckWrap asks the bundle's wrap again for the data key (and forgets
// it), so a revoked KMS key or a removed token is noticed before a
// decision; nil for an unwrapped bundle. Each wrap call has its timeout.
func (s *Session) CheckWrap(ctx context.Context) error {
	b, w := s.current()
	_, err := CheckWrap(ctx, b, w)
	return err
}

// current is the bundle and its wrapper (Rewrap may change them).
func (s *Session) current() (*Bundle, wrap.Wrapper) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bundle, s.opts.Wrapper
}

// Rewrap makes the session use b, the same keys under another wrap, and
// w, its wrapper (nil for none), after `keys rewrap` saved it.
func (s *Session) Rewrap(b *Bundle, w wrap.Wrapper) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b == nil || b.BLSPublicKey != s.bundle.BLSPublicKey || b.ECPublicKey != s.bundle.ECPublicKey {
		return errors.New("a rewrapped bundle must hold the same keys")
	}
	s.bundle, s.opts.Wrapper = b, w
	return nil
}

// armTimerLocked schedules an expiry check at the current deadline, so the
// secrets are wiped even if nobody polls Expired. s.mu must be held.
func (s *Session) armTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
	}
	d := max(s.deadlineLocked().Sub(s.opts.Now()), 0) + 10*time.Millisecond
	s.timer = time.AfterFunc(d, func() {
		if s.Expired() {
			return // expired and wiped now
		}
		// Still unlocked (the deadline moved): check again at the new one.
		s.mu.Lock()
		if s.buf != nil {
			s.armTimerLocked()
		}
		s.mu.Unlock()
	})
}

// Lock wipes the secrets at once. It reports an EventLock with
// ReasonManual if the session was unlocked.
func (s *Session) Lock() { s.lock(ReasonManual) }

func (s *Session) lock(reason string) bool {
	s.secMu.Lock()
	s.mu.Lock()
	buf := s.buf
	s.buf = nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.mu.Unlock()
	if buf != nil {
		buf.Destroy()
	}
	s.secMu.Unlock()
	if buf != nil {
		s.emit(Event{Kind: EventLock, Reason: reason})
	}
	return buf != nil
}

// Locked reports whether no secrets are held. A session past a timeout
// counts as locked even before Expired or a With* call wipes it.
func (s *Session) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf == nil || s.expiryReasonLocked() != ""
}

// Touch records activity, pushing back the idle timeout. It does nothing
// when locked or expired.
func (s *Session) Touch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf != nil && s.expiryReasonLocked() == "" {
		s.lastUse = s.opts.Now()
	}
}

// UnlockedUntil is when the session will lock if unused: the earlier of the
// idle and absolute deadlines. Zero when locked.
func (s *Session) UnlockedUntil() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf == nil {
		return time.Time{}
	}
	return s.deadlineLocked()
}

// TimeLeft is how long until the session locks (0 when locked or expired).
func (s *Session) TimeLeft() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf == nil {
		return 0
	}
	return max(s.deadlineLocked().Sub(s.opts.Now()), 0)
}

func (s *Session) deadlineLocked() time.Time {
	idle := s.lastUse.Add(s.opts.Idle)
	abs := s.unlockedAt.Add(s.opts.Absolute)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// DeadlineReason says which limit UnlockedUntil comes from: ReasonIdle
// or ReasonAbsolute (the reason an automatic lock at that time has).
func (s *Session) DeadlineReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastUse.Add(s.opts.Idle).Before(s.unlockedAt.Add(s.opts.Absolute)) {
		return ReasonIdle
	}
	return ReasonAbsolute
}

// expiryReasonLocked returns why an unlocked session has expired, or "".
func (s *Session) expiryReasonLocked() string {
	now := s.opts.Now()
	switch {
	case !now.Before(s.unlockedAt.Add(s.opts.Absolute)):
		return ReasonAbsolute
	case !now.Before(s.lastUse.Add(s.opts.Idle)):
		return ReasonIdle
	}
	return ""
}

// Expired locks the session if a timeout has passed and reports whether it
// did so (an EventLock with the timeout as reason is emitted). A UI polls it.
func (s *Session) Expired() bool {
	s.mu.Lock()
	reason := ""
	if s.buf != nil {
		reason = s.expiryReasonLocked()
	}
	s.mu.Unlock()
	if reason == "" {
		return false
	}
	return s.lock(reason)
}

// with runs fn on the unlocked secret bytes while holding them alive.
func (s *Session) with(fn func(raw []byte) error) error {
	if s.Expired() {
		return ErrLocked
	}
	s.secMu.RLock()
	defer s.secMu.RUnlock()
	s.mu.Lock()
	if s.buf == nil || s.expiryReasonLocked() != "" {
		s.mu.Unlock()
		return ErrLocked
	}
	s.lastUse = s.opts.Now()
	raw := s.buf.Bytes()
	s.mu.Unlock()
	return fn(raw)
}

// WithBLS calls fn with the BLS secret key, which lives in locked,
// read-only memory: fn must not keep sk, copy it or write to it (a write,
// such as sk.Zero(), crashes the program). Using the key counts as activity.
// Returns ErrLocked when locked or expired.
func (s *Session) WithBLS(fn func(sk *qbls.SecretKey) error) error {
	return s.with(func(raw []byte) error {
		return fn((*qbls.SecretKey)(raw[:blsSecretLen]))
	})
}

// WithEC calls fn with the EC private key (same rules as WithBLS).
func (s *Session) WithEC(fn func(k *eckey.PrivateKey) error) error {
	return s.with(func(raw []byte) error {
		return fn((*eckey.PrivateKey)(raw[blsSecretLen:fixedSecretLen]))
	})
}

// WithAPISecret calls fn with the API secret (same rules as WithBLS).
func (s *Session) WithAPISecret(fn func(secret []byte) error) error {
	return s.with(func(raw []byte) error {
		return fn(raw[fixedSecretLen:len(raw):len(raw)])
	})
}

// Bundle returns the bundle the session unlocks (public data only is of
// use without the passphrase).
func (s *Session) Bundle() *Bundle {
	b, _ := s.current()
	return b
}
