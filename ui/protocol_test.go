package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
)

// hostile is text from a hostile server: ESC sequences, CR, BEL and a
// right-to-left override.
const hostile = "\x1b[2J\x1b]52;c;ZXZpbA==\a\rX\u202eY"

// hostileItem has hostile text in every string field.
func hostileItem() app.Item {
	h := func(s string) string { return s + hostile }
	net := &client.Network{Name: h("Ethereum"), Family: "evm", ChainID: h("1")}
	asset := &client.Asset{Symbol: h("ETH"), Decimals: 18, Contract: h("0xc")}
	p := &client.Payload{
		PolicyName: h("Treasury"),
		Policy:     &client.Policy{Name: h("Treasury"), Threshold: 2, Members: []string{h("ak-alice"), h("ak-bob")}},
		Transaction: &client.Transaction{
			Network: net, Asset: asset, Amount: h("15"), WalletID: h("w"), From: h("0xfrom"), To: h("0xto"),
			ToName: h("Cold"), Whitelisted: true, Note: h("note"), InitiatorName: h("bot"),
		},
	}
	a := &client.Action{
		ID: h("act-evil"), Type: client.TypeTransaction, Status: client.StatusPending,
		Created: base, Expires: base.Add(time.Hour), Messages: [][]byte{[]byte("msg")}, Payload: p,
		Detail: &client.ActionDetail{Description: h("about"), RawPayload: []byte(h("raw payload, not JSON\n\tline two"))},
	}
	v := app.Verdict{
		Level:         app.VerdictReview,
		Rules:         []app.RuleHit{{Name: h("rule"), Verdict: app.VerdictReview, Reason: h("reason")}},
		Warnings:      []string{h("warning")},
		StrongConfirm: h("mainnet"),
	}
	return app.Item{Action: a, Verdict: v, LastErr: h("last error")}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// checkSafe fails when frame (with its own styling removed) holds a raw
// control or bidi character, or lacks the visible escapes.
func checkSafe(t *testing.T, what, frame string) {
	t.Helper()
	plain := sgr.ReplaceAllString(frame, "")
	for _, bad := range []string{"\x1b", "\r", "\a", "\u202e"} {
		if strings.Contains(plain, bad) {
			t.Fatalf("%s: %q reached the terminal:\n%s", what, bad, plain)
		}
	}
	for _, want := range []string{`\x1b`, `\u202e`} {
		if !strings.Contains(plain, want) {
			t.Fatalf("%s: the visible escape %s is missing:\n%s", what, want, plain)
		}
	}
}

// Issue 12: nothing from the network reaches the terminal raw, in any
// screen: list, detail, raw payload, both dialogs, errors and notices.
func TestHostileTextNeverReachesTheTerminal(t *testing.T) {
	it := hostileItem()
	ku := hostileItem()
	ku.Action.ID = "act-key" + hostile
	ku.Action.Type = client.TypeAPIKeyUpdate
	ku.Action.Payload = &client.Payload{PolicyName: "Admin" + hostile, KeyUpdate: &client.KeyUpdate{APIKeyID: "ak" + hostile, BLSPublicKey: "b" + hostile, ECPublicKey: "e" + hostile}}
	f := newFixture(t, []app.Item{it, ku}, true)
	f.m.info.ExpiryWarning = 2 * time.Hour
	view := func() string { return f.m.View().Content }
	checkSafe(t, "list and detail", view())
	f.key("p")
	checkSafe(t, "raw payload", view())
	f.key("p")
	f.key("a")
	checkSafe(t, "confirm dialog", view())
	f.key("esc")
	f.key("r")
	checkSafe(t, "reason dialog", view())
	f.key("esc")
	f.key("j")
	checkSafe(t, "key update detail", view())
	f.key("k")
	f.send(eventMsg{app.Notice{Text: "notice" + hostile}})
	checkSafe(t, "notice", view())
	f.send(tickMsg{}) // expiry warning of every action
	checkSafe(t, "expiry notice", view())
	f.send(eventMsg{app.Conn{State: app.ConnOffline, Reason: "reason" + hostile}})
	checkSafe(t, "connection", view())
	f.b.DecideFunc = func(app.Decision) (app.Outcome, error) {
		return app.Outcome{Result: app.ResultRefused, Err: "refused" + hostile}, nil
	}
	f.clock.Advance(time.Second)
	f.key("a") // against the review verdict: a reason first
	f.afterGrace()
	f.typeText("checked by phone with ops")
	f.key("enter")
	checkSafe(t, "strong confirmation dialog", view())
	f.afterGrace()
	f.typeText(lastChars(clean(it.Action.Payload.Transaction.To), 4))
	f.key("enter")
	if len(f.b.Decisions()) != 1 {
		t.Fatalf("typed confirmation of the visible destination did not confirm:\n%s", f.screen())
	}
	checkSafe(t, "error line", view())
	for _, n := range f.b.Notifications() {
		if strings.ContainsAny(n.Title+n.Body, "\x1b\r\a\u202e") {
			t.Fatalf("a desktop notification carries raw control text: %q", n)
		}
	}
}

// Issue 12: an unknown expiry is shown as such, never as expired, and the
// UI's own expiry sweep never drops it; such an action can be decided.
func TestExpiryUnknown(t *testing.T) {
	its := items(1)
	its[0].Action.Expires = time.Time{}
	f := newFixture(t, its, true)
	f.b.IdleLock, f.b.AbsoluteLock = 48*time.Hour, 48*time.Hour
	f.mustShow("expiry unknown")
	f.mustNotShow("expired")
	f.clock.Advance(24 * time.Hour)
	f.send(tickMsg{})
	if _, ok := f.m.Pending().Item(its[0].Action.ID); !ok {
		t.Fatal("the expiry sweep dropped an action whose expiry is unknown")
	}
	row := ""
	for _, l := range strings.Split(f.screen(), "\n") {
		if strings.HasPrefix(l, "▸") {
			row = l
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(row), "unknown") {
		t.Fatalf("list row does not say the expiry is unknown: %q", row)
	}
	f.mustNotShow("expired")
	f.key("a")
	f.afterGrace()
	f.key("y")
	if len(f.b.Decisions()) != 1 {
		t.Fatalf("an action with an unknown expiry could not be decided:\n%s", f.screen())
	}
}

// Issue 12: a payload that is not understood says so and is shown pretty-
// printed in full; an action with only a policy name and a chain ID is
// shown sensibly.
func TestNotUnderstoodMinimalPayload(t *testing.T) {
	raw := `{"policyName":"Ops","externalExtension":{"network":{"chainID":1}},"extra":{"deep":[1,2]}}`
	a := &client.Action{
		ID: "act-minimal", Type: client.TypeTransaction, Status: client.StatusPending, Messages: [][]byte{{1, 2, 3}},
		Payload: &client.Payload{PolicyName: "Ops", Transaction: &client.Transaction{Network: &client.Network{ChainID: "1"}}},
		Detail:  &client.ActionDetail{PayloadErr: "not understood: unknown fields extra", RawPayload: []byte(raw)},
	}
	f := newFixture(t, []app.Item{{Action: a}}, true)
	for _, want := range []string{"chain 1", "—", "Payload not understood: unknown fields extra", `"deep": [`, "Amount     not in the payload", "To         not in the payload", "Name       Ops"} {
		f.mustShow(want)
	}
	f.key("tab")
	f.key("G")
	lines := strings.Split(f.screen(), "\n")
	found := false
	for i, l := range lines {
		if strings.Contains(l, "(end)") && i > 0 && strings.TrimSpace(lines[i-1]) == "}" {
			found = true
		}
	}
	if !found && !strings.Contains(f.screen(), "\n }") {
		t.Fatalf("the pretty-printed payload's end is not shown:\n%s", f.screen())
	}
	f.mustNotShow("MAINNET")
	f.mustNotShow("NOT whitelisted")
}

// Issue 12: how the message relates to the details is said in the detail
// and the dialog; a mismatch is never signed.
func TestBindingIsShownAndMismatchRefused(t *testing.T) {
	its := items(3)
	its[0].Action.Binding = client.BindingUnknown
	its[1].Action.Binding = client.BindingBound
	its[2].Action.Binding = client.BindingMismatch
	its[2].Verdict = app.Verdict{Level: app.VerdictApprove}
	f := newFixture(t, its, true)
	f.mustShow("the message is a digest qapprove cannot check against these details")
	f.key("a")
	f.mustShow("the message is a digest qapprove cannot check against these")
	f.afterGrace()
	f.key("esc")
	f.key("j")
	f.mustShow("message checked against these details")
	f.key("j")
	f.mustShow("does not match these details")
	f.key("a")
	if f.m.DialogOpen() {
		t.Fatal("a dialog opened for a message that contradicts the details")
	}
	f.mustShow("does not match the details shown: it will not be signed")
	f.key("r")
	if f.m.DialogOpen() || len(f.b.Decisions()) != 0 {
		t.Fatal("a mismatched message could be rejected (signed)")
	}
	if n := len(f.b.Abandoned()); n != 3 { // the cancel, then two refusals
		t.Fatalf("%d abandoned decisions journaled, want 3", n)
	}
}

// Issue 12: the decision carries the SHA-256 of the message the dialog
// showed; a message that changes while the dialog is open is refused.
func TestDecisionCarriesShownMessageHash(t *testing.T) {
	its := items(1)
	f := newFixture(t, its, true)
	f.key("a")
	changed := its[0]
	a := *changed.Action
	a.Messages = [][]byte{[]byte("another message")}
	changed.Action = &a
	f.send(eventMsg{app.ActionUpserted{Item: changed}})
	f.afterGrace()
	f.key("y")
	if len(f.b.Decisions()) != 0 {
		t.Fatal("signed a message that changed after the dialog showed another")
	}
	f.mustShow("The message to sign changed")
	f.key("a")
	f.afterGrace()
	f.key("y")
	sum := sha256.Sum256([]byte("another message"))
	ds := f.b.Decisions()
	if len(ds) != 1 || ds[0].MessageSHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("decisions = %+v, want the SHA-256 of the message shown", ds)
	}
}
