package governance

import (
	"fmt"
	"strings"
)

// IsDecimal reports whether s is a non-negative decimal number in plain
// notation: digits with at most one '.' between digits ("10", "0.5"), at
// most 100 characters.
func IsDecimal(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	whole, frac, dot := strings.Cut(s, ".")
	return whole != "" && allDigits(whole) && (!dot || (frac != "" && allDigits(frac)))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CompareDecimal compares two decimals (IsDecimal; Tx.Amount is one)
// exactly, without rounding: -1 when a < b, 0 when equal, 1 when a > b.
func CompareDecimal(a, b string) int {
	aw, af, _ := strings.Cut(a, ".")
	bw, bf, _ := strings.Cut(b, ".")
	aw, bw = strings.TrimLeft(aw, "0"), strings.TrimLeft(bw, "0")
	if len(aw) != len(bw) {
		if len(aw) < len(bw) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(aw, bw); c != 0 {
		return c
	}
	af, bf = strings.TrimRight(af, "0"), strings.TrimRight(bf, "0")
	for i := 0; i < max(len(af), len(bf)); i++ {
		x, y := byte('0'), byte('0')
		if i < len(af) {
			x = af[i]
		}
		if i < len(bf) {
			y = bf[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// CheckAmountLimits checks a table of per-asset amount limits, such as the
// profile setting strong_confirm_above: every limit a decimal in whole
// units (IsDecimal), no empty symbol, and no asset twice (symbols are
// matched without regard to case).
func CheckAmountLimits(limits map[string]string) error {
	seen := map[string]bool{}
	for sym, limit := range limits {
		if sym == "" || !IsDecimal(limit) {
			return fmt.Errorf("%q = %q: want an asset symbol and a decimal amount in whole units, like ETH = \"10\"", clip(sym), clip(limit))
		}
		up := strings.ToUpper(sym)
		if seen[up] {
			return fmt.Errorf("%q is given twice (symbols are matched without regard to case)", clip(sym))
		}
		seen[up] = true
	}
	return nil
}
