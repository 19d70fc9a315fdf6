package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzDecodeFeedFrame(f *testing.F) {
	p, _ := json.Marshal(Payload{PolicyName: "p", Transaction: &Transaction{Amount: "10"}})
	good, _ := json.Marshal(WireAction{ID: "2WKtGnLJugxtYHOg2KSNYggRf8Y", Type: 25, Status: 1, ExpireTime: 2e9,
		Messages: []string{"CAESIJ2R"}, Payload: base64.StdEncoding.EncodeToString(p)})
	f.Add(good)
	f.Add([]byte(`{"id":"../../etc","messages":["%%%"],"payload":`))
	f.Add([]byte(`{"id":"a","messages":null,"payload":"e30="}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id":"2A","status":1,"messages":[],"payload":{"policyName":"p","externalExtension":{"network":{"chainID":11155111}}}}`))
	f.Add([]byte(`{"id":"2A","status":1,"type":"x","myDecision":"y","approvals":-1,"payload":[1]}`))
	f.Add([]byte(`{"id":"2A","status":1,"messages":[],"approvedBy":[{"id":"k","name":"A","time":1764000000}],"payload":{"policy":{"threshold":1},` +
		`"externalExtension":{"to":"0x1","amount":"1","asset":{"symbol":"U"},"network":{"chainID":"1"},"data":"0x095ea7b3"}}}`))
	f.Add([]byte(`{"id":"2A","status":1,"messages":[],"approvedBy":[{"id":1}],"payload":{"externalExtension":{"data":"0xz"}}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		a, err := DecodeFeedFrame(frame)
		if err != nil {
			if KindOf(err) != KindBadResponse {
				t.Fatalf("error of kind %v", KindOf(err))
			}
			if hasUnsafe(err.Error()) {
				t.Fatalf("unsafe error text %q", err)
			}
			return
		}
		if !ValidID(a.ID) || len(a.Messages) > MaxMessages {
			t.Fatalf("accepted invalid action %q", a.ID)
		}
		for _, m := range a.Messages {
			if len(m) > MaxMessageBytes {
				t.Fatal("oversized message accepted")
			}
		}
		// A payload that is not understood always says why; one that
		// is understood never carries an error.
		if a.HasPayload() && !a.PayloadUnderstood() && a.PayloadErr() == "" {
			t.Fatal("a payload that is not understood carries no reason")
		}
		if a.PayloadUnderstood() && a.PayloadErr() != "" {
			t.Fatalf("an understood payload carries %q", a.PayloadErr())
		}
		if hasUnsafe(a.PayloadErr()) {
			t.Fatalf("unsafe PayloadErr %q", a.PayloadErr())
		}
		if p := a.Payload; p != nil {
			if len(p.ApprovedBy) > MaxApprovers || (p.Transaction != nil && len(p.Transaction.Data) > MaxCalldataBytes) {
				t.Fatal("an extension past its bound was accepted")
			}
		}
	})
}

func FuzzDecodeAPIResponse(f *testing.F) {
	f.Add([]byte(`{"actions":[{"id":"2A","status":1,"messages":["0801"],"expireTime":2000000000,"payload":"e30="}],"nextPageToken":""}`))
	f.Add([]byte(`{"actions":[{"id":"x y"}]}`))
	f.Add([]byte(`{"token":"a.b.c"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var l listAnswer
		if json.Unmarshal(body, &l) == nil {
			for _, raw := range l.Actions {
				a, err := decodeListed(raw)
				if err == nil && !ValidID(a.ID) {
					t.Fatal("invalid ID accepted")
				}
				if err != nil && hasUnsafe(skippedAction(raw, err).ID+skippedAction(raw, err).Reason) {
					t.Fatalf("unsafe text in a skipped action: %q", skippedAction(raw, err))
				}
			}
		}
		var tok tokenAnswer
		if json.Unmarshal(body, &tok) == nil {
			if exp, err := JWTExpiry(tok.Token); err == nil && exp.Unix() <= 0 {
				t.Fatal("non-positive expiry accepted")
			}
		}
		if d := serverDetail(body); hasUnsafe(d) || strings.Contains(d, "\n") {
			t.Fatalf("unsafe server detail %q", d)
		}
	})
}

// hasUnsafe reports whether s holds a character that must not reach a
// terminal or a one-line message.
func hasUnsafe(s string) bool {
	for _, r := range s {
		if unsafeRune(r) {
			return true
		}
	}
	return !utf8.ValidString(s)
}

func FuzzCheckBinding(f *testing.F) {
	ka, _ := hex.DecodeString(knownAnswerHex)
	f.Add(ka, "2AbC", 25, []byte(`{"policyName":"p"}`), true)
	f.Add(ka[:36], "2AbC", 25, []byte(nil), false)
	f.Add(append(ka[:len(ka)-1:len(ka)-1], '2'), "2AbC", 25, []byte(`{}`), true)
	f.Fuzz(func(t *testing.T, msg []byte, id string, typ int, payload []byte, hold bool) {
		a := &Action{ID: id, Type: typ}
		if hold {
			a.Detail = &ActionDetail{RawPayload: payload}
			a.PayloadSHA256 = sha256.Sum256(payload)
		}
		b, field := CheckBinding(msg, a)
		if b == BindingMismatch && !bytes.HasSuffix(msg, []byte(sandboxMarker)) {
			t.Fatalf("a message without the marker is a mismatch (%s)", field)
		}
		if (b == BindingMismatch) != (field != "") {
			t.Fatalf("binding %v with field %q", b, field)
		}
	})
}
