package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/qapprove/qapprove/sandbox"
)

// BenchmarkDecide is the decision pipeline alone, on loopback against the
// sandbox, without the console: re-read of the action, the checks, sign,
// journal append (fdatasync, anchor), POST, the outcome journaled. It
// reports p50 and p99 of one decision: the floor of `y` → Approved.
func BenchmarkDecide(b *testing.B) {
	srv, paths, _ := setupProtocol(b, sandbox.ProtocolExtended, sandbox.Options{ExtraActions: 3000, RateLimit: 1_000_000})
	_ = srv
	e := open(b, paths)
	defer e.Close()
	connect(b, e)
	items := e.Pending()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		if i >= len(items) {
			b.Fatal("out of pending actions")
		}
		a := items[i].Action
		i++
		sum := sha256.Sum256(a.Messages[0])
		t := time.Now()
		_, err := e.Decide(context.Background(), Decision{ActionID: a.ID, Approve: false, Verdict: items[i-1].Verdict.Level,
			Override: "bench", MessageSHA256: hex.EncodeToString(sum[:])})
		lat = append(lat, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
