package ui

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/app/apptest"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
)

// Calldata of the demo scenario's contract calls.
const (
	calldataTransferFrom = "23b872dd0000000000000000000000005f1c3b9e2a7d4e8c6b0a9f3d2e1c7b4a8d6e0f210000000000000000000000009bd1a0c3e5f7b9d1c3e5f7a9b1c3d5e7f9a1b3c5000000000000000000000000000000000000000000000000000000012a05f200"
	calldataApprove      = "095ea7b30000000000000000000000001111111254eeb25477b68fb85ed929f73a960582ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	calldataUnknown      = "b6b55f250000000000000000000000000000000000000000000000000429d069189e0000"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// extrasItems are actions with a value in fiat, people and contract
// calls, as the rules side gives them (sorted by expiry as listed):
// a transferFrom to another recipient than shown, approved by Alice; an
// ETH transfer with a stale price and an unreachable threshold; an
// unlimited approve the API says nothing about people for; a BTC transfer
// without a price; an unknown function on a testnet without any value.
func extrasItems(now time.Time) []app.Item {
	eth := &client.Network{Name: "Ethereum", Family: "evm", ChainID: "1"}
	sepolia := &client.Network{Name: "Ethereum Sepolia", Family: "evm", ChainID: "11155111", Testnet: true}
	btc := &client.Network{Name: "Bitcoin", Family: "bitcoin", ChainID: "bitcoin"}
	usdc := &client.Asset{Symbol: "USDC", Decimals: 6, Contract: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}
	treasury := &client.Policy{ID: "pol-treasury", Name: "Treasury 2 of 3", Kind: "transaction", Threshold: 2, Members: []string{"a.operator", "a.alice", "a.bob"}}
	cold := &client.Policy{ID: "pol-cold", Name: "Cold storage 3 of 3", Kind: "transaction", Threshold: 3, Members: []string{"a.operator", "a.alice", "a.bob"}}
	const vault = "0x5F1C3b9E2a7D4E8C6b0a9F3d2e1C7B4a8d6E0F21"
	mk := func(id string, expires time.Duration, pol *client.Policy, approvals int, by []client.Approver, tx *client.Transaction) *client.Action {
		return &client.Action{ID: id, Type: client.TypeTransaction, Status: client.StatusPending, Created: now.Add(-time.Hour),
			Expires: now.Add(expires), Messages: [][]byte{[]byte("\x08\x01\x12\x20sample-" + id)},
			Payload: &client.Payload{PolicyName: pol.Name, Policy: pol, Approvals: approvals, ApprovedBy: by, Transaction: tx},
			Detail:  &client.ActionDetail{Description: tx.Note}}
	}
	alice := client.Approver{ID: "a.alice", Name: "Alice Moreau (Risk)", At: now.Add(-2 * time.Minute)}
	transferFrom := mk("2TfKx9", 45*time.Minute, treasury, 1, []client.Approver{alice}, &client.Transaction{
		Network: eth, WalletID: "wal-eth-treasury", From: vault, To: "0x8a2E4C6b1d3f5A7c9e0B2D4F6A8C1e3b5d7f9a02",
		ToName: "Exchange deposit (Kraken)", Whitelisted: true, Asset: usdc, Amount: "5000000000",
		Note: "Exchange top-up via allowance", Data: mustHex(calldataTransferFrom)})
	stale := mk("2StEth", 50*time.Minute, cold, 0, []client.Approver{}, &client.Transaction{
		Network: eth, WalletID: "wal-eth-treasury", From: vault, To: "0xdeaD00C0fFee1234567890AbCdeF0123456789AB",
		Asset: &client.Asset{Symbol: "ETH", Decimals: 18}, Amount: "12500000000000000000", Note: "Urgent vendor payment"})
	approve := mk("2ApUnl", 4*time.Hour, treasury, 1, nil, &client.Transaction{
		Network: eth, WalletID: "wal-eth-treasury", From: vault, To: "0x1111111254EEB25477B68fb85Ed929f73A960582",
		Asset: usdc, Amount: "0", Note: "Allow the DEX router to spend USDC", Data: mustHex(calldataApprove)})
	noPrice := mk("2BtcNp", 5*time.Hour, cold, 2, []client.Approver{alice, {ID: "a.bob", Name: "Bob Okafor (Finance)", At: now.Add(-26 * time.Hour)}}, &client.Transaction{
		Network: btc, WalletID: "wal-btc-cold", From: "bc1qp6nvzyx9gn38myz9nkl9yye0c5pqyn52m3wf89", To: "bc1q97jsjh3u0jdk97sds5zs7v4vdq6uqyv3x4kncv",
		Whitelisted: true, ToName: "Custody partner", Asset: &client.Asset{Symbol: "BTC", Decimals: 8}, Amount: "4200000000"})
	unknown := mk("2UnkSel", 6*time.Hour, treasury, 0, []client.Approver{}, &client.Transaction{
		Network: sepolia, WalletID: "wal-eth-sepolia", From: vault, To: "0x2C4e6a8b0D1f3A5C7e9b2D4f6A8C0e1b3D5f7a65",
		Whitelisted: true, ToName: "QA faucet", Asset: &client.Asset{Symbol: "ETH", Decimals: 18}, Amount: "0", Data: mustHex(calldataUnknown)})

	call := func(data string) *governance.Call { c := governance.DecodeCall(mustHex(data)); return &c }
	desk := "desk table"
	return []app.Item{
		{Action: transferFrom, Verdict: app.Verdict{Level: app.VerdictReview, Call: call(calldataTransferFrom),
			Rules: []app.RuleHit{{Name: "call-recipient", Verdict: app.VerdictReview, Reason: "the call's recipient is not the destination"}},
			Value: &app.Value{Amount: "5000.00", Currency: "USD", Asset: "USDC", Price: "1.00", Source: desk, AsOf: now.Add(-3 * time.Hour)}}},
		{Action: stale, Verdict: app.Verdict{Level: app.VerdictReview,
			Rules:    []app.RuleHit{{Name: "stale-price", Verdict: app.VerdictReview, Reason: "the ETH price is older than 24 h"}},
			Warnings: []string{governance.WarnUnreachable + ": 3 more approvals needed, 2 of 3 members left to decide"},
			Value:    &app.Value{Amount: "42212.50", Currency: "USD", Asset: "ETH", Price: "3377.00", Source: desk, AsOf: now.Add(-50 * time.Hour), Stale: true, Problem: "stale"}}},
		{Action: approve, Verdict: app.Verdict{Level: app.VerdictReject, Call: call(calldataApprove),
			Rules: []app.RuleHit{{Name: "unlimited-approve", Verdict: app.VerdictReject, Reason: "an unlimited allowance"}},
			Value: &app.Value{Amount: "0.00", Currency: "USD", Asset: "USDC", Price: "1.00", Source: desk, AsOf: now.Add(-3 * time.Hour)}}},
		{Action: noPrice, Verdict: app.Verdict{Level: app.VerdictReview,
			Rules: []app.RuleHit{{Name: "no-price", Verdict: app.VerdictReview, Reason: "no price for BTC"}},
			Value: &app.Value{Currency: "USD", Asset: "BTC", Problem: "no price for BTC in desk table"}}},
		{Action: unknown, Verdict: app.Verdict{Level: app.VerdictReview, Call: call(calldataUnknown),
			Rules: []app.RuleHit{{Name: "unknown-call", Verdict: app.VerdictReview, Reason: "an unknown function"}}}},
	}
}

func TestValueText(t *testing.T) {
	now := base
	for _, c := range []struct {
		v          *app.Value
		long, cell string
	}{
		{nil, "", "           —"},
		{&app.Value{Amount: "12340.00", Currency: "USD", Source: "desk table", AsOf: now.Add(-3 * time.Hour)},
			"≈ 12,340.00 USD (desk table, 3 h old)", " ≈12,340 USD"},
		{&app.Value{Amount: "1234567890.00", Currency: "EUR", Source: "http https://prices.example/v1", Age: 90 * time.Second},
			"≈ 1,234,567,890.00 EUR (http https://prices.example/v1, 1 min old)", "   ≈1.2B EUR"},
		{&app.Value{Amount: "99.5", Currency: "USD", Source: "t", AsOf: now.Add(-50 * time.Hour), Stale: true},
			"stale price (2 d old, t): ≈ 99.5 USD", "   stale 2 d"},
		{&app.Value{Currency: "USD", Problem: "no price for BTC"}, "no price: no price for BTC", "    no price"},
		{&app.Value{Amount: "10.00", Currency: "USD", Source: "t", Problem: "the price for X has no as-of time"},
			"≈ 10.00 USD (t): the price for X has no as-of time", "   bad price"},
		{&app.Value{Amount: "1\x1b[2J", Currency: "US\u202eD", Source: "desk\x07", AsOf: now},
			`≈ 1\x1b[2J US\u202eD (desk\x07, 0 s old)`, ""},
	} {
		if got := valueText(c.v, now); got != c.long {
			t.Errorf("valueText = %q, want %q", got, c.long)
		}
		if c.cell == "" {
			continue
		}
		if got := valueCell(c.v, now, 12); got != c.cell {
			t.Errorf("valueCell = %q, want %q", got, c.cell)
		}
	}
}

func TestMoney(t *testing.T) {
	for in, want := range map[string]string{"0.00": "0.00", "999": "999", "1000": "1,000", "1234567.5": "1,234,567.5", "-4200.10": "-4,200.10", "1.2.3": "1.2.3", "": ""} {
		if got := money(in); got != want {
			t.Errorf("money(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"999": "999", "1234": "1.2k", "12345": "12.3k", "123456": "123k", "1234567": "1.2M", "9000000000000000": "9000T"} {
		if got := shortMoney(in); got != want {
			t.Errorf("shortMoney(%q) = %q, want %q", in, got, want)
		}
	}
}

// detailText renders the detail pane of an item at a width, unstyled.
func detailText(t *testing.T, it app.Item, w int) string {
	t.Helper()
	f := newFixture(t, []app.Item{it}, true)
	f.send(tea.WindowSizeMsg{Width: w, Height: 400}) // narrow layout: the detail under the list, full width
	return f.screen()
}

func TestDetailShowsValuePeopleAndCall(t *testing.T) {
	its := extrasItems(base)
	for _, c := range []struct {
		it        app.Item
		want, not []string
	}{
		{its[0], []string{"Value      ≈ 5,000.00 USD (desk table, 3 h old)", "Contract call (100 bytes of calldata)",
			"Function   transferFrom · ERC-20 · 0x23b872dd", "Recipient  0x9bd1a0c3e5f7b9d1c3e5f7a9b1c3d5e7f9a1b3c5",
			"Amount     5000 USDC (5000000000 base units)", "NOT to the destination shown",
			"Approved by", "• Alice Moreau (Risk) · a.alice — 2026-11-24 11:58:00Z, 2 min ago"}, []string{"not provided by the API"}},
		{its[1], []string{"stale price (2 d old, desk table): ≈ 42,212.50 USD", "Approved by nobody yet",
			"⚠ the remaining members can no longer reach the threshold: 3 more approvals needed"}, []string{"Contract call"}},
		{its[2], []string{"Function   approve · ERC-20", "Spender    0x1111111254eeb25477b68fb85ed929f73a960582",
			"Amount     UNLIMITED (1157920892373161954235709850086879078532699846656405640394575840079131296399", "Approved by not provided by the API"}, []string{"NOT to the destination"}},
		{its[3], []string{"no price: no price for BTC in desk table", "Bob Okafor (Finance) · a.bob — 2026-11-23 10:00:00Z, 26 h ago"}, nil},
		{its[4], []string{"unknown function 0xb6b55f25: qapprove cannot say what this call does"}, []string{"Value ", "Function"}},
	} {
		got := detailText(t, c.it, 140)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: detail lacks %q:\n%s", c.it.Action.ID, w, got)
			}
		}
		for _, w := range c.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: detail shows %q", c.it.Action.ID, w)
			}
		}
	}
}

