package sandbox

import (
	"math/rand/v2"
	"testing"

	"github.com/qapprove/qapprove/governance"
)

// Generated load uses addresses a wallet would accept: valid bech32.
func TestSegwitAddressIsValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		hrp := []string{"bc", "tb"}[i%2]
		a := segwitAddress(r, hrp)
		if problem, judged := governance.CheckAddress(governance.FamilyBitcoin, a); !judged || problem != "" {
			t.Fatalf("%s: %q", a, problem)
		}
	}
}
