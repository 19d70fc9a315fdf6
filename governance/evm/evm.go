// Package evm decodes the EVM contract calls qapprove knows from calldata:
// ERC-20 transfer, transferFrom, approve and increaseAllowance, and
// ERC-721/ERC-1155 setApprovalForAll. Decoding is strict ABI: the exact
// length, zero padding of addresses, a bool of 0 or 1; anything else is
// refused. It never allocates more than a bounded amount.
package evm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// MaxCalldata bounds the calldata Decode accepts.
const MaxCalldata = 64 << 10

// Function selectors (the first 4 bytes of Keccak-256 of the signature).
const (
	SelTransfer          = "a9059cbb" // transfer(address,uint256)
	SelTransferFrom      = "23b872dd" // transferFrom(address,address,uint256)
	SelApprove           = "095ea7b3" // approve(address,uint256)
	SelIncreaseAllowance = "39509351" // increaseAllowance(address,uint256)
	SelSetApprovalForAll = "a22cb465" // setApprovalForAll(address,bool)
)

// Standards named in Call.Standard.
const (
	ERC20  = "erc20"
	ERC721 = "erc721/erc1155"
)

// Errors of Decode, for errors.Is.
var (
	ErrUnknownSelector = errors.New("unknown function selector")
	ErrMalformed       = errors.New("malformed calldata")
)

// Call is a decoded contract call. Addresses are 0x and 40 lower-case hex
// digits; Amount is the uint256 argument in decimal ("" when none).
type Call struct {
	Selector  string // "0xa9059cbb"
	Function  string // "transfer", …
	Standard  string // ERC20 or ERC721
	Recipient string // transfer's to, transferFrom's to
	From      string // transferFrom's from
	Spender   string // approve, increaseAllowance
	Operator  string // setApprovalForAll
	Amount    string
	Unlimited bool // Amount ≥ 2^255
	Approved  bool // setApprovalForAll's flag
}

// unlimited is 2^255: an allowance at or above it has no practical limit
// (wallets ask for 2^256-1; some contracts treat 2^255 and up alike).
var unlimited = new(big.Int).Lsh(big.NewInt(1), 255)

// Decode decodes calldata. An empty input is ErrMalformed; a selector it
// does not know is ErrUnknownSelector (with the selector in the returned
// Call); arguments that are not the exact ABI encoding are ErrMalformed.
func Decode(data []byte) (Call, error) {
	if len(data) > MaxCalldata {
		return Call{}, fmt.Errorf("%w: %d bytes (at most %d)", ErrMalformed, len(data), MaxCalldata)
	}
	if len(data) < 4 {
		return Call{}, fmt.Errorf("%w: %d bytes, shorter than a selector", ErrMalformed, len(data))
	}
	sel := hex.EncodeToString(data[:4])
	c := Call{Selector: "0x" + sel}
	args := data[4:]
	var spec []byte // 'a' address, 'u' uint256, 'b' bool
	switch sel {
	case SelTransfer:
		c.Function, c.Standard, spec = "transfer", ERC20, []byte("au")
	case SelTransferFrom:
		c.Function, c.Standard, spec = "transferFrom", ERC20, []byte("aau")
	case SelApprove:
		c.Function, c.Standard, spec = "approve", ERC20, []byte("au")
	case SelIncreaseAllowance:
		c.Function, c.Standard, spec = "increaseAllowance", ERC20, []byte("au")
	case SelSetApprovalForAll:
		c.Function, c.Standard, spec = "setApprovalForAll", ERC721, []byte("ab")
	default:
		return c, fmt.Errorf("%w 0x%s", ErrUnknownSelector, sel)
	}
	if len(args) != 32*len(spec) {
		return Call{Selector: c.Selector}, fmt.Errorf("%w: %s takes %d bytes of arguments, not %d", ErrMalformed, c.Function, 32*len(spec), len(args))
	}
	var addrs []string
	for i, k := range spec {
		w := args[32*i : 32*i+32]
		switch k {
		case 'a':
			if !allZero(w[:12]) {
				return Call{Selector: c.Selector}, fmt.Errorf("%w: %s argument %d is not a padded address", ErrMalformed, c.Function, i+1)
			}
			addrs = append(addrs, "0x"+hex.EncodeToString(w[12:]))
		case 'u':
			n := new(big.Int).SetBytes(w)
			c.Amount, c.Unlimited = n.String(), n.Cmp(unlimited) >= 0
		case 'b':
			if !allZero(w[:31]) || w[31] > 1 {
				return Call{Selector: c.Selector}, fmt.Errorf("%w: %s argument %d is not a bool", ErrMalformed, c.Function, i+1)
			}
			c.Approved = w[31] == 1
		}
	}
	switch c.Function {
	case "transfer":
		c.Recipient = addrs[0]
	case "transferFrom":
		c.From, c.Recipient = addrs[0], addrs[1]
	case "approve", "increaseAllowance":
		c.Spender = addrs[0]
	case "setApprovalForAll":
		c.Operator = addrs[0]
	}
	return c, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
