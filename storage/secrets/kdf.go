package secrets

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/qapprove/qapprove/crypto/eip2335"
)

// KDF is the key-derivation policy a caller passes to Seal, Open and
// SessionOptions: the scrypt parameters Seal writes and the bounds Seal and
// Open accept. The zero value is the production policy (eip2335's
// DefaultParams, EncryptLimits and DecryptLimits). Like age's scrypt work
// factor it is a value, never a process-wide setting.
type KDF struct {
	// Params are the scrypt parameters Seal writes (zero: eip2335.DefaultParams()).
	Params eip2335.Params
	// AllowWeak lowers the floors of Seal and Open to eip2335's absolute
	// minimum (scrypt N and PBKDF2 c of 16) so tests run fast; production
	// never sets it. A bundle can still not ask for more than 2^20.
	AllowWeak bool
}

func (k KDF) params() eip2335.Params {
	if k.Params == (eip2335.Params{}) {
		return eip2335.DefaultParams()
	}
	return k.Params
}

func (k KDF) encryptLimits() eip2335.Limits {
	if k.AllowWeak {
		return eip2335.AbsoluteLimits()
	}
	return eip2335.EncryptLimits()
}

func (k KDF) decryptLimits() eip2335.Limits {
	if k.AllowWeak {
		return eip2335.AbsoluteLimits()
	}
	return eip2335.DecryptLimits()
}

// Seal encrypts s under passphrase with k's parameters and returns the
// bundle. The public keys are computed from s; if pub already names public
// keys they must match. A zero Created is set to now.
func (k KDF) Seal(pub BundlePublic, s *Secrets, passphrase []byte) (*Bundle, error) {
	return k.seal(pub, s, passphrase, rand.Reader)
}

// Open decrypts b (one KDF run, refused before it runs when the bundle's
// parameters are outside k's bounds) and checks that the BLS and EC
// secrets give the stored public keys. The caller must Zero the result.
// A wrong passphrase gives ErrWrongPassphrase.
func (k KDF) Open(b *Bundle, passphrase []byte) (*Secrets, error) {
	raw, err := k.openRaw(b, passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	return secretsFromRaw(raw), nil
}

// openRaw decrypts and checks b, returning BLS ‖ EC ‖ API secret. The
// caller must clear the result.
func (k KDF) openRaw(b *Bundle, passphrase []byte) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	if b.Wrapped() {
		return nil, fmt.Errorf("%w (%s)", ErrWrapped, b.DescribeWrap())
	}
	raw, err := eip2335.Decrypt(b.Crypto, passphrase, k.decryptLimits())
	if errors.Is(err, eip2335.ErrInvalidModule) {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	if err != nil {
		return nil, err
	}
	if err := b.checkSecrets(raw); err != nil {
		clear(raw)
		return nil, err
	}
	return raw, nil
}

func (k KDF) seal(pub BundlePublic, s *Secrets, passphrase []byte, rnd io.Reader) (*Bundle, error) {
	plain, pub, err := prepareSeal(pub, s)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	m, err := eip2335.Encrypt(plain, passphrase, k.params(), k.encryptLimits(), rnd)
	if err != nil {
		return nil, err
	}
	return &Bundle{Version: BundleVersion, BundlePublic: pub, Crypto: m}, nil
}
