package secrets

import (
	"sync/atomic"

	"github.com/qapprove/qapprove/crypto/eip2335"
)

// legacyWeak is set by the deprecated UseWeakKDFForTesting. It changes only
// the policy of the convenience functions Seal and Bundle.Open and of a
// Session whose options carry the zero KDF; a KDF value passed explicitly
// is never affected.
var legacyWeak atomic.Bool

// UseWeakKDFForTesting makes Seal, Bundle.Open and sessions with the zero
// KDF use tiny scrypt parameters until restore is called.
//
// Deprecated: a process-wide switch, kept only until the callers in
// ui/engine (app) and cmd/qapprove tests pass secretstest.KDF() as a value
// (KDF.Seal, KDF.Open, SessionOptions.KDF). Do not add callers.
func UseWeakKDFForTesting() (restore func()) {
	old := legacyWeak.Swap(true)
	return func() { legacyWeak.Store(old) }
}

// legacyKDF is the zero KDF, or the weak one while UseWeakKDFForTesting is
// in effect.
func legacyKDF() KDF {
	if legacyWeak.Load() {
		return KDF{Params: eip2335.Params{ScryptN: 1 << 10, ScryptR: 8, ScryptP: 1}, AllowWeak: true}
	}
	return KDF{}
}
