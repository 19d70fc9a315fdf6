package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage/journal"
)

// GovernanceInput maps a decoded action to the document the rules see.
// An action whose payload could not be decoded carries DecodeError, and
// one whose payload was understood only in part has payload.understood
// false with the problem: neither verdict is ever approve.
func GovernanceInput(a *client.Action, now time.Time) governance.Input {
	in := governance.Input{Now: now, Message: governance.Message{
		Bound:    a.Binding == client.BindingBound,
		Mismatch: a.Binding == client.BindingMismatch,
	}}
	in.Action = governance.Action{
		ID:               a.ID,
		Type:             typeName(a.Type),
		Status:           statusName(a.Status),
		Created:          a.Created,
		ExpiryKnown:      a.ExpiryKnown(),
		ExpiresInSeconds: governance.UnknownExpirySeconds,
	}
	if a.ExpiryKnown() {
		in.Action.ExpiresInSeconds = int64(a.Expires.Sub(now) / time.Second)
	}
	in.Tx.ToValid, in.Tx.FromValid = true, true // no address to judge
	if a.Payload == nil {
		in.DecodeError = a.PayloadErr()
		if in.DecodeError == "" {
			in.DecodeError = "the action has no payload"
		}
		in.Payload.Problem = in.DecodeError
		return in
	}
	p := a.Payload
	in.Action.Policy = policyInput(p)
	peopleInput(&in.Action.Policy, PeopleOf(a))
	in.Call = governance.DecodeCall(CalldataOf(a))
	var problems []string
	perr := a.PayloadErr()
	if perr != "" {
		problems = append(problems, strings.TrimPrefix(perr, "not understood: "))
	}
	if t := p.Transaction; t != nil {
		var missing string
		in.Tx, missing = txInput(t)
		if missing != "" {
			if strings.HasPrefix(perr, "not understood: ") {
				problems = problems[:0] // the list of what is missing says it better
			}
			problems = append(problems, missing)
		}
	} else if a.Type == client.TypeTransaction {
		problems = append(problems, "the transaction payload has no transaction details")
	}
	if a.Type == client.TypeAPIKeyUpdate && p.KeyUpdate == nil {
		problems = append(problems, "the key update payload has no key details")
	}
	in.Payload = governance.Payload{Understood: len(problems) == 0, Problem: strings.Join(problems, "; ")}
	return in
}

// policyInput is the policy as the rules see it; a lenient payload may
// name the policy without describing it.
func policyInput(p *client.Payload) governance.Policy {
	gp := governance.Policy{Name: p.PolicyName, Approvals: int64(p.Approvals)}
	if p.Policy != nil {
		if p.Policy.Name != "" {
			gp.Name = p.Policy.Name
		}
		gp.Threshold = int64(p.Policy.Threshold)
		gp.Members = append([]string(nil), p.Policy.Members...)
	}
	return gp
}

// peopleInput adds who decided so far to the policy the rules see.
func peopleInput(p *governance.Policy, pp People) {
	if !pp.Known {
		return
	}
	p.ApprovedByKnown = true
	conv := func(as []Approver) []governance.Approver {
		out := make([]governance.Approver, len(as))
		for i, a := range as {
			out[i] = governance.Approver{ID: a.ID, Name: a.Name, Time: a.At}
		}
		return out
	}
	p.ApprovedBy, p.RejectedBy = conv(pp.ApprovedBy), conv(pp.RejectedBy)
}

// networkOf is the transaction's network as the rules see it: a chain ID
// alone gets the name and testnet flag of a network qapprove knows, and
// the family comes from the chain ID or else from the payload.
func networkOf(t *client.Transaction) governance.Network {
	if t.Network == nil {
		return governance.Network{}
	}
	nw := governance.NewNetwork(t.Network.Name, t.Network.ChainID, t.Network.Testnet)
	if nw.Family == "" {
		nw.Family = strings.ToLower(t.Network.Family)
	}
	return nw
}

// txInput maps a transaction, keeping what could be read; missing says
// what could not ("" when everything could).
func txInput(t *client.Transaction) (governance.Tx, string) {
	nw := networkOf(t)
	symbol, decimals := "", 0
	if t.Asset != nil {
		symbol, decimals = t.Asset.Symbol, t.Asset.Decimals
	}
	var lacks []string
	if nw.ChainID == "" {
		lacks = append(lacks, "network")
	}
	if t.To == "" {
		lacks = append(lacks, "destination address")
	}
	if symbol == "" {
		lacks = append(lacks, "asset")
	}
	tx, err := governance.NewTx(nw, t.From, t.To, t.Whitelisted, symbol, decimals, t.Amount)
	if err != nil {
		tx = governance.Tx{Network: nw, From: t.From, To: t.To, Whitelisted: t.Whitelisted, Asset: symbol}
		tx.CheckAddresses()
		if t.Amount == "" {
			lacks = append(lacks, "amount")
		}
	}
	var missing []string
	if len(lacks) > 0 {
		missing = append(missing, "not in the payload: "+strings.Join(lacks, ", "))
	}
	if err != nil && t.Amount != "" {
		missing = append(missing, "the transaction amount cannot be read: "+err.Error())
	}
	return tx, strings.Join(missing, "; ")
}

