// Package client is the Qredo API v2 client: HMAC token auth, actions,
// approve/reject, key registration, the WebSocket feed and typed errors.
// It never draws; docs/PROTOCOL.md records every reading of the protocol.
package client

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Action status codes. 1, 3 and 4 come from the Qredo signing agent;
// 5 (expired) is our reading (docs/PROTOCOL.md).
const (
	StatusPending  = 1
	StatusApproved = 3
	StatusRejected = 4
	StatusExpired  = 5
)

// StatusName names a status code in words ("pending", "approved",
// "rejected", "expired"; "status N" for a code without a known meaning).
func StatusName(status int) string {
	switch status {
	case StatusPending:
		return "pending"
	case StatusApproved:
		return "approved"
	case StatusRejected:
		return "rejected"
	case StatusExpired:
		return "expired"
	}
	return "status " + strconv.Itoa(status)
}

// Action type codes (UNCONFIRMED upstream; our reading, docs/PROTOCOL.md).
const (
	TypeTransaction  = 25 // a transfer or Web3 transaction under a Transaction Policy
	TypeAPIKeyUpdate = 40 // an API key update: registration of BLS/EC keys
)

// WireAction is an action as the API sends it: a WebSocket feed frame
// (messages base64) or a REST body (messages hex). Only id, status and
// messages are confirmed on every answer (docs/PROTOCOL.md); everything
// else may be absent and is read leniently: a field of an unexpected JSON
// type is ignored, except id, status, messages, expireTime and created.
type WireAction struct {
	ID          string `json:"id"`
	Type        int    `json:"type"` // 0 when absent or not a number: unknown type
	Status      int    `json:"status"`
	Description string `json:"description,omitempty"`
	ApproverID  string `json:"approverID,omitempty"`
	DataID      string `json:"dataID,omitempty"`
	SenderID    string `json:"senderID,omitempty"`
	// Payload is the payload as base64 text (the feed's form).
	Payload string `json:"payload,omitempty"`
	// PayloadJSON is the payload when it came as an inline JSON value:
	// its exact bytes as received. It wins over Payload. When marshalled,
	// encoding/json compacts it and escapes <, > and &: to go out
	// unchanged it must be compact and free of those.
	PayloadJSON json.RawMessage `json:"-"`
	Messages    []string        `json:"messages"`
	Signatures  []string        `json:"signatures"`
	Timestamp   int64           `json:"timestamp,omitempty"`
	ActionTime  int64           `json:"actionTime,omitempty"`
	ExpireTime  int64           `json:"expireTime"` // unix seconds; 0 = unknown
	Created     int64           `json:"created,omitempty"`
	Metadata    string          `json:"metadata,omitempty"`
	// MyDecision is our extension (docs/PROTOCOL.md): the decision the
	// calling API key has already recorded on this action, 0 when none,
	// StatusApproved or StatusRejected. It says something only when
	// MyDecisionKnown (set when the field was present) or non-zero; a
	// marshalled WireAction carries the field in exactly those cases.
	MyDecision      int  `json:"myDecision,omitempty"`
	MyDecisionKnown bool `json:"-"`
	// Approvals is our extension: the approvals so far, outside the
	// payload so that the payload bytes never change. nil when absent.
	Approvals *int `json:"approvals,omitempty"`
	// ApprovedBy is our extension: who approved so far and when, outside
	// the payload like Approvals. nil when absent (or ignored for breaking
	// a bound); empty when the API says nobody has yet.
	ApprovedBy []WireApprover `json:"-"`
}

// wireFields is WireAction without its JSON methods.
type wireFields WireAction

// UnmarshalJSON reads an action leniently: the payload as base64 text or
// an inline JSON value, myDecision only when it is a known code, and a
// field of the wrong JSON type ignored unless it is one the API is known
// to send with that type (strictFields).
func (w *WireAction) UnmarshalJSON(b []byte) error {
	var x struct {
		*wireFields
		Payload    json.RawMessage `json:"payload"`
		MyDecision json.RawMessage `json:"myDecision"`
		Approvals  json.RawMessage `json:"approvals"`
		ApprovedBy json.RawMessage `json:"approvedBy"`
	}
	*w = WireAction{}
	x.wireFields = (*wireFields)(w)
	if err := json.Unmarshal(b, &x); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return err
		}
		if err := checkStrictFields(b); err != nil {
			return err
		}
	}
	switch p := bytes.TrimSpace(x.Payload); {
	case len(p) == 0 || string(p) == "null":
	case p[0] == '"':
		if err := json.Unmarshal(p, &w.Payload); err != nil {
			return err
		}
	default:
		w.PayloadJSON = x.Payload
	}
	w.MyDecision = 0
	if d, ok := wireInt(x.MyDecision); ok && (d == 0 || d == StatusApproved || d == StatusRejected) {
		w.MyDecision, w.MyDecisionKnown = d, true
	}
	if n, ok := wireInt(x.Approvals); ok && n >= 0 && n <= maxApprovals {
		w.Approvals = &n
	}
	w.ApprovedBy, _ = decodeApprovers(x.ApprovedBy)
	return nil
}

