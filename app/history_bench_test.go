package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/qapprove/qapprove/storage/journal"
)

// BenchmarkHistoryBuild1M measures the start-up index build: 1,000,000
// journal entries (500,000 approvals and their accepted outcomes) handed
// to the history as the journal-open pass does.
func BenchmarkHistoryBuild1M(b *testing.B) {
	const n = 500_000
	t0 := time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC)
	// Bodies live in one buffer, as a streamed journal would not keep
	// a million small allocations alive.
	type ent struct {
		kind       journal.Kind
		ts         int64
		start, end int
	}
	var buf []byte
	ents := make([]ent, 0, 2*n)
	for i := range n {
		d, _ := json.Marshal(journal.DecisionBody{ActionID: fmt.Sprintf("act-%08d", i), Decision: "approve",
			MessageSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Verdict: "approve",
			Rules: []string{"testnet-whitelisted"}, Confirmation: "key", Binding: "unbound",
			Summary: &journal.DecisionSummary{Amount: fmt.Sprintf("%d.5", i%40), Asset: []string{"ETH", "USDC", "BTC"}[i%3],
				To: fmt.Sprintf("0x%040x", i%1000), Network: "Ethereum Sepolia", ChainID: "11155111"},
			RulesSHA256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", Engine: "qapprove-rules/2"})
		o, _ := json.Marshal(journal.OutcomeBody{ActionID: fmt.Sprintf("act-%08d", i), Result: journal.OutcomeAccepted})
		at := t0.Add(time.Duration(i) * 5 * time.Second)
		ents = append(ents, ent{journal.KindDecision, at.UnixNano(), len(buf), len(buf) + len(d)})
		buf = append(buf, d...)
		ents = append(ents, ent{journal.KindOutcome, at.UnixNano(), len(buf), len(buf) + len(o)})
		buf = append(buf, o...)
	}
	start := cpuTime()
	for b.Loop() {
		h := newHistory()
		for _, e := range ents {
			h.onEntry(e.kind, time.Unix(0, e.ts), buf[e.start:e.end])
		}
		if h.vel.Len() != n {
			b.Fatalf("indexed %d", h.vel.Len())
		}
	}
	reportCPU(b, start)
}
