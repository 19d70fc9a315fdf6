// Package secretstest provides test support for code that seals or opens
// keystore bundles: a KDF value with tiny scrypt parameters, so tests run
// in milliseconds instead of a second and 256 MiB per KDF run. Import it
// only from tests; it changes nothing process-wide.
package secretstest

import (
	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/qapprove/qapprove/storage/secrets"
)

// Params are the tiny scrypt parameters of KDF (N=2^10, r=8, p=1).
func Params() eip2335.Params { return eip2335.Params{ScryptN: 1 << 10, ScryptR: 8, ScryptP: 1} }

// KDF is a policy for tests: Seal writes Params and Open (and a Session
// with SessionOptions{KDF: secretstest.KDF()}) accepts weak bundles.
func KDF() secrets.KDF { return secrets.KDF{Params: Params(), AllowWeak: true} }
