package velocity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// FixtureEntry is one past decision in a history fixture (`rules test
// --history`): only approvals with the outcome "accepted" count.
type FixtureEntry struct {
	Time     time.Time `json:"time"`
	Decision string    `json:"decision"` // "approve" (default) or "reject"
	Outcome  string    `json:"outcome"`  // "accepted" (default), "refused" or "unknown"
	Asset    string    `json:"asset"`
	Amount   string    `json:"amount"` // whole units, decimal
	To       string    `json:"to"`
	Network  string    `json:"network"` // chain ID
}

// MaxFixtureEntries bounds a history fixture.
const MaxFixtureEntries = 1_000_000

// LoadFixture builds an index from a JSON array of FixtureEntry (unknown
// fields are an error).
func LoadFixture(data []byte) (*Index, error) {
	var es []FixtureEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&es); err != nil {
		return nil, fmt.Errorf("history: not a JSON array of past decisions: %v", err)
	}
	if len(es) > MaxFixtureEntries {
		return nil, fmt.Errorf("history: more than %d entries", MaxFixtureEntries)
	}
	x := New()
	for i, e := range es {
		if e.Time.IsZero() {
			return nil, fmt.Errorf("history entry %d: no time", i+1)
		}
		switch e.Decision {
		case "", "approve", "reject":
		default:
			return nil, fmt.Errorf("history entry %d: decision must be approve or reject", i+1)
		}
		switch e.Outcome {
		case "", "accepted", "refused", "unknown":
		default:
			return nil, fmt.Errorf("history entry %d: outcome must be accepted, refused or unknown", i+1)
		}
		amt, err := strconv.ParseFloat(e.Amount, 64)
		if err != nil || amt < 0 {
			return nil, fmt.Errorf("history entry %d: amount %q is not a non-negative decimal", i+1, e.Amount)
		}
		if e.Decision == "reject" || (e.Outcome != "" && e.Outcome != "accepted") {
			continue
		}
		x.Add(Approval{Time: e.Time, Asset: e.Asset, Destination: e.To, Network: e.Network, Amount: amt})
	}
	return x, nil
}
