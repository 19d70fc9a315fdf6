package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/ui/safetext"
)

// countdown renders a duration as "1h02m", "12m03s" or "45s"; <= 0 is "expired".
func countdown(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	d = d.Truncate(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h >= 100:
		return fmt.Sprintf("%dh", h)
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// Fit makes s exactly w cells wide: truncated with "…" or padded with
// spaces (ANSI-aware). Screens of other packages use it for their lines.
func Fit(s string, w int) string { return fit(s, w) }

// FitLines makes lines a block of exactly h lines of w cells: cut to h
// lines, each fitted (see Fit), then blank lines.
func FitLines(lines []string, w, h int) string {
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(w, 0))
		}
	}
	return strings.Join(out, "\n")
}

// Middle shortens plain s to w cells by cutting its middle (see middle).
func Middle(s string, w int) string { return middle(s, w) }

// ScrollOffset is the first of n rows to draw in a window of h rows so that
// row cursor is inside it, moving the window from offset as little as
// possible.
func ScrollOffset(cursor, offset, n, h int) int {
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+h {
		offset = cursor - h + 1
	}
	return max(0, min(offset, n-h))
}

// fit makes s exactly w cells wide: truncated with "…" or padded with spaces.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// fitLeft is fit with the text pushed to the right.
func fitLeft(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-sw) + s
}

// cut shortens plain s to at most w cells by cutting its middle; a
// shorter s is returned as it is (not padded).
func cut(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return middle(s, w)
}

// middle shortens plain s to w cells by cutting its middle ("0x12…cdef"),
// which keeps both ends of an address visible.
func middle(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw <= w || w < 5 {
		return fit(s, w)
	}
	head := (w - 1) / 2
	tail := w - 1 - head
	return ansi.Truncate(s, head, "") + "…" + ansi.TruncateLeft(s, sw-tail, "")
}

// clean makes one line of text from the network safe to draw: control,
// bidi and zero-width characters become visible escapes (safetext.Line), so
// hostile data can neither drive the terminal nor hide what is shown.
func clean(s string) string { return safetext.Line(s) }

// hardWrap cuts plain s into lines of at most w cells.
func hardWrap(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	return strings.Split(ansi.Hardwrap(s, w, true), "\n")
}

// overlay draws fg over bg with its top-left corner at column x, row y.
// Both are multi-line strings; ANSI styles of bg outside fg are kept.
func overlay(bg, fg string, x, y int) string {
	bl := strings.Split(bg, "\n")
	for i, line := range strings.Split(fg, "\n") {
		r := y + i
		if r < 0 || r >= len(bl) {
			continue
		}
		b := bl[r]
		bw := ansi.StringWidth(b)
		if bw < x {
			b += strings.Repeat(" ", x-bw)
			bw = x
		}
		fw := ansi.StringWidth(line)
		left := ansi.Truncate(b, x, "")
		right := ""
		if x+fw < bw {
			right = ansi.TruncateLeft(b, x+fw, "")
		}
		bl[r] = left + "\x1b[m" + line + "\x1b[m" + right
	}
	return strings.Join(bl, "\n")
}

// waitText renders a wait rounded up to whole seconds ("3s").
func waitText(d time.Duration) string {
	return countdown(max(time.Second, (d + time.Second - 1).Truncate(time.Second)))
}

// amountCell renders an amount in w cells keeping the asset symbol: the
// fraction may be cut ("0.0000…"), the whole part never is ("### ETH").
func amountCell(tx *client.Transaction, w int) string {
	if tx.Amount == "" {
		return fitLeft("—", w)
	}
	num := clean(client.FormatAmount(tx.Amount, decimals(tx)))
	sym := clean(symbol(tx))
	nw := w - ansi.StringWidth(sym) - 1
	if len(num) > nw {
		whole, _, _ := strings.Cut(num, ".")
		if len(whole)+1 < nw {
			num = num[:nw-1] + "…"
		} else {
			num = strings.Repeat("#", max(1, min(nw, 3)))
		}
	}
	return fitLeft(num+" "+sym, w)
}

// amountText is the amount of a transaction in whole units with its asset.
func amountText(tx *client.Transaction) string {
	if tx.Amount == "" {
		return "not in the payload"
	}
	return strings.TrimSpace(clean(client.FormatAmount(tx.Amount, decimals(tx))) + " " + clean(symbol(tx)))
}

// symbol is the asset symbol of a transaction ("" when not given).
func symbol(tx *client.Transaction) string {
	if tx.Asset == nil {
		return ""
	}
	return tx.Asset.Symbol
}

// decimals is the asset's decimals (0 when not given).
func decimals(tx *client.Transaction) int {
	if tx.Asset == nil {
		return 0
	}
	return tx.Asset.Decimals
}

