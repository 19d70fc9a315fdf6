package sandbox

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/qbls"
)

// apiKey is an API key of the workspace.
type apiKey struct {
	id, name string
	hmacKey  []byte          // decoded API secret (the operator's key only)
	bls      *qbls.PublicKey // registered BLS key, nil until registered
	ec       []byte          // registered EC key
	sim      *qbls.SecretKey // simulated approvers: the sandbox signs for them
}

type policy struct {
	id, name, kind string
	threshold      int
	members        []string // API key IDs
}

func (p *policy) member(k string) bool {
	for _, m := range p.members {
		if m == k {
			return true
		}
	}
	return false
}

type wallet struct {
	ScenarioWallet
	net       ScenarioNetwork
	pol       *policy
	whitelist map[string]string // address → name
}

// action is the sandbox's record of an action.
type action struct {
	id        string
	typ       int
	status    int
	created   time.Time
	expires   time.Time
	pol       *policy
	payload   client.Payload
	message   []byte
	decisions map[string]int // key ID → StatusApproved / StatusRejected
	signers   []string       // key IDs in decision order
	seq       int
	// key updates
	subject string
	newBLS  *qbls.PublicKey
	newEC   []byte
}

func (a *action) approvals() int {
	n := 0
	for _, d := range a.decisions {
		if d == client.StatusApproved {
			n++
		}
	}
	return n
}

// visible reports whether key may act on the action.
func (a *action) visible(key string) bool {
	if a.typ == client.TypeAPIKeyUpdate {
		return a.subject == key
	}
	return a.pol.member(key)
}

// wire renders the action for viewer; messages hex (REST) or base64 (feed).
func (a *action) wire(viewer string, hexMsgs bool) client.WireAction {
	p := a.payload
	p.Approvals = a.approvals()
	pj, _ := json.Marshal(p)
	msg := base64.StdEncoding.EncodeToString(a.message)
	if hexMsgs {
		msg = hex.EncodeToString(a.message)
	}
	w := client.WireAction{
		ID: a.id, Type: a.typ, Status: a.status, ApproverID: viewer,
		Description: describe(a), Payload: base64.StdEncoding.EncodeToString(pj),
		Messages: []string{msg}, Signatures: nil,
		Timestamp: a.created.Unix(), ActionTime: a.created.Unix(), ExpireTime: a.expires.Unix(), Created: a.created.Unix(),
		Metadata: "e30=", MyDecision: a.decisions[viewer],
	}
	return w
}

func describe(a *action) string {
	if a.typ == client.TypeAPIKeyUpdate {
		return "API key update: register BLS and EC keys"
	}
	t := a.payload.Transaction
	return fmt.Sprintf("Send %s %s on %s", client.FormatAmount(t.Amount, t.Asset.Decimals), t.Asset.Symbol, t.Network.Name)
}

// workspace holds the whole sandbox state behind one mutex.
type workspace struct {
	mu        sync.Mutex
	id, name  string
	operator  string // operator key ID
	keys      map[string]*apiKey
	byName    map[string]string // scenario member name → key ID
	policies  map[string]*policy
	wallets   map[string]*wallet
	walletIDs []string
	assets    map[string]ScenarioAsset
	actions   map[string]*action
	order     []*action // every action in seq order (actions are never removed)
	seq       int
	rng       *rand.Rand
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (w *workspace) randID(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(base62[w.rng.IntN(len(base62))])
	}
	return b.String()
}

// newAction registers a and computes its message. Caller holds mu.
func (w *workspace) addAction(a *action) {
	w.seq++
	a.seq = w.seq
	if a.id == "" {
		for {
			a.id = "2" + w.randID(26)
			if _, dup := w.actions[a.id]; !dup {
				break
			}
		}
	}
	a.decisions = map[string]int{}
	pj, _ := json.Marshal(a.payload) // approvals are 0 at creation
	a.message = client.ActionMessage(a.id, a.typ, pj)
	w.actions[a.id] = a
	w.order = append(w.order, a)
}

