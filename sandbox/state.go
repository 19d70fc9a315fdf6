package sandbox

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

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
	id            string
	typ           int
	status        int
	created       time.Time
	expires       time.Time
	pol           *policy
	desc          string
	payload       []byte // exactly as sent; never changes after creation
	payloadObject bool   // extended mode: payload sent as a JSON object, not base64
	message       []byte
	malformed     MalformedKind        // broken on the wire ("" = well formed)
	decisions     map[string]int       // key ID → StatusApproved / StatusRejected
	decidedAt     map[string]time.Time // key ID → when it decided
	signers       []string             // key IDs in decision order
	seq           int
	// key updates
	keyUpdate  bool
	subject    string
	newBLS     *qbls.PublicKey
	newEC      []byte
	needsAdmin bool // an admin must approve too, after the proof of possession
	adminOK    bool // an admin approved
}

func (a *action) approvals() int {
	n := 0
	for _, d := range a.decisions {
		if d == StatusApproved {
			n++
		}
	}
	return n
}

// visible reports whether key may act on the action.
func (a *action) visible(key string) bool {
	if a.keyUpdate {
		return a.subject == key
	}
	return a.pol.member(key)
}

// proven reports whether a key update has its proof of possession.
func (a *action) proven() bool { return a.decisions[a.subject] == StatusApproved }

// workspace holds the whole sandbox state behind one mutex.
type workspace struct {
	mu         sync.Mutex
	id, name   string
	operator   string // operator key ID
	minimal    bool   // ProtocolMinimal
	layout     MessageLayout
	needsAdmin bool // key updates need an admin's approval
	keys       map[string]*apiKey
	byName     map[string]string // scenario member name → key ID
	policies   map[string]*policy
	wallets    map[string]*wallet
	walletIDs  []string
	assets     map[string]ScenarioAsset
	actions    map[string]*action
	order      []*action // every action in seq order (actions are never removed)
	// noExpiryBefore: no pending action expires before it, so expire can
	// skip its scan until then. Whatever sets an action's expiry lowers it
	// (expiryChanged).
	noExpiryBefore time.Time
	seq            int
	rng            *rand.Rand
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (w *workspace) randID(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(base62[w.rng.IntN(len(base62))])
	}
	return b.String()
}

// newActionID returns an unused action ID. Caller holds mu.
func (w *workspace) newActionID() string {
	for {
		id := "2" + w.randID(26)
		if _, dup := w.actions[id]; !dup {
			return id
		}
	}
}

// insert registers a (whose id and message are set). Caller holds mu.
func (w *workspace) insert(a *action) {
	w.seq++
	a.seq = w.seq
	a.decisions = map[string]int{}
	a.decidedAt = map[string]time.Time{}
	w.actions[a.id] = a
	w.order = append(w.order, a)
	w.expiryChanged(a.expires)
}

// expiryChanged notes that some action now expires at t. Caller holds mu.
func (w *workspace) expiryChanged(t time.Time) {
	if t.Before(w.noExpiryBefore) {
		w.noExpiryBefore = t
	}
}

// defaultMessage is the message of an ordinary action in the configured
// layout.
func (w *workspace) defaultMessage(a *action) []byte {
	if w.layout == MessagesOpaque {
		return OpaqueMessage(bindingDigest(a.id, a.typ, a.payload))
	}
	return Message(a.id, a.typ, a.payload)
}

// txAction builds a transaction action from spec. Caller holds mu.
func (w *workspace) txAction(spec ActionSpec, now time.Time) (*action, error) {
	if !digits(spec.Amount) || spec.To == "" {
		return nil, fmt.Errorf("action needs a decimal amount and a destination")
	}
	if spec.Data != "" && !calldata(spec.Data) {
		return nil, fmt.Errorf("action data must be 0x followed by an even number of hex digits")
	}
	if wal, ok := w.wallets[spec.Wallet]; !ok {
		return nil, fmt.Errorf("unknown wallet %q", spec.Wallet)
	} else if as, ok := w.assets[spec.Asset]; !ok || as.Network != wal.Network {
		return nil, fmt.Errorf("asset %q is not on wallet %s's network", spec.Asset, wal.ID)
	}
	a, err := w.customAction(CustomAction{Wallet: spec.Wallet, Asset: spec.Asset, To: spec.To, Amount: spec.Amount,
		ExpiresIn: spec.ExpiresIn, Note: spec.Note, Initiator: spec.Initiator, Data: spec.Data}, now)
	if err != nil {
		return nil, err
	}
	for _, n := range spec.ApprovedBy {
		k, ok := w.byName[n]
		if !ok || !a.pol.member(k) {
			continue
		}
		a.decisions[k] = StatusApproved
		a.decidedAt[k] = now
		a.signers = append(a.signers, k)
	}
	if a.approvals() >= a.pol.threshold {
		a.status = StatusApproved
	}
	return a, nil
}

