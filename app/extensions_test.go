package app

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
)

func TestPeopleAndCalldataOf(t *testing.T) {
	if p := PeopleOf(nil); p.Known {
		t.Fatal("no action, yet people known")
	}
	tx := &client.Transaction{Network: &client.Network{Name: "E", ChainID: "1"}, Asset: &client.Asset{Symbol: "USDC"}, To: "0x1", Amount: "1", Data: []byte{0xa9, 0x05, 0x9c, 0xbb}}
	at := time.Unix(1764000000, 0)
	a := &client.Action{ID: "2A", Payload: &client.Payload{Policy: &client.Policy{}, Transaction: tx}}
	if p := PeopleOf(a); p.Known || len(p.ApprovedBy) != 0 {
		t.Fatalf("approvedBy absent, people %+v", p)
	}
	a.Payload.ApprovedBy = []client.Approver{}
	if p := PeopleOf(a); !p.Known || len(p.ApprovedBy) != 0 {
		t.Fatalf("nobody yet, people %+v", p)
	}
	a.Payload.ApprovedBy = []client.Approver{{ID: "k", Name: "Alice", At: at}}
	if p := PeopleOf(a); !p.Known || len(p.ApprovedBy) != 1 || p.ApprovedBy[0] != (Approver{ID: "k", Name: "Alice", At: at}) {
		t.Fatalf("people %+v", p)
	}
	if !bytes.Equal(CalldataOf(a), tx.Data) || CalldataOf(&client.Action{ID: "2B"}) != nil {
		t.Fatal("calldata")
	}
}

// The pending cache keeps who approved and the calldata: a restart shows
// the same people and call before the list is refreshed.
func TestCacheKeepsExtensions(t *testing.T) {
	raw := `{"policyName":"T","policy":{"id":"p","threshold":2,"members":["k","j"]},"externalExtension":{"network":{"name":"E","chainID":"1"},` +
		`"to":"0x1","amount":"1","asset":{"symbol":"USDC","decimals":6},"data":"0xa9059cbb"}}`
	w := client.WireAction{ID: "2A", Status: 1, Messages: []string{"01"}, PayloadJSON: json.RawMessage(raw),
		ApprovedBy: []client.WireApprover{{ID: "k", Name: "Alice", Time: 1764000000}}}
	a, err := client.DecodeWire(&w, true)
	if err != nil {
		t.Fatal(err)
	}
	a.Detail = nil // the engine keeps only the decoded payload
	back, err := client.DecodeWire(ptr(encodeWire(a)), true)
	if err != nil {
		t.Fatal(err)
	}
	if p := PeopleOf(back); !p.Known || len(p.ApprovedBy) != 1 || p.ApprovedBy[0].Name != "Alice" {
		t.Fatalf("people after the cache: %+v", p)
	}
	if !bytes.Equal(CalldataOf(back), []byte{0xa9, 0x05, 0x9c, 0xbb}) {
		t.Fatalf("calldata after the cache: %x", CalldataOf(back))
	}
}

func ptr[T any](v T) *T { return &v }
