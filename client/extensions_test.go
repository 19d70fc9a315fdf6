package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// txPayload is an understood transaction payload with extra transaction
// fields spliced in (tail starts with a comma, or is empty).
func txPayload(tail string) string {
	return `{"policyName":"T","policy":{"id":"p","name":"T","threshold":2,"members":["a","b","c"]},` +
		`"externalExtension":{"network":{"name":"Ethereum","family":"evm","chainID":"1"},"to":"0xAb","amount":"5",` +
		`"asset":{"symbol":"USDC","decimals":6,"contract":"0xA0"}` + tail + `}}`
}

func restWith(payload, top string) string {
	return `{"id":"2A","status":1,"messages":["01"],"payload":"` + base64.StdEncoding.EncodeToString([]byte(payload)) + `"` + top + `}`
}

func TestApprovedByPresentAbsentEmpty(t *testing.T) {
	a := decodeREST(t, restWith(txPayload(""), `,"approvals":2,"approvedBy":[{"id":"k-alice","name":"Alice Moreau (Risk)","time":1764000000},{"id":"k-bob"}]`))
	p := a.Payload
	if !p.ApproversKnown() || len(p.ApprovedBy) != 2 || p.Approvals != 2 {
		t.Fatalf("approvedBy: %+v", p.ApprovedBy)
	}
	if got := p.ApprovedBy[0]; got.ID != "k-alice" || got.Name != "Alice Moreau (Risk)" || !got.At.Equal(time.Unix(1764000000, 0)) {
		t.Fatalf("first approver %+v", got)
	}
	if got := p.ApprovedBy[1]; got.Name != "" || !got.At.IsZero() {
		t.Fatalf("an entry without name and time: %+v", got)
	}
	if a := decodeREST(t, restWith(txPayload(""), "")); a.Payload.ApproversKnown() {
		t.Fatal("an action without approvedBy says who approved")
	}
	if a := decodeREST(t, restWith(txPayload(""), `,"approvedBy":[]`)); !a.Payload.ApproversKnown() || len(a.Payload.ApprovedBy) != 0 {
		t.Fatal("an empty approvedBy is not 'nobody yet'")
	}
	if a := decodeREST(t, `{"id":"2A","status":1,"messages":["01"],"approvedBy":[{"id":"k"}]}`); a.Payload != nil {
		t.Fatal("approvedBy made up a payload")
	}
}

