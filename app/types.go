package app

import (
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
)

// Level is a verdict level.
type Level string

// Verdict levels, strongest last.
const (
	VerdictApprove Level = "approve"
	VerdictReview  Level = "review"
	VerdictReject  Level = "reject"
)

// Verdict is the governance verdict of an action as the console shows it.
type Verdict struct {
	Level    Level     // VerdictApprove, VerdictReview or VerdictReject ("" = not evaluated, shown as review)
	Rules    []RuleHit // every rule that fired
	Warnings []string  // policy-hygiene and other warnings
	// StrongConfirm, when not empty, says why a decision on this action
	// needs the strong confirmation (the operator types the last 4
	// characters of the destination instead of y): a mainnet action, an
	// amount over the profile's limit, or a rule that asks for it.
	StrongConfirm string
	// Value is the amount in fiat with the price's source and age; nil
	// when no price source is configured or the action is no transfer.
	Value *Value
	// Call is the contract call decoded from the transfer's calldata; nil
	// when the payload carries none.
	Call *governance.Call
}

// RuleHit is one rule that matched an action.
type RuleHit struct {
	Name    string
	Verdict Level
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
	Wrap            string // "" (passphrase only), "KMS" or "HSM": what else an unlock needs
	KeystoreWarning string // shown in the header when non-empty
	Version         string
	Bell            bool          // ring the terminal bell on new arrivals and soon-expiring actions
	ExpiryWarning   time.Duration // warn this long before an action expires (0 = never)
}

// Confirmation is how the operator confirmed a decision (journaled).
type Confirmation string

// Confirmations of a Decision.
const (
	ConfirmKey   Confirmation = "key"   // pressed y
	ConfirmTyped Confirmation = "typed" // typed the last 4 characters of the destination
	ConfirmFlag  Confirmation = "flag"  // --yes on the command line
)

// Decision is what the operator decided on one action.
type Decision struct {
	ActionID string
	Approve  bool
	Override string // the typed reason when going against the verdict, journaled
	Reason   string // the optional reason given for a reject (journaled)
	Verdict  Level  // the verdict level the operator saw
	// MessageSHA256 is the hex SHA-256 of the message (Messages[0]) the
	// operator was shown; Decide refuses to sign any other bytes.
	MessageSHA256 string
	Confirmation  Confirmation
}

// Result is what happened to a decision.
type Result string

// Outcome results.
const (
	ResultAccepted Result = "accepted" // the API took the decision
	ResultRefused  Result = "refused"  // the API or a local check refused it
	ResultUnknown  Result = "unknown"  // sent, but the answer was lost (network)
)

// Outcome is what happened to a decision.
type Outcome struct {
	Result Result
	Err    string // human-readable reason when not accepted; never a secret
}
