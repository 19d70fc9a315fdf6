package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unique"
)

// Bounds on what the client accepts from the network.
const (
	MaxResponseBytes = 1 << 20   // any HTTP body or feed frame
	MaxMessages      = 16        // messages per action
	MaxMessageBytes  = 64 << 10  // one decoded message
	MaxPayloadBytes  = 256 << 10 // the decoded payload JSON
	MaxIDLength      = 128       // action, key and workspace IDs
	MaxSignatureHex  = 1024      // one hex signature we send
)

// ValidID reports whether s is a plausible Qredo ID: 1..128 characters of
// letters, digits, '.', '_' or '-'. IDs go into URL paths, so nothing else
// is allowed.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// DecodeWire validates a wire action and decodes it. messagesHex selects the
// REST encoding of messages (hex) rather than the feed's (base64). Only
// the confirmed fields can make it fail; a payload that is absent or not
// understood is not an error (Action.PayloadErr, Payload.Missing). It
// sets Action.Binding from Messages[0] (CheckBinding).
func DecodeWire(w *WireAction, messagesHex bool) (*Action, error) {
	if w == nil {
		return nil, errf(KindBadResponse, "empty action")
	}
	if !ValidID(w.ID) {
		return nil, errf(KindBadResponse, "action ID %s is not a valid ID", quoteID(w.ID))
	}
	if w.Status < 0 || w.Status > 99 {
		return nil, errf(KindBadResponse, "action %s has an impossible status %d", w.ID, w.Status)
	}
	if len(w.Messages) > MaxMessages {
		return nil, errf(KindBadResponse, "action %s has %d messages (at most %d)", w.ID, len(w.Messages), MaxMessages)
	}
	if w.ExpireTime < 0 || w.ExpireTime > maxUnix || w.Created < 0 || w.Created > maxUnix {
		return nil, errf(KindBadResponse, "action %s has an impossible time", w.ID)
	}
	a := &Action{ID: w.ID, Type: w.Type, Status: w.Status}
	if a.Type < 0 || a.Type > math.MaxInt32 {
		a.Type = 0 // a type we cannot even name is an unknown type
	}
	if d := w.MyDecision; (w.MyDecisionKnown || d != 0) && (d == 0 || d == StatusApproved || d == StatusRejected) {
		a.MyDecision, a.MyDecisionKnown = d, true
	}
	if w.ExpireTime > 0 {
		a.Expires = time.Unix(w.ExpireTime, 0)
	}
	if w.Created > 0 {
		a.Created = time.Unix(w.Created, 0)
	}
	if err := decodeMessages(a, w.Messages, messagesHex); err != nil {
		return nil, err
	}
	d := &ActionDetail{Description: sanitize(w.Description, 500)}
	decodePayloadInto(a, d, w)
	if len(a.Messages) > 0 {
		a.Binding, _ = CheckBinding(a.Messages[0], a)
	}
	if d.Description != "" || d.PayloadErr != "" || d.RawPayload != nil {
		a.Detail = d
	}
	return a, nil
}

// maxUnix bounds the unix times we accept (year 36812).
const maxUnix = 1 << 40

// decodeMessages decodes and bounds the messages into a.
func decodeMessages(a *Action, msgs []string, messagesHex bool) error {
	decode, limit, enc := decodeB64, base64.StdEncoding.EncodedLen(MaxMessageBytes), "base64"
	if messagesHex {
		decode, limit, enc = hex.DecodeString, 2*MaxMessageBytes, "hex"
	}
	for i, m := range msgs {
		if len(m) > limit {
			return errf(KindBadResponse, "action %s message %d is larger than %d bytes", a.ID, i, MaxMessageBytes)
		}
		b, err := decode(m)
		if err != nil {
			return errf(KindBadResponse, "action %s message %d is not valid %s", a.ID, i, enc)
		}
		a.Messages = append(a.Messages, b)
	}
	return nil
}

