package client

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
	"unique"
)

// Bounds on the approvedBy extension. A list that breaks one of them is
// ignored as a whole, as if the API had not sent it.
const (
	MaxApprovers        = 256 // entries in approvedBy
	MaxApproverIDBytes  = 128 // one entry's id
	MaxApproverNameSize = 200 // one entry's name, in bytes
)

// Approver is one approval recorded on an action so far: our extension
// "approvedBy" (docs/PROTOCOL.md). ID and Name are hostile text: escape
// them at display.
type Approver struct {
	ID   string    // the member's ID (an API key ID in the sandbox)
	Name string    // display name; "" when not sent
	At   time.Time // when it approved; zero when not sent
}

// WireApprover is an approvedBy entry as the API sends it.
type WireApprover struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Time int64  `json:"time,omitempty"` // unix seconds; 0 = not sent
}

// decodeApprovers reads the optional approvedBy list leniently: ok is
// false when it is absent, null, not a list of entries, or breaks a bound
// (then it says nothing). A present, empty list is known: nobody yet.
func decodeApprovers(raw json.RawMessage) ([]WireApprover, bool) {
	var l []WireApprover
	if len(raw) == 0 || string(raw) == "null" || len(raw) > MaxApprovers*(MaxApproverIDBytes+MaxApproverNameSize+64) ||
		json.Unmarshal(raw, &l) != nil || len(l) > MaxApprovers {
		return nil, false
	}
	for _, e := range l {
		if !validApprover(e) {
			return nil, false
		}
	}
	if l == nil {
		l = []WireApprover{}
	}
	return l, true
}

func validApprover(e WireApprover) bool {
	return e.ID != "" && len(e.ID) <= MaxApproverIDBytes && utf8.ValidString(e.ID) &&
		len(e.Name) <= MaxApproverNameSize && utf8.ValidString(e.Name) &&
		e.Time >= 0 && e.Time <= maxUnix
}

// approversOf converts a wire list (nil: not sent) to Approvers, sharing
// the strings that repeat across actions.
func approversOf(l []WireApprover) []Approver {
	if l == nil {
		return nil
	}
	out := make([]Approver, len(l))
	for i, e := range l {
		out[i] = Approver{ID: unique.Make(e.ID).Value(), Name: unique.Make(e.Name).Value()}
		if e.Time > 0 {
			out[i].At = time.Unix(e.Time, 0)
		}
	}
	return out
}

// WireApprovers is the inverse of approversOf (nil stays nil).
func WireApprovers(l []Approver) []WireApprover {
	if l == nil {
		return nil
	}
	out := make([]WireApprover, len(l))
	for i, a := range l {
		out[i] = WireApprover{ID: a.ID, Name: a.Name}
		if !a.At.IsZero() {
			out[i].Time = a.At.Unix()
		}
	}
	return out
}

// ApproversKnown reports whether the API said who approved so far (our
// extension approvedBy); when not, the screen says so rather than "nobody".
func (p *Payload) ApproversKnown() bool { return p != nil && p.ApprovedBy != nil }

// approversKey is what the fingerprint hashes of the approvers.
func approversKey(p *Payload) string {
	if p == nil || p.ApprovedBy == nil {
		return "\xff"
	}
	var b strings.Builder
	for _, a := range p.ApprovedBy {
		b.WriteString(a.ID)
		b.WriteByte(0)
		b.WriteString(a.Name)
		b.WriteByte(0)
		b.WriteString(a.At.UTC().Format(time.RFC3339))
		b.WriteByte(1)
	}
	return b.String()
}
