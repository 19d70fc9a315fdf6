package app

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/qapprove/qapprove/governance/velocity"
	"github.com/qapprove/qapprove/storage/journal"
)

// history is what this key already decided, from the signed journal: the
// truth when the API does not say (myDecision is our extension). It is
// built in the pass that opens the journal and kept up to date by every
// decision, so the same action is never signed twice, also after a
// reconnect or a restart. Action IDs are held by a 64-bit hash: a false
// "already decided" needs a collision, and only ever refuses to sign.
//
// It also feeds the velocity index (the rules' approved_sum and
// approved_count): an approval is indexed, at the time of its decision
// entry, when its outcome is journaled as accepted; refused and unknown
// outcomes never count.
type history struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]decided
	vel  *velocity.Index
}

// decided is the last decision journaled for an action.
type decided struct {
	approve bool
	result  string // journal.Outcome*, or "" when no outcome was journaled
	// pend is the approval to index once its outcome is accepted (nil
	// for a reject, an approval without a summary, or once indexed).
	pend *velocity.Approval
}

func newHistory() *history {
	return &history{seed: maphash.MakeSeed(), m: map[uint64]decided{}, vel: velocity.New()}
}

// decisionEntry is what the history reads of a decision body.
type decisionEntry struct {
	ActionID string                   `json:"action_id"`
	Decision string                   `json:"decision"`
	Summary  *journal.DecisionSummary `json:"summary"`
}

// onEntry indexes one journal entry (journal.Options.OnEntryAt).
func (h *history) onEntry(kind journal.Kind, ts time.Time, body []byte) {
	switch kind {
	case journal.KindDecision:
		var d decisionEntry
		if json.Unmarshal(body, &d) == nil {
			h.decision(d.ActionID, d.Decision == "approve", approvalOf(ts, d.Summary))
		}
	case journal.KindOutcome:
		var o struct {
			ActionID string `json:"action_id"`
			Result   string `json:"result"`
		}
		if json.Unmarshal(body, &o) == nil {
			h.outcome(o.ActionID, o.Result)
		}
	}
}

// approvalOf is the approval a decision summary describes at ts (nil
// when there is no summary or its amount cannot be read).
func approvalOf(ts time.Time, s *journal.DecisionSummary) *velocity.Approval {
	if s == nil || s.Asset == "" {
		return nil
	}
	amt, err := strconv.ParseFloat(s.Amount, 64)
	if err != nil || amt < 0 {
		return nil
	}
	nw := s.ChainID
	if nw == "" {
		nw = s.Network
	}
	return &velocity.Approval{Time: ts, Asset: s.Asset, Destination: s.To, Network: nw, Amount: amt}
}

// decision records a decision journaled before it is sent; ap is the
// approval it would add to the velocity index once accepted.
func (h *history) decision(id string, approve bool, ap *velocity.Approval) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := decided{approve: approve}
	if approve {
		d.pend = ap
	}
	h.m[maphash.String(h.seed, id)] = d
}

// outcome records what became of the last decision on id; an accepted
// approval goes into the velocity index.
func (h *history) outcome(id, result string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := maphash.String(h.seed, id)
	if d, ok := h.m[k]; ok {
		d.result = result
		if result == journal.OutcomeAccepted && d.pend != nil {
			h.vel.Add(*d.pend)
		}
		d.pend = nil
		h.m[k] = d
	}
}

// prior returns the decision this key already made on id that may have
// reached the API (accepted, unknown, or sent with no outcome journaled,
// as after a crash), with found false when there is none. A decision the
// API clearly refused is not prior: nothing landed.
func (h *history) prior(id string) (d decided, found bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, ok := h.m[maphash.String(h.seed, id)]
	if !ok || d.result == journal.OutcomeRefused {
		return decided{}, false
	}
	return d, true
}

// describe says what the journal holds about d, for a refusal.
func (d decided) describe(id string) string {
	verb := "rejected"
	if d.approve {
		verb = "approved"
	}
	switch d.result {
	case journal.OutcomeAccepted:
		return fmt.Sprintf("this key already %s action %s (the API accepted it; see the journal)", verb, id)
	case "":
		return fmt.Sprintf("this key already signed a decision (%s) on action %s and its outcome was never journaled; check the action before anything else", verb, id)
	}
	return fmt.Sprintf("this key already sent a decision (%s) on action %s whose outcome is unknown; check the action before anything else", verb, id)
}

// Prior says what the journal holds about a decision this key already
// made on action id that may have reached the API ("" when none).
func (e *Engine) Prior(id string) string {
	if d, ok := e.hist.prior(id); ok {
		return d.describe(id)
	}
	return ""
}
