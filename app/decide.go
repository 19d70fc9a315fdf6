package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

// Sentinel errors of Decide, for errors.Is.
var (
	ErrAlreadyDecided  = errors.New("already decided by this key")
	ErrNotPending      = errors.New("no longer pending")
	ErrNotShown        = errors.New("not what was shown")
	ErrVerdictChanged  = errors.New("the verdict changed")
	ErrReasonRequired  = errors.New("a reason is required")
	ErrSigningDisabled = errors.New("signing is disabled")
	ErrStrongConfirm   = errors.New("the strong confirmation is required")
	ErrReservedMessage = errors.New("a message this key signs only for its journal")
)

// refusal is a decision refused before anything was signed.
type refusal struct {
	sentinel error
	msg      string
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.sentinel }

func refuse(sentinel error, format string, a ...any) (Outcome, error) {
	err := &refusal{sentinel: sentinel, msg: fmt.Sprintf(format, a...)}
	return Outcome{Result: ResultRefused, Err: err.msg}, err
}

// Decide implements the console's Backend. In order: the self-test and the lock; the
// journal (this key never signs the same action twice); a fresh read of
// the action, merged with the copy the operator was shown (a REST answer
// may carry only id, status and messages); the message must be the very
// bytes shown and, where its layout is known, bound to the details shown;
// the rules again (the verdict must be the one the operator saw, and going
// against it needs a reason); then sign → journal (fsync) → send →
// journal the outcome.
func (e *Engine) Decide(ctx context.Context, d Decision) (Outcome, error) {
	if ok, why := e.SelftestOK(); !ok {
		return refuse(ErrSigningDisabled, "%s", why)
	}
	if e.sess.Locked() {
		return refuse(secrets.ErrLocked, "%v", secrets.ErrLocked)
	}
	if err := e.checkWrapBeforeDecision(ctx); err != nil {
		return refuse(ErrWrapRefused, "%v", err)
	}
	if p, ok := e.hist.prior(d.ActionID); ok {
		return refuse(ErrAlreadyDecided, "%s: nothing was signed", p.describe(d.ActionID))
	}
	shown := e.heldAction(d.ActionID)
	fresh, err := e.cl.GetAction(ctx, d.ActionID)
	if err != nil {
		return refuse(err, "could not re-read action %s: %v", d.ActionID, err)
	}
	a, err := merge(fresh, shown)
	if err != nil {
		return refuse(ErrNotShown, "%v: nothing was signed", err)
	}
	now := e.now()
	if e.decidedByMe(a) {
		e.drop(a.ID, a, now)
		return refuse(ErrAlreadyDecided, "the API says this key already decided action %s: nothing was signed", a.ID)
	}
	if !a.Pending(now) {
		e.drop(a.ID, a, now)
		return refuse(ErrNotPending, "action %s is no longer pending (%s): nothing was signed", a.ID, client.StatusName(a.Status))
	}
	msg, err := a.MessageToSign(now)
	if err != nil {
		return refuse(err, "%v", err)
	}
	sum := sha256.Sum256(msg)
	if d.MessageSHA256 != "" && d.MessageSHA256 != hex.EncodeToString(sum[:]) {
		return refuse(ErrNotShown, "the API now asks to sign a different message for %s than the one shown: look again; nothing was signed", a.ID)
	}
	binding, field := client.CheckBinding(msg, a)
	if binding == client.BindingMismatch {
		return refuse(ErrNotShown, "the message to sign for %s does not match the details shown (%s differs): nothing was signed", a.ID, field)
	}
	a.Binding = binding
	if e.jr.Reserved(msg) {
		return refuse(ErrReservedMessage, "the message to sign for %s is one this key signs only for its own audit journal: refused, nothing was signed; tell your security team", a.ID)
	}
	j := e.judge(a, now)
	gv := j.gv
	decision := "reject"
	if d.Approve {
		decision = "approve"
	}
	level := Level(gv.Level.String())
	if d.Verdict != "" && d.Verdict != level {
		return refuse(ErrVerdictChanged, "the verdict on %s is now %s, not the %s you saw: look again; nothing was signed", a.ID, level, d.Verdict)
	}
	if Against(decision, level) && d.Override == "" {
		return refuse(ErrReasonRequired, "%s goes against the %s verdict: a reason is required", decision, level)
	}
	// A reject moves nothing: only an approval needs the strong
	// confirmation against address poisoning.
	if why := StrongConfirmWhy(gv, a, e.settings.StrongConfirmAbove); d.Approve && why != "" && d.Confirmation != ConfirmTyped {
		return refuse(ErrStrongConfirm, "action %s needs the strong confirmation (%s): type the last characters of the destination; nothing was signed", a.ID, why)
	}
	if err := e.sinkGate(ctx); err != nil {
		return refuse(ErrSinkBehind, "%v: nothing was signed", err)
	}
	var sig qbls.Signature
	if err := e.sess.WithBLS(func(sk *qbls.SecretKey) error { sig = sk.Sign(msg); return nil }); err != nil {
		return refuse(err, "%v", err)
	}
	body := journal.DecisionBody{
		ActionID: a.ID, Decision: decision, MessageSHA256: hex.EncodeToString(sum[:]),
		Verdict: string(level), Rules: ruleNames(gv), Override: d.Override, Reason: d.Reason,
		Confirmation: string(d.Confirmation), Binding: bindingName(binding), Summary: summary(a),
		RulesSHA256: e.gov.rulesSHA, Engine: governance.EngineVersion, Input: inputJSON(j.in), Price: priceUsed(j.val),
	}
	entry, err := e.jr.AppendSigned(journal.KindDecision, body, e.signer())
	if err != nil {
		return refuse(err, "the decision could not be journaled, so it was not sent: %v", err)
	}
	ap, indexable := approvalOf(entry.TS, body.Summary)
	e.hist.decision(a.ID, d.Approve, ap, indexable)
	sendErr := e.cl.Decide(ctx, a.ID, d.Approve, sig[:])
	out := Outcome{Result: ResultAccepted}
	ob := journal.OutcomeBody{ActionID: a.ID, Result: journal.OutcomeAccepted}
	if sendErr != nil {
		out = Outcome{Result: ResultRefused, Err: sendErr.Error()}
		ob.Result, ob.Error = journal.OutcomeRefused, sendErr.Error()
		if client.KindOf(sendErr) == client.KindUnknownOutcome {
			out.Result, ob.Result = ResultUnknown, journal.OutcomeUnknown
		}
	}
	if e.sess.Locked() {
		_, err = e.jr.Append(journal.KindOutcome, ob)
	} else {
		_, err = e.jr.AppendSigned(journal.KindOutcome, ob, e.signer())
	}
	// After the append, so the velocity index changes where the journal
	// says it did (rules replay rebuilds it from the journal).
	e.hist.outcome(a.ID, ob.Result)
	if err != nil {
		e.emit(Notice{Text: "journal: outcome not recorded: " + err.Error()})
	}
	if ob.Result == journal.OutcomeAccepted && d.Approve && e.rules.UsesHistory() {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.reevaluate() }()
	}
	e.kickSinks()
	if sendErr == nil || ob.Result == journal.OutcomeUnknown {
		// Accepted, or perhaps accepted: either way this key has decided
		// and must not sign it again.
		e.mu.Lock()
		e.forget(a.ID)
		e.cacheDirty = true
		e.mu.Unlock()
	}
	return out, sendErr
}

