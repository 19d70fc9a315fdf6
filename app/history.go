package app

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/qapprove/qapprove/storage/journal"
)

// history is what this key already decided, from the signed journal: the
// truth when the API does not say (myDecision is our extension). It is
// built in the pass that opens the journal and kept up to date by every
// decision, so the same action is never signed twice, also after a
// reconnect or a restart. Action IDs are held by a 64-bit hash: a false
// "already decided" needs a collision, and only ever refuses to sign.
type history struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]decided
}

// decided is the last decision journaled for an action.
type decided struct {
	approve bool
	result  string // journal.Outcome*, or "" when no outcome was journaled
}

func newHistory() *history { return &history{seed: maphash.MakeSeed(), m: map[uint64]decided{}} }

// onEntry indexes one journal entry (journal.Options.OnEntry).
func (h *history) onEntry(kind journal.Kind, body []byte) {
	switch kind {
	case journal.KindDecision:
		var d struct {
			ActionID string `json:"action_id"`
			Decision string `json:"decision"`
		}
		if json.Unmarshal(body, &d) == nil {
			h.decision(d.ActionID, d.Decision == "approve")
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

// decision records a decision journaled before it is sent.
func (h *history) decision(id string, approve bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[maphash.String(h.seed, id)] = decided{approve: approve}
}

// outcome records what became of the last decision on id.
func (h *history) outcome(id, result string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := maphash.String(h.seed, id)
	if d, ok := h.m[k]; ok {
		d.result = result
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
