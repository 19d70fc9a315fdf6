package eip2335

// Absolute bounds of the KDF parameters: ParseModule and Validate refuse a
// module outside them whatever the caller's Limits, so no module can ask
// for a gigantic key derivation.
const (
	MinScryptN = 1 << 4  // smallest scrypt N of any module
	MaxScryptN = 1 << 20 // largest scrypt N of any module (1 GiB at r=8)
	MinPBKDF2C = 1 << 4  // smallest PBKDF2 iteration count of any module
	MaxPBKDF2C = 1 << 22 // largest PBKDF2 iteration count of any module
)

// Limits bound the KDF work a caller accepts: Encrypt refuses parameters
// and Decrypt refuses a module outside them, before any key derivation
// runs. They are values passed by the caller; nothing in this package
// changes them.
type Limits struct {
	MinScryptN, MaxScryptN int // scrypt N (always a power of two)
	MinPBKDF2C, MaxPBKDF2C int // PBKDF2-HMAC-SHA256 iteration count
}

// EncryptLimits is the production policy for writing a keystore: never
// weaker than DefaultParams (N from 2^18 to 2^20).
func EncryptLimits() Limits {
	return Limits{MinScryptN: defaultScryptN, MaxScryptN: MaxScryptN, MinPBKDF2C: 1 << 17, MaxPBKDF2C: MaxPBKDF2C}
}

// DecryptLimits is the production policy for a module read from outside:
// scrypt N from 2^15 to 2^20, PBKDF2 c from 2^17 to 2^22.
func DecryptLimits() Limits {
	return Limits{MinScryptN: 1 << 15, MaxScryptN: MaxScryptN, MinPBKDF2C: 1 << 17, MaxPBKDF2C: MaxPBKDF2C}
}

// AbsoluteLimits are the widest bounds (N and c down to 16): tiny, fast
// parameters for tests. A caller passes them explicitly; production code
// uses EncryptLimits and DecryptLimits.
func AbsoluteLimits() Limits {
	return Limits{MinScryptN: MinScryptN, MaxScryptN: MaxScryptN, MinPBKDF2C: MinPBKDF2C, MaxPBKDF2C: MaxPBKDF2C}
}

// check refuses the validated module's KDF parameters outside l.
func (l Limits) check(v *validated) error {
	if v.kdf == KDFPBKDF2 {
		if v.c < l.MinPBKDF2C || v.c > l.MaxPBKDF2C {
			return invalid("pbkdf2 c must be between %d and %d", l.MinPBKDF2C, l.MaxPBKDF2C)
		}
		return nil
	}
	return checkScrypt(v.n, v.r, v.p, l.MinScryptN, l.MaxScryptN)
}
