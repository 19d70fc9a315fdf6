package governance

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Well-formed addresses (EIP-55 examples).
const (
	testFrom = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	testTo   = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
)

// mkInput is a pending, whitelisted 1.5 ETH transfer on Sepolia under a
// 2-of-3 policy that expires in an hour, its payload understood; change
// lets a case adjust it.
func mkInput(t testing.TB, change func(*Input)) Input {
	t.Helper()
	tx, err := NewTx(NewNetwork("Ethereum Sepolia", "11155111", true), testFrom, testTo, true, "ETH", 18, "1500000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	in := Input{
		Action: Action{ID: "a1", Type: TypeTransaction, Status: StatusPending, Created: testNow.Add(-time.Minute),
			ExpiresInSeconds: 3600, ExpiryKnown: true,
			Policy: Policy{Name: "treasury", Threshold: 2, Approvals: 0, Members: []string{"k1", "k2", "k3"}}},
		Tx: tx, Now: testNow, Payload: Payload{Understood: true},
	}
	if change != nil {
		change(&in)
	}
	return in
}

func ruleNames(v Verdict) []string {
	var out []string
	for _, m := range v.Matched {
		out = append(out, m.Rule)
	}
	return out
}

func TestDefaultRules(t *testing.T) {
	rs := Default()
	setNet := func(name, id string, testnet bool) func(*Input) {
		return func(in *Input) { in.Tx.Network = NewNetwork(name, id, testnet) }
	}
	cases := []struct {
		name   string
		change func(*Input)
		level  Level
		rules  []string
	}{
		{"whitelisted Sepolia transfer", nil, Approve, []string{"testnet-whitelisted"}},
		{"whitelisted Amoy transfer", setNet("Polygon Amoy", "80002", true), Approve, []string{"testnet-whitelisted"}},
		{"whitelisted Bitcoin testnet", func(in *Input) {
			in.Tx.Network = NewNetwork("Bitcoin testnet", "bitcoin-testnet", true)
			in.Tx.Asset, in.Tx.AmountNumber = "BTC", 0.1
		}, Approve, []string{"testnet-whitelisted"}},
		{"Ethereum mainnet", setNet("Ethereum", "1", false), Reject, []string{"production-network"}},
		{"Polygon mainnet even if flagged testnet", setNet("Polygon", "137", true), Reject, []string{"production-network"}},
		{"Bitcoin mainnet", setNet("Bitcoin", "bitcoin", false), Reject, []string{"production-network"}},
		{"unknown network", setNet("Mystery", "424242", true), Review, []string{"unknown-network"}},
		{"testnet flag disagrees", setNet("Sepolia", "11155111", false), Review, []string{"testnet-flag-mismatch"}},
		{"not whitelisted on a testnet", func(in *Input) { in.Tx.Whitelisted = false }, Review, []string{"not-whitelisted"}},
		{"amount above the asset limit", func(in *Input) { in.Tx.AmountNumber = 10.5 }, Review, []string{"testnet-whitelisted", "amount-above-limit"}},
		{"amount at the asset limit", func(in *Input) { in.Tx.AmountNumber = 10 }, Approve, []string{"testnet-whitelisted"}},
		{"unlisted asset above the general limit", func(in *Input) { in.Tx.Asset, in.Tx.AmountNumber = "LINK", 10001 }, Review, []string{"testnet-whitelisted", "amount-above-limit"}},
		{"unlisted asset under the general limit", func(in *Input) { in.Tx.Asset, in.Tx.AmountNumber = "LINK", 9999 }, Approve, []string{"testnet-whitelisted"}},
		{"expires soon", func(in *Input) { in.Action.ExpiresInSeconds = 120 }, Review, []string{"testnet-whitelisted", "expiring-soon"}},
		{"already expired", func(in *Input) { in.Action.ExpiresInSeconds = -5 }, Review, []string{"testnet-whitelisted", "expiring-soon"}},
		{"not pending", func(in *Input) { in.Action.Status = StatusApproved }, Review, []string{"testnet-whitelisted", "not-pending"}},
		{"key update", func(in *Input) { in.Action.Type, in.Tx = TypeKeyUpdate, Tx{} }, Review, []string{"key-update"}},
		{"unknown action type", func(in *Input) { in.Action.Type, in.Tx = TypeUnknown, Tx{} }, Review, []string{"unknown-action-type"}},
		{"mainnet and not whitelisted: reject wins", func(in *Input) {
			in.Tx.Network, in.Tx.Whitelisted = NewNetwork("Ethereum", "1", false), false
		}, Reject, []string{"production-network", "not-whitelisted"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := rs.Evaluate(mkInput(t, c.change))
			if v.Level != c.level || !slices.Equal(ruleNames(v), c.rules) {
				t.Fatalf("got %s %v, want %s %v", v.Level, ruleNames(v), c.level, c.rules)
			}
			if v.Default {
				t.Fatal("Default set although rules matched")
			}
			for _, m := range v.Matched {
				if m.Reason == "" {
					t.Errorf("rule %s matched without a reason", m.Rule)
				}
			}
		})
	}
}