// maxApprovals bounds the approvals count we believe.
const maxApprovals = 1 << 20

// wireInt reads an optional JSON integer; ok is false when it is absent,
// null or not an integer.
func wireInt(raw json.RawMessage) (int, bool) {
	var n int
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil || string(raw) == "null" {
		return 0, false
	}
	return n, true
}

// checkStrictFields re-reads the fields whose JSON type is confirmed, and
// fails when one of them has another type.
func checkStrictFields(b []byte) error {
	var s struct {
		ID         string   `json:"id"`
		Status     int      `json:"status"`
		Messages   []string `json:"messages"`
		ExpireTime int64    `json:"expireTime"`
		Created    int64    `json:"created"`
	}
	return json.Unmarshal(b, &s)
}

// MarshalJSON writes the wire form: the payload as an inline JSON value
// when PayloadJSON is set, else as base64 text; myDecision when known.
func (w WireAction) MarshalJSON() ([]byte, error) {
	x := struct {
		wireFields
		Payload    any             `json:"payload,omitempty"`
		MyDecision *int            `json:"myDecision,omitempty"`
		ApprovedBy *[]WireApprover `json:"approvedBy,omitempty"`
	}{wireFields: wireFields(w)}
	if w.ApprovedBy != nil {
		x.ApprovedBy = &w.ApprovedBy
	}
	switch {
	case w.PayloadJSON != nil:
		x.Payload = w.PayloadJSON
	case w.Payload != "":
		x.Payload = w.Payload
	}
	if w.MyDecisionKnown || w.MyDecision != 0 {
		x.MyDecision = &w.MyDecision
	}
	return json.Marshal(x)
}

// Payload is the decoded payload document of an action. Only policyName
// and externalExtension.network.chainID are confirmed upstream; the rest
// is our reading (docs/PROTOCOL.md), and a payload may hold only part of
// it: Missing says whether it holds what a decision needs. In memory the
// policy is shared between the actions it governs, so Approvals is kept
// beside it.
type Payload struct {
	PolicyName string
	Policy     *Policy // never nil in a decoded payload; shared: never modify
	Approvals  int     // approvals so far (top-level "approvals", else policy.approvals)
	// ApprovedBy is who approved so far and when (top-level "approvedBy",
	// our extension): nil when the API did not say (ApproversKnown).
	ApprovedBy  []Approver
	Transaction *Transaction
	KeyUpdate   *KeyUpdate
}

// Policy is the Transaction (or Admin) Policy that governs an action.
type Policy struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind"` // "transaction" or "admin"
	Threshold int      `json:"threshold"`
	Members   []string `json:"members"` // API key IDs / member IDs
}

// wirePayload is the payload document as the sandbox writes it.
type wirePayload struct {
	PolicyName  string       `json:"policyName"`
	Policy      wirePolicy   `json:"policy"`
	Transaction *Transaction `json:"externalExtension,omitempty"`
	KeyUpdate   *KeyUpdate   `json:"apiKeyUpdate,omitempty"`
}

// wirePolicy is the policy object as it is sent: the policy's fields,
// then the approvals so far.
type wirePolicy struct {
	Policy
	Approvals int `json:"approvals"`
}

// MarshalJSON writes the wire form of the payload.
func (p Payload) MarshalJSON() ([]byte, error) {
	w := wirePayload{PolicyName: p.PolicyName, Policy: wirePolicy{Approvals: p.Approvals}, Transaction: p.Transaction, KeyUpdate: p.KeyUpdate}
	if p.Policy != nil {
		w.Policy.Policy = *p.Policy
	}
	return json.Marshal(w)
}

// Missing says what a decision needs and the payload does not hold, or
// holds in a form qapprove cannot read ("no valid destination, amount"),
// and "" when the payload is understood. The verdict on a payload that is
// not understood must never be approve.
func (p *Payload) Missing() string {
	switch {
	case p == nil:
		return "no payload"
	case p.Transaction != nil && p.KeyUpdate != nil:
		return "both a transaction and a key update"
	case p.Transaction != nil:
		return p.Transaction.missing()
	case p.KeyUpdate != nil:
		return p.KeyUpdate.missing()
	}
	return "neither a transaction nor a key update"
}

