package app

import (
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
)

var vNow = time.Unix(1_800_000_000, 0)

const (
	goodFrom = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	goodTo   = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
)

// transfer is a pending, understood, whitelisted transfer of amount base
// units of asset on chain (named, with its testnet claim) that expires in
// an hour.
func transfer(chain string, testnet bool, symbol string, decimals int, amount string) *client.Action {
	return &client.Action{
		ID: "a1", Type: client.TypeTransaction, Status: client.StatusPending,
		Created: vNow.Add(-time.Minute), Expires: vNow.Add(time.Hour),
		Payload: &client.Payload{
			PolicyName: "treasury",
			Policy:     &client.Policy{Name: "treasury", Threshold: 2, Members: []string{"k1", "k2", "k3"}},
			Transaction: &client.Transaction{
				Network: &client.Network{Name: "net " + chain, ChainID: chain, Testnet: testnet},
				From:    goodFrom, To: goodTo, Whitelisted: true,
				Asset:  &client.Asset{Symbol: symbol, Decimals: decimals},
				Amount: amount,
			},
		},
	}
}

func sepoliaETH(amount string) *client.Action { return transfer("11155111", true, "ETH", 18, amount) }

func hasRule(gv governance.Verdict, rule string) (governance.Match, bool) {
	for _, m := range gv.Matched {
		if m.Rule == rule {
			return m, true
		}
	}
	return governance.Match{}, false
}

func TestGovernanceInputUnderstood(t *testing.T) {
	a := sepoliaETH("1500000000000000000")
	in := GovernanceInput(a, vNow)
	if !in.Payload.Understood || in.Payload.Problem != "" || !in.Action.ExpiryKnown || in.Action.ExpiresInSeconds != 3600 {
		t.Fatalf("input: %+v", in)
	}
	if !in.Tx.ToValid || !in.Tx.FromValid || in.Tx.Network.Family != governance.FamilyEVM || in.Message.Bound || in.Message.Mismatch {
		t.Fatalf("tx/message: %+v %+v", in.Tx, in.Message)
	}
	if gv := Evaluate(governance.Default(), a, vNow); gv.Level != governance.Approve {
		t.Fatalf("got %s", gv.Summary())
	}
}

