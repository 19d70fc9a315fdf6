package app

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage/journal"
)

// feed hands a history the entries a journal would, in order.
func feedDecision(t *testing.T, h *history, at time.Time, id, decision, amount string) {
	t.Helper()
	b, err := json.Marshal(journal.DecisionBody{ActionID: id, Decision: decision,
		Summary: &journal.DecisionSummary{Amount: amount, Asset: "ETH", To: "0xAbC", Network: "Ethereum", ChainID: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	h.onEntry(journal.KindDecision, at, b)
}

func feedOutcome(t *testing.T, h *history, id, result string) {
	t.Helper()
	b, _ := json.Marshal(journal.OutcomeBody{ActionID: id, Result: result})
	h.onEntry(journal.KindOutcome, time.Time{}, b)
}

// Only accepted approvals count: refused, unknown and missing outcomes and
// rejects do not.
func TestHistoryVelocityCountsOnlyAcceptedApprovals(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := newHistory()
	feedDecision(t, h, now.Add(-time.Hour), "a1", "approve", "1.5")
	feedOutcome(t, h, "a1", journal.OutcomeAccepted)
	feedDecision(t, h, now.Add(-time.Hour), "a2", "approve", "10")
	feedOutcome(t, h, "a2", journal.OutcomeRefused)
	feedDecision(t, h, now.Add(-time.Hour), "a3", "approve", "20")
	feedOutcome(t, h, "a3", journal.OutcomeUnknown)
	feedDecision(t, h, now.Add(-time.Hour), "a4", "approve", "40") // crashed: no outcome
	feedDecision(t, h, now.Add(-time.Hour), "a5", "reject", "80")
	feedOutcome(t, h, "a5", journal.OutcomeAccepted)
	// Refused, then approved again and accepted: counts once.
	feedDecision(t, h, now.Add(-30*time.Minute), "a2", "approve", "10")
	feedOutcome(t, h, "a2", journal.OutcomeAccepted)
	feedOutcome(t, h, "a2", journal.OutcomeAccepted) // a repeated outcome adds nothing
	q := governance.Query{Asset: "eth", Since: now.Add(-24 * time.Hour), Until: now}
	if got := h.vel.ApprovedSum(q); got != 11.5 {
		t.Fatalf("sum %v, want 11.5 (a1 and the second a2 only)", got)
	}
	if got := h.vel.ApprovedCount(governance.Query{Destination: "0xabc", Network: "1", Since: q.Since, Until: now}); got != 2 {
		t.Fatalf("count %v, want 2", got)
	}
	// The approval counts at the time of its decision entry.
	if got := h.vel.ApprovedCount(governance.Query{Since: now.Add(-45 * time.Minute), Until: now}); got != 1 {
		t.Fatalf("count in the last 45 minutes %v, want 1", got)
	}
	// And the refusal rules keep working: a3 (unknown) and a4 (no outcome) are prior.
	for id, want := range map[string]bool{"a1": true, "a3": true, "a4": true, "a6": false} {
		if _, got := h.prior(id); got != want {
			t.Errorf("prior(%s) = %v, want %v", id, got, want)
		}
	}
}
