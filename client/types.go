// Package client is the Qredo API v2 client: HMAC token auth, actions,
// approve/reject, key registration, the WebSocket feed and typed errors.
// It never draws; docs/PROTOCOL.md records every reading of the protocol.
package client

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
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

// Action type codes (UNCONFIRMED upstream; our reading, docs/PROTOCOL.md).
const (
	TypeTransaction  = 25 // a transfer or Web3 transaction under a Transaction Policy
	TypeAPIKeyUpdate = 40 // an API key update: registration of BLS/EC keys
)

// WireAction is an action as the API sends it: a WebSocket feed frame
// (messages base64) or a REST body (messages hex). Payload and Metadata are
// base64 of JSON documents.
type WireAction struct {
	ID          string   `json:"id"`
	Type        int      `json:"type"`
	Status      int      `json:"status"`
	Description string   `json:"description,omitempty"`
	ApproverID  string   `json:"approverID,omitempty"`
	DataID      string   `json:"dataID,omitempty"`
	SenderID    string   `json:"senderID,omitempty"`
	Payload     string   `json:"payload,omitempty"`
	Messages    []string `json:"messages"`
	Signatures  []string `json:"signatures"`
	Timestamp   int64    `json:"timestamp,omitempty"`
	ActionTime  int64    `json:"actionTime,omitempty"`
	ExpireTime  int64    `json:"expireTime"`
	Created     int64    `json:"created,omitempty"`
	Metadata    string   `json:"metadata,omitempty"`
	// MyDecision is our extension (docs/PROTOCOL.md): the decision the
	// calling API key has already recorded on this action, 0 when none,
	// StatusApproved or StatusRejected.
	MyDecision int `json:"myDecision,omitempty"`
}

// Payload is the decoded payload document of an action (our reading of the
// UNCONFIRMED schema; docs/PROTOCOL.md). Exactly one of Transaction and
// KeyUpdate is set, matching the action type. On the wire the approvals
// so far sit inside the policy object (see wirePayload); in memory the
// policy is shared between the actions it governs, so Approvals is kept
// beside it.
type Payload struct {
	PolicyName  string
	Policy      *Policy // never nil in a decoded payload; shared: never modify
	Approvals   int     // approvals so far (policy.approvals on the wire)
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

// wirePayload is the payload document as it is sent.
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

// UnmarshalJSON reads the wire form of the payload.
func (p *Payload) UnmarshalJSON(b []byte) error {
	var w wirePayload
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = Payload{PolicyName: w.PolicyName, Policy: &w.Policy.Policy, Approvals: w.Policy.Approvals, Transaction: w.Transaction, KeyUpdate: w.KeyUpdate}
	return nil
}

// Network identifies a chain.
type Network struct {
	Name    string `json:"name"`    // "Ethereum Sepolia"
	Family  string `json:"family"`  // "evm" or "bitcoin"
	ChainID string `json:"chainID"` // "11155111"; for Bitcoin "bitcoin" / "bitcoin-testnet"
	Testnet bool   `json:"testnet"`
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
	ID         string
	Type       int
	Status     int
	Created    time.Time
	Expires    time.Time
	Messages   [][]byte // decoded message bytes; Messages[0] is what gets signed
	Payload    *Payload // nil when the payload could not be decoded
	MyDecision int      // this key's recorded decision: 0, StatusApproved or StatusRejected
	// MyDecisionKnown is set when the API sent myDecision (our
	// extension); without it MyDecision says nothing and the journal is
	// the truth about what this key decided.
	MyDecisionKnown bool
	// Binding says how Messages[0] relates to the details shown (see
	// CheckBinding): bound, unbound (a digest qapprove cannot check) or
	// a mismatch (never signed).
	Binding Binding
	// PayloadSHA256 is the SHA-256 of the payload bytes exactly as
	// received (zero when the action came without a payload).
	PayloadSHA256 [32]byte
	Detail        *ActionDetail // nil when it would be empty
}

// HasPayload reports whether the action came with a payload.
func (a *Action) HasPayload() bool { return a.PayloadSHA256 != [32]byte{} }

// ExpiryKnown reports whether the API said when the action expires. An
// unknown expiry is shown as such, never as expired.
func (a *Action) ExpiryKnown() bool { return !a.Expires.IsZero() }

// ActionDetail is the part of an action that is seldom needed: a holder of
// a long list may drop it (RawPayload can be fetched again).
type ActionDetail struct {
	Description string // free text from the initiator (sanitized)
	PayloadErr  string // why the payload could not be decoded ("" when it could)
	RawPayload  []byte // the payload JSON as received (bounded)
}

// Description is the initiator's free-text description ("" when none).
func (a *Action) Description() string {
	if a.Detail == nil {
		return ""
	}
	return a.Detail.Description
}

// PayloadErr says why the payload could not be decoded ("" when it could).
func (a *Action) PayloadErr() string {
	if a.Detail == nil {
		return ""
	}
	return a.Detail.PayloadErr
}

// RawPayload is the payload JSON as received (nil when not held).
func (a *Action) RawPayload() []byte {
	if a.Detail == nil {
		return nil
	}
	return a.Detail.RawPayload
}

// Pending reports whether the action is pending and not yet expired at now.
func (a *Action) Pending(now time.Time) bool {
	return a.Status == StatusPending && now.Before(a.Expires)
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
// action — status, this key's decision, expiry, the messages and the raw
// payload (which carries the approvals so far) — so that frames that
// change nothing can be skipped. It is not a security check.
func (a *Action) Fingerprint() uint64 {
	h := fnv.New64a()
	h.Write(a.RawPayload())
	var b [8 * 4]byte
	binary.BigEndian.PutUint64(b[0:], uint64(a.Status))
	binary.BigEndian.PutUint64(b[8:], uint64(a.MyDecision))
	binary.BigEndian.PutUint64(b[16:], uint64(a.Expires.Unix()))
	binary.BigEndian.PutUint64(b[24:], uint64(len(a.Messages)))
	h.Write(b[:])
	for _, m := range a.Messages {
		h.Write(m)
	}
	return h.Sum64()
}
