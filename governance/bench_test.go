package governance

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qapprove/qapprove/assets"
)

// benchInputs is a mix of actions that exercises every default rule.
func benchInputs(n int) []Input {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	nets := []Network{
		NewNetwork("Ethereum Sepolia", "11155111", true),
		NewNetwork("Polygon Amoy", "80002", true),
		NewNetwork("Ethereum", "1", false),
		NewNetwork("Bitcoin testnet", "bitcoin-testnet", true),
		NewNetwork("Unknown", "999999", false),
	}
	out := make([]Input, n)
	for i := range out {
		from, to := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", fmt.Sprintf("0x%040x", i)
		if nets[i%len(nets)].Family == FamilyBitcoin {
			from, to = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"
		}
		tx, err := NewTx(nets[i%len(nets)], from, to, i%3 != 0, "ETH", 18, fmt.Sprintf("%d000000000000000", i%20000))
		if err != nil {
			panic(err)
		}
		out[i] = Input{
			Action: Action{ID: fmt.Sprintf("act-%d", i), Type: TypeTransaction, Status: StatusPending,
				Created: now.Add(-time.Minute), ExpiresInSeconds: int64(60 + i%3600), ExpiryKnown: true,
				Policy: Policy{Name: "p", Threshold: 2, Approvals: 1, Members: []string{"a", "b", "c"}}},
			Tx: tx, Now: now, Payload: Payload{Understood: true},
		}
	}
	return out
}

// BenchmarkEvaluateDefault measures one action through the default set.
func BenchmarkEvaluateDefault(b *testing.B) {
	rs := Default()
	ins := benchInputs(1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = rs.Evaluate(ins[i%len(ins)])
	}
}

// BenchmarkEvaluateDefault100k runs 100,000 actions per iteration.
func BenchmarkEvaluateDefault100k(b *testing.B) {
	rs := Default()
	ins := benchInputs(100_000)
	for b.Loop() {
		for i := range ins {
			_ = rs.Evaluate(ins[i])
		}
	}
}

// BenchmarkCompileDefault measures parsing and compiling the default set.
func BenchmarkCompileDefault(b *testing.B) {
	if _, err := base(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("default.toml", assets.DefaultRules); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateDefaultLatency times each action on its own and reports
// the median and 99th percentile per action (p50-ns, p99-ns).
func BenchmarkEvaluateDefaultLatency(b *testing.B) {
	rs := Default()
	ins := benchInputs(1024)
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		_ = rs.Evaluate(ins[i%len(ins)])
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
