package governance

import (
	"encoding/hex"
	"errors"
	"math/big"

	"github.com/qapprove/qapprove/governance/evm"
)

// DecodeCall decodes EVM calldata into the call the rules see. nil or
// empty calldata gives the zero Call (Present false); a selector
// governance/evm does not know, or malformed arguments, give Known false
// with the Problem.
func DecodeCall(data []byte) Call {
	if len(data) == 0 {
		return Call{}
	}
	c, err := evm.Decode(data)
	out := Call{Present: true, Selector: c.Selector}
	if err != nil {
		out.Problem = err.Error()
		if errors.Is(err, evm.ErrUnknownSelector) {
			out.Problem = "unknown function selector " + c.Selector
		}
		if out.Selector == "" && len(data) > 0 {
			out.Selector = "0x" + hex.EncodeToString(data[:min(len(data), 4)])
		}
		return out
	}
	out.Known = true
	out.Function, out.Standard = c.Function, c.Standard
	out.Recipient, out.From, out.Spender, out.Operator = c.Recipient, c.From, c.Spender, c.Operator
	out.Amount, out.Unlimited, out.Approved = c.Amount, c.Unlimited, c.Approved
	if c.Amount != "" {
		f, _ := new(big.Float).SetString(c.Amount)
		if f != nil {
			out.AmountNumber, _ = f.Float64()
		}
	}
	return out
}