// The warning that the threshold cannot be reached is shown once, with
// the people, not again among the verdict's warnings.
func TestUnreachableShownOnce(t *testing.T) {
	got := detailText(t, extrasItems(base)[1], 140)
	if n := strings.Count(got, governance.WarnUnreachable); n != 1 {
		t.Fatalf("the unreachable warning appears %d times:\n%s", n, got)
	}
}

// Names, IDs and calldata-derived text from the network are escaped.
func TestHostilePeopleEscaped(t *testing.T) {
	it := extrasItems(base)[0]
	a := *it.Action
	p := *a.Payload
	p.ApprovedBy = []client.Approver{{ID: "a.\x1b]52;c;bWFsbG9yeQ==\x07", Name: "Mallory\u202e\u200b\x1b[2J", At: base}}
	a.Payload = &p
	it.Action = &a
	got := detailText(t, it, 140)
	if strings.ContainsAny(got, "\x07\u202e\u200b") || strings.Contains(got, "\x1b]") || strings.Contains(got, "\x1b[2J") {
		t.Fatalf("hostile approver reached the screen: %q", got)
	}
	if !strings.Contains(got, `Mallory\u202e\u200b\x1b[2J`) {
		t.Fatalf("hostile approver not shown escaped:\n%s", got)
	}
}

