// Package ui is the qapprove console: a Bubble Tea v2 program that lists the
// pending actions, shows each one's governance verdict and decoded payload,
// and approves or rejects through a Backend. The UI never talks HTTP, never
// touches keys and never writes the journal itself: everything goes through
// the small Backend interface below, over the types of package app: the
// app.Engine implements it for real, apptest.FakeBackend in memory for tests.
package ui

import (
	"context"
	"time"

	"github.com/qapprove/qapprove/app"
)

// Backend is everything the console needs from the rest of qapprove.
//
// No IO in Update or View: the UI calls only Info, Subscribe (once, in
// New), Locked, UnlockBackoff, Selftest and Touch from its update loop, so
// they must be fast and do no IO (no file, network, keychain or KDF).
// Every other method (Lock, Unlock, Decide, Abandon, RawPayload, Notify)
// may do IO: the UI calls it only from a tea.Cmd, off the UI goroutine,
// and learns the result from a typed message.
type Backend interface {
	// Info is the profile, workspace, API base and keystore kind.
	Info() app.Info
	// Subscribe returns the event channel; it is called once. Closing it
	// means no more events.
	Subscribe() <-chan app.Event
	// Locked reports the lock state now; until is when an unlocked key
	// will lock again (idle or absolute limit, whichever comes first).
	Locked() (locked bool, until time.Time)
	// Unlock runs the KDF and opens the key (slow). The backend does not
	// keep passphrase; the caller wipes it after the call.
	Unlock(passphrase []byte) error
	// UnlockBackoff is how long to wait before the next Unlock is allowed
	// (exponential after wrong passphrases; 0 when allowed now).
	UnlockBackoff() time.Duration
	// Lock locks the key now; reason is journaled ("operator", "signal",
	// "exit"): a signed checkpoint, a journal line and the keychain anchor.
	Lock(reason string)
	// Touch records operator activity for the idle timer.
	Touch()
	// Decide signs, journals and sends one decision, then journals the
	// outcome. It must refuse an action that is no longer pending.
	Decide(ctx context.Context, d app.Decision) (app.Outcome, error)
	// Selftest reports the built-in crypto self-test: done is false while
	// it still runs (the header shows "checking…" and signing waits); when
	// done and not ok the UI refuses to sign and shows why.
	Selftest() (done, ok bool, why string)
	// Abandon journals a decision the operator started and did not
	// complete (cancelled, not confirmed, a required reason missing), so
	// the journal shows attempts, not only decisions. Called from a tea.Cmd.
	Abandon(d app.Decision, why string) error
	// Notify shows a desktop notification (best effort, never blocks, never
	// carries a secret); a backend without a session bus does nothing.
	Notify(title, body string)
	// RawPayload returns the payload of an action exactly as the API sends
	// it (slow: the backend may keep only the decoded form in memory and
	// fetch the bytes). Called from a tea.Cmd.
	RawPayload(ctx context.Context, id string) ([]byte, error)
}
