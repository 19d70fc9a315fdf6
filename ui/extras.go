package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
)

// This file draws what the console shows of an action beyond its payload:
// its value in fiat with the price's source and age, who approved it so
// far, and the contract call its calldata makes.

// unreachable is the verdict's warning that the members who have not
// decided can no longer reach the threshold ("" when there is none).
func unreachable(v app.Verdict) string {
	for _, w := range v.Warnings {
		if strings.HasPrefix(w, governance.WarnUnreachable) {
			return w
		}
	}
	return ""
}

// valueText is the long form of a value: "≈ 12,340.00 USD (desk table,
// 3 h old)", "stale price (2 d old, desk table): ≈ …", "no price: …".
func valueText(v *app.Value, now time.Time) string {
	if v == nil {
		return ""
	}
	if v.Source == app.TestnetSource && v.Problem == "" {
		return "none: a testnet coin has no market value"
	}
	src := clean(v.Source)
	if src == "" {
		src = "unknown source"
	}
	if v.Amount == "" {
		if v.Problem == "" {
			return "no price"
		}
		return "no price: " + clean(v.Problem)
	}
	money := "≈ " + money(v.Amount) + " " + clean(v.Currency)
	age := ageText(priceAge(v, now))
	switch {
	case v.Stale:
		return "stale price (" + age + " old, " + src + "): " + money
	case v.Problem != "":
		return money + " (" + src + "): " + clean(v.Problem)
	}
	return money + " (" + src + ", " + age + " old)"
}

// valueTrouble reports whether a value needs the operator's attention:
// no price, a stale one, or another problem with it.
func valueTrouble(v *app.Value) bool {
	return v != nil && (v.Amount == "" || v.Stale || v.Problem != "")
}

// valueCell is the short form of a value for a list column w cells wide:
// "≈12,340 USD", "≈1.2M USD", "stale 2 d", "no price", "bad price", "—".
func valueCell(v *app.Value, now time.Time, w int) string {
	switch {
	case v == nil:
		return fitLeft("—", w)
	case v.Source == app.TestnetSource && v.Problem == "":
		return fitLeft("testnet", w)
	case v.Amount == "":
		return fitLeft("no price", w)
	case v.Stale:
		return fitLeft("stale "+ageText(priceAge(v, now)), w)
	case v.Problem != "":
		return fitLeft("bad price", w)
	}
	whole, _, _ := strings.Cut(v.Amount, ".")
	cur := " " + clean(v.Currency)
	s := "≈" + money(whole) + cur
	if ansi.StringWidth(s) > w {
		s = "≈" + shortMoney(whole) + cur
	}
	return fitLeft(s, w)
}

// priceAge is how old the price is at now.
func priceAge(v *app.Value, now time.Time) time.Duration {
	if !v.AsOf.IsZero() {
		return now.Sub(v.AsOf)
	}
	return v.Age
}

// ageText renders an age in the largest whole unit: "45 s", "12 min",
// "3 h", "2 d".
func ageText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0).Seconds())) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " d"
}