// Understood reports whether the payload holds everything a decision
// needs (Missing is "").
func (p *Payload) Understood() bool { return p.Missing() == "" }

func (t *Transaction) missing() string {
	var m []string
	if t.To == "" {
		m = append(m, "destination")
	}
	if t.DataErr != "" {
		m = append(m, "calldata")
	}
	if !validAmount(t.Amount) {
		m = append(m, "amount")
	}
	if a := t.Asset; a == nil || (a.Symbol == "" && a.Contract == "") || a.Decimals < 0 || a.Decimals > maxDecimals {
		m = append(m, "asset")
	}
	if n := t.Network; n == nil || (n.ChainID == "" && n.Name == "") {
		m = append(m, "network")
	}
	return noValid(m)
}

func (k *KeyUpdate) missing() string {
	var m []string
	for _, f := range []struct{ v, name string }{{k.APIKeyID, "API key ID"}, {k.BLSPublicKey, "BLS public key"}, {k.ECPublicKey, "EC public key"}} {
		if f.v == "" {
			m = append(m, f.name)
		}
	}
	return noValid(m)
}

func noValid(m []string) string {
	if len(m) == 0 {
		return ""
	}
	return "no valid " + strings.Join(m, ", ")
}

// maxDecimals bounds Asset.Decimals.
const maxDecimals = 36

// validAmount reports whether s is a base-unit amount: 1..80 decimal digits.
func validAmount(s string) bool { return s != "" && len(s) <= 80 && allDigits(s) }

// Network identifies a chain.
type Network struct {
	Name    string `json:"name"`    // "Ethereum Sepolia"
	Family  string `json:"family"`  // "evm" or "bitcoin"
	ChainID string `json:"chainID"` // "11155111"; for Bitcoin "bitcoin" / "bitcoin-testnet"
	Testnet bool   `json:"testnet"`
}

// UnmarshalJSON reads a network leniently: chainID may be a JSON number
// (as in Qredo's examples) or text; a field of another type is left empty.
func (n *Network) UnmarshalJSON(b []byte) error {
	type fields Network
	var x struct {
		*fields
		ChainID json.RawMessage `json:"chainID"`
	}
	*n = Network{}
	x.fields = (*fields)(n)
	var te *json.UnmarshalTypeError
	if err := json.Unmarshal(b, &x); err != nil && !errors.As(err, &te) {
		return err
	}
	n.ChainID = chainIDText(x.ChainID)
	return nil
}

// chainIDText renders a chainID as text: a string as it is, a
// non-negative JSON integer in decimal, anything else as "".
func chainIDText(raw json.RawMessage) string {
	var s string
	switch {
	case len(raw) == 0 || len(raw) > 100:
		return ""
	case raw[0] == '"':
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	case allDigits(string(raw)):
		return string(raw)
	}
	return ""
}

// Asset is what is moved; Decimals scales base units to whole units.
type Asset struct {
	Symbol   string `json:"symbol"`
	Decimals int    `json:"decimals"`
	Contract string `json:"contract,omitempty"` // token contract, "" for the native coin
}

// Transaction is the transfer an action asks to approve. Network and Asset
// are never nil in a decoded payload; they are shared between the actions
// on the same chain and asset, so they must never be modified.
type Transaction struct {
	Network       *Network `json:"network"`
	WalletID      string   `json:"walletID"`
	From          string   `json:"from"`
	To            string   `json:"to"`
	ToName        string   `json:"toName,omitempty"` // whitelist entry name
	Whitelisted   bool     `json:"whitelisted"`
	Asset         *Asset   `json:"asset"`
	Amount        string   `json:"amount"` // base units, decimal digits only
	Note          string   `json:"note,omitempty"`
	InitiatorName string   `json:"initiatorName,omitempty"`
	// Data is EVM calldata (our extension "data", hex on the wire): the
	// call the transaction makes; nil when none was sent.
	Data []byte `json:"-"`
	// DataErr says why "data" was sent but could not be read (then the
	// transaction is not understood); "" otherwise.
	DataErr string `json:"-"`
}

// KeyUpdate is the payload of an API key update (key registration).
type KeyUpdate struct {
	APIKeyID     string `json:"apiKeyID"`
	BLSPublicKey string `json:"blsPublicKey"` // base64
	ECPublicKey  string `json:"ecPublicKey"`  // base64
}

