package governance

import (
	"fmt"
	"strings"
)

// Level is the strength of a verdict: Reject > Review > Approve.
type Level int

// Verdict levels, weakest first. The zero Level is not a valid verdict.
const (
	Approve Level = iota + 1 // the rules allow approving
	Review                   // a human must look closer
	Reject                   // the rules say reject
)

// String returns "approve", "review" or "reject".
func (l Level) String() string {
	switch l {
	case Approve:
		return "approve"
	case Review:
		return "review"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// ParseLevel reads a verdict word: approve, review or reject.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "approve":
		return Approve, nil
	case "review":
		return Review, nil
	case "reject":
		return Reject, nil
	}
	return 0, fmt.Errorf("verdict must be approve, review or reject, not %q", clip(s))
}

// MarshalText writes the verdict word.
func (l Level) MarshalText() ([]byte, error) {
	if l < Approve || l > Reject {
		return nil, fmt.Errorf("invalid verdict level %d", int(l))
	}
	return []byte(l.String()), nil
}

// UnmarshalText reads the verdict word.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Match is one rule that fired (or could not be evaluated) for an action.
type Match struct {
	Rule    string `json:"rule"`
	Verdict Level  `json:"verdict"`
	Reason  string `json:"reason"`
}

// Verdict is the outcome of the rules for one action.
type Verdict struct {
	Level    Level    `json:"verdict"`            // the strongest matching verdict; Review when none matched
	Matched  []Match  `json:"matched"`            // every matching rule, in file order, with its reason
	Warnings []string `json:"warnings,omitempty"` // policy hygiene and evaluation problems
	Default  bool     `json:"default"`            // no rule matched: Level is the default Review
	// StrongConfirm is the name of the first matching rule with
	// confirm = "strong": a decision on this action needs the strong
	// confirmation. "" when no matching rule asks for it.
	StrongConfirm string `json:"strong_confirm,omitempty"`
}

// Summary is one line for lists: the level and the reasons of the rules
// that decided it.
func (v Verdict) Summary() string {
	if v.Default {
		return v.Level.String() + ": no rule matched"
	}
	var reasons []string
	for _, m := range v.Matched {
		if m.Verdict == v.Level {
			reasons = append(reasons, m.Reason)
		}
	}
	return v.Level.String() + ": " + strings.Join(reasons, "; ")
}

// Hygiene warnings (Qredo best practice: avoid single points of failure).
const (
	Warn1of1 = "1-of-1 policy: a single approver is a single point of failure"
	WarnNofN = "N-of-N policy: one lost key blocks every transaction"
)

// HygieneWarnings flags policies that are a single point of failure: a
// threshold of 1 with one member, or a threshold equal to the number of
// members when there are several.
func HygieneWarnings(threshold, members int) []string {
	switch {
	case threshold == 1 && members == 1:
		return []string{Warn1of1}
	case members > 1 && threshold == members:
		return []string{WarnNofN}
	}
	return nil
}

// WarnUnreachable starts the warning of a policy whose remaining members
// can no longer reach its threshold.
const WarnUnreachable = "the remaining members can no longer reach the threshold"

// ReachWarning warns when the members who have not decided yet are fewer
// than the approvals still needed: the action cannot be approved whatever
// this key does. Approvals so far count as the larger of the count and
// the list of approvers; rejections as the list of rejecters. "" when the
// threshold can still be reached, or when the members are not known.
func ReachWarning(p Policy) string {
	members := int64(len(p.Members))
	if members == 0 || p.Threshold <= 0 {
		return ""
	}
	approved := max(p.Approvals, int64(len(p.ApprovedBy)))
	rejected := int64(len(p.RejectedBy))
	need := p.Threshold - approved
	left := members - approved - rejected
	if need <= 0 || left >= need {
		return ""
	}
	return fmt.Sprintf("%s: %d more approvals needed, %d of %d members left to decide", WarnUnreachable, need, max(left, 0), members)
}
