package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/qapprove/qapprove/governance/velocity"
	"github.com/qapprove/qapprove/storage/journal"
)

// history is what this key already decided, from the signed journal: the
// truth when the API does not say (myDecision is our extension). It is
// built in the pass that opens the journal and kept up to date by every
// decision, so the same action is never signed twice, also after a
// reconnect or a restart. Action IDs are held by a 64-bit hash: a false
// "already decided" needs a collision, and only ever refuses to sign.
//
// It also feeds the velocity index (the rules' approved_sum and
// approved_count): an approval is indexed, at the time of its decision
// entry, when its outcome is journaled as accepted; refused and unknown
// outcomes never count.
type history struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64]decided
	// pend holds the approvals awaiting their outcome: indexed when it
	// is accepted, dropped otherwise. Small: outcomes follow decisions.
	pend  map[uint64]velocity.Approval
	vel   *velocity.Index
	names map[string]string // interned names (intern); only the journal-open pass uses it
}

// decided is the last decision journaled for an action (two bytes: the
// map holds one per action of the journal).
type decided struct {
	approve bool
	result  result
}

// result is a journaled outcome.
type result uint8

const (
	resultNone     result = iota // no outcome journaled
	resultAccepted               // journal.OutcomeAccepted
	resultRefused                // journal.OutcomeRefused
	resultOther                  // unknown, or anything else
)

func resultOf(s string) result {
	switch s {
	case "":
		return resultNone
	case journal.OutcomeAccepted:
		return resultAccepted
	case journal.OutcomeRefused:
		return resultRefused
	}
	return resultOther
}

func newHistory() *history {
	return &history{seed: maphash.MakeSeed(), m: map[uint64]decided{}, pend: map[uint64]velocity.Approval{}, vel: velocity.New(),
		names: map[string]string{}}
}

// decisionEntry is what the history reads of a decision body.
type decisionEntry struct {
	ActionID string                   `json:"action_id"`
	Decision string                   `json:"decision"`
	Summary  *journal.DecisionSummary `json:"summary"`
}

// onEntry indexes one journal entry (journal.Options.OnEntryAt). The
// journal-open pass calls it for every line, so it reads bodies with a
// fast scanner, falling back to encoding/json for what it cannot walk.
func (h *history) onEntry(kind journal.Kind, ts time.Time, body []byte) {
	switch kind {
	case journal.KindDecision:
		d, ok := scanDecision(body, h.intern)
		if !ok {
			var full decisionEntry
			if json.Unmarshal(body, &full) != nil {
				return
			}
			d = scanned{id: full.ActionID, approve: full.Decision == "approve", sum: full.Summary}
		}
		ap, ok := approvalOf(ts, d.sum)
		h.decisionK(h.key(d.id, d.rawID), d.approve, ap, ok)
	case journal.KindOutcome:
		d, ok := scanOutcome(body)
		if !ok {
			var o journal.OutcomeBody
			if json.Unmarshal(body, &o) != nil {
				return
			}
			d = scanned{id: o.ActionID, result: o.Result}
		}
		h.outcomeK(h.key(d.id, d.rawID), d.result)
	}
}

// scanned is what the fast scanner read of a body: the action ID (rawID
// when it needed no unescaping, else id), and the rest.
type scanned struct {
	id      string
	rawID   []byte
	approve bool
	result  string
	sum     *journal.DecisionSummary
}

// maxInterned bounds the strings the history keeps one copy of.
const maxInterned = 1 << 16

// intern returns one shared copy of b (assets, addresses and networks
// repeat across a journal).
func (h *history) intern(b []byte) string {
	if s, ok := h.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(h.names) < maxInterned {
		h.names[s] = s
	}
	return s
}

// key hashes an action ID given as a string or as raw bytes.
func (h *history) key(id string, raw []byte) uint64 {
	if raw != nil {
		return maphash.Bytes(h.seed, raw)
	}
	return maphash.String(h.seed, id)
}

// idField reads an action ID value into d without copying when plain.
func (d *scanned) idField(v []byte) bool {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && plainJSON(v[1:len(v)-1]) {
		d.rawID = v[1 : len(v)-1]
		return true
	}
	s, ok := jsonString(v)
	d.id = s
	return ok
}

// Result values as they appear in a body.
var (
	rawApprove  = []byte(`"approve"`)
	rawAccepted = []byte(`"accepted"`)
	rawRefused  = []byte(`"refused"`)
	rawUnknown  = []byte(`"unknown"`)
)

