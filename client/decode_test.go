package client

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func decodeREST(t *testing.T, body string) *Action {
	t.Helper()
	var w WireAction
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	a, err := DecodeWire(&w, true)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return a
}

// The signing agent's own fixture shape: only id, status and messages.
func TestDecodeMinimalRESTAction(t *testing.T) {
	now := time.Now()
	a := decodeREST(t, `{"id":"2WKtGnLJugxtYHOg2KSNYggRf8Y","status":1,"messages":["0801122000"]}`)
	if a.Payload != nil || a.HasPayload() || a.ExpiryKnown() || a.Type != 0 || a.MyDecisionKnown || a.Detail != nil || a.PayloadErr() != "" {
		t.Fatalf("minimal action: %+v", a)
	}
	if !a.Pending(now) {
		t.Fatal("a pending action of unknown expiry is not pending")
	}
	if m, err := a.MessageToSign(now); err != nil || len(m) != 5 {
		t.Fatalf("MessageToSign: %v", err)
	}
	if a.Binding != BindingUnknown {
		t.Fatalf("binding %v", a.Binding)
	}
}

func TestDecodeMyDecisionPresence(t *testing.T) {
	const base = `{"id":"2A","status":1,"messages":["01"]`
	for tail, want := range map[string]struct {
		known bool
		d     int
	}{
		`}`:                      {false, 0},
		`,"myDecision":0}`:       {true, 0},
		`,"myDecision":3}`:       {true, 3},
		`,"myDecision":4}`:       {true, 4},
		`,"myDecision":null}`:    {false, 0},
		`,"myDecision":"3"}`:     {false, 0},
		`,"myDecision":9}`:       {false, 0},
		`,"myDecision":3.5}`:     {false, 0},
		`,"myDecision":{"a":1}}`: {false, 0},
	} {
		a := decodeREST(t, base+tail)
		if a.MyDecisionKnown != want.known || a.MyDecision != want.d {
			t.Errorf("%s: known %v decision %d", tail, a.MyDecisionKnown, a.MyDecision)
		}
		_, err := a.MessageToSign(time.Now())
		if refused := err != nil; refused != (want.d != 0) {
			t.Errorf("%s: MessageToSign %v", tail, err)
		}
	}
}

// The swagger-shaped payload: only policyName and a numeric chainID.
func TestDecodeSwaggerPayload(t *testing.T) {
	const pl = `{"policyName":"Sepolia policy","externalExtension":{"network":{"chainID":11155111}}}`
	inline := decodeREST(t, `{"id":"2A","status":1,"messages":[],"payload":`+pl+`}`)
	b64 := decodeREST(t, `{"id":"2A","status":1,"messages":[],"payload":"`+base64.StdEncoding.EncodeToString([]byte(pl))+`"}`)
	for name, a := range map[string]*Action{"inline": inline, "base64": b64} {
		if string(a.RawPayload()) != pl || a.PayloadSHA256 != sha256.Sum256([]byte(pl)) {
			t.Fatalf("%s: raw %q", name, a.RawPayload())
		}
		p := a.Payload
		if p == nil || p.PolicyName != "Sepolia policy" || p.Transaction == nil || p.Transaction.Network.ChainID != "11155111" {
			t.Fatalf("%s: payload %+v", name, p)
		}
		if a.PayloadUnderstood() || p.Missing() != "no valid destination, amount, asset" {
			t.Fatalf("%s: Missing %q", name, p.Missing())
		}
		if a.PayloadErr() != "not understood: no valid destination, amount, asset" {
			t.Fatalf("%s: PayloadErr %q", name, a.PayloadErr())
		}
	}
	// The inline bytes are kept exactly as sent, whitespace included.
	spaced := "{ \"policyName\" : \"p\" }"
	if a := decodeREST(t, `{"id":"2A","status":1,"messages":[],"payload":`+spaced+`}`); string(a.RawPayload()) != spaced {
		t.Fatalf("inline payload bytes changed: %q", a.RawPayload())
	}
}

