package governance

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/qapprove/qapprove/assets"
)

// FuzzParseRules feeds arbitrary rule files to Parse: it must return a
// rule set or positioned Errors, never panic.
func FuzzParseRules(f *testing.F) {
	f.Add(assets.DefaultRules)
	f.Add([]byte(precedenceRules))
	f.Add([]byte("[[rule]]\nname = \"x\"\nwhen = '''\ntx.to == \"\\u00e9\" &&\n  tx.nope'''\nverdict = \"review\"\nreason = \"r\"\n"))
	f.Add([]byte("l = [1, 2.5]\nm = { a = 'b' }\n[[rule]]\nname=\"q\"\nwhen=\"m.a == \\\"b\\\" && 1 in l\"\nverdict=\"reject\"\nreason=\"r\"\n"))
	f.Add([]byte("[[rule]]\nname='v'\nwhen='approved_sum(tx.asset, duration(\"24h\")) > 1.0 && within_hours(\"09:00\", \"17:30\") && weekday in [\"Mon\"] && !holiday && call.unlimited && tx.value > 1.0'\nverdict='review'\nreason='r'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("fuzz.toml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
			for _, e := range es {
				if e.Line < 0 || e.Col < 0 || e.Msg == "" {
					t.Fatalf("bad error: %+v", e)
				}
			}
			return
		}
		v := rs.Evaluate(Input{})
		if v.Level < Approve || v.Level > Reject {
			t.Fatalf("invalid level %d", v.Level)
		}
	})
}

// FuzzEvaluate feeds arbitrary input documents (JSON) through the default
// rules: the verdict is always valid, never approve for undecodable
// payloads, and an approve always comes from a matching approve rule.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(`{"action":{"id":"a","type":"transaction","status":"pending","expires_in_seconds":900,"policy":{"threshold":2,"members":["a","b"]}},"tx":{"network":{"chain_id":"11155111","testnet":true},"whitelisted":true,"asset":"ETH","amount_base":"10","decimals":18}}`))
	f.Add([]byte(`{"action":{"type":"transaction","status":"pending"},"tx":{"network":{"chain_id":"1"}},"decode_error":"bad"}`))
	f.Add([]byte(`{"action":{"type":"key_update"}}`))
	f.Add([]byte(`{"action":{"type":"transaction","expiry_known":false},"tx":{"network":{"chain_id":"11155111"},"to":"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358"},"payload":{"understood":false,"problem":"x"},"message":{"mismatch":true}}`))
	f.Add([]byte(`{"action":{"type":"transaction"},"tx":{"network":{"chain_id":"1"},"value":5,"value_problem":"no price for X"},"clock":{"zone":"Mars/X","date":"2026-01-01"},"call":{"present":true,"known":true,"function":"approve","unlimited":true}}`))
	rs := Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Input
		if json.Unmarshal(data, &in) != nil {
			return
		}
		_ = in.Normalize() // a document that does not normalise is still evaluated
		v := rs.Evaluate(in)
		if v.Level < Approve || v.Level > Reject {
			t.Fatalf("invalid level %d", v.Level)
		}
		if (in.DecodeError != "" || !in.Payload.Understood || in.Tx.ValueProblem != "") && v.Level == Approve {
			t.Fatal("undecodable or not understood payload, or no fresh price, approved")
		}
		if (in.Message.Mismatch || in.Tx.AddressProblem != "") && v.Level != Reject {
			t.Fatalf("message mismatch or malformed address got %s", v.Level)
		}
		if v.Default != (len(v.Matched) == 0) {
			t.Fatalf("Default=%v with %d matches", v.Default, len(v.Matched))
		}
		for _, m := range v.Matched {
			if m.Verdict > v.Level {
				t.Fatalf("match %s (%s) stronger than the verdict %s", m.Rule, m.Verdict, v.Level)
			}
		}
		if v.Level == Approve && !(in.Tx.Whitelisted && in.Action.Type == TypeTransaction) {
			t.Fatalf("approved a non-whitelisted or non-transaction action: %+v", in)
		}
	})
}
