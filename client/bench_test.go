package client

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkFeedIngest measures decoding and deduplicating feed frames
// (half of them repeats, as after a reconnect replay); reports actions/s.
func BenchmarkFeedIngest(b *testing.B) {
	const n = 1024
	frames := make([][]byte, n)
	for i := range frames {
		p, _ := json.Marshal(Payload{PolicyName: "Treasury 2 of 3", Policy: &Policy{ID: "pol", Threshold: 2, Members: []string{"a.1", "a.2", "a.3"}},
			Transaction: &Transaction{Network: &Network{Name: "Ethereum", Family: "evm", ChainID: "1"}, WalletID: "w", From: "0x5f1C3b9e2A7d4E8c6B0a9F3d2E1c7B4a8D6e0F21",
				To: "0x8a2E4c6B1d3F5a7C9e0B2d4F6a8C1e3B5d7F9a02", Asset: &Asset{Symbol: "USDC", Decimals: 6}, Amount: "250000000000"}})
		msg := sandboxMessageForTest(fmt.Sprintf("2Action%020d", i/2), 25, p)
		frames[i], _ = json.Marshal(WireAction{ID: fmt.Sprintf("2Action%020d", i/2), Type: 25, Status: 1, ExpireTime: 2e9,
			Messages: []string{base64.StdEncoding.EncodeToString(msg)}, Payload: base64.StdEncoding.EncodeToString(p)})
	}
	d := newDedup(feedDedupWindow)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := DecodeFeedFrame(frames[i%n])
		if err != nil {
			b.Fatal(err)
		}
		d.fresh(fmt.Sprint(i/n, a.ID), a.Fingerprint())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "actions/s")
}