// netLabel names a network for display: its name, else its chain ID.
func netLabel(n *client.Network) string {
	switch {
	case n == nil:
		return "?"
	case n.Name != "":
		return clean(n.Name)
	case n.ChainID != "":
		return "chain " + clean(n.ChainID)
	}
	return "?"
}

// destination is the destination of an action ("" when it has none).
func destination(a *client.Action) string {
	if p := a.Payload; p != nil && p.Transaction != nil {
		return p.Transaction.To
	}
	return ""
}

// pendingAt reports whether an action may still be decided at now: it is
// pending and has not expired. An unknown expiry is not an expiry: the
// re-read before signing confirms the status.
func pendingAt(a *client.Action, now time.Time) bool {
	return a.Status == client.StatusPending && (!a.ExpiryKnown() || now.Before(a.Expires))
}

// expiresText is when an action expires, relative to now.
func expiresText(a *client.Action, now time.Time) string {
	if !a.ExpiryKnown() {
		return "expiry unknown"
	}
	d := a.Expires.Sub(now)
	if d <= 0 {
		return "expired"
	}
	return "in " + countdown(d)
}

// messageSHA256 is the hex SHA-256 of the message to sign ("" when none).
func messageSHA256(a *client.Action) string {
	if len(a.Messages) == 0 || len(a.Messages[0]) == 0 {
		return ""
	}
	sum := sha256.Sum256(a.Messages[0])
	return hex.EncodeToString(sum[:])
}

// lastChars is the last n characters of s (all of s when shorter).
func lastChars(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

// bindingText says how the message to sign relates to the details shown;
// bad is set when the action must not be signed.
func bindingText(b client.Binding) (text string, bad bool) {
	switch b {
	case client.BindingBound:
		return "✓ message checked against these details", false
	case client.BindingMismatch:
		return "✗ the message does not match these details: it will not be signed", true
	}
	return "the message is a digest qapprove cannot check against these details", false
}

// policyText is the policy of a payload in one line: its name, the
// threshold unless the name already says it, and the approvals so far.
func policyText(p *client.Payload) string {
	name := p.PolicyName
	if name == "" && p.Policy != nil {
		name = p.Policy.Name
	}
	out := clean(name)
	if out == "" {
		out = "(unnamed)"
	}
	pol := p.Policy
	if pol == nil || pol.Threshold == 0 {
		return out
	}
	n := len(pol.Members)
	said := false
	for _, f := range []string{"%d of %d", "%d-of-%d", "%d/%d"} {
		if strings.Contains(strings.ToLower(name), fmt.Sprintf(f, pol.Threshold, n)) {
			said = true
		}
	}
	if !said {
		out += fmt.Sprintf(" · needs %d of %d", pol.Threshold, n)
	}
	return out + fmt.Sprintf(" · %d approved so far", p.Approvals)
}

// decidingRule is the rule that drove a verdict: the first that fired
// with the verdict's level (nil when none did).
func decidingRule(v app.Verdict) *app.RuleHit {
	lvl := level(v)
	for i := range v.Rules {
		if v.Rules[i].Verdict == lvl {
			return &v.Rules[i]
		}
	}
	return nil
}

// ago says how long ago t was, coarsely ("just now", "3 min ago", "2 h ago").
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// asOf says how old data is: "as of 14:02, 3 min ago" (with the date when
// not today).
func asOf(t, now time.Time) string {
	t = t.In(now.Location())
	stamp := t.Format("15:04")
	if y, m, d := t.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
		stamp = t.Format("Jan 2 15:04")
	}
	return "as of " + stamp + ", " + ago(t, now)
}

// level returns the verdict level to show ("" counts as review).
func level(v app.Verdict) app.Level {
	switch v.Level {
	case app.VerdictApprove, app.VerdictReject:
		return v.Level
	}
	return app.VerdictReview
}

// hygiene returns the policy-hygiene warnings of an action that the verdict
// does not already carry: 1-of-1 and N-of-N thresholds.
func hygiene(it *app.Item) []string {
	var out []string
	out = append(out, it.Verdict.Warnings...)
	a := it.Action
	if a == nil || a.Payload == nil {
		return out
	}
	p := a.Payload.Policy
	if p == nil {
		return out
	}
	n := len(p.Members)
	var w string
	switch {
	case p.Threshold == 1 && n <= 1:
		w = "policy is 1-of-1: a single approver decides alone"
	case n > 1 && p.Threshold == n:
		w = fmt.Sprintf("policy is %d-of-%d: one lost key blocks every action", n, n)
	default:
		return out
	}
	for _, have := range out {
		if strings.Contains(have, "1-of-1") || strings.Contains(have, fmt.Sprintf("%d-of-%d", n, n)) {
			return out
		}
	}
	return append(out, w)
}