// The list gains a value column only when some action has a value, and a
// row's value sits under its header.
func TestListValueColumn(t *testing.T) {
	f := newFixture(t, extrasItems(base), true)
	out := f.screen()
	for _, w := range []string{"value", "≈5,000 USD", "stale 2 d", "no price", "≈0 USD"} {
		if !strings.Contains(out, w) {
			t.Errorf("list lacks %q:\n%s", w, out)
		}
	}
	var head, first string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "verdict") && head == "" {
			head = l
		}
		if strings.Contains(l, "≈5,000 USD") && first == "" {
			first = l
		}
	}
	if hv, rv := strings.Index(head, "value")+len("value"), strings.Index(first, "≈5,000 USD")+len("≈5,000 USD"); ansi.StringWidth(head[:hv]) != ansi.StringWidth(first[:rv]) {
		t.Errorf("value column misaligned:\n%s\n%s", head, first)
	}
	plain := newFixture(t, apptest.SampleItems(3, base), true)
	if out := plain.screen(); strings.Contains(out, " value ") {
		t.Errorf("a list without values has a value column:\n%s", out)
	}
}

// The confirmation dialog repeats the value and the call.
func TestConfirmShowsValueAndCall(t *testing.T) {
	for i, want := range map[int][]string{
		0: {"Value    ≈ 5,000.00 USD (desk table, 3 h old)", "Call     transferFrom 5000 USDC to", "(NOT the"},
		2: {"Call     approve: UNLIMITED allowance to"},
		3: {"Value    no price: no price for BTC in desk table"},
		4: {"Call     unknown function 0xb6b55f25"},
	} {
		its := extrasItems(base)
		f := newFixture(t, []app.Item{its[i]}, true)
		f.key("a")
		out := f.screen()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("item %d: dialog lacks %q:\n%s", i, w, out)
			}
		}
	}
}
