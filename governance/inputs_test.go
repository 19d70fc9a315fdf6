package governance

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// approveAll is a desk file that approves everything.
func approveAll(t *testing.T) *RuleSet {
	t.Helper()
	rs, err := Parse("all.toml", []byte("[[rule]]\nname = 'yes'\nwhen = 'true'\nverdict = 'approve'\nreason = 'yes'\n"))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func findMatch(v Verdict, rule string) (Match, bool) {
	for _, m := range v.Matched {
		if m.Rule == rule {
			return m, true
		}
	}
	return Match{}, false
}

func TestPayloadNotUnderstoodNeverApproved(t *testing.T) {
	for _, rs := range []*RuleSet{approveAll(t), Default()} {
		in := mkInput(t, func(in *Input) {
			in.Payload = Payload{Understood: false, Problem: "no destination address, asset or amount"}
		})
		v := rs.Evaluate(in)
		if v.Level != Review {
			t.Fatalf("%s: payload not understood got %s, want review", rs.Name(), v.Level)
		}
		m, ok := findMatch(v, BuiltinPayload)
		if !ok || m.Verdict != Review || !strings.Contains(m.Reason, "no destination address") {
			t.Fatalf("%s: no payload match with the problem: %+v", rs.Name(), v.Matched)
		}
	}
	// The zero Payload is "not understood": a caller that forgets it is safe.
	if v := approveAll(t).Evaluate(Input{}); v.Level == Approve {
		t.Fatal("an Input without payload.understood was approved")
	}
}

func TestPayloadInputsVisibleToRules(t *testing.T) {
	rs, err := Parse("p.toml", []byte(`
[[rule]]
name = "strict"
when = '!payload.understood && payload.problem.contains("asset")'
verdict = "reject"
reason = "we reject what we cannot read"
`))
	if err != nil {
		t.Fatal(err)
	}
	in := mkInput(t, func(in *Input) { in.Payload = Payload{Problem: "no asset"} })
	if v := rs.Evaluate(in); v.Level != Reject {
		t.Fatalf("got %s %v", v.Level, ruleNames(v))
	}
}

func TestMessageMismatchIsRejected(t *testing.T) {
	for _, rs := range []*RuleSet{approveAll(t), Default()} {
		v := rs.Evaluate(mkInput(t, func(in *Input) { in.Message = Message{Mismatch: true} }))
		m, ok := findMatch(v, BuiltinMessage)
		if v.Level != Reject || !ok || m.Verdict != Reject || !strings.Contains(m.Reason, "will not sign") {
			t.Fatalf("%s: mismatch got %s %+v", rs.Name(), v.Level, v.Matched)
		}
	}
	// Unbound (the real service's digest) is not judged by the defaults…
	if v := Default().Evaluate(mkInput(t, nil)); v.Level != Approve {
		t.Fatalf("unbound message got %s %v under the default rules", v.Level, ruleNames(v))
	}
	// …but a desk can demand bound messages.
	rs, err := Parse("b.toml", []byte("[[rule]]\nname = 'bound'\nwhen = '!message.bound'\nverdict = 'review'\nreason = 'unbound'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := rs.Evaluate(mkInput(t, nil)); v.Level != Review || !slices.Equal(ruleNames(v), []string{"bound"}) {
		t.Fatalf("unbound: got %s %v", v.Level, ruleNames(v))
	}
	if v := rs.Evaluate(mkInput(t, func(in *Input) { in.Message.Bound = true })); !v.Default {
		t.Fatalf("bound: got %s %v", v.Level, ruleNames(v))
	}
}

func TestMalformedAddressIsRejected(t *testing.T) {
	bad := "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358" // last digit changed
	mk := func(net Network, from, to string) Input {
		return mkInput(t, func(in *Input) {
			tx, err := NewTx(net, from, to, true, "ETH", 18, "1")
			if err != nil {
				t.Fatal(err)
			}
			in.Tx = tx
		})
	}
	sepolia := NewNetwork("Ethereum Sepolia", "11155111", true)
	in := mk(sepolia, testFrom, bad)
	if in.Tx.ToValid || !in.Tx.FromValid {
		t.Fatalf("to_valid=%v from_valid=%v", in.Tx.ToValid, in.Tx.FromValid)
	}
	for _, rs := range []*RuleSet{approveAll(t), Default()} {
		v := rs.Evaluate(in)
		m, ok := findMatch(v, BuiltinAddress)
		if v.Level != Reject || !ok {
			t.Fatalf("%s: got %s %v", rs.Name(), v.Level, ruleNames(v))
		}
		for _, want := range []string{"destination address", bad, "EIP-55"} {
			if !strings.Contains(m.Reason, want) {
				t.Errorf("%s: reason %q does not say %q", rs.Name(), m.Reason, want)
			}
		}
	}
	// The source address too, and Bitcoin addresses.
	in = mk(NewNetwork("Bitcoin testnet", "bitcoin-testnet", true), "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsy", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn")
	if in.Tx.FromValid || !in.Tx.ToValid || !strings.Contains(in.Tx.AddressProblem, "source address") {
		t.Fatalf("bitcoin: %+v", in.Tx)
	}
	if v := Default().Evaluate(in); v.Level != Reject {
		t.Fatalf("bitcoin: got %s", v.Level)
	}
	// An unknown family and an empty address are not judged.
	in = mk(Network{Name: "Mystery", ChainID: "mystery-chain"}, "who knows", "")
	if !in.Tx.ToValid || !in.Tx.FromValid || in.Tx.AddressProblem != "" {
		t.Fatalf("unknown family judged: %+v", in.Tx)
	}
	// Hostile text in the address is quoted in the reason.
	in = mk(sepolia, testFrom, "0x\x1b[31m\u202e")
	if strings.ContainsAny(in.Tx.AddressProblem, "\x1b\u202e") {
		t.Fatalf("raw control characters in %q", in.Tx.AddressProblem)
	}
}

func TestAddressValidityVisibleToRules(t *testing.T) {
	rs, err := Parse("a.toml", []byte("[[rule]]\nname = 'ok'\nwhen = 'tx.to_valid && tx.from_valid && tx.address_problem == \"\" && tx.network.family == \"evm\"'\nverdict = 'approve'\nreason = 'ok'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := rs.Evaluate(mkInput(t, nil)); v.Level != Approve {
		t.Fatalf("got %s %v", v.Level, ruleNames(v))
	}
}

func TestUnknownExpiryDoesNotLookExpired(t *testing.T) {
	in := mkInput(t, func(in *Input) { in.Action.ExpiryKnown, in.Action.ExpiresInSeconds = false, 0 })
	if err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	if in.Action.ExpiresInSeconds != UnknownExpirySeconds || UnknownExpirySeconds <= 0 {
		t.Fatalf("expires_in_seconds = %d", in.Action.ExpiresInSeconds)
	}
	if v := Default().Evaluate(in); v.Level != Approve || slices.Contains(ruleNames(v), "expiring-soon") {
		t.Fatalf("unknown expiry got %s %v", v.Level, ruleNames(v))
	}
	// Even a value that would look expired is not flagged by the defaults.
	in.Action.ExpiresInSeconds = -1
	if v := Default().Evaluate(in); slices.Contains(ruleNames(v), "expiring-soon") {
		t.Fatalf("unknown expiry flagged as expiring: %v", ruleNames(v))
	}
}

func TestChainIDAloneNamesTheNetwork(t *testing.T) {
	n := NewNetwork("", "11155111", false)
	if n.Name != "Ethereum Sepolia" || !n.Testnet || n.Family != FamilyEVM || n.ChainIDInt != 11155111 {
		t.Fatalf("chain ID 11155111 alone: %+v", n)
	}
	if n := NewNetwork("", "1", false); n.Name != "Ethereum" || n.Testnet {
		t.Fatalf("chain ID 1 alone: %+v", n)
	}
	// A payload that names the network keeps its claim (the
	// testnet-flag-mismatch rule depends on it).
	if n := NewNetwork("Sepolia", "11155111", false); n.Testnet || n.Name != "Sepolia" {
		t.Fatalf("named network overwritten: %+v", n)
	}
	if n := NewNetwork("", "999999", false); n.Name != "" || n.Family != FamilyEVM {
		t.Fatalf("unknown chain: %+v", n)
	}
	if n := NewNetwork("", "bitcoin-signet", false); n.Family != FamilyBitcoin || !n.Testnet {
		t.Fatalf("bitcoin-signet: %+v", n)
	}
	in := mkInput(t, func(in *Input) { in.Tx.Network = NewNetwork("", "11155111", false) })
	if v := Default().Evaluate(in); v.Level != Approve {
		t.Fatalf("Sepolia by chain ID alone: got %s %v", v.Level, ruleNames(v))
	}
}

// The built-in network table agrees with the default rules' lists.
func TestNetworkTableMatchesDefaultRules(t *testing.T) {
	rs := Default()
	check := func(list string, testnet bool) {
		l, ok := rs.vars[list].Value().([]int64)
		if !ok {
			if s, ok := rs.vars[list].Value().([]string); ok {
				for _, id := range s {
					if n, ok := LookupNetwork(id); !ok || n.Testnet != testnet {
						t.Errorf("%s lists %s: table has %+v", list, id, n)
					}
				}
				return
			}
			t.Fatalf("%s is %T", list, rs.vars[list].Value())
		}
		for _, id := range l {
			if n, ok := LookupNetwork(strconv.FormatInt(id, 10)); !ok || n.Testnet != testnet || n.Family != FamilyEVM {
				t.Errorf("%s lists %d: table has %+v", list, id, n)
			}
		}
	}
	check("testnets", true)
	check("testnet_names", true)
	check("production", false)
	check("production_names", false)
}

func TestStrongConfirmRule(t *testing.T) {
	rs, err := Parse("s.toml", []byte(`
[[rule]]
name = "ok"
when = 'true'
verdict = "approve"
reason = "fine"

[[rule]]
name = "big"
when = 'tx.amount_number > 1.0'
verdict = "approve"
reason = "big but fine"
confirm = "strong"

[[rule]]
name = "bigger"
when = 'tx.amount_number > 2.0'
verdict = "review"
reason = "bigger"
confirm = "strong"
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := rs.Rules(); r[0].Strong || !r[1].Strong {
		t.Fatalf("Rules() strong flags: %+v", r)
	}
	cases := []struct {
		amount float64
		want   string
	}{{0.5, ""}, {1.5, "big"}, {2.5, "big"}}
	for _, c := range cases {
		v := rs.Evaluate(mkInput(t, func(in *Input) { in.Tx.AmountNumber = c.amount }))
		if v.StrongConfirm != c.want {
			t.Errorf("amount %v: StrongConfirm %q, want %q", c.amount, v.StrongConfirm, c.want)
		}
	}
	// The default rules ask for it on a destination that is not whitelisted.
	if v := Default().Evaluate(mkInput(t, func(in *Input) { in.Tx.Whitelisted = false })); v.StrongConfirm != "not-whitelisted" {
		t.Fatalf("default rules: StrongConfirm %q", v.StrongConfirm)
	}
	if v := Default().Evaluate(mkInput(t, nil)); v.StrongConfirm != "" {
		t.Fatalf("default rules, whitelisted: StrongConfirm %q", v.StrongConfirm)
	}
	b, _ := json.Marshal(Verdict{Level: Review, StrongConfirm: "big"})
	if !strings.Contains(string(b), `"strong_confirm":"big"`) {
		t.Fatalf("JSON: %s", b)
	}
}

func TestBadConfirmIsPositioned(t *testing.T) {
	_, err := Parse("c.toml", []byte("[[rule]]\nname = 'x'\nwhen = 'true'\nverdict = 'review'\nreason = 'r'\nconfirm = 'loud'\n"))
	es, ok := err.(Errors)
	if !ok || len(es) != 1 || es[0].Line != 6 || !strings.Contains(es[0].Msg, `confirm must be "strong"`) {
		t.Fatalf("got %v", err)
	}
	for _, name := range []string{"payload", "message"} {
		if _, err := Parse("n.toml", []byte(name+" = 1\n[[rule]]\nname = 'x'\nwhen = 'true'\nverdict = 'review'\nreason = 'r'\n")); err == nil {
			t.Errorf("named value %q accepted", name)
		}
	}
}

// A hand-written document without the new fields reads as an ordinary
// understood action; derived fields are filled; unknown fields are errors.
func TestInputJSONDefaults(t *testing.T) {
	var in Input
	doc := `{"action":{"id":"a","type":"transaction","status":"pending","expires_in_seconds":900},
	  "tx":{"network":{"chain_id":"11155111"},"to":"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358","whitelisted":true,"asset":"ETH","decimals":18,"amount_base":"1"}}`
	if err := json.Unmarshal([]byte(doc), &in); err != nil {
		t.Fatal(err)
	}
	if !in.Payload.Understood || !in.Action.ExpiryKnown {
		t.Fatalf("defaults: %+v", in)
	}
	if err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	if in.Tx.ToValid || !strings.Contains(in.Tx.AddressProblem, "EIP-55") || in.Tx.Network.Name != "Ethereum Sepolia" || !in.Tx.Network.Testnet {
		t.Fatalf("normalized: %+v", in.Tx)
	}
	if v := Default().Evaluate(in); v.Level != Reject {
		t.Fatalf("malformed destination got %s", v.Level)
	}
	var in2 Input
	if err := json.Unmarshal([]byte(`{"payload":{"understood":false},"action":{"expiry_known":false,"expires_in_seconds":0},"decode_error":""}`), &in2); err != nil {
		t.Fatal(err)
	}
	if err := in2.Normalize(); err != nil {
		t.Fatal(err)
	}
	if in2.Payload.Understood || in2.Action.ExpiryKnown || in2.Action.ExpiresInSeconds != UnknownExpirySeconds {
		t.Fatalf("explicit values: %+v", in2)
	}
	var in3 Input
	if err := json.Unmarshal([]byte(`{"decode_error":"bad base64"}`), &in3); err != nil {
		t.Fatal(err)
	}
	if _ = in3.Normalize(); in3.Payload.Understood {
		t.Fatal("a decode error left payload.understood true")
	}
	if err := json.Unmarshal([]byte(`{"payload":{"understod":true}}`), &in3); err == nil {
		t.Fatal("unknown field accepted")
	}
}
