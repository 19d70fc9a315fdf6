// Package governance turns an action into a verdict (approve, review or
// reject) with the reasons behind it. Rules are CEL expressions
// (github.com/google/cel-go) in a TOML file, type-checked once against the
// input document defined here; see docs/RULES.md.
//
// The package imports nothing else of qapprove: callers map their own
// action types into an Input built from plain values.
package governance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Action types as seen by rules (action.type).
const (
	TypeTransaction = "transaction" // a transfer under a Transaction Policy
	TypeKeyUpdate   = "key_update"  // an API key update (key registration)
	TypeUnknown     = "unknown"     // any other action type code
)

// Action statuses as seen by rules (action.status).
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusRejected = "rejected"
	StatusExpired  = "expired"
	StatusUnknown  = "unknown"
)

// Input is the document every rule sees. Its JSON form (the json tags) is
// also its CEL form: action.id, tx.network.chain_id, now, and so on. It is
// a stable, documented contract (docs/RULES.md).
type Input struct {
	Action Action    `json:"action"` // the action being decided
	Tx     Tx        `json:"tx"`     // the transfer; zero unless action.type is "transaction"
	Now    time.Time `json:"now"`    // evaluation time; zero means time.Now()
	// DecodeError says why the action's payload could not be decoded. When
	// set, the verdict is at least review and never approve.
	DecodeError string  `json:"decode_error,omitempty"`
	Payload     Payload `json:"payload"` // how much of the payload qapprove understood
	Message     Message `json:"message"` // how the message to sign relates to the details
	// Clock is now on the desk's calendar (time zone, holidays); the zero
	// Clock is filled from Now in UTC.
	Clock Clock `json:"clock"`
	Call  Call  `json:"call"` // the decoded EVM contract call, when the payload carries calldata
	// History answers approved_sum, approved_count and their variants;
	// nil means no approvals yet. It is not part of the document: a
	// replay rebuilds it from the journal.
	History History `json:"-"`
}

// Payload says whether the action's payload was understood in full. The
// zero value is "not understood": a verdict is never approve unless
// Understood is set.
type Payload struct {
	Understood bool   `json:"understood"` // every detail the rules and the operator need was read
	Problem    string `json:"problem"`    // what was not understood; "" when Understood
}

// Message says how the message to sign (messages[0]) relates to the
// details shown.
type Message struct {
	// Bound is true only when the message is in a layout qapprove knows
	// and commits to exactly the details shown; the real service sends a
	// digest qapprove cannot check, which is not bound.
	Bound bool `json:"bound"`
	// Mismatch is true when the message is in a known layout and commits
	// to something other than the details shown: always a reject (and
	// qapprove refuses to sign it).
	Mismatch bool `json:"mismatch"`
}

// UnknownExpirySeconds is action.expires_in_seconds when the expiry is not
// known (action.expiry_known false): about 68 years, so that an unknown
// expiry never looks expired or soon to expire.
const UnknownExpirySeconds = 1<<31 - 1

// Action describes the action itself and the policy that governs it.
type Action struct {
	ID               string    `json:"id"`
	Type             string    `json:"type"`               // TypeTransaction, TypeKeyUpdate, TypeUnknown
	Status           string    `json:"status"`             // StatusPending, …
	Created          time.Time `json:"created"`            // when the action was created
	ExpiresInSeconds int64     `json:"expires_in_seconds"` // seconds left until it expires at Now (≤ 0: expired); UnknownExpirySeconds when not known
	ExpiryKnown      bool      `json:"expiry_known"`       // the API said when the action expires
	Policy           Policy    `json:"policy"`
}

// Policy is the Transaction (or Admin) Policy of an action.
type Policy struct {
	Name      string   `json:"name"`
	Threshold int64    `json:"threshold"` // approvals needed
	Approvals int64    `json:"approvals"` // approvals so far
	Members   []string `json:"members"`   // approver IDs
	// ApprovedBy is who approved so far and when, where the API says
	// (ApprovedByKnown); RejectedBy likewise for rejections.
	ApprovedBy      []Approver `json:"approved_by"`
	RejectedBy      []Approver `json:"rejected_by"`
	ApprovedByKnown bool       `json:"approved_by_known"`
}

