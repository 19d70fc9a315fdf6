package eip2335

import (
	"sync"
	"testing"
)

// limits bounds the KDF parameters. Production values come from
// productionLimits; tests may loosen or tighten them.
type limits struct {
	encMinN int // smallest scrypt N Encrypt accepts
	decMinN int // smallest scrypt N Decrypt accepts
	maxN    int // largest scrypt N accepted anywhere
	minC    int // smallest PBKDF2 iteration count accepted
	maxC    int // largest PBKDF2 iteration count accepted
}

var productionLimits = limits{
	encMinN: 1 << 18,
	decMinN: 1 << 15,
	maxN:    1 << 20,
	minC:    1 << 17,
	maxC:    1 << 22,
}

// weakLimits let tests use tiny, fast KDF parameters.
var weakLimits = limits{
	encMinN: 1 << 4,
	decMinN: 1 << 4,
	maxN:    1 << 20,
	minC:    1 << 4,
	maxC:    1 << 22,
}

var (
	limitsMu  sync.RWMutex
	curLimits = productionLimits
)

func currentLimits() limits {
	limitsMu.RLock()
	defer limitsMu.RUnlock()
	return curLimits
}

func setLimits(l limits) (restore func()) {
	limitsMu.Lock()
	old := curLimits
	curLimits = l
	limitsMu.Unlock()
	return func() {
		limitsMu.Lock()
		curLimits = old
		limitsMu.Unlock()
	}
}

// WeakParams are tiny scrypt parameters (N=2^10) for tests only: Encrypt
// and Decrypt refuse them unless AllowWeakParamsForTesting is in effect.
func WeakParams() Params { return Params{ScryptN: 1 << 10, ScryptR: scryptR, ScryptP: scryptP} }

// AllowWeakParamsForTesting lets Encrypt and Decrypt accept scrypt N and
// PBKDF2 c down to 16 so tests run fast, until restore is called. It panics
// outside a test binary (testing.Testing() false), so production code can
// never weaken the keystore.
func AllowWeakParamsForTesting() (restore func()) {
	if !testing.Testing() {
		panic("eip2335: AllowWeakParamsForTesting called outside a test binary")
	}
	return setLimits(weakLimits)
}
