package sandbox

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// MessageKind says how the message of a CustomAction is built.
type MessageKind string

// Message kinds. The mismatches are in the sandbox layout (marker
// included) with one field that does not match the action shown: a
// client must refuse to sign them.
const (
	MessageDefault         MessageKind = ""                 // the server's layout (Options.Messages)
	MessageSandbox         MessageKind = "sandbox"          // the sandbox layout, bound to the payload shown
	MessageOpaque          MessageKind = "opaque"           // 08 01 12 20 + 32 random bytes, like the real service
	MessageMismatchPayload MessageKind = "mismatch-payload" // field-2 digest over ANOTHER payload (another destination and amount)
	MessageMismatchID      MessageKind = "mismatch-id"      // field 3 names another action
	MessageMismatchType    MessageKind = "mismatch-type"    // field 4 says another type
	MessageMismatchVersion MessageKind = "mismatch-version" // field 1 is 2
)

// CustomAction is a pending transaction action whose every string can be
// set, control characters and bidi overrides included (tests feeding
// hostile text; POST /_admin/actions with this JSON). Empty fields take
// the value the wallet and asset give. In minimal mode the payload only
// carries PolicyName and ChainID.
type CustomAction struct {
	ID          string      `json:"id"`          // "" = generated; else 1–128 of [A-Za-z0-9._-]
	Type        int         `json:"type"`        // 0 = 25 (transaction)
	Wallet      string      `json:"wallet"`      // scenario wallet ID; its policy governs ("" = the first with the operator)
	Asset       string      `json:"asset"`       // scenario asset ID ("" = the first on the wallet's network)
	Description string      `json:"description"` // "" = "Send <amount> <symbol> on <network>"
	PolicyName  string      `json:"policyName"`
	NetworkName string      `json:"networkName"`
	Family      string      `json:"family"`
	ChainID     string      `json:"chainID"`
	WalletID    string      `json:"walletID"`
	From        string      `json:"from"`
	To          string      `json:"to"`
	ToName      string      `json:"toName"`
	Whitelisted *bool       `json:"whitelisted"` // nil = whether To is on the wallet's whitelist
	AssetSymbol string      `json:"assetSymbol"`
	Decimals    *int        `json:"decimals"`
	Contract    string      `json:"contract"`
	Amount      string      `json:"amount"` // "" = 1 whole unit; anything else is sent as is
	Note        string      `json:"note"`
	Initiator   string      `json:"initiator"`
	ExpiresIn   string      `json:"expiresIn"`     // Go duration; "" = 1h
	Payload     bool        `json:"payloadObject"` // extended mode: send the payload as a JSON object
	Message     MessageKind `json:"message"`
	// Data is EVM calldata ("0x" + hex) carried in the extended payload
	// as externalExtension.data; sent as is, so it may be malformed.
	Data string `json:"data"`
	// RawMessage, when set, is the message to sign exactly (hex): a test
	// hook for messages a hostile service might choose.
	RawMessage string `json:"rawMessage"`
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// operatorWallet is the first wallet whose policy has the operator.
func (w *workspace) operatorWallet() (*wallet, error) {
	for _, id := range w.walletIDs {
		if wal := w.wallets[id]; wal.pol.member(w.operator) {
			return wal, nil
		}
	}
	return nil, fmt.Errorf("no wallet's policy has the operator")
}

// details resolves c against its wallet and asset. Caller holds mu.
func (w *workspace) details(c *CustomAction) (*txDetails, error) {
	wal, err := w.operatorWallet()
	if c.Wallet != "" {
		var ok bool
		if wal, ok = w.wallets[c.Wallet]; !ok {
			return nil, fmt.Errorf("unknown wallet %q", c.Wallet)
		}
	} else if err != nil {
		return nil, err
	}
	assetID := c.Asset
	if assetID == "" {
		var ids []string
		for id, a := range w.assets {
			if a.Network == wal.Network {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		if len(ids) == 0 {
			return nil, fmt.Errorf("no asset on wallet %s's network", wal.ID)
		}
		assetID = ids[0]
	}
	as, ok := w.assets[assetID]
	if !ok || as.Network != wal.Network {
		return nil, fmt.Errorf("asset %q is not on wallet %s's network", assetID, wal.ID)
	}
	to := or(c.To, "0x"+hexID(w.rng, 40))
	toName, wl := wal.whitelist[to]
	if c.Whitelisted != nil {
		wl = *c.Whitelisted
	}
	d := &txDetails{PolicyName: or(c.PolicyName, wal.pol.name), Policy: wal.pol,
		NetworkName: or(c.NetworkName, wal.net.Name), Family: or(c.Family, wal.net.Family), ChainID: or(c.ChainID, wal.net.ChainID),
		Testnet: wal.net.Testnet, WalletID: or(c.WalletID, wal.ID), From: or(c.From, wal.Address), To: to,
		ToName: or(c.ToName, toName), Whitelisted: wl, Symbol: or(c.AssetSymbol, as.Symbol), Contract: or(c.Contract, as.Contract),
		Decimals: as.Decimals, Amount: or(c.Amount, "1"+zeros(as.Decimals)), Note: c.Note, Initiator: c.Initiator,
		Data: c.Data}
	if c.Decimals != nil {
		d.Decimals = *c.Decimals
	}
	return d, nil
}

// customAction creates the pending action c describes. Caller holds mu.
func (w *workspace) customAction(c CustomAction, now time.Time) (*action, error) {
	ttl, err := ActionSpec{ExpiresIn: c.ExpiresIn}.expiry()
	if err != nil {
		return nil, err
	}
	d, err := w.details(&c)
	if err != nil {
		return nil, err
	}
	a := &action{id: c.ID, typ: c.Type, status: StatusPending, created: now, expires: now.Add(ttl), pol: d.Policy,
		payloadObject: c.Payload && !w.minimal}
	if a.typ == 0 {
		a.typ = TypeTransaction
	}
	if a.id == "" {
		a.id = w.newActionID()
	} else if _, dup := w.actions[a.id]; dup || !validID(a.id) {
		return nil, fmt.Errorf("action ID %q is taken or not 1-128 of [A-Za-z0-9._-]", a.id)
	}
	a.payload = w.payloadOf(d)
	a.desc = or(c.Description, fmt.Sprintf("Send %s %s on %s", formatAmount(d.Amount, d.Decimals), d.Symbol, d.NetworkName))
	if c.RawMessage != "" {
		if a.message, err = hex.DecodeString(c.RawMessage); err != nil || len(a.message) == 0 || len(a.message) > 4096 {
			return nil, fmt.Errorf("rawMessage: 1–4096 bytes of hex")
		}
	} else if a.message, err = w.messageOf(a, c.Message, d); err != nil {
		return nil, err
	}
	w.insert(a)
	return a, nil
}

func (w *workspace) payloadOf(d *txDetails) []byte {
	if w.minimal {
		return minimalTxPayload(d)
	}
	return extendedTxPayload(d)
}

// messageOf builds a's message of the given kind; d are a's details.
func (w *workspace) messageOf(a *action, kind MessageKind, d *txDetails) ([]byte, error) {
	digest := bindingDigest(a.id, a.typ, a.payload)
	switch kind {
	case MessageDefault:
		return w.defaultMessage(a), nil
	case MessageSandbox:
		return Message(a.id, a.typ, a.payload), nil
	case MessageOpaque:
		var r [32]byte
		crand.Read(r[:])
		return OpaqueMessage(r), nil
	case MessageMismatchPayload:
		other := *d
		other.PolicyName += " (other)"
		other.To = "0x000000000000000000000000000000000000dEaD"
		other.Amount = "9" + zeros(d.Decimals+6)
		return layoutMessage(1, bindingDigest(a.id, a.typ, w.payloadOf(&other)), a.id, a.typ), nil
	case MessageMismatchID:
		other := w.newActionID()
		return layoutMessage(1, bindingDigest(other, a.typ, a.payload), other, a.typ), nil
	case MessageMismatchType:
		return layoutMessage(1, bindingDigest(a.id, a.typ+1, a.payload), a.id, a.typ+1), nil
	case MessageMismatchVersion:
		return layoutMessage(2, digest, a.id, a.typ), nil
	}
	return nil, fmt.Errorf("unknown message kind %q", kind)
}

// AddCustomAction creates a pending action from c and announces it on the
// feed.
func (s *Server) AddCustomAction(c CustomAction) (string, error) {
	s.ws.mu.Lock()
	a, err := s.ws.customAction(c, s.now())
	s.ws.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.announce(a)
	return a.id, nil
}

// AddMalformedAction adds a pending action, visible to the operator, that
// is broken on the wire as kind says (in the list, on GET and on the
// feed), among the good ones.
func (s *Server) AddMalformedAction(kind MalformedKind) (string, error) {
	switch kind {
	case MalformedID, MalformedMessages, MalformedPayload, MalformedStatus:
	default:
		return "", fmt.Errorf("unknown malformed kind %q", kind)
	}
	s.ws.mu.Lock()
	a, err := s.ws.customAction(CustomAction{Note: "malformed on the wire: " + string(kind)}, s.now())
	if err == nil {
		a.malformed = kind
	}
	s.ws.mu.Unlock()
	if err != nil {
		return "", err
	}
	s.announce(a)
	return a.id, nil
}
