package velocity

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qapprove/qapprove/assets"
	"github.com/qapprove/qapprove/governance"
)

// benchRules is the default set plus rules on every new input: velocity
// (sum and count, per destination and network), value and time.
var benchRules = string(assets.DefaultRules) + `
[[rule]]
name = "daily-volume"
when = 'action.type == "transaction" && approved_sum(tx.asset, duration("24h")) + tx.amount_number > 50.0'
verdict = "review"
reason = "more than 50 a day"

[[rule]]
name = "daily-count"
when = 'approved_count(duration("24h")) >= 200 || approved_count_to(tx.to, duration("168h")) > 3'
verdict = "review"
reason = "many approvals"

[[rule]]
name = "network-volume"
when = 'approved_sum_on(tx.asset, tx.network.chain_id, duration("1h")) > 20.0'
verdict = "review"
reason = "busy network"

[[rule]]
name = "large-value"
when = 'tx.value_currency == "USD" && tx.value > 100000.0'
verdict = "review"
reason = "worth more than 100,000 USD"

[[rule]]
name = "out-of-hours"
when = '!(weekday in ["Mon", "Tue", "Wed", "Thu", "Fri"]) || holiday || !within_hours("09:00", "17:30")'
verdict = "review"
reason = "outside business hours"
`

// benchApprovals are n accepted approvals over the 30 days before now,
// spread over 3 assets, 1,000 destinations and 4 networks.
func benchApprovals(n int, now time.Time) []Approval {
	assets := []string{"ETH", "USDC", "BTC"}
	nets := []string{"1", "11155111", "137", "bitcoin"}
	dests := make([]string, 1000)
	for i := range dests {
		dests[i] = fmt.Sprintf("0x%040x", i)
	}
	step := 30 * 24 * time.Hour / time.Duration(n)
	out := make([]Approval, n)
	for i := range out {
		out[i] = Approval{Time: now.Add(-30*24*time.Hour + time.Duration(i)*step), Asset: assets[i%3],
			Destination: dests[i%1000], Network: nets[i%4], Amount: float64(i % 7)}
	}
	return out
}

func benchIndex(n int, now time.Time) *Index {
	x := New()
	for _, a := range benchApprovals(n, now) {
		x.Add(a)
	}
	return x
}

// BenchmarkEvaluateWithHistory100k measures one action through the
// default rules plus velocity, value and time rules, against an index of
// 100,000 accepted approvals; it reports the median per action.
func BenchmarkEvaluateWithHistory100k(b *testing.B) {
	now := time.Date(2026, 12, 8, 11, 0, 0, 0, time.UTC) // a Tuesday, in hours
	rs, err := governance.Parse("bench.toml", []byte(benchRules))
	if err != nil {
		b.Fatal(err)
	}
	x := benchIndex(100_000, now)
	berlin, err := governance.LoadZone("Europe/Berlin")
	if err != nil {
		b.Skip("no time zone database: " + err.Error())
	}
	cal := governance.Calendar{Loc: berlin, Holidays: map[string]struct{}{"2026-12-25": {}}}
	ins := make([]governance.Input, 1024)
	for i := range ins {
		tx, err := governance.NewTx(governance.NewNetwork("Ethereum Sepolia", "11155111", true), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
			fmt.Sprintf("0x%040x", i%1000), true, "ETH", 18, fmt.Sprintf("%d00000000000000000", i%50))
		if err != nil {
			b.Fatal(err)
		}
		tx.Value, tx.ValueCurrency = float64(i)*201.25, "USD"
		ins[i] = governance.Input{
			Action: governance.Action{ID: fmt.Sprintf("act-%d", i), Type: governance.TypeTransaction, Status: governance.StatusPending,
				ExpiresInSeconds: 3600, ExpiryKnown: true,
				Policy: governance.Policy{Name: "p", Threshold: 2, Approvals: 1, Members: []string{"a", "b", "c"}}},
			Tx: tx, Now: now, Clock: cal.Clock(now), History: x, Payload: governance.Payload{Understood: true},
		}
	}
	times := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		_ = rs.Evaluate(ins[i%len(ins)])
		if len(times) < cap(times) {
			times = append(times, time.Since(t0))
		}
	}
	reportCPU(b, start)
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "median-ns/action")
}

// BenchmarkIndexAdd1M measures building the index from 1,000,000
// accepted approvals (the index part of the start-up pass).
func BenchmarkIndexAdd1M(b *testing.B) {
	aps := benchApprovals(1_000_000, time.Date(2026, 12, 8, 11, 0, 0, 0, time.UTC))
	start := cpuTime()
	for b.Loop() {
		x := New()
		for _, a := range aps {
			x.Add(a)
		}
	}
	reportCPU(b, start)
}