// Tx is the transfer an action asks to approve.
type Tx struct {
	Network Network `json:"network"`
	From    string  `json:"from"`
	To      string  `json:"to"`
	// FromValid and ToValid are false only when the address is malformed
	// for the network's family (CheckAddress); an empty address, or one on
	// a network of unknown family, is not judged and counts as valid.
	FromValid bool `json:"from_valid"`
	ToValid   bool `json:"to_valid"`
	// AddressProblem says which address is malformed and why ("" when
	// none is). When set, the verdict is reject.
	AddressProblem string `json:"address_problem"`
	Whitelisted    bool   `json:"whitelisted"` // destination is on the wallet's whitelist
	Asset          string `json:"asset"`       // symbol, e.g. "ETH"
	Decimals       int64  `json:"decimals"`    // base units per whole unit = 10^decimals
	// Amount is the amount in whole units as an exact decimal string ("1.5").
	Amount string `json:"amount"`
	// AmountNumber is Amount as a double (exact up to 2^53 base units).
	AmountNumber float64 `json:"amount_number"`
	// AmountBase is the amount in base units, decimal digits only.
	AmountBase string `json:"amount_base"`
	// Value is the amount in ValueCurrency at the price used (0 when no
	// price is known); ValueProblem says why there is no fresh price ("no
	// price for X", "price for X is stale: …"), which makes the verdict at
	// least review. Both stay zero when no price source is configured.
	Value         float64 `json:"value"`
	ValueCurrency string  `json:"value_currency"`
	ValueProblem  string  `json:"value_problem"`
}

// Network identifies a chain. ChainID is the chain ID as a string: EVM
// chains use their decimal chain ID ("11155111"), others a name
// ("bitcoin", "bitcoin-testnet"). ChainIDInt is the numeric chain ID, or 0
// when ChainID is not a decimal number. Family is FamilyEVM, FamilyBitcoin
// or another family named by the payload ("" when unknown).
type Network struct {
	Name       string `json:"name"`
	ChainID    string `json:"chain_id"`
	ChainIDInt int64  `json:"chain_id_int"`
	Family     string `json:"family"`
	Testnet    bool   `json:"testnet"` // as claimed by the API payload
}

// Bounds on the values an Input accepts from outside.
const (
	maxAmountDigits = 96 // digits of a base-unit amount
	maxDecimals     = 77 // decimals of an asset
)

// NewNetwork builds a Network, deriving ChainIDInt and Family from
// chainID. A payload that gives only a chain ID (name "") gets the name
// and testnet flag of the network LookupNetwork knows by that ID.
func NewNetwork(name, chainID string, testnet bool) Network {
	n := Network{Name: name, ChainID: chainID, ChainIDInt: chainIDInt(chainID), Family: familyOf(chainID), Testnet: testnet}
	n.fillKnown()
	return n
}

// fillKnown completes a network known only by its chain ID.
func (n *Network) fillKnown() {
	if n.Name != "" {
		return
	}
	if k, ok := LookupNetwork(n.ChainID); ok {
		n.Name, n.Testnet = k.Name, k.Testnet
	}
}

// chainIDInt parses a positive decimal chain ID; anything else gives 0.
func chainIDInt(s string) int64 {
	if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// NewTx builds a Tx from an amount in base units (decimal digits only) and
// the asset's decimals, deriving Amount and AmountNumber. It fails on an
// amount or decimals that are not valid.
func NewTx(network Network, from, to string, whitelisted bool, asset string, decimals int, amountBase string) (Tx, error) {
	amount, num, err := WholeUnits(amountBase, decimals)
	if err != nil {
		return Tx{}, err
	}
	tx := Tx{
		Network: network, From: from, To: to, Whitelisted: whitelisted,
		Asset: asset, Decimals: int64(decimals),
		Amount: amount, AmountNumber: num, AmountBase: amountBase,
	}
	tx.CheckAddresses()
	return tx, nil
}

// CheckAddresses sets FromValid, ToValid and AddressProblem from the
// addresses and the network's family (CheckAddress). An address already
// marked invalid stays invalid.
func (tx *Tx) CheckAddresses() {
	to, toOK := addressProblem("destination", tx.Network.Family, tx.To)
	from, fromOK := addressProblem("source", tx.Network.Family, tx.From)
	if tx.ToValid = toOK; !toOK {
		tx.AddressProblem = to
	}
	if tx.FromValid = fromOK; !fromOK {
		if tx.AddressProblem != "" {
			tx.AddressProblem += "; "
		}
		tx.AddressProblem += from
	}
}

// addressProblem describes a malformed address ("" and true when it is
// empty, well-formed or of an unknown family).
func addressProblem(role, family, addr string) (string, bool) {
	if addr == "" {
		return "", true
	}
	why, _ := CheckAddress(family, addr)
	if why == "" {
		return "", true
	}
	return fmt.Sprintf("%s address %q is malformed for %s: %s", role, clipN(addr, 100), family, why), false
}

// WholeUnits converts a base-unit amount (decimal digits only) to whole
// units: an exact decimal string without trailing zeros ("1.5") and its
// value as a double.
func WholeUnits(base string, decimals int) (string, float64, error) {
	if base == "" || len(base) > maxAmountDigits || strings.TrimLeft(base, "0123456789") != "" {
		return "", 0, fmt.Errorf("amount %q is not a whole number of base units (at most %d digits)", clip(base), maxAmountDigits)
	}
	if decimals < 0 || decimals > maxDecimals {
		return "", 0, fmt.Errorf("asset decimals %d out of range 0..%d", decimals, maxDecimals)
	}
	s := strings.TrimLeft(base, "0")
	if s == "" {
		s = "0"
	}
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		whole, frac := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
		s = whole
		if frac != "" {
			s += "." + frac
		}
	}
	f, _, err := big.ParseFloat(s, 10, 64, big.ToNearestEven)
	if err != nil {
		return "", 0, fmt.Errorf("amount %q: %v", clip(base), err)
	}
	num, _ := f.Float64()
	if math.IsInf(num, 0) {
		num = math.MaxFloat64
	}
	return s, num, nil
}