func TestDecodeChainID(t *testing.T) {
	for raw, want := range map[string]string{`11155111`: "11155111", `"1"`: "1", `"bitcoin"`: "bitcoin", `1.5`: "", `-1`: "", `true`: "", `null`: "", `1e3`: ""} {
		var n Network
		if err := json.Unmarshal([]byte(`{"name":"x","chainID":`+raw+`}`), &n); err != nil || n.ChainID != want || n.Name != "x" {
			t.Errorf("chainID %s: %+v %v", raw, n, err)
		}
	}
	var n Network
	if err := json.Unmarshal([]byte(`{"name":5,"chainID":1,"testnet":"yes"}`), &n); err != nil || n.ChainID != "1" {
		t.Errorf("a field of another type is not ignored: %+v %v", n, err)
	}
}

func TestDecodePayloadUnderstanding(t *testing.T) {
	full := `{"policyName":"p","externalExtension":{"network":{"name":"Ethereum","chainID":1},"to":"0x1","asset":{"symbol":"ETH","decimals":18},"amount":"5"}}`
	for raw, want := range map[string]string{
		full: "",
		`{"apiKeyUpdate":{"apiKeyID":"a.1","blsPublicKey":"AA==","ecPublicKey":"BA=="}}`: "",
		`{"apiKeyUpdate":{"apiKeyID":"a.1"}}`:                                            "not understood: no valid BLS public key, EC public key",
		`{"policyName":"p"}`:                                                             "not understood: neither a transaction nor a key update",
		`[1,2]`:                                                                          "not understood: the payload is a JSON array, not an object",
		`"text"`:                                                                         "not understood: the payload is a JSON string, not an object",
		`{"externalExtension":{"to":"0x1","asset":{"symbol":"ETH"},"network":{"chainID":1},"amount":5}}`:                           "not understood: no valid amount (externalExtension.amount is a JSON number)",
		`{"externalExtension":{"to":"0x1","asset":{"symbol":"E","decimals":99},"network":{"name":"n"},"amount":"5"}}`:              "not understood: no valid asset",
		`{"externalExtension":"x","apiKeyUpdate":{}}`:                                                                              "not understood: both a transaction and a key update (externalExtension is a JSON string)",
		`{"policyName":5,"externalExtension":{"to":"0x1","asset":{"symbol":"E"},"network":{"name":"n"},"amount":"5"},"extra":[1]}`: "",
	} {
		p, err := DecodePayload([]byte(raw))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if p == nil || got != want || (p.Missing() == "") != (want == "") {
			t.Errorf("%s:\n got %q (payload %v)\nwant %q", raw, got, p != nil, want)
		}
	}
	for _, raw := range []string{`not json`, `{"a":`, ``} {
		if p, err := DecodePayload([]byte(raw)); p != nil || err == nil || !strings.HasPrefix(err.Error(), "payload is not JSON") {
			t.Errorf("%q: %v %v", raw, p, err)
		}
	}
	// A negative or impossible policy is dropped, not believed.
	p, _ := DecodePayload([]byte(`{"policy":{"id":"x","threshold":-1,"approvals":3}}`))
	if p.Policy == nil || p.Policy.ID != "" || p.Approvals != 0 {
		t.Fatalf("impossible policy kept: %+v %d", p.Policy, p.Approvals)
	}
}

// Unconfirmed fields of an unexpected type are ignored; the confirmed
// ones (id, status, messages, expireTime, created) are strict.
func TestDecodeLenientAndStrictFields(t *testing.T) {
	a := decodeREST(t, `{"id":"2A","status":1,"messages":["01"],"type":"ApproveWithdraw","description":5,"signatures":"x",
		"timestamp":"y","metadata":{},"actionSubject":{"a":[1]},"approverID":[],"approvals":"2","unknown":{"x":1}}`)
	if a.Type != 0 || a.Description() != "" {
		t.Fatalf("lenient fields: %+v", a)
	}
	for _, bad := range []string{
		`{"id":5,"status":1,"messages":[]}`,
		`{"id":"2A","status":"1","messages":[]}`,
		`{"id":"2A","status":1,"messages":"01"}`,
		`{"id":"2A","status":1,"messages":[1]}`,
		`{"id":"2A","status":1,"messages":[],"expireTime":"soon"}`,
		`{"id":"2A","status":1,"messages":[],"created":1.5,"description":5}`,
		`[]`,
	} {
		var w WireAction
		if err := json.Unmarshal([]byte(bad), &w); err == nil {
			if _, err := DecodeWire(&w, true); err == nil {
				t.Errorf("accepted %s", bad)
			}
		}
	}
}

