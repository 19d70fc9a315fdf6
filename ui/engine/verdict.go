package engine

import (
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/ui"
)

// GovernanceInput maps a decoded action to the document the rules see.
// An action whose payload could not be decoded carries DecodeError, so its
// verdict is never approve.
func GovernanceInput(a *client.Action, now time.Time) governance.Input {
	in := governance.Input{Now: now}
	in.Action = governance.Action{
		ID:               a.ID,
		Type:             typeName(a.Type),
		Status:           statusName(a.Status),
		Created:          a.Created,
		ExpiresInSeconds: int64(a.Expires.Sub(now) / time.Second),
	}
	if a.Payload == nil {
		in.DecodeError = a.PayloadErr()
		if in.DecodeError == "" {
			in.DecodeError = "the action has no payload"
		}
		return in
	}
	p := a.Payload
	name := p.Policy.Name
	if name == "" {
		name = p.PolicyName
	}
	in.Action.Policy = governance.Policy{
		Name:      name,
		Threshold: int64(p.Policy.Threshold),
		Approvals: int64(p.Approvals),
		Members:   append([]string(nil), p.Policy.Members...),
	}
	if t := p.Transaction; t != nil {
		nw := governance.NewNetwork(t.Network.Name, t.Network.ChainID, t.Network.Testnet)
		tx, err := governance.NewTx(nw, t.From, t.To, t.Whitelisted, t.Asset.Symbol, t.Asset.Decimals, t.Amount)
		if err != nil {
			in.DecodeError = "the transaction amount cannot be read: " + err.Error()
			return in
		}
		in.Tx = tx
	} else if a.Type == client.TypeTransaction {
		in.DecodeError = "the transaction payload has no transaction details"
	}
	return in
}

// Evaluate runs the rules on an action (UIVerdict converts the result for
// the UI).
func Evaluate(rs *governance.RuleSet, a *client.Action, now time.Time) governance.Verdict {
	return rs.Evaluate(GovernanceInput(a, now))
}

// UIVerdict converts a governance verdict into the UI's view of it.
func UIVerdict(gv governance.Verdict) ui.Verdict {
	v := ui.Verdict{Level: gv.Level.String(), Warnings: append([]string(nil), gv.Warnings...)}
	for _, m := range gv.Matched {
		v.Rules = append(v.Rules, ui.RuleHit{Name: m.Rule, Verdict: m.Verdict.String(), Reason: m.Reason})
	}
	return v
}

func typeName(t int) string {
	switch t {
	case client.TypeTransaction:
		return governance.TypeTransaction
	case client.TypeAPIKeyUpdate:
		return governance.TypeKeyUpdate
	}
	return governance.TypeUnknown
}

func statusName(s int) string {
	switch s {
	case client.StatusPending:
		return governance.StatusPending
	case client.StatusApproved:
		return governance.StatusApproved
	case client.StatusRejected:
		return governance.StatusRejected
	case client.StatusExpired:
		return governance.StatusExpired
	}
	return governance.StatusUnknown
}
