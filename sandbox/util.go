package sandbox

import (
	"encoding/base64"
	"math/rand/v2"
	"sort"
	"strings"
)

func sortStrings(s []string) { sort.Strings(s) }

func lower(s string) string { return strings.ToLower(s) }

func zeros(n int) string { return strings.Repeat("0", n) }

func hexID(r *rand.Rand, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[r.IntN(16)]
	}
	return string(b)
}

func keyOf(m map[string]ScenarioAsset, a ScenarioAsset) string {
	for k, v := range m {
		if v == a {
			return k
		}
	}
	return ""
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
