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
	// StrongConfirm, when not empty, says why a decision on this action
	// needs the strong confirmation (the operator types the last 4
	// characters of the destination instead of y): a mainnet action, an
	// amount over the profile's limit, or a rule that asks for it.
	StrongConfirm string
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
	Keystore        string // "keychain" or "file"; always shown in the header
	KeystoreWarning string // shown in the header when non-empty
	Version         string
	Bell            bool          // ring the terminal bell on new arrivals and soon-expiring actions
	ExpiryWarning   time.Duration // warn this long before an action expires (0 = never)
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
	// Reason says why the connection is not live (auth refused, unknown
	// API key, TLS, …), shown in the header and status line; "" when live.
	Reason string
	// FeedOnly is set when the API has no list endpoint: the list is what
	// the feed (and the cache) delivered, and the header says so.
	FeedOnly bool
	// AsOf is when the list was last known complete (zero: never); the UI
	// shows how old the data is while not live.
	AsOf time.Time
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

// Confirmations of a Decision: how the operator confirmed it.
const (
	ConfirmKey   = "key"   // pressed y
	ConfirmTyped = "typed" // typed the last 4 characters of the destination
)

// Decision is what the operator decided on one action.
type Decision struct {
	ActionID string
	Approve  bool
	Override string // the typed reason when going against the verdict, journaled
	Reason   string // the optional reason given for a reject (journaled)
	Verdict  string // the verdict level the operator saw
	// MessageSHA256 is the hex SHA-256 of the message (Messages[0]) the
	// operator was shown; the backend refuses to sign any other bytes.
	MessageSHA256 string
	Confirmation  string // ConfirmKey or ConfirmTyped (journaled)
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
	// Selftest reports the built-in crypto self-test: done is false while
	// it still runs (the header shows "checking…" and signing waits); when
	// done and not ok the UI refuses to sign and shows why.
	Selftest() (done, ok bool, why string)
	// Abandon journals a decision the operator started and did not
	// complete (cancelled, not confirmed, a required reason missing), so
	// the journal shows attempts, not only decisions. Called from a tea.Cmd.
	Abandon(d Decision, why string) error
	// Notify shows a desktop notification (best effort, never blocks, never
	// carries a secret); a backend without a session bus does nothing.
	Notify(title, body string)
	// RawPayload returns the payload of an action exactly as the API sends
	// it (slow: the backend may keep only the decoded form in memory and
	// fetch the bytes). Called from a tea.Cmd.
	RawPayload(ctx context.Context, id string) ([]byte, error)
}