// keyUpdateAction creates the action that registers newBLS/newEC for key.
// Caller holds mu.
func (w *workspace) keyUpdateAction(key string, pk *qbls.PublicKey, ec []byte, blsB64, ecB64 string, now time.Time) *action {
	admin := &policy{id: "pol-admin", name: "Admin Policy", kind: "admin", threshold: 1, members: []string{key}}
	a := &action{id: w.newActionID(), typ: TypeAPIKeyUpdate, status: StatusPending, created: now, expires: now.Add(time.Hour),
		pol: admin, desc: "API key update: register BLS and EC keys", keyUpdate: true, subject: key, newBLS: pk, newEC: ec,
		needsAdmin: w.needsAdmin}
	if w.minimal {
		// No payload is served (no feed frame); the message is opaque
		// like Qredo's, a digest over the keys.
		a.message = OpaqueMessage(bindingDigest(a.id, a.typ, []byte(key+"\x00"+blsB64+"\x00"+ecB64)))
	} else {
		a.payload, _ = json.Marshal(extPayload{PolicyName: admin.name, Policy: policyObject(admin),
			KeyUpdate: &extKeyUpdate{APIKeyID: key, BLSPublicKey: blsB64, ECPublicKey: ecB64}})
		a.message = Message(a.id, a.typ, a.payload)
	}
	w.insert(a)
	return a
}

// expire marks pending actions past their expiry as expired (extended
// mode; in minimal mode an expired action keeps status 1 and simply stops
// being served on the feed); it returns those that changed. Caller holds
// mu.
func (w *workspace) expire(now time.Time) []*action {
	if w.minimal || now.Before(w.noExpiryBefore) {
		return nil
	}
	// One scan, which also finds the next expiry: every list request and
	// the 250 ms ticker call this, and with 100,000 actions a scan each
	// time was most of the sandbox's work.
	var out []*action
	next := time.Time{}
	for _, a := range w.order {
		if a.status != StatusPending {
			continue
		}
		if !now.Before(a.expires) {
			a.status = StatusExpired
			out = append(out, a)
		} else if next.IsZero() || a.expires.Before(next) {
			next = a.expires
		}
	}
	if next.IsZero() {
		next = now.Add(time.Hour) // nothing pending: insert lowers it
	}
	w.noExpiryBefore = next
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
		if w.matches(a, key, status) && !fn(a) {
			return
		}
	}
}

// matches reports whether sorted(key, status) includes a.
func (w *workspace) matches(a *action, key string, status int) bool {
	return (key == "" || a.visible(key)) && (status == 0 || a.status == status)
}

// decideError is an HTTP answer for a refused decision.
type decideError struct {
	status int
	msg    string
}

func (e *decideError) Error() string { return e.msg }

// decide records key's decision with signature hex sigs[0]. Caller holds
// mu. changed reports whether the action changed.
func (w *workspace) decide(key, id string, status int, sigs []string, now time.Time) (changed bool, err error) {
	a, ok := w.actions[id]
	if !ok {
		return false, &decideError{http.StatusNotFound, "action not found"}
	}
	if !a.visible(key) {
		return false, &decideError{http.StatusForbidden, "this API key is not a member of the policy of this action"}
	}
	if a.status == StatusPending && !now.Before(a.expires) {
		if w.minimal {
			return false, &decideError{http.StatusBadRequest, "action can't be signed, action expired"}
		}
		a.status = StatusExpired
		changed = true
	}
	if a.status != StatusPending {
		return changed, &decideError{http.StatusConflict, fmt.Sprintf("action can't be signed, status not pending (%d)", a.status)}
	}
	if _, done := a.decisions[key]; done {
		return false, &decideError{http.StatusConflict, "this API key has already decided this action"}
	}
	if status != StatusApproved && status != StatusRejected {
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
	if a.keyUpdate {
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
	a.decidedAt[key] = now
	a.signers = append(a.signers, key)
	switch {
	case status == StatusRejected:
		a.status = StatusRejected
	case a.approvals() < a.pol.threshold:
	case a.keyUpdate && a.needsAdmin && !a.adminOK: // proof in; awaiting the admin
	default:
		w.approve(a)
	}
	return true, nil
}

// approve marks a approved; a key update registers its keys. Caller
// holds mu.
func (w *workspace) approve(a *action) {
	a.status = StatusApproved
	if a.keyUpdate {
		k := w.keys[a.subject]
		k.bls, k.ec = a.newBLS, a.newEC
	}
}

// adminDecide is an admin's decision on a pending key update: approve
// completes it once its proof of possession is in (or when it comes);
// reject rejects it. Caller holds mu.
func (w *workspace) adminDecide(id string, approve bool) (*action, error) {
	a, ok := w.actions[id]
	switch {
	case !ok || !a.keyUpdate:
		return nil, fmt.Errorf("no key-update action %s", id)
	case a.status != StatusPending:
		return nil, fmt.Errorf("key-update action %s is not pending (status %d)", id, a.status)
	case !approve:
		a.status = StatusRejected
	default:
		a.adminOK = true
		if a.proven() {
			w.approve(a)
		}
	}
	return a, nil
}
