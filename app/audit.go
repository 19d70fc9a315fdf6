// audit.go: the unlock session and what it journals (unlock, failed
// unlock, lock, abandoned attempts, checkpoints).

package app

import (
	"runtime/debug"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

// Locked implements the console's Backend.
func (e *Engine) Locked() (bool, time.Time) {
	if e.sess.Locked() {
		return true, time.Time{}
	}
	return false, e.sess.UnlockedUntil()
}

// UnlockBackoff implements the console's Backend.
func (e *Engine) UnlockBackoff() time.Duration { return e.sess.Backoff() }

// Unlock implements the console's Backend: runs the KDF, journals the unlock and
// connects to the API if not connected yet.
func (e *Engine) Unlock(passphrase []byte) error {
	err := e.sess.Unlock(passphrase)
	// scrypt at n=2^18 leaves 256 MiB of garbage: hand it back to the OS
	// now rather than keep it resident for minutes.
	debug.FreeOSMemory()
	if err != nil {
		return err
	}
	e.connect()
	return nil
}

// Lock implements the console's Backend: a signed checkpoint and a signed lock
// entry, then the lock, so a run that ends locked leaves nothing unsealed.
func (e *Engine) Lock(reason string) {
	if e.sess.Locked() {
		return
	}
	e.checkpoint(reason)
	_, err := e.jr.AppendSigned(journal.KindLock, journal.LockBody{Reason: reason}, e.signer())
	e.mu.Lock()
	e.lockReason, e.lockLogged = reason, err == nil
	e.mu.Unlock()
	e.sess.Lock()
}

// Touch implements the console's Backend.
func (e *Engine) Touch() { e.sess.Touch() }

// Abandon implements the console's Backend: it journals a decision that was started
// and not completed (unsigned; sealed by the next signed entry).
func (e *Engine) Abandon(d Decision, why string) error {
	decision := "reject"
	if d.Approve {
		decision = "approve"
	}
	_, err := e.jr.Append(journal.KindAbandoned, journal.AbandonedBody{ActionID: d.ActionID, Decision: decision, Why: why})
	return err
}

func (e *Engine) signer() journal.Signer { return sessionSigner{e.sess, e.pk} }

// checkpoint writes a signed checkpoint when the key is unlocked.
func (e *Engine) checkpoint(reason string) {
	if e.sess.Locked() {
		return
	}
	if _, err := e.jr.Checkpoint(e.signer(), reason); err != nil {
		e.emit(Notice{Text: "journal checkpoint failed: " + err.Error()})
	}
}

// onSessionEvent journals unlocks, failed unlocks and locks.
func (e *Engine) onSessionEvent(ev secrets.Event) {
	switch ev.Kind {
	case secrets.EventUnlock:
		if _, err := e.jr.AppendSigned(journal.KindUnlock, journal.UnlockBody{WrapUse: useBody(ev.Wrap)}, e.signer()); err != nil {
			e.emit(Notice{Text: "journal: " + err.Error()})
		}
		e.emit(LockChanged{Locked: false, Until: e.sess.UnlockedUntil()})
	case secrets.EventUnlockFailed:
		if _, err := e.jr.Append(journal.KindUnlockFailed, journal.UnlockFailedBody{Attempt: e.sess.Failures(), Backoff: e.sess.Backoff().Round(time.Second).String(),
			WrapRefused: string(ev.WrapReason), WrapUse: useBody(ev.Wrap)}); err != nil {
			e.emit(Notice{Text: "journal: " + err.Error()})
		}
	case secrets.EventLock:
		e.mu.Lock()
		reason, logged := e.lockReason, e.lockLogged
		e.lockReason, e.lockLogged = "", false
		e.mu.Unlock()
		if reason == "" {
			reason = ev.Reason
		}
		if !logged {
			if _, err := e.jr.Append(journal.KindLock, journal.LockBody{Reason: reason}); err != nil {
				e.emit(Notice{Text: "journal: " + err.Error()})
			}
		}
		e.emit(LockChanged{Locked: true, Reason: reason})
	}
}

// sessionCredentials hands the API secret to the client while unlocked.
type sessionCredentials struct{ s *secrets.Session }

func (c sessionCredentials) WithSecret(fn func([]byte) error) error { return c.s.WithAPISecret(fn) }

// SessionSigner signs journal digests with an unlocked session's BLS key
// (whose public key is pk), without exposing it.
func SessionSigner(s *secrets.Session, pk qbls.PublicKey) journal.Signer { return sessionSigner{s, pk} }

// sessionSigner signs journal digests with the session's BLS key.
type sessionSigner struct {
	s  *secrets.Session
	pk qbls.PublicKey
}

func (s sessionSigner) PublicKey() qbls.PublicKey { return s.pk }

func (s sessionSigner) Sign(msg []byte) (qbls.Signature, error) {
	var sig qbls.Signature
	err := s.s.WithBLS(func(sk *qbls.SecretKey) error { sig = sk.Sign(msg); return nil })
	return sig, err
}