func TestAllowedProductionIsReviewed(t *testing.T) {
	src := strings.Replace(string(mustDefaultText(t)), "allowed_production = []", "allowed_production = [1]", 1)
	rs, err := Parse("custom.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	v := rs.Evaluate(mkInput(t, func(in *Input) { in.Tx.Network = NewNetwork("Ethereum", "1", false) }))
	if v.Level != Review || slices.Contains(ruleNames(v), "production-network") {
		t.Fatalf("allowed production network: got %s %v, want review without production-network", v.Level, ruleNames(v))
	}
}

const precedenceRules = `
[[rule]]
name = "a"
when = 'tx.asset == "A" || tx.asset == "AR" || tx.asset == "ARJ"'
verdict = "approve"
reason = "approve A"

[[rule]]
name = "r"
when = 'tx.asset == "AR" || tx.asset == "ARJ" || tx.asset == "R"'
verdict = "review"
reason = "review R"

[[rule]]
name = "j"
when = 'tx.asset == "ARJ" || tx.asset == "J"'
verdict = "reject"
reason = "reject J"
`

func TestPrecedenceAndNoMatch(t *testing.T) {
	rs, err := Parse("p.toml", []byte(precedenceRules))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		asset string
		level Level
		rules []string
		def   bool
	}{
		{"A", Approve, []string{"a"}, false},
		{"AR", Review, []string{"a", "r"}, false},
		{"ARJ", Reject, []string{"a", "r", "j"}, false},
		{"J", Reject, []string{"j"}, false},
		{"R", Review, []string{"r"}, false},
		{"none", Review, nil, true},
	}
	for _, c := range cases {
		v := rs.Evaluate(mkInput(t, func(in *Input) { in.Tx.Asset = c.asset }))
		if v.Level != c.level || !slices.Equal(ruleNames(v), c.rules) || v.Default != c.def {
			t.Errorf("%s: got %s %v default=%v, want %s %v default=%v", c.asset, v.Level, ruleNames(v), v.Default, c.level, c.rules, c.def)
		}
	}
}