// The swagger-shaped payload: only policyName and a numeric chainID, no
// expiry. The network is named from the chain ID, the expiry is unknown
// but not expired, and the verdict is review, never approve.
func TestGovernanceInputPartialPayload(t *testing.T) {
	a := &client.Action{
		ID: "a2", Type: client.TypeTransaction, Status: client.StatusPending,
		Payload: &client.Payload{PolicyName: "treasury",
			Transaction: &client.Transaction{Network: &client.Network{ChainID: "11155111"}}},
	}
	in := GovernanceInput(a, vNow)
	if in.Payload.Understood || !strings.Contains(in.Payload.Problem, "destination address, asset, amount") {
		t.Fatalf("payload: %+v", in.Payload)
	}
	if in.Tx.Network.Name != "Ethereum Sepolia" || !in.Tx.Network.Testnet || in.Action.Policy.Name != "treasury" {
		t.Fatalf("network/policy: %+v %+v", in.Tx.Network, in.Action.Policy)
	}
	if in.Action.ExpiryKnown || in.Action.ExpiresInSeconds != governance.UnknownExpirySeconds || in.DecodeError != "" {
		t.Fatalf("expiry: %+v", in.Action)
	}
	gv := Evaluate(governance.Default(), a, vNow)
	if gv.Level != governance.Review {
		t.Fatalf("got %s", gv.Summary())
	}
	if _, ok := hasRule(gv, "expiring-soon"); ok {
		t.Fatal("an unknown expiry was treated as expiring")
	}
	if m, ok := hasRule(gv, governance.BuiltinPayload); !ok || !strings.Contains(m.Reason, "not understood") {
		t.Fatalf("no payload match: %+v", gv.Matched)
	}
	// Even a desk file that approves everything does not approve it.
	rs, err := governance.Parse("all.toml", []byte("[[rule]]\nname='y'\nwhen='true'\nverdict='approve'\nreason='y'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if gv := Evaluate(rs, a, vNow); gv.Level == governance.Approve {
		t.Fatal("payload not understood approved by a desk rule")
	}
	// A client that read the payload only in part says so in PayloadErr.
	b := sepoliaETH("1")
	b.Detail = &client.ActionDetail{PayloadErr: "unknown field layout"}
	if in := GovernanceInput(b, vNow); in.Payload.Understood || in.Payload.Problem != "unknown field layout" {
		t.Fatalf("partial read: %+v", in.Payload)
	}
	// An unreadable amount is named.
	c := sepoliaETH("12x")
	if in := GovernanceInput(c, vNow); in.Payload.Understood || !strings.Contains(in.Payload.Problem, "amount cannot be read") || in.Tx.To != goodTo {
		t.Fatalf("bad amount: %+v %+v", in.Payload, in.Tx)
	}
	// A key update without key details is not understood.
	k := &client.Action{ID: "k", Type: client.TypeAPIKeyUpdate, Status: client.StatusPending, Expires: vNow.Add(time.Hour), Payload: &client.Payload{}}
	if in := GovernanceInput(k, vNow); in.Payload.Understood || !in.Tx.ToValid {
		t.Fatalf("key update: %+v", in)
	}
}

func TestBindingReachesTheRules(t *testing.T) {
	a := sepoliaETH("1")
	a.Binding = client.BindingBound
	if in := GovernanceInput(a, vNow); !in.Message.Bound || in.Message.Mismatch {
		t.Fatalf("bound: %+v", in.Message)
	}
	a.Binding = client.BindingMismatch
	gv := Evaluate(governance.Default(), a, vNow)
	if m, ok := hasRule(gv, governance.BuiltinMessage); gv.Level != governance.Reject || !ok || m.Verdict != governance.Reject {
		t.Fatalf("mismatch got %s", gv.Summary())
	}
}

func TestMalformedDestinationIsRejected(t *testing.T) {
	a := sepoliaETH("1")
	a.Payload.Transaction.To = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358"
	gv := Evaluate(governance.Default(), a, vNow)
	m, ok := hasRule(gv, governance.BuiltinAddress)
	if gv.Level != governance.Reject || !ok || !strings.Contains(m.Reason, a.Payload.Transaction.To) || !strings.Contains(m.Reason, "EIP-55") {
		t.Fatalf("got %s", gv.Summary())
	}
	// Bitcoin through the payload's family on an unlisted chain.
	b := transfer("bitcoin-mutinynet", true, "BTC", 8, "1000")
	b.Payload.Transaction.Network.Family = "bitcoin"
	b.Payload.Transaction.From, b.Payload.Transaction.To = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"
	if in := GovernanceInput(b, vNow); in.Tx.ToValid || !in.Tx.FromValid || in.Tx.Network.Family != "bitcoin" {
		t.Fatalf("bitcoin: %+v", in.Tx)
	}
}

func TestStrongConfirmWhy(t *testing.T) {
	above := map[string]string{"ETH": "10", "usdc": "50000.5"}
	notWL := func(a *client.Action) *client.Action { a.Payload.Transaction.Whitelisted = false; return a }
	cases := []struct {
		name string
		a    *client.Action
		want string
	}{
		{"small testnet transfer", sepoliaETH("1500000000000000000"), ""},
		{"exactly at the limit", sepoliaETH("10000000000000000000"), ""},
		{"one base unit above the limit", sepoliaETH("10000000000000000001"), "amount above 10 ETH"},
		{"USDC above a fractional limit, symbol in another case", transfer("11155111", true, "USDC", 6, "50000500001"), "amount above 50000.5 usdc"},
		{"USDC at a fractional limit", transfer("11155111", true, "USDC", 6, "50000500000"), ""},
		{"asset without a limit", transfer("11155111", true, "LINK", 18, "99999999999999999999999"), ""},
		{"mainnet", transfer("1", false, "ETH", 18, "1"), "mainnet"},
		{"production chain claimed testnet", transfer("137", true, "POL", 18, "1"), "mainnet"},
		{"unknown chain claimed production", transfer("424242", false, "ETH", 18, "1"), "mainnet"},
		{"mainnet and above the limit", transfer("1", false, "ETH", 18, "11000000000000000000"), "mainnet; amount above 10 ETH"},
		{"a rule asks for it", notWL(sepoliaETH("1")), "rule not-whitelisted"},
		{"everything", notWL(transfer("1", false, "ETH", 18, "11000000000000000000")), "mainnet; amount above 10 ETH; rule not-whitelisted"},
		{"unreadable amount", sepoliaETH("lots"), "amount unreadable"},
	}
	for _, c := range cases {
		gv := Evaluate(governance.Default(), c.a, vNow)
		if got := StrongConfirmWhy(gv, c.a, above); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// No network in the payload: said so; no payload: only the rules speak.
	a := sepoliaETH("1")
	a.Payload.Transaction.Network = nil
	if got := StrongConfirmWhy(governance.Verdict{}, a, nil); got != "network unknown" {
		t.Errorf("no network: %q", got)
	}
	if got := StrongConfirmWhy(governance.Verdict{StrongConfirm: "r"}, &client.Action{}, above); got != "rule r" {
		t.Errorf("no payload: %q", got)
	}
	if got := StrongConfirmWhy(governance.Verdict{}, sepoliaETH("1"), map[string]string{"ETH": "ten"}); !strings.Contains(got, "not a decimal number") {
		t.Errorf("bad limit: %q", got)
	}
}

func TestUIVerdictAndKeyCarryStrongConfirm(t *testing.T) {
	a := sepoliaETH("1")
	a.Payload.Transaction.Whitelisted = false
	gv := Evaluate(governance.Default(), a, vNow)
	if v := UIVerdict(gv); v.StrongConfirm != "rule not-whitelisted" || v.Level != "review" {
		t.Fatalf("UIVerdict: %+v", v)
	}
	if v := UIVerdict(Evaluate(governance.Default(), sepoliaETH("1"), vNow)); v.StrongConfirm != "" {
		t.Fatalf("UIVerdict without a strong rule: %q", v.StrongConfirm)
	}
	ok := Evaluate(governance.Default(), sepoliaETH("1"), vNow)
	again := Evaluate(governance.Default(), sepoliaETH("1"), vNow)
	if VerdictKey(ok, "") == VerdictKey(ok, "mainnet") || VerdictKey(ok, "mainnet") != VerdictKey(again, "mainnet") {
		t.Fatal("VerdictKey does not follow StrongConfirm")
	}
	if VerdictKey(ok, "") == VerdictKey(gv, "") {
		t.Fatal("VerdictKey does not follow the matches")
	}
}
