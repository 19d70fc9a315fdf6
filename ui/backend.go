// Package ui is the qapprove console: a Bubble Tea v2 program that lists the
// pending actions, shows each one's governance verdict and decoded payload,
// and approves or rejects through a Backend. The UI never talks HTTP, never
// touches keys and never writes the journal itself: everything goes through
// the small Backend interface below, which the lead implements for real and
// FakeBackend implements in memory for tests and demos.
package ui

import (
	"context"
	"time"

	"github.com/qapprove/qapprove/client"
)

// Verdict levels, strongest last.
const (
	VerdictApprove = "approve"
	VerdictReview  = "review"
	VerdictReject  = "reject"
)

// Verdict is the governance verdict of an action as the UI shows it.
type Verdict struct {
	Level    string    // VerdictApprove, VerdictReview or VerdictReject ("" = not evaluated, shown as review)
	Rules    []RuleHit // every rule that fired
	Warnings []string  // policy-hygiene and other warnings
}

// RuleHit is one rule that matched an action.
type RuleHit struct {
	Name    string
	Verdict string
	Reason  string
}

// Item is one action in the pending list. Items are values: the UI never
// mutates an Item it has been given, it replaces it.
type Item struct {
	Action  *client.Action
	Verdict Verdict
	Decided string // "" while undecided, else what happened ("approved", "rejected")
	LastErr string // the last failure for this action, shown in place
}

// Info is the static context shown in the header.
type Info struct {
	Profile         string
	Workspace       string
	APIBase         string
	Keystore        string // "keychain" or "file"
	KeystoreWarning string // shown in the header when non-empty (e.g. file fallback)
	Version         string
}

// Connection states of Conn events.
const (
	ConnLive         = "live"
	ConnReconnecting = "reconnecting"
	ConnOffline      = "offline"
)

// Removal reasons of ActionRemoved events.
const (
	RemovedElsewhere = "decided-elsewhere"
	RemovedExpired   = "expired"
)

// Event is something the backend reports on the Subscribe channel: one of
// ActionsLoaded, ActionUpserted, ActionRemoved, Conn, LockChanged, Notice.
type Event interface{ isEvent() }

// ActionsLoaded replaces the whole list (first load, full refresh).
type ActionsLoaded struct{ Items []Item }

// ActionUpserted adds an action or replaces the one with the same ID.
type ActionUpserted struct{ Item Item }

// ActionRemoved drops an action; Why is RemovedElsewhere or RemovedExpired.
type ActionRemoved struct{ ID, Why string }

// Conn reports the feed connection; RetryAt is set while reconnecting.
type Conn struct {
	State   string
	RetryAt time.Time
}

// LockChanged reports the key lock; Until is when an unlocked key locks again.
type LockChanged struct {
	Locked bool
	Until  time.Time
	Reason string
}

// Notice is a one-line message for the operator.
type Notice struct{ Text string }

func (ActionsLoaded) isEvent()  {}
func (ActionUpserted) isEvent() {}
func (ActionRemoved) isEvent()  {}
func (Conn) isEvent()           {}
func (LockChanged) isEvent()    {}
func (Notice) isEvent()         {}

// Decision is what the operator decided on one action.
type Decision struct {
	ActionID string
	Approve  bool
	Override string // the typed reason when going against the verdict, journaled
	Verdict  string // the verdict level the operator saw
}

// Outcome results.
const (
	ResultAccepted = "accepted" // the API took the decision
	ResultRefused  = "refused"  // the API or a local check refused it
	ResultUnknown  = "unknown"  // sent, but the answer was lost (network)
)

// Outcome is what happened to a decision.
type Outcome struct {
	Result string
	Err    string // human-readable reason when not accepted; never a secret
}

// Backend is everything the console needs from the rest of qapprove.
// Methods other than Unlock and Decide must be fast (no IO, no KDF): the UI
// calls them from its update loop. Unlock and Decide are called from a
// tea.Cmd, off the UI goroutine.
type Backend interface {
	// Info is the profile, workspace, API base and keystore kind.
	Info() Info
	// Subscribe returns the event channel; it is called once. Closing it
	// means no more events.
	Subscribe() <-chan Event
	// Locked reports the lock state now; until is when an unlocked key
	// will lock again (idle or absolute limit, whichever comes first).
	Locked() (locked bool, until time.Time)
	// Unlock runs the KDF and opens the key (slow). The backend does not
	// keep passphrase; the caller wipes it after the call.
	Unlock(passphrase []byte) error
	// UnlockBackoff is how long to wait before the next Unlock is allowed
	// (exponential after wrong passphrases; 0 when allowed now).
	UnlockBackoff() time.Duration
	// Lock locks the key now; reason is journaled ("operator", "signal", "exit").
	Lock(reason string)
	// Touch records operator activity for the idle timer.
	Touch()
	// Decide signs, journals and sends one decision, then journals the
	// outcome. It must refuse an action that is no longer pending.
	Decide(ctx context.Context, d Decision) (Outcome, error)
	// SelftestOK reports the built-in crypto self-test; when false the UI
	// refuses to sign and shows why.
	SelftestOK() (ok bool, why string)
	// RawPayload returns the payload of an action exactly as the API sends
	// it (slow: the backend may keep only the decoded form in memory and
	// fetch the bytes). Called from a tea.Cmd.
	RawPayload(ctx context.Context, id string) ([]byte, error)
}
