package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSignatureKnownAnswer(t *testing.T) {
	// Computed independently: printf '%s' '1700000000GEThttps://h/api/v2/workspaces/w/token' |
	//   openssl dgst -sha256 -hmac 'key' -binary | basenc --base64url | tr -d '='
	got := Signature([]byte("key"), "1700000000", "GET", "https://h/api/v2/workspaces/w/token", nil)
	if got != "UROdpRQOsw0_i7rTx9wqUXkKjtkW5zCv1asrcOPzf2I" {
		t.Fatalf("signature %s", got)
	}
	if strings.ContainsAny(got, "+/=") {
		t.Fatal("not unpadded base64url")
	}
}

func TestJWTExpiry(t *testing.T) {
	mk := func(claims string) string {
		return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	}
	if e, err := JWTExpiry(mk(`{"exp":1700000000}`)); err != nil || e.Unix() != 1700000000 {
		t.Fatalf("exp %v %v", e, err)
	}
	for _, bad := range []string{"", "a.b", mk(`{}`), mk(`{"exp":-1}`), mk(`nope`), "a.b.c.d", "a.$$.c", strings.Repeat("a", MaxTokenBytes+1)} {
		if _, err := JWTExpiry(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestDedup(t *testing.T) {
	d := newDedup(3)
	steps := []struct {
		id     string
		status uint64
		want   bool
	}{{"a", 1, true}, {"a", 1, false}, {"b", 1, true}, {"a", 3, true}, {"a", 3, false}, {"c", 1, true}, {"d", 1, true}, {"a", 3, true}}
	for i, s := range steps {
		if got := d.fresh(s.id, s.status); got != s.want {
			t.Fatalf("step %d (%s,%d): got %v", i, s.id, s.status, got)
		}
	}
	if len(d.seen) > 3 {
		t.Fatalf("dedup grew to %d", len(d.seen))
	}
}

func TestBackoffAndRetryAfter(t *testing.T) {
	if d := backoff(0, 3*time.Second); d != 3*time.Second {
		t.Fatalf("Retry-After not honoured: %v", d)
	}
	if d := backoff(0, time.Hour); d != 60*time.Second {
		t.Fatalf("Retry-After not capped: %v", d)
	}
	for a := range 10 {
		d := backoff(a, 0)
		if d <= 0 || d > 8*time.Second {
			t.Fatalf("attempt %d backoff %v", a, d)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if retryAfter("7", now) != 7*time.Second || retryAfter("", now) != 0 || retryAfter("junk", now) != 0 {
		t.Fatal("retryAfter seconds")
	}
	if retryAfter("Thu, 01 Jan 2026 00:01:30 GMT", now) != 90*time.Second {
		t.Fatal("retryAfter date")
	}
}

func TestDecodeWireValidation(t *testing.T) {
	p, _ := json.Marshal(Payload{PolicyName: "p", Transaction: &Transaction{Amount: "10", Asset: &Asset{Decimals: 6}}})
	ok := WireAction{ID: "2Abc", Type: TypeTransaction, Status: StatusPending, ExpireTime: 2e9, Messages: []string{"0801"}, Payload: base64.StdEncoding.EncodeToString(p)}
	a, err := DecodeWire(&ok, true)
	if err != nil || a.Payload == nil || string(a.Messages[0]) != "\x08\x01" {
		t.Fatalf("valid action: %v %+v", err, a)
	}
	cases := map[string]func(w *WireAction){
		"id slash":      func(w *WireAction) { w.ID = "a/b" },
		"id empty":      func(w *WireAction) { w.ID = "" },
		"id long":       func(w *WireAction) { w.ID = strings.Repeat("a", 129) },
		"bad hex":       func(w *WireAction) { w.Messages = []string{"zz"} },
		"many messages": func(w *WireAction) { w.Messages = make([]string, 17) },
		"big message":   func(w *WireAction) { w.Messages = []string{strings.Repeat("00", MaxMessageBytes+1)} },
		"bad time":      func(w *WireAction) { w.ExpireTime = -5 },
	}
	for name, mut := range cases {
		w := ok
		mut(&w)
		if _, err := DecodeWire(&w, true); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A payload that cannot be read is reported, not fatal. (It used to
	// drop a payload that is JSON but not understood; now what can be
	// read is kept, and the reason says "not understood".)
	for pl, want := range map[string]string{
		"%%%": "payload is not valid base64",
		base64.StdEncoding.EncodeToString([]byte(`not json`)):                              "payload is not JSON",
		base64.StdEncoding.EncodeToString([]byte(`{"externalExtension":{"amount":"-1"}}`)): "not understood: no valid destination, amount, asset, network",
	} {
		w := ok
		w.Payload = pl
		a, err := DecodeWire(&w, true)
		if err != nil || !strings.HasPrefix(a.PayloadErr(), want) || a.PayloadUnderstood() {
			t.Errorf("payload %q: %v %+v, PayloadErr %q", pl, err, a, a.PayloadErr())
		}
	}
	// No payload is not an error: the details come from elsewhere.
	w := ok
	w.Payload = ""
	if a, err := DecodeWire(&w, true); err != nil || a.Payload != nil || a.HasPayload() || a.PayloadErr() != "" {
		t.Errorf("no payload: %v %+v", err, a)
	}
}

func TestMessageToSign(t *testing.T) {
	now := time.Unix(1000, 0)
	base := Action{ID: "x", Status: StatusPending, Expires: now.Add(time.Minute), Messages: [][]byte{{1}}}
	if m, err := base.MessageToSign(now); err != nil || len(m) != 1 {
		t.Fatal(err)
	}
	for name, a := range map[string]Action{
		"not pending": {ID: "x", Status: StatusApproved, Expires: now.Add(time.Minute), Messages: [][]byte{{1}}},
		"expired":     {ID: "x", Status: StatusPending, Expires: now, Messages: [][]byte{{1}}},
		"no message":  {ID: "x", Status: StatusPending, Expires: now.Add(time.Minute)},
		"decided":     {ID: "x", Status: StatusPending, Expires: now.Add(time.Minute), Messages: [][]byte{{1}}, MyDecision: StatusApproved, MyDecisionKnown: true},
	} {
		if _, err := a.MessageToSign(now); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	// An unknown expiry is no reason to refuse (it used to be refused as
	// "expired"), and a decision the API did not report is not known.
	unknown := Action{ID: "x", Status: StatusPending, Messages: [][]byte{{1}}}
	if _, err := unknown.MessageToSign(now); err != nil || !unknown.Pending(now) {
		t.Fatalf("unknown expiry: %v, pending %v", err, unknown.Pending(now))
	}
	_, err := (&Action{ID: "x", Status: StatusApproved}).MessageToSign(now)
	if err == nil || !strings.Contains(err.Error(), "is approved") || strings.Contains(err.Error(), "status 3") {
		t.Fatalf("not-pending refusal does not name the status in words: %v", err)
	}
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	e := statusError("GET", "/x", 401, []byte(`{"detail":"bad \x1b[31mtoken"}`), 0)
	if strings.ContainsRune(e.Error(), 0x1b) {
		t.Fatal("escape sequence passed through")
	}
}

// Error bodies: our {code,detail} extension when present, else the text
// of the body, on one line, escaped and bounded; the message does not
// repeat the kind.
func TestStatusErrorBodies(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{404, "404 page not found\n", "not found: GET /actions/2A: 404 page not found"},
		{404, `{"code":404,"detail":"action not found"}`, "not found: GET /actions/2A: action not found"},
		{400, `{"Code":400,"Detail":"bad signature"}`, "bad request: the API rejected GET /actions/2A as invalid: bad signature"},
		{400, "line one\r\nline two\x1b[2J\a \u202eevil", `bad request: the API rejected GET /actions/2A as invalid: line one line two\x1b[2J\x07 \u202eevil`},
		{409, "", "not pending: already decided or closed (GET /actions/2A)"},
		{503, "<html>\n<b>down</b>\n</html>", "server error: the API failed with status 503 on GET /actions/2A: <html> <b>down</b> </html>"},
		{418, `"teapot"`, "bad response: unexpected status 418 on GET /actions/2A: teapot"},
	} {
		got := statusError("GET", "/actions/2A", c.status, []byte(c.body), 0).Error()
		if got != c.want {
			t.Errorf("%d %q:\n got %s\nwant %s", c.status, c.body, got, c.want)
		}
	}
	long := statusError("GET", "/x", 500, bytes.Repeat([]byte("a"), 10000), 0).Error()
	if len(long) > 300 {
		t.Fatalf("error text not bounded: %d bytes", len(long))
	}
}

func TestStatusName(t *testing.T) {
	for code, want := range map[int]string{1: "pending", 3: "approved", 4: "rejected", 5: "expired", 2: "status 2", 0: "status 0"} {
		if got := StatusName(code); got != want {
			t.Errorf("StatusName(%d) = %q, want %q", code, got, want)
		}
	}
}

// A decoded transaction always has a Network and an Asset, and payloads on
// the same chain and asset share one copy of each (long lists stay small).
func TestDecodePayloadSharesNetworkAndAsset(t *testing.T) {
	bare, err := DecodePayload([]byte(`{"policyName":"p","externalExtension":{"amount":"1"}}`))
	if bare == nil || err == nil || err.Error() != "not understood: no valid destination, asset, network" {
		t.Fatalf("a bare transaction: %v", err)
	}
	if bare.Transaction.Network == nil || bare.Transaction.Asset == nil || *bare.Transaction.Network != (Network{}) {
		t.Fatalf("missing network/asset not filled in: %+v", bare.Transaction)
	}
	mk := func(amount, chain string) *Transaction {
		b, _ := json.Marshal(Payload{PolicyName: "p", Transaction: &Transaction{Amount: amount,
			Network: &Network{Name: "Ethereum", Family: "evm", ChainID: chain}, Asset: &Asset{Symbol: "ETH", Decimals: 18}}})
		p, err := DecodePayload(b)
		if p == nil {
			t.Fatal(err)
		}
		return p.Transaction
	}
	a, b, c := mk("1", "1"), mk("2", "1"), mk("3", "137")
	if a.Network != b.Network || a.Asset != b.Asset || a.Asset != c.Asset {
		t.Fatal("equal networks or assets are not shared")
	}
	if a.Network == c.Network || c.Network.ChainID != "137" || a.Network.ChainID != "1" {
		t.Fatalf("different networks were merged: %+v %+v", a.Network, c.Network)
	}
}

// The approvals so far travel inside the policy object on the wire, while
// in memory the policy is shared and the approvals are kept per action.
func TestPayloadPolicyWireFormAndSharing(t *testing.T) {
	mk := func(approvals int) *Payload {
		b, err := json.Marshal(Payload{PolicyName: "Treasury", Approvals: approvals,
			Policy: &Policy{ID: "pol-t", Name: "Treasury", Kind: "transaction", Threshold: 2, Members: []string{"k1", "k2", "k3"}}})
		if err != nil {
			t.Fatal(err)
		}
		var wire struct {
			Policy map[string]any `json:"policy"`
		}
		if err := json.Unmarshal(b, &wire); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if wire.Policy["approvals"] != float64(approvals) || wire.Policy["threshold"] != float64(2) {
			t.Fatalf("wire form %s", b)
		}
		p, err := DecodePayload(b)
		if p == nil {
			t.Fatal(err) // not understood (no transaction) is fine here
		}
		return p
	}
	a, b := mk(0), mk(1)
	if a.Approvals != 0 || b.Approvals != 1 {
		t.Fatalf("approvals %d, %d", a.Approvals, b.Approvals)
	}
	if a.Policy != b.Policy || a.Policy.Threshold != 2 || len(a.Policy.Members) != 3 || a.Policy.Name != "Treasury" {
		t.Fatalf("policy not shared or wrong: %+v %+v", a.Policy, b.Policy)
	}
	bare, err := DecodePayload([]byte(`{"policyName":"p"}`))
	if bare == nil || bare.Policy == nil {
		t.Fatalf("a payload without a policy object: %v %+v", err, bare)
	}
}
