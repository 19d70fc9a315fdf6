package velocity

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/qapprove/qapprove/governance"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func q(asset, dest, nw string, d time.Duration) governance.Query {
	return governance.Query{Asset: asset, Destination: dest, Network: nw, Since: t0.Add(-d), Until: t0}
}

func TestIndexAnswers(t *testing.T) {
	x := New()
	x.Add(Approval{Time: t0.Add(-time.Hour), Asset: "eth", Destination: "0xABCdef", Network: "1", Amount: 2})
	x.Add(Approval{Time: t0.Add(-25 * time.Hour), Asset: "ETH", Destination: "0xabcdef", Network: "1", Amount: 5})
	x.Add(Approval{Time: t0.Add(-2 * time.Hour), Asset: "ETH", Destination: "0x99", Network: "11155111", Amount: 1.5})
	x.Add(Approval{Time: t0.Add(-3 * time.Hour), Asset: "BTC", Destination: "bc1qXY", Network: "bitcoin", Amount: 0.25})
	x.Add(Approval{Time: t0.Add(time.Hour), Asset: "ETH", Network: "1", Amount: 100}) // after now: outside
	day := 24 * time.Hour
	sums := []struct {
		q    governance.Query
		want float64
	}{
		{q("ETH", "", "", day), 3.5},
		{q("ETH", "", "", 2*day), 8.5},
		{q("eth", "0xabcdef", "", 2*day), 7}, // case of asset and EVM address ignored
		{q("ETH", "", "1", day), 2},
		{q("BTC", "bc1qxy", "", day), 0}, // non-EVM addresses keep their case
		{q("BTC", "bc1qXY", "", day), 0.25},
		{q("DOGE", "", "", day), 0},
	}
	for _, c := range sums {
		if got := x.ApprovedSum(c.q); got != c.want {
			t.Errorf("sum %+v = %v, want %v", c.q, got, c.want)
		}
	}
	counts := []struct {
		q    governance.Query
		want int64
	}{
		{q("", "", "", day), 3},
		{q("", "", "", 2*day), 4},
		{q("", "0xABCDEF", "", 2*day), 2},
		{q("", "", "1", day), 1},
		{q("ETH", "", "", day), 2},
		{q("", "", "", time.Hour), 1}, // the window includes its start
	}
	for _, c := range counts {
		if got := x.ApprovedCount(c.q); got != c.want {
			t.Errorf("count %+v = %v, want %v", c.q, got, c.want)
		}
	}
	if x.Len() != 5 {
		t.Fatalf("Len %d", x.Len())
	}
}

// Out-of-order insertion gives the same answers as sorted insertion.
func TestIndexOutOfOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var aps []Approval
	for i := 0; i < 500; i++ {
		aps = append(aps, Approval{Time: t0.Add(-time.Duration(r.IntN(72*3600)) * time.Second), Asset: "ETH", Amount: float64(r.IntN(100))})
	}
	a, b := New(), New()
	for _, ap := range aps {
		a.Add(ap)
	}
	for i := len(aps) - 1; i >= 0; i-- {
		b.Add(aps[i])
	}
	for _, d := range []time.Duration{time.Hour, 5 * time.Hour, 24 * time.Hour, 80 * time.Hour} {
		want := 0.0
		for _, ap := range aps {
			if !ap.Time.Before(t0.Add(-d)) {
				want += ap.Amount
			}
		}
		if ga, gb := a.ApprovedSum(q("ETH", "", "", d)), b.ApprovedSum(q("ETH", "", "", d)); ga != want || gb != want {
			t.Fatalf("%v: sums %v and %v, want %v", d, ga, gb, want)
		}
	}
}