// Evaluate runs the rules on an action (UIVerdict converts the result for
// the UI; StrongConfirmWhy says whether a decision needs the strong
// confirmation).
func Evaluate(rs *governance.RuleSet, a *client.Action, now time.Time) governance.Verdict {
	return rs.Evaluate(GovernanceInput(a, now))
}

// UIVerdict converts a governance verdict into the UI's view of it. Its
// StrongConfirm carries only a rule's request ("rule NAME"); the engine
// replaces it with StrongConfirmWhy, which adds mainnet and amount limits.
func UIVerdict(gv governance.Verdict) Verdict {
	v := Verdict{Level: Level(gv.Level.String()), Warnings: append([]string(nil), gv.Warnings...), StrongConfirm: ruleWhy(gv)}
	for _, m := range gv.Matched {
		v.Rules = append(v.Rules, RuleHit{Name: m.Rule, Verdict: Level(m.Verdict.String()), Reason: m.Reason})
	}
	return v
}

// VerdictKey identifies the Verdict that UIVerdict(gv) with
// StrongConfirm set to strong describes: equal keys, equal verdicts, so
// actions can share one Verdict.
func VerdictKey(gv governance.Verdict, strong string) string {
	var key strings.Builder
	key.WriteString(gv.Level.String())
	for _, m := range gv.Matched {
		key.WriteString("\x00")
		key.WriteString(m.Rule)
		key.WriteString("\x01")
		key.WriteString(m.Reason)
	}
	for _, w := range gv.Warnings {
		key.WriteString("\x02")
		key.WriteString(w)
	}
	key.WriteString("\x03")
	key.WriteString(strong)
	return key.String()
}

// StrongConfirmWhy says why a decision on a needs the strong confirmation
// (the operator types the last 4 characters of the destination), "" when
// it does not. The reasons, joined by "; ":
//   - "mainnet": a transfer on a network that is not a test network (a
//     known production chain ID counts as mainnet whatever the payload
//     claims); "network unknown" when the payload names none;
//   - "amount above LIMIT SYMBOL": the amount is above above[SYMBOL], the
//     profile's strong_confirm_above (whole units, exact decimals, checked
//     with governance.CheckAmountLimits; the symbol is matched without
//     regard to case), compared exactly; "amount unreadable" when it
//     cannot be compared;
//   - "rule NAME": a matching rule has confirm = "strong".
func StrongConfirmWhy(gv governance.Verdict, a *client.Action, above map[string]string) string {
	why := ""
	if a != nil && a.Payload != nil && a.Payload.Transaction != nil {
		t := a.Payload.Transaction
		why = joinWhy(why, networkWhy(t))
		why = joinWhy(why, amountWhy(t, above))
	}
	return joinWhy(why, ruleWhy(gv))
}

func joinWhy(s, more string) string {
	switch {
	case more == "":
		return s
	case s == "":
		return more
	}
	return s + "; " + more
}

func ruleWhy(gv governance.Verdict) string {
	if gv.StrongConfirm == "" {
		return ""
	}
	return "rule " + gv.StrongConfirm
}

// networkWhy is "mainnet" unless the transfer is on a test network.
func networkWhy(t *client.Transaction) string {
	nw := networkOf(t)
	if nw.ChainID == "" {
		return "network unknown"
	}
	known, ok := governance.LookupNetwork(nw.ChainID)
	if !nw.Testnet || (ok && !known.Testnet) {
		return "mainnet"
	}
	return ""
}

// amountWhy compares the amount with the profile's limit for its asset.
func amountWhy(t *client.Transaction, above map[string]string) string {
	if t.Asset == nil || t.Asset.Symbol == "" {
		return ""
	}
	sym, limit, ok := t.Asset.Symbol, "", false
	if limit, ok = above[sym]; !ok {
		for s, l := range above {
			if strings.EqualFold(s, sym) {
				sym, limit, ok = s, l, true
				break
			}
		}
	}
	if ok {
		if !governance.IsDecimal(limit) {
			return fmt.Sprintf("strong_confirm_above for %s is not a decimal number", sym)
		}
		amount, _, err := governance.WholeUnits(t.Amount, t.Asset.Decimals)
		if err != nil {
			return "amount unreadable"
		}
		if governance.CompareDecimal(amount, limit) > 0 {
			return "amount above " + limit + " " + sym
		}
	}
	return ""
}

