package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/client"
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

// clean makes text from the network safe to draw: control characters and
// escape sequences are dropped so hostile payloads cannot drive the terminal.
func clean(s string) string {
	if s == "" {
		return s
	}
	safe := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

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
	num := client.FormatAmount(tx.Amount, tx.Asset.Decimals)
	sym := clean(tx.Asset.Symbol)
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
	return client.FormatAmount(tx.Amount, tx.Asset.Decimals) + " " + clean(tx.Asset.Symbol)
}

// level returns the verdict level to show ("" counts as review).
func level(v Verdict) string {
	switch v.Level {
	case VerdictApprove, VerdictReject:
		return v.Level
	}
	return VerdictReview
}

// hygiene returns the policy-hygiene warnings of an action that the verdict
// does not already carry: 1-of-1 and N-of-N thresholds.
func hygiene(it *Item) []string {
	var out []string
	out = append(out, it.Verdict.Warnings...)
	a := it.Action
	if a == nil || a.Payload == nil {
		return out
	}
	p := a.Payload.Policy
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