// txAction builds a transaction action from spec. Caller holds mu.
func (w *workspace) txAction(spec ActionSpec, now time.Time) (*action, error) {
	wal, ok := w.wallets[spec.Wallet]
	if !ok {
		return nil, fmt.Errorf("unknown wallet %q", spec.Wallet)
	}
	as, ok := w.assets[spec.Asset]
	if !ok || as.Network != wal.Network {
		return nil, fmt.Errorf("asset %q is not on wallet %s's network", spec.Asset, wal.ID)
	}
	d, err := spec.expiry()
	if err != nil {
		return nil, err
	}
	if !digits(spec.Amount) || spec.To == "" {
		return nil, fmt.Errorf("action needs a decimal amount and a destination")
	}
	toName, wl := wal.whitelist[spec.To]
	a := &action{
		typ: client.TypeTransaction, status: client.StatusPending, created: now, expires: now.Add(d), pol: wal.pol,
		payload: client.Payload{
			PolicyName: wal.pol.name,
			Policy:     &client.Policy{ID: wal.pol.id, Name: wal.pol.name, Kind: wal.pol.kind, Threshold: wal.pol.threshold, Members: wal.pol.members},
			Transaction: &client.Transaction{
				Network:  &client.Network{Name: wal.net.Name, Family: wal.net.Family, ChainID: wal.net.ChainID, Testnet: wal.net.Testnet},
				WalletID: wal.ID, From: wal.Address, To: spec.To, ToName: toName, Whitelisted: wl,
				Asset:  &client.Asset{Symbol: as.Symbol, Decimals: as.Decimals, Contract: as.Contract},
				Amount: spec.Amount, Note: spec.Note, InitiatorName: spec.Initiator,
			},
		},
	}
	w.addAction(a)
	for _, n := range spec.ApprovedBy {
		k, ok := w.byName[n]
		if !ok || !wal.pol.member(k) {
			continue
		}
		a.decisions[k] = client.StatusApproved
		a.signers = append(a.signers, k)
	}
	if a.approvals() >= a.pol.threshold {
		a.status = client.StatusApproved
	}
	return a, nil
}

// expire marks pending actions past their expiry as expired; it returns
// those that changed. Caller holds mu.
func (w *workspace) expire(now time.Time) []*action {
	var out []*action
	for _, a := range w.actions {
		if a.status == client.StatusPending && !now.Before(a.expires) {
			a.status = client.StatusExpired
			out = append(out, a)
		}
	}
	return out
}

// sorted returns the actions visible to key (every action when key is "")
// in creation order, filtered by status (0 = any). Caller holds mu.
func (w *workspace) sorted(key string, status int) []*action {
	var out []*action
	w.matching(key, status, func(a *action) bool {
		out = append(out, a)
		return true
	})
	return out
}

// matching calls fn with each action sorted would return, in order, until
// fn returns false. Caller holds mu.
func (w *workspace) matching(key string, status int, fn func(*action) bool) {
	for _, a := range w.order {
		if (key == "" || a.visible(key)) && (status == 0 || a.status == status) && !fn(a) {
			return
		}
	}
}

// decideError is an HTTP answer for a refused decision.
type decideError struct {
	status int
	msg    string
}

func (e *decideError) Error() string { return e.msg }

// decide records key's decision with signature hex sigs[0]. Caller holds mu.
// It returns the action when its status changed.
func (w *workspace) decide(key, id string, status int, sigs []string, now time.Time) (changed bool, err error) {
	a, ok := w.actions[id]
	if !ok {
		return false, &decideError{http.StatusNotFound, "action not found"}
	}
	if !a.visible(key) {
		return false, &decideError{http.StatusForbidden, "this API key is not a member of the policy of this action"}
	}
	if a.status == client.StatusPending && !now.Before(a.expires) {
		a.status = client.StatusExpired
		changed = true
	}
	if a.status != client.StatusPending {
		return changed, &decideError{http.StatusConflict, fmt.Sprintf("action can't be signed, status not pending (%d)", a.status)}
	}
	if _, done := a.decisions[key]; done {
		return false, &decideError{http.StatusConflict, "this API key has already decided this action"}
	}
	if status != client.StatusApproved && status != client.StatusRejected {
		return false, &decideError{http.StatusBadRequest, "status must be 3 (approve) or 4 (reject)"}
	}
	if len(sigs) != 1 || len(sigs[0]) != 2*qbls.SignatureSize {
		return false, &decideError{http.StatusBadRequest, "exactly one 49-byte hex BLS signature is required"}
	}
	raw, herr := hex.DecodeString(sigs[0])
	sig, perr := qbls.ParseSignature(raw)
	if herr != nil || perr != nil {
		return false, &decideError{http.StatusBadRequest, "the signature is not a valid BLS signature encoding"}
	}
	var pk *qbls.PublicKey
	if a.typ == client.TypeAPIKeyUpdate {
		pk = a.newBLS
	} else if k := w.keys[key]; k != nil {
		pk = k.bls
	}
	if pk == nil {
		return false, &decideError{http.StatusForbidden, "this API key has no registered BLS key; register keys first"}
	}
	if !qbls.Verify(*pk, a.message, sig) {
		return false, &decideError{http.StatusBadRequest, "the BLS signature does not verify against the registered key of this API key"}
	}
	a.decisions[key] = status
	a.signers = append(a.signers, key)
	switch {
	case status == client.StatusRejected:
		a.status = client.StatusRejected
	case a.approvals() >= a.pol.threshold:
		a.status = client.StatusApproved
		if a.typ == client.TypeAPIKeyUpdate {
			k := w.keys[a.subject]
			k.bls, k.ec = a.newBLS, a.newEC
		}
	}
	return true, nil
}