// A malformed or oversized list says nothing, and never fails the action
// (only the confirmed fields can).
func TestApprovedByLenient(t *testing.T) {
	many := make([]string, MaxApprovers+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"k%d"}`, i)
	}
	for name, v := range map[string]string{
		"null":        `null`,
		"string":      `"alice"`,
		"object":      `{"id":"k"}`,
		"numbers":     `[1,2]`,
		"empty id":    `[{"id":""}]`,
		"no id":       `[{"name":"x"}]`,
		"long id":     `[{"id":"` + strings.Repeat("k", MaxApproverIDBytes+1) + `"}]`,
		"long name":   `[{"id":"k","name":"` + strings.Repeat("n", MaxApproverNameSize+1) + `"}]`,
		"time string": `[{"id":"k","time":"yesterday"}]`,
		"time past":   `[{"id":"k","time":-5}]`,
		"time far":    `[{"id":"k","time":1e15}]`,
		"too many":    `[` + strings.Join(many, ",") + `]`,
	} {
		a := decodeREST(t, restWith(txPayload(""), `,"approvedBy":`+v))
		if a.Payload.ApproversKnown() {
			t.Errorf("%s: approvedBy believed: %+v", name, a.Payload.ApprovedBy)
		}
		if !a.PayloadUnderstood() {
			t.Errorf("%s: a bad approvedBy made the payload not understood", name)
		}
	}
}

// Hostile text is kept as sent (the console escapes it at display), and
// goes back out unchanged through the wire form (the pending cache).
func TestApprovedByHostileTextRoundTrip(t *testing.T) {
	hostile := "Mallory\x1b[2J\u202e\u200b\n(admin)"
	entry, _ := json.Marshal([]WireApprover{{ID: "k-\x07", Name: hostile, Time: 1764000000}})
	a := decodeREST(t, restWith(txPayload(""), `,"approvedBy":`+string(entry)))
	if !a.Payload.ApproversKnown() || a.Payload.ApprovedBy[0].Name != hostile || a.Payload.ApprovedBy[0].ID != "k-\x07" {
		t.Fatalf("hostile entry: %+v", a.Payload.ApprovedBy)
	}
	w := WireAction{ID: "2A", Status: 1, Messages: []string{"01"}, ApprovedBy: WireApprovers(a.Payload.ApprovedBy)}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var back WireAction
	if err := json.Unmarshal(b, &back); err != nil || len(back.ApprovedBy) != 1 || back.ApprovedBy[0] != (WireApprover{ID: "k-\x07", Name: hostile, Time: 1764000000}) {
		t.Fatalf("round trip %s: %+v %v", b, back.ApprovedBy, err)
	}
	// Known-empty survives the round trip; absent stays absent.
	for _, l := range [][]WireApprover{{}, nil} {
		w.ApprovedBy = l
		b, _ = json.Marshal(w)
		_ = json.Unmarshal(b, &back)
		if (back.ApprovedBy == nil) != (l == nil) {
			t.Fatalf("%s: known %v, want %v", b, back.ApprovedBy != nil, l != nil)
		}
	}
}

func TestFingerprintCoversApprovers(t *testing.T) {
	mk := func(l []Approver) uint64 {
		return (&Action{ID: "2A", Status: 1, Payload: &Payload{Approvals: 1, ApprovedBy: l}}).Fingerprint()
	}
	at := time.Unix(1764000000, 0)
	seen := map[uint64]string{}
	for name, l := range map[string][]Approver{
		"unknown": nil, "nobody": {}, "alice": {{ID: "a", At: at}},
		"alice later": {{ID: "a", At: at.Add(time.Minute)}}, "bob": {{ID: "b", At: at}},
	} {
		fp := mk(l)
		if other, dup := seen[fp]; dup {
			t.Errorf("%s and %s have the same fingerprint", name, other)
		}
		seen[fp] = name
	}
}

func TestCalldataDecoding(t *testing.T) {
	approve := "0x095ea7b3" + strings.Repeat("0", 24) + strings.Repeat("11", 20) + strings.Repeat("f", 64)
	a := decodeREST(t, restWith(txPayload(`,"data":"`+approve+`"`), ""))
	tx := a.Payload.Transaction
	if !a.PayloadUnderstood() || len(tx.Data) != 68 || !bytes.Equal(tx.Data[:4], []byte{0x09, 0x5e, 0xa7, 0xb3}) || tx.DataErr != "" {
		t.Fatalf("calldata %x (%s) understood %v", tx.Data, tx.DataErr, a.PayloadUnderstood())
	}
	for name, v := range map[string]string{"absent": ``, "null": `,"data":null`, "empty": `,"data":""`, "0x": `,"data":"0x"`} {
		a := decodeREST(t, restWith(txPayload(v), ""))
		if tx := a.Payload.Transaction; tx.Data != nil || tx.DataErr != "" || !a.PayloadUnderstood() {
			t.Errorf("%s: data %x err %q", name, tx.Data, tx.DataErr)
		}
	}
	if a := decodeREST(t, restWith(txPayload(`,"data":"A9059CBB"`), "")); !bytes.Equal(a.Payload.Transaction.Data, []byte{0xa9, 0x05, 0x9c, 0xbb}) {
		t.Errorf("upper case without 0x: %x", a.Payload.Transaction.Data)
	}
}

// Calldata that is sent but cannot be read makes the transaction not
// understood (so never approved), and the rest of it is still read.
func TestCalldataHostileOrOversized(t *testing.T) {
	for name, v := range map[string]string{
		"not hex":   `"0xzz"`,
		"odd":       `"0x123"`,
		"number":    `12`,
		"object":    `{"hex":"00"}`,
		"escape":    `"0x\u001b[31m"`,
		"oversized": `"0x` + strings.Repeat("ab", MaxCalldataBytes+1) + `"`,
		"huge":      `"0x` + strings.Repeat("a", 3*MaxCalldataBytes) + `"`,
	} {
		a := decodeREST(t, restWith(txPayload(`,"data":`+v), ""))
		tx := a.Payload.Transaction
		if tx.Data != nil || tx.DataErr == "" || a.PayloadUnderstood() || !strings.Contains(a.PayloadErr(), "calldata") {
			t.Errorf("%s: data %d bytes, err %q, payload err %q", name, len(tx.Data), tx.DataErr, a.PayloadErr())
		}
		if tx.To != "0xAb" || tx.Amount != "5" {
			t.Errorf("%s: the rest of the transaction was lost: %+v", name, tx)
		}
	}
	at := decodeREST(t, restWith(txPayload(`,"data":"0x`+strings.Repeat("ab", MaxCalldataBytes)+`"`), ""))
	if len(at.Payload.Transaction.Data) != MaxCalldataBytes {
		t.Error("calldata at the bound refused")
	}
}

// The wire form keeps calldata, so the pending cache (which re-encodes
// the decoded payload) shows the same call after a restart.
func TestCalldataWireRoundTrip(t *testing.T) {
	a := decodeREST(t, restWith(txPayload(`,"data":"0xA9059CBB0001"`), ""))
	b, err := json.Marshal(a.Payload)
	if err != nil || !strings.Contains(string(b), `"data":"0xa9059cbb0001"`) {
		t.Fatalf("wire form %s %v", b, err)
	}
	p, err := DecodePayload(b)
	if err != nil || !bytes.Equal(p.Transaction.Data, a.Payload.Transaction.Data) {
		t.Fatalf("round trip %x %v", p.Transaction.Data, err)
	}
	a = decodeREST(t, restWith(txPayload(""), ""))
	if b, _ := json.Marshal(a.Payload); strings.Contains(string(b), `"data"`) {
		t.Fatalf("a transfer without calldata gained a data field: %s", b)
	}
}

// A type error elsewhere in the transaction is still reported, and the
// calldata still read.
func TestCalldataWithTypeErrorElsewhere(t *testing.T) {
	a := decodeREST(t, restWith(txPayload(`,"whitelisted":"yes","data":"0x01"`), ""))
	tx := a.Payload.Transaction
	if !bytes.Equal(tx.Data, []byte{1}) || tx.To != "0xAb" {
		t.Fatalf("transaction %+v", tx)
	}
}
