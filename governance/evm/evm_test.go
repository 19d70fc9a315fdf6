package evm

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func word(h string) string { return strings.Repeat("0", 64-len(h)) + h }

func decodeHex(t *testing.T, s string) (Call, error) {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return Decode(b)
}

const (
	alice = "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	bob   = "fb6916095ca1df60bb79ce92ce3ea74c37c5d359"
)

func TestDecodeKnownCalls(t *testing.T) {
	maxWord := strings.Repeat("f", 64)
	cases := []struct {
		hex  string
		want Call
	}{
		{SelTransfer + word(bob) + word("de0b6b3a7640000"), Call{Selector: "0xa9059cbb", Function: "transfer", Standard: ERC20, Recipient: "0x" + bob, Amount: "1000000000000000000"}},
		{SelTransferFrom + word(alice) + word(bob) + word("2a"), Call{Selector: "0x23b872dd", Function: "transferFrom", Standard: ERC20, From: "0x" + alice, Recipient: "0x" + bob, Amount: "42"}},
		{SelApprove + word(bob) + maxWord, Call{Selector: "0x095ea7b3", Function: "approve", Standard: ERC20, Spender: "0x" + bob,
			Amount: "115792089237316195423570985008687907853269984665640564039457584007913129639935", Unlimited: true}},
		{SelApprove + word(bob) + word("7"+strings.Repeat("f", 63)), Call{Selector: "0x095ea7b3", Function: "approve", Standard: ERC20, Spender: "0x" + bob,
			Amount: "57896044618658097711785492504343953926634992332820282019728792003956564819967"}}, // 2^255-1: not unlimited
		{SelIncreaseAllowance + word(bob) + word("8"+strings.Repeat("0", 63)), Call{Selector: "0x39509351", Function: "increaseAllowance", Standard: ERC20, Spender: "0x" + bob,
			Amount: "57896044618658097711785492504343953926634992332820282019728792003956564819968", Unlimited: true}},
		{SelSetApprovalForAll + word(bob) + word("1"), Call{Selector: "0xa22cb465", Function: "setApprovalForAll", Standard: ERC721, Operator: "0x" + bob, Approved: true}},
		{SelSetApprovalForAll + word(bob) + word("0"), Call{Selector: "0xa22cb465", Function: "setApprovalForAll", Standard: ERC721, Operator: "0x" + bob}},
	}
	for _, c := range cases {
		got, err := decodeHex(t, c.hex)
		if err != nil || got != c.want {
			t.Errorf("%s…: got %+v, %v; want %+v", c.hex[:8], got, err, c.want)
		}
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	cases := []struct {
		name, hex string
		want      error
	}{
		{"empty", "", ErrMalformed},
		{"short selector", "a905", ErrMalformed},
		{"unknown", "deadbeef" + word("1"), ErrUnknownSelector},
		{"short args", SelTransfer + word(bob), ErrMalformed},
		{"trailing bytes", SelTransfer + word(bob) + word("1") + "00", ErrMalformed},
		{"dirty address padding", SelTransfer + "01" + word(bob)[2:] + word("1"), ErrMalformed},
		{"bool 2", SelSetApprovalForAll + word(bob) + word("2"), ErrMalformed},
		{"bool high bits", SelSetApprovalForAll + word(bob) + "01" + strings.Repeat("0", 62), ErrMalformed},
	}
	for _, c := range cases {
		got, err := decodeHex(t, c.hex)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
		if got.Function != "" || got.Amount != "" {
			t.Errorf("%s: a refused call carries arguments: %+v", c.name, got)
		}
	}
	if got, _ := decodeHex(t, "deadbeef"); got.Selector != "0xdeadbeef" {
		t.Errorf("unknown selector not reported: %+v", got)
	}
	if _, err := Decode(make([]byte, MaxCalldata+1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized calldata: %v", err)
	}
}

// FuzzDecode: never panics; a decoded call re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{SelTransfer + word(bob) + word("1"), SelTransferFrom + word(alice) + word(bob) + word("2"),
		SelApprove + word(bob) + strings.Repeat("f", 64), SelSetApprovalForAll + word(bob) + word("1"), "deadbeef", ""} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			if c.Function != "" {
				t.Fatalf("error with a function: %+v", c)
			}
			return
		}
		if len(data) != 4+32*(2+btoi(c.Function == "transferFrom")) || c.Selector != "0x"+hex.EncodeToString(data[:4]) {
			t.Fatalf("accepted %d bytes for %s", len(data), c.Function)
		}
		for _, a := range []string{c.Recipient, c.From, c.Spender, c.Operator} {
			if a != "" && (len(a) != 42 || !strings.HasPrefix(a, "0x")) {
				t.Fatalf("bad address %q", a)
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
