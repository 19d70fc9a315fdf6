package client

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

func FuzzDecodeFeedFrame(f *testing.F) {
	p, _ := json.Marshal(Payload{PolicyName: "p", Transaction: &Transaction{Amount: "10"}})
	good, _ := json.Marshal(WireAction{ID: "2WKtGnLJugxtYHOg2KSNYggRf8Y", Type: 25, Status: 1, ExpireTime: 2e9,
		Messages: []string{"CAESIJ2R"}, Payload: base64.StdEncoding.EncodeToString(p)})
	f.Add(good)
	f.Add([]byte(`{"id":"../../etc","messages":["%%%"],"payload":`))
	f.Add([]byte(`{"id":"a","messages":null,"payload":"e30="}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		a, err := DecodeFeedFrame(frame)
		if err != nil {
			if KindOf(err) != KindBadResponse {
				t.Fatalf("error of kind %v", KindOf(err))
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
		if (a.Payload == nil) == (a.PayloadErr() == "") {
			t.Fatal("payload and PayloadErr inconsistent")
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
			for i := range l.Actions {
				if a, err := DecodeWire(&l.Actions[i], true); err == nil && !ValidID(a.ID) {
					t.Fatal("invalid ID accepted")
				}
			}
		}
		var tok tokenAnswer
		if json.Unmarshal(body, &tok) == nil {
			if exp, err := JWTExpiry(tok.Token); err == nil && exp.Unix() <= 0 {
				t.Fatal("non-positive expiry accepted")
			}
		}
		_ = serverDetail(body)
	})
}
