package governance

import (
	"context"
	"fmt"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// activation hands the input to CEL without building a map per action.
type activation struct {
	in   *Input
	now  ref.Val
	derr ref.Val
	ctx  *evalCtx
	vars map[string]ref.Val
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "action":
		return &a.in.Action, true
	case "tx":
		return &a.in.Tx, true
	case "now":
		return a.now, true
	case "decode_error":
		return a.derr, true
	case "payload":
		return &a.in.Payload, true
	case "message":
		return &a.in.Message, true
	case "call":
		return &a.in.Call, true
	case "time_zone":
		return types.String(a.in.Clock.Zone), true
	case "today":
		return types.String(a.in.Clock.Date), true
	case "weekday":
		return types.String(a.in.Clock.Weekday), true
	case "local_time":
		return types.String(a.in.Clock.Time), true
	case "holiday":
		return types.Bool(a.in.Clock.Holiday), true
	case ctxVar:
		return a.ctx, true
	}
	v, ok := a.vars[name]
	return v, ok
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// Evaluate runs every rule on in and returns the verdict: the strongest
// matching verdict (reject > review > approve), review when nothing
// matched. It never panics and never hangs: a rule that fails (cost limit,
// timeout, runtime error) counts as a review match with the reason.
//
// Whatever the rules say, some checks are built in (see builtinMatches):
// an input with DecodeError set or a payload not understood is never
// approved, and a message that disagrees with the details or a malformed
// address is rejected.
func (rs *RuleSet) Evaluate(in Input) (v Verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = Verdict{
				Level:   Review,
				Matched: []Match{{Rule: "governance", Verdict: Review, Reason: "the rules could not be evaluated (internal error)"}},
				Warnings: append(HygieneWarnings(int(in.Action.Policy.Threshold), len(in.Action.Policy.Members)),
					fmt.Sprintf("internal error while evaluating rules: %v", clip(fmt.Sprint(r)))),
			}
		}
	}()
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if loc, err := LoadZone(in.Clock.Zone); err == nil {
		if in.Clock.Date == "" {
			in.Clock = Calendar{Loc: loc}.Clock(in.Now)
		}
	} else {
		v.Matched = append(v.Matched, Match{Rule: BuiltinClock, Verdict: Review, Reason: "unknown time zone " + clip(in.Clock.Zone)})
	}
	v.Warnings = HygieneWarnings(int(in.Action.Policy.Threshold), len(in.Action.Policy.Members))
	if w := ReachWarning(in.Action.Policy); w != "" {
		v.Warnings = append(v.Warnings, w)
	}
	v.Matched = builtinMatches(&in, v.Matched)
	if why := inputTooLarge(&in); why != "" {
		v.Matched = append(v.Matched, Match{Rule: "input", Verdict: Review, Reason: "action data too large to evaluate the rules: " + why})
		for _, m := range v.Matched {
			v.Level = max(v.Level, m.Verdict)
		}
		return v
	}
	act := &activation{in: &in, now: types.Timestamp{Time: in.Now}, derr: types.String(in.DecodeError), vars: rs.vars,
		ctx: &evalCtx{hist: in.History, now: in.Now, clock: in.Clock}}
	var ctx context.Context
	for i := range rs.rules {
		r := &rs.rules[i]
		var out ref.Val
		var err error
		if r.loops {
			if ctx == nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.Background(), rs.timeout)
				defer cancel()
			}
			out, _, err = r.prg.ContextEval(ctx, act)
		} else {
			out, _, err = r.prg.Eval(act)
		}
		if err == nil {
			b, ok := out.Value().(bool)
			if !ok {
				err = fmt.Errorf("result is %s, not a boolean", out.Type().TypeName())
			} else if b {
				v.Matched = append(v.Matched, Match{Rule: r.Name, Verdict: r.Verdict, Reason: r.Reason})
				if r.Strong && v.StrongConfirm == "" {
					v.StrongConfirm = r.Name
				}
			}
		}
		if err != nil {
			msg := fmt.Sprintf("rule %q could not be evaluated: %s", r.Name, clipN(err.Error(), 200))
			v.Matched = append(v.Matched, Match{Rule: r.Name, Verdict: Review, Reason: msg})
			v.Warnings = append(v.Warnings, msg)
		}
	}
	for _, m := range v.Matched {
		v.Level = max(v.Level, m.Verdict)
	}
	if len(v.Matched) == 0 {
		v.Level, v.Default = Review, true
	}
	if (in.DecodeError != "" || !in.Payload.Understood) && v.Level < Review {
		v.Level = Review
	}
	return v
}

// Names of the built-in matches.
const (
	BuiltinPayload = "payload" // decode error or payload not understood: review
	BuiltinMessage = "message" // message disagrees with the details: reject
	BuiltinAddress = "address" // malformed address: reject
	BuiltinPrice   = "price"   // no fresh price for a transfer when a price source is configured: review
	BuiltinClock   = "clock"   // the input names a time zone qapprove does not know: review
)

// builtinMatches appends the checks no rules file can switch off: a
// payload that could not be decoded or was not understood (review), a
// message that commits to other details (reject) and a malformed address
// (reject), each with its reason.
func builtinMatches(in *Input, m []Match) []Match {
	switch {
	case in.DecodeError != "":
		m = append(m, Match{Rule: BuiltinPayload, Verdict: Review, Reason: "payload could not be decoded: " + in.DecodeError})
	case !in.Payload.Understood:
		why := "payload not understood"
		if in.Payload.Problem != "" {
			why += ": " + in.Payload.Problem
		}
		m = append(m, Match{Rule: BuiltinPayload, Verdict: Review, Reason: why})
	}
	if in.Message.Mismatch {
		m = append(m, Match{Rule: BuiltinMessage, Verdict: Reject,
			Reason: "the message to sign commits to other details than the ones shown: qapprove will not sign it"})
	}
	if in.Tx.AddressProblem != "" {
		m = append(m, Match{Rule: BuiltinAddress, Verdict: Reject, Reason: in.Tx.AddressProblem})
	}
	if in.Tx.ValueProblem != "" {
		m = append(m, Match{Rule: BuiltinPrice, Verdict: Review, Reason: in.Tx.ValueProblem})
	}
	return m
}

// clipN shortens s to at most n bytes.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