// decodePayloadInto reads w's payload into a and d: its SHA-256, the bytes
// (when within bounds), the decoded payload and why it is not understood.
func decodePayloadInto(a *Action, d *ActionDetail, w *WireAction) {
	var raw []byte
	switch {
	case len(w.PayloadJSON) > 0 && string(w.PayloadJSON) != "null":
		raw = w.PayloadJSON
	case w.Payload == "":
		return
	case len(w.Payload) > base64.StdEncoding.EncodedLen(MaxResponseBytes):
		d.PayloadErr = fmt.Sprintf("payload is larger than %d bytes", MaxPayloadBytes)
		return
	default:
		b, err := decodeB64(w.Payload)
		if err != nil {
			d.PayloadErr = "payload is not valid base64"
			return
		}
		raw = b
	}
	a.PayloadSHA256 = sha256.Sum256(raw)
	if len(raw) > MaxPayloadBytes {
		d.PayloadErr = fmt.Sprintf("payload is larger than %d bytes", MaxPayloadBytes)
		return
	}
	d.RawPayload = raw
	p, err := DecodePayload(raw)
	if err != nil {
		d.PayloadErr = err.Error()
	}
	if p != nil && w.Approvals != nil {
		p.Approvals = *w.Approvals
	}
	if p != nil {
		p.ApprovedBy = approversOf(w.ApprovedBy)
	}
	a.Payload = p
}