func TestDecodeOversizedPayloadKeepsItsHash(t *testing.T) {
	big := `{"policyName":"` + strings.Repeat("a", MaxPayloadBytes) + `"}`
	a := decodeREST(t, `{"id":"2A","status":1,"messages":[],"payload":"`+base64.StdEncoding.EncodeToString([]byte(big))+`"}`)
	if a.RawPayload() != nil || a.Payload != nil || !strings.Contains(a.PayloadErr(), "larger") || a.PayloadSHA256 != sha256.Sum256([]byte(big)) {
		t.Fatalf("oversized payload: %q", a.PayloadErr())
	}
}

func TestWireActionMarshalRoundTrip(t *testing.T) {
	w := WireAction{ID: "2A", Status: 1, Messages: []string{"01"}, PayloadJSON: json.RawMessage(`{"policyName":"p"}`), MyDecisionKnown: true}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"payload":{"policyName":"p"}`) || !strings.Contains(string(b), `"myDecision":0`) {
		t.Fatalf("wire form %s", b)
	}
	var back WireAction
	if err := json.Unmarshal(b, &back); err != nil || !back.MyDecisionKnown || string(back.PayloadJSON) != `{"policyName":"p"}` {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	w.MyDecisionKnown, w.PayloadJSON, w.Payload = false, nil, "e30="
	b, _ = json.Marshal(w)
	if strings.Contains(string(b), "myDecision") || !strings.Contains(string(b), `"payload":"e30="`) {
		t.Fatalf("wire form %s", b)
	}
}

func TestFingerprintCoversWhatCanChange(t *testing.T) {
	mk := func() *Action {
		return &Action{ID: "2A", Status: 1, Expires: time.Unix(2e9, 0), Messages: [][]byte{{1, 2}},
			Payload: &Payload{Approvals: 1}, PayloadSHA256: sha256.Sum256([]byte("p")), Detail: &ActionDetail{RawPayload: []byte("p")}}
	}
	base := mk().Fingerprint()
	slim := mk()
	slim.Detail = nil
	if slim.Fingerprint() != base {
		t.Fatal("dropping the detail changes the fingerprint")
	}
	for name, mut := range map[string]func(a *Action){
		"status":         func(a *Action) { a.Status = 3 },
		"my decision":    func(a *Action) { a.MyDecision, a.MyDecisionKnown = 3, true },
		"decision known": func(a *Action) { a.MyDecisionKnown = true },
		"expiry":         func(a *Action) { a.Expires = a.Expires.Add(time.Second) },
		"expiry unknown": func(a *Action) { a.Expires = time.Time{} },
		"message":        func(a *Action) { a.Messages[0][1] = 3 },
		"messages split": func(a *Action) { a.Messages = [][]byte{{1}, {2}} },
		"payload hash":   func(a *Action) { a.PayloadSHA256[0] ^= 1 },
		"approvals":      func(a *Action) { a.Payload.Approvals = 2 },
		"no payload":     func(a *Action) { a.Payload = nil },
	} {
		a := mk()
		mut(a)
		if a.Fingerprint() == base {
			t.Errorf("%s does not change the fingerprint", name)
		}
	}
}

func TestPrettyPayload(t *testing.T) {
	if got := PrettyPayload([]byte(`{"a":[1,{"b":"c"}]}`)); got != "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n    }\n  ]\n}" {
		t.Fatalf("indent: %q", got)
	}
	if got := PrettyPayload([]byte("plain \xff text")); got != "plain \ufffd text" {
		t.Fatalf("text: %q", got)
	}
	if got := PrettyPayload([]byte(strings.Repeat("x", 200<<10))); len(got) > 65<<10 || !strings.HasSuffix(got, "…") {
		t.Fatalf("not bounded: %d bytes", len(got))
	}
}