func TestUndecodablePayloadNeverApproved(t *testing.T) {
	rs, err := Parse("all.toml", []byte(`
[[rule]]
name = "approve-everything"
when = 'true'
verdict = "approve"
reason = "yes"
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []*RuleSet{rs, Default()} {
		in := mkInput(t, func(in *Input) { in.DecodeError = "invalid base64"; in.Tx = Tx{} })
		v := set.Evaluate(in)
		if v.Level == Approve || v.Level < Review {
			t.Fatalf("%s: undecodable payload got %s", set.Name(), v.Level)
		}
		if len(v.Matched) == 0 || v.Matched[0].Rule != "payload" || !strings.Contains(v.Matched[0].Reason, "invalid base64") {
			t.Fatalf("%s: reason missing: %+v", set.Name(), v.Matched)
		}
	}
}

func TestDecodeErrorVisibleToRules(t *testing.T) {
	rs, err := Parse("d.toml", []byte("[[rule]]\nname='x'\nwhen='decode_error.contains(\"evil\")'\nverdict='reject'\nreason='evil'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := rs.Evaluate(mkInput(t, func(in *Input) { in.DecodeError = "evil bytes" })); v.Level != Reject {
		t.Fatalf("got %s, want reject", v.Level)
	}
}

func TestHygieneWarnings(t *testing.T) {
	cases := []struct {
		threshold, members int
		want               []string
	}{
		{1, 1, []string{Warn1of1}},
		{2, 2, []string{WarnNofN}},
		{5, 5, []string{WarnNofN}},
		{2, 3, nil},
		{1, 3, nil},
		{0, 0, nil},
	}
	for _, c := range cases {
		if got := HygieneWarnings(c.threshold, c.members); !slices.Equal(got, c.want) {
			t.Errorf("HygieneWarnings(%d, %d) = %v, want %v", c.threshold, c.members, got, c.want)
		}
	}
	v := Default().Evaluate(mkInput(t, func(in *Input) { in.Action.Policy.Threshold, in.Action.Policy.Members = 1, []string{"solo"} }))
	if !slices.Contains(v.Warnings, Warn1of1) || v.Level != Approve {
		t.Fatalf("1-of-1 on the action: got %s %v", v.Level, v.Warnings)
	}
}

func TestEvaluationFailuresBecomeReview(t *testing.T) {
	src := `
limits = { ETH = 1.0 }
[[rule]]
name = "missing-key"
when = 'limits[tx.asset] > 0.0'
verdict = "approve"
reason = "has a limit"

[[rule]]
name = "expensive"
when = 'action.policy.members.all(a, action.policy.members.all(b, action.policy.members.all(c, a + b + c != "")))'
verdict = "approve"
reason = "never finishes"
`
	rs, err := Parse("bad.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs.timeout = time.Minute // the cost limit, not the deadline, must stop it
	members := make([]string, 1000)
	for i := range members {
		members[i] = "member"
	}
	v := rs.Evaluate(mkInput(t, func(in *Input) { in.Tx.Asset = "BTC"; in.Action.Policy.Members = members }))
	if v.Level != Review || !slices.Equal(ruleNames(v), []string{"missing-key", "expensive"}) || len(v.Warnings) != 2 {
		t.Fatalf("got %s %v warnings %v", v.Level, ruleNames(v), v.Warnings)
	}
	if !strings.Contains(v.Warnings[0], "no such key") || !strings.Contains(v.Warnings[1], "cost limit") {
		t.Fatalf("warnings do not say why: %v", v.Warnings)
	}
}

func TestTimeoutBecomesReview(t *testing.T) {
	rs, err := Parse("slow.toml", []byte("[[rule]]\nname='loop'\nwhen='action.policy.members.exists(m, m == \"zz\")'\nverdict='approve'\nreason='x'\n"))
	if err != nil {
		t.Fatal(err)
	}
	rs.timeout = -time.Second // already past: the first interrupt check stops it
	members := make([]string, 500)
	v := rs.Evaluate(mkInput(t, func(in *Input) { in.Action.Policy.Members = members }))
	if v.Level != Review || len(v.Warnings) == 0 || !strings.Contains(v.Warnings[len(v.Warnings)-1], "deadline") {
		t.Fatalf("got %s %v", v.Level, v.Warnings)
	}
}

func TestOversizedInputIsReviewed(t *testing.T) {
	v := Default().Evaluate(mkInput(t, func(in *Input) { in.Action.Policy.Name = strings.Repeat("x", MaxInputString+1) }))
	if v.Level != Review || len(v.Matched) != 1 || v.Matched[0].Rule != "input" {
		t.Fatalf("got %s %+v", v.Level, v.Matched)
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	rs := Default()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				in := mkInput(t, func(in *Input) { in.Tx.Whitelisted = (i+g)%2 == 0 })
				want := Approve
				if !in.Tx.Whitelisted {
					want = Review
				}
				if v := rs.Evaluate(in); v.Level != want {
					t.Errorf("got %s, want %s", v.Level, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestWholeUnits(t *testing.T) {
	cases := []struct {
		base string
		dec  int
		want string
		num  float64
		ok   bool
	}{
		{"1500000000000000000", 18, "1.5", 1.5, true},
		{"1", 18, "0.000000000000000001", 1e-18, true},
		{"0", 6, "0", 0, true},
		{"000120", 2, "1.2", 1.2, true},
		{"42", 0, "42", 42, true},
		{"-1", 0, "", 0, false},
		{"1.5", 0, "", 0, false},
		{"", 0, "", 0, false},
		{"12", -1, "", 0, false},
		{"12", 78, "", 0, false},
		{strings.Repeat("9", 97), 0, "", 0, false},
	}
	for _, c := range cases {
		got, num, err := WholeUnits(c.base, c.dec)
		if (err == nil) != c.ok || got != c.want || num != c.num {
			t.Errorf("WholeUnits(%q, %d) = %q, %v, %v; want %q, %v, ok=%v", c.base, c.dec, got, num, err, c.want, c.num, c.ok)
		}
	}
}

func TestNormalizeAndNetwork(t *testing.T) {
	if n := NewNetwork("x", "bitcoin", false); n.ChainIDInt != 0 {
		t.Errorf("bitcoin chain_id_int = %d", n.ChainIDInt)
	}
	if n := NewNetwork("x", "80002", true); n.ChainIDInt != 80002 {
		t.Errorf("80002 chain_id_int = %d", n.ChainIDInt)
	}
	in := Input{Tx: Tx{Network: Network{ChainID: "137"}, AmountBase: "2500000", Decimals: 6}}
	if err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	if in.Tx.Network.ChainIDInt != 137 || in.Tx.Amount != "2.5" || in.Tx.AmountNumber != 2.5 {
		t.Fatalf("normalized to %+v", in.Tx)
	}
	bad := Input{Tx: Tx{AmountBase: "12x"}}
	if err := bad.Normalize(); err == nil {
		t.Fatal("bad amount_base accepted")
	}
	bad = Input{Tx: Tx{Amount: "lots"}}
	if err := bad.Normalize(); err == nil {
		t.Fatal("bad amount accepted")
	}
}

func TestLevelText(t *testing.T) {
	for _, l := range []Level{Approve, Review, Reject} {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var back Level
		if err := json.Unmarshal(b, &back); err != nil || back != l {
			t.Fatalf("%s round trip: %s -> %v (%v)", l, b, back, err)
		}
	}
	if _, err := json.Marshal(Level(0)); err == nil {
		t.Fatal("zero level marshalled")
	}
	var l Level
	if err := json.Unmarshal([]byte(`"allow"`), &l); err == nil {
		t.Fatal("allow accepted")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadFile(dir + "/missing.toml"); err == nil {
		t.Fatal("missing file loaded")
	}
	big := dir + "/big.toml"
	if err := writeFile(big, strings.Repeat("#", MaxRulesFileSize+1)); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(big)
	var es Errors
	if !errors.As(err, &es) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
	ok := dir + "/ok.toml"
	if err := writeFile(ok, precedenceRules); err != nil {
		t.Fatal(err)
	}
	rs, err := LoadFile(ok)
	if err != nil || rs.Len() != 3 || rs.Rules()[2].Verdict != Reject {
		t.Fatalf("LoadFile: %v %v", rs, err)
	}
}