// DecodePayload parses a payload document leniently. p is nil only when
// raw is not JSON (err says why). Otherwise p holds what could be read,
// and err is non-nil ("not understood: …") exactly when p.Missing() is
// not "": the payload lacks, or holds in an unreadable form, something a
// decision needs. Unknown fields are ignored.
func DecodePayload(raw []byte) (*Payload, error) {
	var w struct {
		PolicyName  json.RawMessage `json:"policyName"`
		Policy      json.RawMessage `json:"policy"`
		Transaction json.RawMessage `json:"externalExtension"`
		KeyUpdate   json.RawMessage `json:"apiKeyUpdate"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("payload is not JSON: %s", sanitize(err.Error(), 120))
		}
		p := &Payload{Policy: &Policy{}}
		return p, fmt.Errorf("not understood: the payload is a JSON %s, not an object", te.Value)
	}
	p := &Payload{Policy: &Policy{}}
	var problems []string
	part := func(name string, raw json.RawMessage, v any) bool {
		if len(raw) == 0 || string(raw) == "null" {
			return false
		}
		if err := json.Unmarshal(raw, v); err != nil {
			problems = append(problems, typeProblem(name, err))
		}
		return true
	}
	part("policyName", w.PolicyName, &p.PolicyName)
	var pol wirePolicy
	if part("policy", w.Policy, &pol) && pol.Threshold >= 0 && pol.Approvals >= 0 && pol.Approvals <= maxApprovals && len(pol.Members) <= 1000 {
		p.Policy, p.Approvals = &pol.Policy, pol.Approvals
	}
	if t := new(Transaction); part("externalExtension", w.Transaction, t) {
		p.Transaction = t
		if t.Network == nil {
			t.Network = &Network{}
		}
		if t.Asset == nil {
			t.Asset = &Asset{}
		}
	}
	if k := new(KeyUpdate); part("apiKeyUpdate", w.KeyUpdate, k) {
		p.KeyUpdate = k
	}
	p.intern()
	m := p.Missing()
	if m == "" {
		return p, nil
	}
	if len(problems) > 0 {
		m += " (" + strings.Join(problems, "; ") + ")"
	}
	return p, errors.New("not understood: " + sanitize(m, 300))
}

// typeProblem names a part of a payload that has an unexpected JSON type.
func typeProblem(part string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			part += "." + te.Field
		}
		return part + " is a JSON " + te.Value
	}
	return part + " is unreadable"
}

// PrettyPayload renders payload bytes for the detail pane: indented JSON,
// or the text itself when it is not JSON (invalid UTF-8 replaced), cut at
// 64 KiB. It is not made safe for a terminal: the caller escapes it.
func PrettyPayload(raw []byte) string {
	const maxPretty = 64 << 10
	var b bytes.Buffer
	s := ""
	if json.Valid(raw) && json.Indent(&b, raw, "", "  ") == nil {
		s = b.String()
	} else {
		s = strings.ToValidUTF8(string(raw[:min(len(raw), maxPretty+1)]), "\ufffd")
	}
	if len(s) > maxPretty {
		s = strings.ToValidUTF8(s[:maxPretty], "") + "\n…"
	}
	return s
}

// intern makes what repeats across actions (policies, member lists,
// networks, assets, wallets, addresses, names) share one copy, so a list
// of 100,000 actions does not hold 100,000 copies of each.
func (p *Payload) intern() {
	in := func(s *string) { *s = unique.Make(*s).Value() }
	in(&p.PolicyName)
	in(&p.Policy.ID)
	in(&p.Policy.Name)
	in(&p.Policy.Kind)
	p.Policy.Members = internList(p.Policy.Members)
	p.Policy = policies.share(policyKey(p.Policy), func() *Policy { return p.Policy })
	if t := p.Transaction; t != nil {
		t.Network = networks.share(*t.Network, func() *Network { return t.Network })
		t.Asset = assets.share(*t.Asset, func() *Asset { return t.Asset })
		for _, s := range []*string{&t.WalletID, &t.From, &t.ToName, &t.Note, &t.InitiatorName} {
			in(s)
		}
		// A whitelisted destination recurs; others are mostly one-off,
		// and interning them would cost more than it saves.
		if t.Whitelisted {
			in(&t.To)
		}
	}
}

// sharedTable hands out one shared value per key. It is bounded: when
// full it starts afresh. A shared value must never be modified.
type sharedTable[K comparable, V any] struct {
	sync.Mutex
	m map[K]V
}

// maxShared bounds every sharedTable.
const maxShared = 4096

// share returns the value held for k, or holds the one made by v.
func (t *sharedTable[K, V]) share(k K, v func() V) V {
	t.Lock()
	defer t.Unlock()
	if s, ok := t.m[k]; ok {
		return s
	}
	if t.m == nil || len(t.m) >= maxShared {
		t.m = map[K]V{}
	}
	s := v()
	t.m[k] = s
	return s
}

var (
	networks    sharedTable[Network, *Network]
	assets      sharedTable[Asset, *Asset]
	policies    sharedTable[string, *Policy] // by policyKey
	memberLists sharedTable[unique.Handle[string], []string]
)

// policyKey identifies a policy by everything it holds.
func policyKey(p *Policy) string {
	var k strings.Builder
	for _, s := range []string{p.ID, p.Name, p.Kind, strconv.Itoa(p.Threshold)} {
		k.WriteString(s)
		k.WriteByte(0)
	}
	for _, m := range p.Members {
		k.WriteString(m)
		k.WriteByte(1)
	}
	return k.String()
}

// internList shares identical member lists between actions, their
// members interned.
func internList(l []string) []string {
	if len(l) == 0 {
		return l
	}
	return memberLists.share(unique.Make(strings.Join(l, "\x00")), func() []string {
		for i := range l {
			l[i] = unique.Make(l[i]).Value()
		}
		return l
	})
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodeB64 accepts standard base64 with or without padding (and the URL
// alphabet), as encoders in the wild differ.
func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// DecodeFeedFrame decodes one WebSocket feed frame (a JSON WireAction with
// base64 messages).
func DecodeFeedFrame(frame []byte) (*Action, error) {
	if len(frame) > MaxResponseBytes {
		return nil, errf(KindBadResponse, "feed frame larger than %d bytes", MaxResponseBytes)
	}
	var w WireAction
	if err := json.Unmarshal(frame, &w); err != nil {
		return nil, errf(KindBadResponse, "feed frame is not a JSON action: %s", jsonProblem(err))
	}
	return DecodeWire(&w, false)
}

// jsonProblem says briefly and safely why JSON could not be read.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field + " is a JSON " + te.Value
	}
	return sanitize(strings.TrimPrefix(err.Error(), "json: "), 120)
}

// MessageToSign returns the bytes to sign for a decision on a at now:
// Messages[0] exactly as received. It refuses when the action is not
// pending, has a known expiry that has passed, has no message, or is
// known to carry a decision from this key already. An unknown expiry is
// no reason to refuse (the API refuses an expired action itself).
func (a *Action) MessageToSign(now time.Time) ([]byte, error) {
	switch {
	case a.Status != StatusPending:
		return nil, &Error{Kind: KindConflict, Msg: fmt.Sprintf("action %s is %s; refusing to sign", a.ID, StatusName(a.Status))}
	case a.ExpiryKnown() && !now.Before(a.Expires):
		return nil, &Error{Kind: KindRefused, Msg: fmt.Sprintf("action %s expired at %s; refusing to sign", a.ID, a.Expires.UTC().Format(time.RFC3339))}
	case len(a.Messages) == 0 || len(a.Messages[0]) == 0:
		return nil, &Error{Kind: KindRefused, Msg: fmt.Sprintf("action %s has no message to sign", a.ID)}
	case a.MyDecisionKnown && a.MyDecision != 0:
		return nil, &Error{Kind: KindConflict, Msg: fmt.Sprintf("action %s was already %s by this key; refusing to sign again", a.ID, StatusName(a.MyDecision))}
	}
	return a.Messages[0], nil
}
