package client

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// MaxCalldataBytes bounds the EVM calldata a transaction may carry.
const MaxCalldataBytes = 64 << 10

// txFields is Transaction without its JSON methods.
type txFields Transaction

// UnmarshalJSON reads a transaction: the documented fields as encoding/json
// does (a field of the wrong type is reported, the rest still read), and
// our extension "data", EVM calldata as hex ("0x…"). Calldata that is not
// hex or is too large is kept out and noted in DataErr: the transaction is
// then not understood (a call qapprove cannot read is never approved).
func (t *Transaction) UnmarshalJSON(b []byte) error {
	var x struct {
		*txFields
		Data json.RawMessage `json:"data"`
	}
	*t = Transaction{}
	x.txFields = (*txFields)(t)
	err := json.Unmarshal(b, &x)
	if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) {
		// Name the field as the payload does, not through the embedding.
		te.Field = strings.TrimPrefix(te.Field, "txFields.")
	}
	t.Data, t.DataErr = decodeCalldata(x.Data)
	return err
}

// MarshalJSON writes the wire form, calldata as "0x" + lowercase hex.
func (t Transaction) MarshalJSON() ([]byte, error) {
	x := struct {
		txFields
		Data string `json:"data,omitempty"`
	}{txFields: txFields(t)}
	if t.Data != nil {
		x.Data = "0x" + hex.EncodeToString(t.Data)
	}
	return json.Marshal(x)
}

// decodeCalldata reads the optional "data" field: nil and "" when absent,
// null or "0x"; else the bytes, or why they cannot be read.
func decodeCalldata(raw json.RawMessage) ([]byte, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	if len(raw) > 2*MaxCalldataBytes+8 {
		return nil, "calldata larger than 64 KiB"
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, "calldata is not a hex string"
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" {
		return nil, ""
	}
	b, err := hex.DecodeString(s)
	switch {
	case err != nil:
		return nil, "calldata is not valid hex"
	case len(b) > MaxCalldataBytes:
		return nil, "calldata larger than 64 KiB"
	}
	return b, ""
}