// Action is a decoded, validated action: what the rest of qapprove uses.
// Lists hold many of them, so what is seldom needed sits in Detail.
type Action struct {
	ID       string
	Type     int
	Status   int
	Created  time.Time
	Expires  time.Time
	Messages [][]byte // decoded message bytes; Messages[0] is what gets signed
	Payload  *Payload // nil when there was no payload or it is not JSON; see Payload.Missing
	// MyDecision is this key's recorded decision: 0, StatusApproved or
	// StatusRejected. It says something only when MyDecisionKnown.
	MyDecision int
	// MyDecisionKnown is set when the API sent myDecision (our
	// extension); without it MyDecision says nothing and the journal is
	// the truth about what this key decided.
	MyDecisionKnown bool
	// Binding says how Messages[0] relates to the details shown (see
	// CheckBinding): bound, unbound (a digest qapprove cannot check) or
	// a mismatch (never signed).
	Binding Binding
	// PayloadSHA256 is the SHA-256 of the payload bytes exactly as
	// received (base64-decoded, or the inline JSON as sent), also when
	// they are not understood; zero when the action came without a
	// payload or its base64 was invalid.
	PayloadSHA256 [32]byte
	Detail        *ActionDetail // nil when it would be empty
}

// HasPayload reports whether the action came with a payload.
func (a *Action) HasPayload() bool { return a.PayloadSHA256 != [32]byte{} }

// ExpiryKnown reports whether the API said when the action expires. An
// unknown expiry is shown as such, never as expired.
func (a *Action) ExpiryKnown() bool { return !a.Expires.IsZero() }

// ActionDetail is the part of an action that is seldom needed: a holder of
// a long list may drop it.
type ActionDetail struct {
	Description string // free text from the initiator (sanitized)
	// PayloadErr says why the payload is not understood: "payload is not
	// JSON…" (then Action.Payload is nil) or "not understood: …" (then
	// Action.Payload holds what could be read). "" when understood or
	// when the action came without a payload.
	PayloadErr string
	RawPayload []byte // the payload bytes exactly as received (bounded)
}

// Description is the initiator's free-text description ("" when none).
func (a *Action) Description() string {
	if a.Detail == nil {
		return ""
	}
	return a.Detail.Description
}

// PayloadErr says why the payload is not understood ("" when it is, or
// when the action came without one).
func (a *Action) PayloadErr() string {
	if a.Detail == nil {
		return ""
	}
	return a.Detail.PayloadErr
}

// RawPayload is the payload bytes exactly as received (nil when not held).
func (a *Action) RawPayload() []byte {
	if a.Detail == nil {
		return nil
	}
	return a.Detail.RawPayload
}

// PayloadUnderstood reports whether the action came with a payload that
// holds everything a decision needs (see Payload.Missing).
func (a *Action) PayloadUnderstood() bool { return a.Payload.Understood() }

// Pending reports whether the action is pending and, when its expiry is
// known, not yet expired at now.
func (a *Action) Pending(now time.Time) bool {
	return a.Status == StatusPending && (!a.ExpiryKnown() || now.Before(a.Expires))
}

// FormatAmount renders a base-unit decimal string in whole units with the
// given decimals, without rounding and without trailing zeros
// ("1500000000000000000", 18 → "1.5"). Bad input is returned unchanged.
func FormatAmount(base string, decimals int) string {
	if base == "" || decimals < 0 || decimals > 77 || !allDigits(base) {
		return base
	}
	s := strings.TrimLeft(base, "0")
	if s == "" {
		return "0"
	}
	if decimals == 0 {
		return s
	}
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// Fingerprint identifies what a decision and the console depend on in an
// action — status, this key's decision (and whether it is known), expiry,
// the messages, the payload's SHA-256, the approvals so far and who gave them — so that
// frames that change nothing can be skipped. It is not a security check.
func (a *Action) Fingerprint() uint64 {
	h := fnv.New64a()
	h.Write(a.PayloadSHA256[:])
	approvals := int64(-1)
	if a.Payload != nil {
		approvals = int64(a.Payload.Approvals)
	}
	var expires int64
	if a.ExpiryKnown() {
		expires = a.Expires.Unix()
	}
	known := 0
	if a.MyDecisionKnown {
		known = 1
	}
	var b [8 * 6]byte
	for i, v := range []int64{int64(a.Status), int64(a.MyDecision), int64(known), expires, approvals, int64(len(a.Messages))} {
		binary.BigEndian.PutUint64(b[8*i:], uint64(v)) //nolint:gosec // G115: two's-complement bits of v are what is hashed
	}
	h.Write(b[:])
	if a.Payload != nil {
		h.Write([]byte(approversKey(a.Payload)))
	}
	for _, m := range a.Messages {
		binary.BigEndian.PutUint64(b[:8], uint64(len(m)))
		h.Write(b[:8])
		h.Write(m)
	}
	return h.Sum64()
}
