package eip2335

import (
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizePassphrase returns the EIP-2335 form of a passphrase: NFKD, then
// the C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F) control codes
// removed, UTF-8 encoded. The result is a new slice (the caller should clear
// it); p is not modified. Bytes that are not valid UTF-8 are kept as they are.
func NormalizePassphrase(p []byte) []byte {
	n := norm.NFKD.Bytes(p)
	out := make([]byte, 0, len(n))
	for i := 0; i < len(n); {
		r, size := utf8.DecodeRune(n[i:])
		if !(r <= 0x1f || (r >= 0x7f && r <= 0x9f)) {
			out = append(out, n[i:i+size]...)
		}
		i += size
	}
	if len(n) > 0 && len(p) > 0 && &n[0] != &p[0] {
		clear(n)
	}
	return out
}