// money groups the whole part of a decimal amount by thousands
// ("1234567.50" → "1,234,567.50"). Anything but digits, one point and a
// leading minus is shown escaped and ungrouped.
func money(s string) string {
	neg := strings.HasPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || !digitsOnly(whole) || (hasFrac && !digitsOnly(frac)) {
		return clean(s)
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}

// shortMoney renders a whole amount with a k/M/B/T suffix and one
// decimal ("1234567" → "1.2M").
func shortMoney(whole string) string {
	n := len(strings.TrimPrefix(whole, "-"))
	if n <= 3 || !digitsOnly(strings.TrimPrefix(whole, "-")) {
		return money(whole)
	}
	sign := ""
	if strings.HasPrefix(whole, "-") {
		sign, whole = "-", whole[1:]
	}
	suffixes := []string{"k", "M", "B", "T"}
	k := min((n-1)/3, len(suffixes))
	head := whole[:n-3*k]
	if len(head) < 3 {
		head += "." + whole[n-3*k:n-3*k+1]
	}
	return sign + head + suffixes[k-1]
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// whenText renders a time of approval: "2026-11-24 11:58:00Z, 2 min ago".
func whenText(at, now time.Time) string {
	if at.IsZero() {
		return "time not given"
	}
	s := at.UTC().Format("2006-01-02 15:04:05Z")
	if d := now.Sub(at); d >= 0 {
		s += ", " + ageText(d) + " ago"
	}
	return s
}

// approverText names one approver: "Alice Moreau (Risk) · a.x7Yq…", or
// the ID alone when the API gave no name.
func approverText(a app.Approver) string {
	if a.Name == "" {
		return clean(a.ID)
	}
	return clean(a.Name) + " · " + clean(a.ID)
}

// peopleDetail adds who approved so far, and the warning when the
// threshold can no longer be reached.
func peopleDetail(d *detail, pp app.People, warning string, now time.Time) {
	st := d.st
	switch {
	case !pp.Known:
		d.add(st.Label.Render("Approved by ") + st.Muted.Render("not provided by the API"))
	case len(pp.ApprovedBy) == 0:
		d.add(st.Label.Render("Approved by ") + st.Value.Render("nobody yet"))
	default:
		d.add(st.Label.Render("Approved by"))
		for _, a := range pp.ApprovedBy {
			d.words("  • ", approverText(a)+" — "+whenText(a.At, now), st.Value.Render)
		}
	}
	if warning != "" {
		d.words("  ⚠ ", clean(warning), st.Bad.Render)
	}
}

// callDetail adds the decoded contract call of a transaction.
func callDetail(d *detail, c *governance.Call, tx *client.Transaction) {
	st := d.st
	d.add(st.Title.Render("Contract call") + st.Muted.Render(fmt.Sprintf(" (%d bytes of calldata)", len(tx.Data))))
	if !c.Known {
		if unknownSelector(c) {
			d.words("", "unknown function "+clean(c.Selector)+": qapprove cannot say what this call does", st.Bad.Render)
		} else {
			d.words("", "calldata not decoded: "+clean(c.Problem), st.Bad.Render)
		}
		return
	}
	d.field("Function", clean(c.Function)+" · "+standardName(c.Standard)+" · "+clean(c.Selector))
	if tx.Asset != nil && tx.Asset.Contract != "" {
		d.field("Token", strings.TrimSpace(clean(symbol(tx))+" "+clean(tx.Asset.Contract)))
	}
	for _, f := range [][2]string{{"From", c.From}, {"Recipient", c.Recipient}, {"Spender", c.Spender}, {"Operator", c.Operator}} {
		if f[1] != "" {
			d.field(f[0], clean(f[1]))
		}
	}
	switch {
	case c.Function == "setApprovalForAll" && c.Approved:
		d.add(st.Label.Render(fit("Grants", 11)) + st.Bad.Render("ALL tokens of the collection to the operator"))
	case c.Function == "setApprovalForAll":
		d.field("Grants", "revokes the operator's approval")
	case c.Unlimited:
		d.add(st.Label.Render(fit("Amount", 11)) + st.Bad.Render("UNLIMITED ("+clean(c.Amount)+" base units)"))
	case c.Amount != "":
		d.field("Amount", callAmount(c, tx))
	}
	if m := recipientMismatch(c, tx); m != "" {
		d.words("  ⚠ ", m, st.Bad.Render)
	}
}

// callAmount renders a call's amount in the asset's units when the call
// is on the asset's token contract (with the base units), else in base
// units.
func callAmount(c *governance.Call, tx *client.Transaction) string {
	if tx.Asset == nil || tx.Asset.Contract == "" {
		return clean(c.Amount) + " base units"
	}
	return shortCallAmount(c, tx) + " (" + clean(c.Amount) + " base units)"
}

// shortCallAmount is callAmount without the base units beside the
// asset's units.
func shortCallAmount(c *governance.Call, tx *client.Transaction) string {
	if tx.Asset == nil || tx.Asset.Contract == "" {
		return clean(c.Amount) + " base units"
	}
	return clean(client.FormatAmount(c.Amount, decimals(tx))) + " " + clean(symbol(tx))
}

// recipientMismatch says when the call sends tokens to someone other than
// the destination shown ("" when it does not).
func recipientMismatch(c *governance.Call, tx *client.Transaction) string {
	if c.Recipient == "" || tx.To == "" || strings.EqualFold(c.Recipient, tx.To) {
		return ""
	}
	return "the call sends to " + clean(c.Recipient) + ", NOT to the destination shown (" + clean(tx.To) + ")"
}

// unknownSelector reports whether the call was not decoded only because
// its function is not one qapprove knows.
func unknownSelector(c *governance.Call) bool {
	return !c.Known && c.Selector != "" && (c.Problem == "" || strings.Contains(c.Problem, "unknown"))
}

// standardName names a token standard for display.
func standardName(s string) string {
	switch s {
	case "erc20":
		return "ERC-20"
	case "erc721/erc1155":
		return "ERC-721/1155"
	}
	return clean(s)
}

// callSummary is one line about a call for the confirmation dialog.
func callSummary(c *governance.Call, tx *client.Transaction) string {
	switch {
	case unknownSelector(c):
		return "unknown function " + clean(c.Selector)
	case !c.Known:
		return "calldata not decoded"
	case c.Function == "setApprovalForAll" && c.Approved:
		return "setApprovalForAll: ALL tokens to " + clean(c.Operator)
	case c.Unlimited:
		return clean(c.Function) + ": UNLIMITED allowance to " + clean(c.Spender)
	case c.Spender != "":
		return clean(c.Function) + " " + shortCallAmount(c, tx) + " to " + clean(c.Spender)
	case c.Recipient != "":
		s := clean(c.Function) + " " + shortCallAmount(c, tx) + " to " + clean(c.Recipient)
		if recipientMismatch(c, tx) != "" {
			s += " (NOT the destination shown)"
		}
		return s
	}
	return clean(c.Function)
}