func typeName(t int) string {
	switch t {
	case client.TypeTransaction:
		return governance.TypeTransaction
	case client.TypeAPIKeyUpdate:
		return governance.TypeKeyUpdate
	}
	return governance.TypeUnknown
}

func statusName(s int) string {
	switch s {
	case client.StatusPending:
		return governance.StatusPending
	case client.StatusApproved:
		return governance.StatusApproved
	case client.StatusRejected:
		return governance.StatusRejected
	case client.StatusExpired:
		return governance.StatusExpired
	}
	return governance.StatusUnknown
}

// item evaluates the rules for a and builds the UI item. Identical
// verdicts share one Verdict (the UI never modifies them), which keeps
// memory flat with many actions.
func (e *Engine) item(a *client.Action) Item {
	j := e.judge(a, e.now())
	gv := j.gv
	strong := StrongConfirmWhy(gv, a, e.settings.StrongConfirmAbove)
	val := uiValue(j.val, j.in.Tx.Asset)
	var call *governance.Call
	if j.in.Call.Present {
		c := j.in.Call
		call = &c
	}
	k := VerdictKey(gv, strong)
	if val != nil || call != nil {
		k += fmt.Sprintf("\x04%+v\x05%+v", val, call)
	}
	e.verdictMu.Lock()
	defer e.verdictMu.Unlock()
	v, ok := e.verdicts[k]
	if !ok {
		v = UIVerdict(gv)
		v.StrongConfirm, v.Value, v.Call = strong, val, call
		if len(e.verdicts) >= maxSharedVerdicts {
			clear(e.verdicts)
		}
		e.verdicts[k] = v
	}
	return Item{Action: a, Verdict: v}
}

// maxSharedVerdicts bounds the table of shared verdicts.
const maxSharedVerdicts = 4096

// Assessment is an action judged by the profile's rules, for the
// scripting commands: the document the rules saw, their full verdict, and
// why a decision on it needs the strong confirmation ("" when it does not).
type Assessment struct {
	Action        *client.Action
	Input         governance.Input
	Verdict       governance.Verdict
	StrongConfirm string
	Value         *Value // the amount in fiat; nil without a price source
}

// Assess runs the profile's rules on a at now.
func (e *Engine) Assess(a *client.Action, now time.Time) Assessment {
	j := e.judge(a, now)
	return Assessment{Action: a, Input: j.in, Verdict: j.gv, StrongConfirm: StrongConfirmWhy(j.gv, a, e.settings.StrongConfirmAbove),
		Value: uiValue(j.val, j.in.Tx.Asset)}
}

// AssessPending assesses the current pending list, soonest expiry first.
func (e *Engine) AssessPending(now time.Time) []Assessment {
	list := e.Actions()
	out := make([]Assessment, len(list))
	for i, a := range list {
		out[i] = e.Assess(a, now)
	}
	return out
}

// Against reports whether decision ("approve" or "reject") goes against
// the verdict level, so that an override reason is required.
func Against(decision string, level Level) bool {
	return journal.AgainstVerdict(decision, string(level))
}

func ruleNames(v governance.Verdict) []string {
	names := make([]string, 0, len(v.Matched))
	for _, m := range v.Matched {
		names = append(names, m.Rule)
	}
	return names
}

func summary(a *client.Action) *journal.DecisionSummary {
	if a.Payload == nil || a.Payload.Transaction == nil {
		return nil
	}
	t := a.Payload.Transaction
	return &journal.DecisionSummary{
		Amount: client.FormatAmount(t.Amount, t.Asset.Decimals), Asset: t.Asset.Symbol,
		To: t.To, Network: t.Network.Name, ChainID: t.Network.ChainID,
	}
}

// Value is an action's amount in fiat as the console shows it: the value,
// the price's source and age, or why there is none.
type Value struct {
	Amount   string        // the value rounded to cents ("1234.50"); "" when no price was found
	Currency string        // "USD"
	Asset    string        // the asset priced
	Price    string        // the price of one whole unit used
	Source   string        // where the price came from ("table prices.toml", "http https://…")
	AsOf     time.Time     // when the price was true
	Age      time.Duration // how old the price was when the verdict was made
	Stale    bool          // older than the profile's max_age
	Problem  string        // "" when the value is from a fresh price; else why not (the verdict is then review)
}

// Approver is one member's decision on an action so far.
type Approver struct {
	ID   string    // the member's ID
	Name string    // display name, "" when the API gives none
	At   time.Time // when; zero when the API does not say
}

// People is who decided an action so far, as the API reports it.
type People struct {
	Known      bool // the API says who; false: "not provided by the API"
	ApprovedBy []Approver
	RejectedBy []Approver
}
