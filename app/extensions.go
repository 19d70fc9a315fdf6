package app

import "github.com/qapprove/qapprove/client"

// This file maps what the API's extensions carry (see docs/PROTOCOL.md)
// into the app's types; the rules and the console read them from here.

// PeopleOf is who approved a so far and when, where the API says (the
// approvedBy extension); Known is false when it gives none, and the
// console then says "not provided by the API". The API reports no
// rejections (the first one ends the action), so RejectedBy stays empty.
func PeopleOf(a *client.Action) People {
	if a == nil || !a.Payload.ApproversKnown() {
		return People{}
	}
	l := a.Payload.ApprovedBy
	out := People{Known: true, ApprovedBy: make([]Approver, len(l))}
	for i, ap := range l {
		out.ApprovedBy[i] = Approver{ID: ap.ID, Name: ap.Name, At: ap.At}
	}
	return out
}

// CalldataOf is the EVM calldata a's transaction carries (the sandbox's
// extension field), nil when none. The bytes are hostile: governance
// decodes them strictly and bounded (governance/evm).
func CalldataOf(a *client.Action) []byte {
	if a == nil || a.Payload == nil || a.Payload.Transaction == nil {
		return nil
	}
	return a.Payload.Transaction.Data
}