// scanDecision reads what the history needs of a decision body without
// decoding the rest: it stops after the summary (the recorded input that
// follows can be kilobytes), or after the decision of a reject.
func scanDecision(body []byte, intern func([]byte) string) (scanned, bool) {
	var d scanned
	ok, haveID, haveDecision := true, false, false
	str := func(v []byte, dst *string) {
		s, good := jsonString(v)
		*dst, ok = s, ok && good
	}
	name := func(v []byte, dst *string) { // asset, address, network: few distinct values
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && plainJSON(v[1:len(v)-1]) {
			*dst = intern(v[1 : len(v)-1])
			return
		}
		str(v, dst)
	}
	walked := jsonObject(body, func(k, v []byte) bool {
		switch string(k) {
		case "action_id":
			ok = ok && d.idField(v)
			haveID = true
		case "decision":
			d.approve, haveDecision = bytes.Equal(v, rawApprove), true
			return d.approve || !haveID
		case "summary":
			var sum journal.DecisionSummary
			ok = ok && jsonObject(v, func(k, v []byte) bool {
				switch string(k) {
				case "amount":
					str(v, &sum.Amount)
				case "asset":
					name(v, &sum.Asset)
				case "to":
					name(v, &sum.To)
				case "network":
					name(v, &sum.Network)
				case "chain_id":
					name(v, &sum.ChainID)
				}
				return true
			})
			d.sum = &sum
			return !haveID || !haveDecision
		}
		return true
	})
	return d, walked && ok && haveID && haveDecision
}

// scanOutcome reads the action ID and result of an outcome body.
func scanOutcome(body []byte) (scanned, bool) {
	var d scanned
	ok, haveID := true, false
	walked := jsonObject(body, func(k, v []byte) bool {
		switch string(k) {
		case "action_id":
			ok = ok && d.idField(v)
			haveID = true
		case "result":
			switch {
			case bytes.Equal(v, rawAccepted):
				d.result = journal.OutcomeAccepted
			case bytes.Equal(v, rawRefused):
				d.result = journal.OutcomeRefused
			case bytes.Equal(v, rawUnknown):
				d.result = journal.OutcomeUnknown
			default:
				var good bool
				d.result, good = jsonString(v)
				ok = ok && good
			}
		}
		return true
	})
	return d, walked && ok && haveID
}

// approvalOf is the approval a decision summary describes at ts (nil
// when there is no summary or its amount cannot be read).
func approvalOf(ts time.Time, s *journal.DecisionSummary) (velocity.Approval, bool) {
	if s == nil || s.Asset == "" {
		return velocity.Approval{}, false
	}
	amt, err := strconv.ParseFloat(s.Amount, 64)
	if err != nil || amt < 0 {
		return velocity.Approval{}, false
	}
	nw := s.ChainID
	if nw == "" {
		nw = s.Network
	}
	return velocity.Approval{Time: ts, Asset: s.Asset, Destination: s.To, Network: nw, Amount: amt}, true
}

// decision records a decision journaled before it is sent; ap is the
// approval it would add to the velocity index once accepted.
func (h *history) decision(id string, approve bool, ap velocity.Approval, ok bool) {
	h.decisionK(maphash.String(h.seed, id), approve, ap, ok)
}

func (h *history) decisionK(k uint64, approve bool, ap velocity.Approval, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[k] = decided{approve: approve}
	if approve && ok {
		h.pend[k] = ap
	} else {
		delete(h.pend, k)
	}
}

// outcome records what became of the last decision on id; an accepted
// approval goes into the velocity index.
func (h *history) outcome(id, result string) {
	h.outcomeK(maphash.String(h.seed, id), result)
}

func (h *history) outcomeK(k uint64, result string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d, ok := h.m[k]; ok {
		d.result = resultOf(result)
		h.m[k] = d
	}
	if ap, ok := h.pend[k]; ok {
		delete(h.pend, k)
		if result == journal.OutcomeAccepted {
			h.vel.Add(ap)
		}
	}
}

// prior returns the decision this key already made on id that may have
// reached the API (accepted, unknown, or sent with no outcome journaled,
// as after a crash), with found false when there is none. A decision the
// API clearly refused is not prior: nothing landed.
func (h *history) prior(id string) (d decided, found bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, ok := h.m[maphash.String(h.seed, id)]
	if !ok || d.result == resultRefused {
		return decided{}, false
	}
	return d, true
}

// describe says what the journal holds about d, for a refusal.
func (d decided) describe(id string) string {
	verb := "rejected"
	if d.approve {
		verb = "approved"
	}
	switch d.result {
	case resultAccepted:
		return fmt.Sprintf("this key already %s action %s (the API accepted it; see the journal)", verb, id)
	case resultNone:
		return fmt.Sprintf("this key already signed a decision (%s) on action %s and its outcome was never journaled; check the action before anything else", verb, id)
	}
	return fmt.Sprintf("this key already sent a decision (%s) on action %s whose outcome is unknown; check the action before anything else", verb, id)
}

// Prior says what the journal holds about a decision this key already
// made on action id that may have reached the API ("" when none).
func (e *Engine) Prior(id string) string {
	if d, ok := e.hist.prior(id); ok {
		return d.describe(id)
	}
	return ""
}