// UnmarshalJSON reads an input document strictly (unknown fields are an
// error). Fields left out take the values of an ordinary action:
// payload.understood, action.expiry_known, tx.to_valid and tx.from_valid
// are true unless given; Normalize then derives the rest.
func (in *Input) UnmarshalJSON(b []byte) error {
	type plain Input // without this method
	p := plain{Payload: Payload{Understood: true}}
	p.Action.ExpiryKnown = true
	p.Tx.ToValid, p.Tx.FromValid = true, true
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*in = Input(p)
	return nil
}

// Normalize fills the derived fields a hand-written document may leave out:
// ChainIDInt and Family from ChainID, the name and testnet flag of a known
// network given only by its chain ID, Amount and AmountNumber from
// AmountBase and Decimals (or AmountNumber from Amount), the address checks
// (FromValid, ToValid, AddressProblem), expires_in_seconds of an unknown
// expiry, and payload.understood (false with a decode_error). It reports
// amounts that cannot be read; it never turns a value it derives from
// "problem" to "fine".
func (in *Input) Normalize() error {
	n := &in.Tx.Network
	if n.ChainIDInt == 0 {
		n.ChainIDInt = chainIDInt(n.ChainID)
	}
	if n.Family == "" {
		n.Family = familyOf(n.ChainID)
	}
	n.fillKnown()
	if in.Tx.AddressProblem == "" {
		toOK, fromOK := in.Tx.ToValid, in.Tx.FromValid
		in.Tx.CheckAddresses()
		in.Tx.ToValid, in.Tx.FromValid = in.Tx.ToValid && toOK, in.Tx.FromValid && fromOK
	}
	if !in.Action.ExpiryKnown {
		in.Action.ExpiresInSeconds = UnknownExpirySeconds
	}
	if in.DecodeError != "" {
		in.Payload.Understood = false
		if in.Payload.Problem == "" {
			in.Payload.Problem = in.DecodeError
		}
	}
	tx := &in.Tx
	if tx.Amount == "" && tx.AmountBase != "" {
		if tx.Decimals < 0 || tx.Decimals > maxDecimals {
			return fmt.Errorf("tx.decimals %d out of range 0..%d", tx.Decimals, maxDecimals)
		}
		amount, num, err := WholeUnits(tx.AmountBase, int(tx.Decimals))
		if err != nil {
			return fmt.Errorf("tx.amount_base: %w", err)
		}
		tx.Amount = amount
		if tx.AmountNumber == 0 {
			tx.AmountNumber = num
		}
	}
	if tx.AmountNumber == 0 && tx.Amount != "" {
		if len(tx.Amount) > maxAmountDigits+1 {
			return errors.New("tx.amount is too long")
		}
		f, err := strconv.ParseFloat(tx.Amount, 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("tx.amount %q is not a non-negative decimal number", clip(tx.Amount))
		}
		tx.AmountNumber = f
	}
	if math.IsNaN(tx.AmountNumber) || tx.AmountNumber < 0 {
		return errors.New("tx.amount_number must be a non-negative number")
	}
	return nil
}

// clip shortens hostile text before it goes into an error message.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
