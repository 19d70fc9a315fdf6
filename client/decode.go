package client

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
// REST encoding of messages (hex) rather than the feed's (base64). An
// undecodable payload is not an error: Action.PayloadErr says why.
func DecodeWire(w *WireAction, messagesHex bool) (*Action, error) {
	if w == nil {
		return nil, errf(KindBadResponse, "empty action")
	}
	if !ValidID(w.ID) {
		return nil, errf(KindBadResponse, "action ID %q is not a valid ID", sanitize(w.ID, 40))
	}
	if w.Status < 0 || w.Status > 99 || w.Type < 0 || w.Type > 9999 {
		return nil, errf(KindBadResponse, "action %s has an out-of-range status %d or type %d", w.ID, w.Status, w.Type)
	}
	if len(w.Messages) > MaxMessages {
		return nil, errf(KindBadResponse, "action %s has %d messages (at most %d)", w.ID, len(w.Messages), MaxMessages)
	}
	a := &Action{ID: w.ID, Type: w.Type, Status: w.Status, MyDecision: w.MyDecision}
	d := &ActionDetail{Description: sanitize(w.Description, 500)}
	a.Detail = d
	if w.MyDecision != 0 && w.MyDecision != StatusApproved && w.MyDecision != StatusRejected {
		return nil, errf(KindBadResponse, "action %s has an unknown decision code %d", w.ID, w.MyDecision)
	}
	if w.ExpireTime < 0 || w.ExpireTime > 1<<40 || w.Created < 0 || w.Created > 1<<40 {
		return nil, errf(KindBadResponse, "action %s has an impossible time", w.ID)
	}
	if w.ExpireTime > 0 {
		a.Expires = time.Unix(w.ExpireTime, 0)
	}
	if w.Created > 0 {
		a.Created = time.Unix(w.Created, 0)
	}
	decode, limit, enc := decodeB64, base64.StdEncoding.EncodedLen(MaxMessageBytes), "base64"
	if messagesHex {
		decode, limit, enc = hex.DecodeString, 2*MaxMessageBytes, "hex"
	}
	for i, m := range w.Messages {
		if len(m) > limit {
			return nil, errf(KindBadResponse, "action %s message %d is larger than %d bytes", w.ID, i, MaxMessageBytes)
		}
		b, err := decode(m)
		if err != nil {
			return nil, errf(KindBadResponse, "action %s message %d is not valid %s", w.ID, i, enc)
		}
		a.Messages = append(a.Messages, b)
	}
	if w.Payload != "" {
		if len(w.Payload) > base64.StdEncoding.EncodedLen(MaxPayloadBytes) {
			d.PayloadErr = fmt.Sprintf("payload is larger than %d bytes", MaxPayloadBytes)
			return a, nil
		}
		raw, err := decodeB64(w.Payload)
		if err != nil {
			d.PayloadErr = "payload is not valid base64"
			return a, nil
		}
		d.RawPayload = raw
		p, err := DecodePayload(raw)
		if err != nil {
			d.PayloadErr = err.Error()
			return a, nil
		}
		a.Payload = p
	} else {
		d.PayloadErr = "the action has no payload"
	}
	return a, nil
}

// DecodePayload parses and checks a payload JSON document.
func DecodePayload(raw []byte) (*Payload, error) {
	var p Payload
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&p); err != nil {
		return nil, fmt.Errorf("payload is not the expected JSON: %s", sanitize(err.Error(), 120))
	}
	if p.Policy.Threshold < 0 || p.Approvals < 0 || len(p.Policy.Members) > 1000 {
		return nil, fmt.Errorf("payload policy has impossible numbers")
	}
	if t := p.Transaction; t != nil {
		if t.Network == nil {
			t.Network = &Network{}
		}
		if t.Asset == nil {
			t.Asset = &Asset{}
		}
		if t.Amount == "" || !allDigits(t.Amount) || len(t.Amount) > 80 {
			return nil, fmt.Errorf("payload amount %q is not a base-unit decimal number", sanitize(t.Amount, 40))
		}
		if t.Asset.Decimals < 0 || t.Asset.Decimals > 36 {
			return nil, fmt.Errorf("payload asset decimals %d are out of range", t.Asset.Decimals)
		}
	}
	p.intern()
	return &p, nil
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
		return nil, errf(KindBadResponse, "feed frame is not a JSON action")
	}
	return DecodeWire(&w, false)
}

// MessageToSign returns the bytes to sign for a decision on a at now:
// Messages[0] exactly as received. It refuses when the action is not
// pending, has expired, or has no message.
func (a *Action) MessageToSign(now time.Time) ([]byte, error) {
	switch {
	case a.Status != StatusPending:
		return nil, &Error{Kind: KindConflict, Msg: fmt.Sprintf("action %s is not pending (status %d); refusing to sign", a.ID, a.Status)}
	case a.Expires.IsZero() || !now.Before(a.Expires):
		return nil, &Error{Kind: KindRefused, Msg: fmt.Sprintf("action %s has expired; refusing to sign", a.ID)}
	case len(a.Messages) == 0 || len(a.Messages[0]) == 0:
		return nil, &Error{Kind: KindRefused, Msg: fmt.Sprintf("action %s has no message to sign; refusing", a.ID)}
	case a.MyDecision != 0:
		return nil, &Error{Kind: KindConflict, Msg: fmt.Sprintf("action %s was already decided by this key; refusing to sign again", a.ID)}
	}
	return a.Messages[0], nil
}
