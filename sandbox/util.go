package sandbox

import (
	"math/rand/v2"
	"strings"
)

func zeros(n int) string { return strings.Repeat("0", n) }

func hexID(r *rand.Rand, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[r.IntN(16)]
	}
	return string(b)
}
