package governance

import (
	"fmt"
	"unicode/utf8"

	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// Bounds on an Input. Evaluate refuses (verdict review) inputs beyond
// them, which is what lets loop-free rules run without runtime cost
// tracking: their worst-case cost is computed at compile time from these
// sizes and must stay under CostLimit.
const (
	MaxInputString  = 4096 // bytes of any string in an Input
	MaxInputMembers = 1000 // entries of action.policy.members
)

// sizeHints tells the CEL cost estimator how big values can get: named
// values have their real size, input strings and lists their bounds.
type sizeHints struct{ vars map[string]uint64 }

// EstimateSize implements checker.CostEstimator.
func (h sizeHints) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	if s, ok := h.vars[p[0]]; ok && len(p) == 1 {
		e := checker.FixedSizeEstimate(s)
		return &e
	}
	if !inputVars[p[0]] {
		return nil
	}
	var e checker.SizeEstimate
	switch n.Type().Kind() {
	case types.StringKind, types.BytesKind:
		e = checker.SizeEstimate{Min: 0, Max: MaxInputString}
	case types.ListKind, types.MapKind:
		e = checker.SizeEstimate{Min: 0, Max: MaxInputMembers}
	default:
		return nil
	}
	return &e
}

// EstimateCallCost implements checker.CostEstimator (default call costs).
func (sizeHints) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// valueSize is the CEL size() of a named value.
func valueSize(v ref.Val) uint64 {
	switch x := v.(type) {
	case types.String:
		return uint64(utf8.RuneCountInString(string(x))) //nolint:gosec // G115: a count is never negative
	case traits.Sizer:
		if n, ok := x.Size().(types.Int); ok && n >= 0 {
			return uint64(n)
		}
	}
	return 1
}

// inputTooLarge says which part of in is beyond the bounds, or "".
func inputTooLarge(in *Input) string {
	strs := []struct{ name, v string }{
		{"action.id", in.Action.ID}, {"action.type", in.Action.Type}, {"action.status", in.Action.Status},
		{"action.policy.name", in.Action.Policy.Name}, {"tx.network.name", in.Tx.Network.Name},
		{"tx.network.chain_id", in.Tx.Network.ChainID}, {"tx.from", in.Tx.From}, {"tx.to", in.Tx.To},
		{"tx.asset", in.Tx.Asset}, {"tx.amount", in.Tx.Amount}, {"tx.amount_base", in.Tx.AmountBase},
		{"tx.network.family", in.Tx.Network.Family}, {"tx.address_problem", in.Tx.AddressProblem},
		{"decode_error", in.DecodeError}, {"payload.problem", in.Payload.Problem},
		{"tx.value_currency", in.Tx.ValueCurrency}, {"tx.value_problem", in.Tx.ValueProblem},
		{"clock.zone", in.Clock.Zone}, {"clock.date", in.Clock.Date}, {"clock.weekday", in.Clock.Weekday}, {"clock.local_time", in.Clock.Time},
		{"call.selector", in.Call.Selector}, {"call.function", in.Call.Function}, {"call.standard", in.Call.Standard},
		{"call.recipient", in.Call.Recipient}, {"call.from", in.Call.From}, {"call.spender", in.Call.Spender},
		{"call.operator", in.Call.Operator}, {"call.amount", in.Call.Amount}, {"call.problem", in.Call.Problem},
	}
	for _, s := range strs {
		if len(s.v) > MaxInputString {
			return fmt.Sprintf("%s is longer than %d bytes", s.name, MaxInputString)
		}
	}
	if len(in.Action.Policy.Members) > MaxInputMembers {
		return fmt.Sprintf("action.policy.members has more than %d entries", MaxInputMembers)
	}
	for _, m := range in.Action.Policy.Members {
		if len(m) > MaxInputString {
			return fmt.Sprintf("a member of action.policy.members is longer than %d bytes", MaxInputString)
		}
	}
	p := &in.Action.Policy
	if len(p.ApprovedBy) > MaxInputMembers || len(p.RejectedBy) > MaxInputMembers {
		return fmt.Sprintf("action.policy.approved_by or rejected_by has more than %d entries", MaxInputMembers)
	}
	for _, a := range append(p.ApprovedBy[:len(p.ApprovedBy):len(p.ApprovedBy)], p.RejectedBy...) {
		if len(a.ID) > MaxInputString || len(a.Name) > MaxInputString {
			return fmt.Sprintf("an approver's id or name is longer than %d bytes", MaxInputString)
		}
	}
	return ""
}