// merge completes a fresh read of an action with the copy the operator
// was shown. The real API's REST answer may carry only id, status and
// messages: the details, the payload hash and the expiry then come from
// the shown copy (a feed frame kept in the list or the cache). The
// messages must be byte for byte the ones shown, and when the fresh read
// carries details they must be the ones shown.
func merge(fresh, shown *client.Action) (*client.Action, error) {
	if shown == nil {
		return fresh, nil
	}
	if len(fresh.Messages) != len(shown.Messages) || (len(fresh.Messages) > 0 && !bytes.Equal(fresh.Messages[0], shown.Messages[0])) {
		return nil, fmt.Errorf("the API now asks to sign different bytes for %s than the ones shown", fresh.ID)
	}
	a := *fresh
	if !fresh.HasPayload() {
		a.Payload, a.Detail, a.PayloadSHA256 = shown.Payload, shown.Detail, shown.PayloadSHA256
		if a.Type == 0 {
			a.Type = shown.Type
		}
	} else if shown.HasPayload() && !sameDetails(fresh, shown) {
		return nil, fmt.Errorf("the details of %s changed since they were shown: look again", fresh.ID)
	}
	if !a.ExpiryKnown() {
		a.Expires = shown.Expires
	}
	if a.Created.IsZero() {
		a.Created = shown.Created
	}
	return &a, nil
}

// sameDetails reports whether two copies of an action ask the same thing:
// the type, and what the operator reads of the transfer or key update
// (the approvals so far may differ).
func sameDetails(a, b *client.Action) bool {
	if a.Type != b.Type || (a.Payload == nil) != (b.Payload == nil) {
		return false
	}
	if a.Payload == nil {
		return a.PayloadSHA256 == b.PayloadSHA256
	}
	ta, tb := a.Payload.Transaction, b.Payload.Transaction
	if (ta == nil) != (tb == nil) || (ta != nil && (*ta.Network != *tb.Network || *ta.Asset != *tb.Asset ||
		ta.From != tb.From || ta.To != tb.To || ta.Amount != tb.Amount || ta.Whitelisted != tb.Whitelisted)) {
		return false
	}
	ka, kb := a.Payload.KeyUpdate, b.Payload.KeyUpdate
	if (ka == nil) != (kb == nil) || (ka != nil && *ka != *kb) {
		return false
	}
	pa, pb := a.Payload.Policy, b.Payload.Policy
	return a.Payload.PolicyName == b.Payload.PolicyName && pa.ID == pb.ID && pa.Name == pb.Name &&
		pa.Threshold == pb.Threshold && slices.Equal(pa.Members, pb.Members)
}

// bindingName is how the journal records a message binding.
func bindingName(b client.Binding) string {
	if b == client.BindingBound {
		return "bound"
	}
	return "unbound"
}

// heldAction is the copy of an action the console holds (nil when none).
func (e *Engine) heldAction(id string) *client.Action {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.items[id].a
}

// decidedByMe reports whether this key already decided a: the API says so
// where it tells (myDecision, our extension); else the journal does.
func (e *Engine) decidedByMe(a *client.Action) bool {
	if a.MyDecisionKnown {
		return a.MyDecision != 0
	}
	_, found := e.hist.prior(a.ID)
	return found
}
