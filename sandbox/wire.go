package sandbox

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// txDetails is everything a transaction action's payload may say.
type txDetails struct {
	PolicyName                   string
	Policy                       *policy
	NetworkName, Family, ChainID string
	Testnet                      bool
	WalletID, From, To, ToName   string
	Whitelisted                  bool
	Symbol, Contract             string
	Decimals                     int
	Amount, Note, Initiator      string
	Data                         string // EVM calldata, "0x" + hex ("" = none)
}

// Extended payload document (our reading; docs/PROTOCOL.md).
type extPayload struct {
	PolicyName  string        `json:"policyName"`
	Policy      extPolicy     `json:"policy"`
	Transaction *extTx        `json:"externalExtension,omitempty"`
	KeyUpdate   *extKeyUpdate `json:"apiKeyUpdate,omitempty"`
}

type extPolicy struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	Threshold int      `json:"threshold"`
	Members   []string `json:"members"`
}

type extTx struct {
	Network struct {
		Name    string `json:"name"`
		Family  string `json:"family"`
		ChainID string `json:"chainID"`
		Testnet bool   `json:"testnet"`
	} `json:"network"`
	WalletID    string `json:"walletID"`
	From        string `json:"from"`
	To          string `json:"to"`
	ToName      string `json:"toName,omitempty"`
	Whitelisted bool   `json:"whitelisted"`
	Asset       struct {
		Symbol   string `json:"symbol"`
		Decimals int    `json:"decimals"`
		Contract string `json:"contract,omitempty"`
	} `json:"asset"`
	Amount        string `json:"amount"`
	Note          string `json:"note,omitempty"`
	InitiatorName string `json:"initiatorName,omitempty"`
	Data          string `json:"data,omitempty"` // EVM calldata, "0x" + hex
}

type extKeyUpdate struct {
	APIKeyID     string `json:"apiKeyID"`
	BLSPublicKey string `json:"blsPublicKey"`
	ECPublicKey  string `json:"ecPublicKey"`
}

func policyObject(p *policy) extPolicy {
	return extPolicy{ID: p.id, Name: p.name, Kind: p.kind, Threshold: p.threshold, Members: p.members}
}

// extendedTxPayload is the extended payload of a transaction.
func extendedTxPayload(d *txDetails) []byte {
	t := &extTx{WalletID: d.WalletID, From: d.From, To: d.To, ToName: d.ToName, Whitelisted: d.Whitelisted,
		Amount: d.Amount, Note: d.Note, InitiatorName: d.Initiator, Data: d.Data}
	t.Network.Name, t.Network.Family, t.Network.ChainID, t.Network.Testnet = d.NetworkName, d.Family, d.ChainID, d.Testnet
	t.Asset.Symbol, t.Asset.Decimals, t.Asset.Contract = d.Symbol, d.Decimals, d.Contract
	b, _ := json.Marshal(extPayload{PolicyName: d.PolicyName, Policy: policyObject(d.Policy), Transaction: t})
	return b
}

// minimalTxPayload is the payload as far as it is confirmed: policyName
// and externalExtension.network.chainID, a number for EVM chains (as in
// the public examples) and a string otherwise.
func minimalTxPayload(d *txDetails) []byte {
	var chain any = d.ChainID
	if n, err := strconv.ParseUint(d.ChainID, 10, 64); err == nil && d.Family == "evm" {
		chain = n
	}
	var p struct {
		PolicyName        string `json:"policyName"`
		ExternalExtension struct {
			Network struct {
				ChainID any `json:"chainID"`
			} `json:"network"`
		} `json:"externalExtension"`
	}
	p.PolicyName = d.PolicyName
	p.ExternalExtension.Network.ChainID = chain
	b, _ := json.Marshal(p)
	return b
}

// extWire is an action in extended mode: REST (hex messages) and feed
// (base64 messages) alike.
type extWire struct {
	ID          string          `json:"id"`
	Type        int             `json:"type"`
	Status      int             `json:"status"`
	Description string          `json:"description,omitempty"`
	ApproverID  string          `json:"approverID,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"` // base64 string, or an object when payloadObject
	Messages    []string        `json:"messages"`
	Signatures  []string        `json:"signatures"`
	Timestamp   int64           `json:"timestamp"`
	ActionTime  int64           `json:"actionTime"`
	ExpireTime  int64           `json:"expireTime"`
	Created     int64           `json:"created"`
	Metadata    string          `json:"metadata"`
	MyDecision  int             `json:"myDecision,omitempty"`
	Approvals   int             `json:"approvals"`
	ApprovedBy  []extApprover   `json:"approvedBy"`
}

// extApprover is one approval so far: the member's key ID, its name and
// when it approved (unix seconds).
type extApprover struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Time int64  `json:"time"`
}

// approvedBy lists a's approvals in the order they came. Caller holds mu.
func (w *workspace) approvedBy(a *action) []extApprover {
	out := []extApprover{}
	for _, k := range a.signers {
		if a.decisions[k] != StatusApproved {
			continue
		}
		e := extApprover{ID: k, Time: a.decidedAt[k].Unix()}
		if key := w.keys[k]; key != nil {
			e.Name = key.name
		}
		out = append(out, e)
	}
	return out
}

// minFeed is a feed frame in minimal mode, shaped like the signing
// agent's swagger example (ClientFeedActionResponse).
type minFeed struct {
	ID            string    `json:"id"`
	Type          int       `json:"type"`
	Status        int       `json:"status"`
	Description   string    `json:"description"`
	Payload       string    `json:"payload"`
	Messages      []string  `json:"messages"`
	Signatures    []string  `json:"signatures"`
	Timestamp     int64     `json:"timestamp"`
	ActionSubject *struct{} `json:"actionSubject"`
	ExpireTime    int64     `json:"expireTime"`
	Metadata      string    `json:"metadata"`
	Created       int64     `json:"created"`
}

// minREST is GET /actions/{id} in minimal mode: exactly the fields the
// signing agent reads (internal/action/signer.go getActionResponse).
type minREST struct {
	ID       string   `json:"id"`
	Status   int      `json:"status"`
	Messages []string `json:"messages"`
}

// restJSON renders a for GET /actions/{id} and the list (hex messages).
// Caller holds mu.
func (w *workspace) restJSON(a *action, viewer string) []byte {
	var b []byte
	if w.minimal {
		b, _ = json.Marshal(minREST{ID: a.id, Status: a.status, Messages: []string{hex.EncodeToString(a.message)}})
	} else {
		b = w.extendedJSON(a, viewer, hex.EncodeToString(a.message))
	}
	return corrupt(b, a.malformed)
}

// feedJSON renders a as a feed frame (base64 messages). Caller holds mu.
func (w *workspace) feedJSON(a *action, viewer string) []byte {
	msg := base64.StdEncoding.EncodeToString(a.message)
	var b []byte
	if w.minimal {
		b, _ = json.Marshal(minFeed{ID: a.id, Type: a.typ, Status: a.status, Description: a.desc,
			Payload: base64.StdEncoding.EncodeToString(a.payload), Messages: []string{msg},
			Timestamp: a.created.Unix(), ExpireTime: a.expires.Unix(), Metadata: "e30=", Created: a.created.Unix()})
	} else {
		b = w.extendedJSON(a, viewer, msg)
	}
	return corrupt(b, a.malformed)
}

func (w *workspace) extendedJSON(a *action, viewer, msg string) []byte {
	p := json.RawMessage(strconv.Quote(base64.StdEncoding.EncodeToString(a.payload)))
	if a.payloadObject {
		p = a.payload
	}
	b, _ := json.Marshal(extWire{ID: a.id, Type: a.typ, Status: a.status, Description: a.desc, ApproverID: viewer,
		Payload: p, Messages: []string{msg}, Timestamp: a.created.Unix(), ActionTime: a.created.Unix(),
		ExpireTime: a.expires.Unix(), Created: a.created.Unix(), Metadata: "e30=",
		MyDecision: a.decisions[viewer], Approvals: a.approvals(), ApprovedBy: w.approvedBy(a)})
	return b
}

// MalformedKind says how a malformed action is broken on the wire.
type MalformedKind string

// Malformed kinds (Server.AddMalformedAction).
const (
	MalformedID       MalformedKind = "id"       // an ID that is not a valid ID ("../../etc/passwd")
	MalformedMessages MalformedKind = "messages" // messages neither hex nor base64
	MalformedPayload  MalformedKind = "payload"  // payload neither base64 nor JSON
	MalformedStatus   MalformedKind = "status"   // status a string
)

// corrupt breaks one field of an action's JSON object (kind "" = none).
// Fields the object does not have are left alone.
func corrupt(b []byte, kind MalformedKind) []byte {
	if kind == "" {
		return b
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	field, bad := "", ""
	switch kind {
	case MalformedID:
		field, bad = "id", `"../../etc/passwd"`
	case MalformedMessages:
		field, bad = "messages", `["%%% not hex, not base64 %%%"]`
	case MalformedPayload:
		field, bad = "payload", `"%%% not base64 %%%"`
	case MalformedStatus:
		field, bad = "status", `"pending"`
	}
	if _, ok := m[field]; ok {
		m[field] = json.RawMessage(bad)
	}
	out, _ := json.Marshal(m)
	return out
}
