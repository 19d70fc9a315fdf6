// Package eip2335 implements the crypto module of the EIP-2335 keystore
// (https://eips.ethereum.org/EIPS/eip-2335): a passphrase-derived key
// (scrypt or PBKDF2-HMAC-SHA256), a SHA-256 checksum that detects a wrong
// passphrase, and AES-128-CTR encryption of the secret.
//
// Every parameter of a module read from outside is validated and bounded
// before the key derivation runs, so a hostile module cannot make the KDF
// slow or memory-hungry beyond the documented limits.
package eip2335

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"
)

// Sizes and bounds of a module.
const (
	DKLen          = 32   // derived key length, bytes
	SaltLen        = 32   // salt written by Encrypt, bytes
	IVLen          = 16   // AES-CTR IV length, bytes
	MinSaltLen     = 16   // shortest salt accepted on decrypt
	MaxSaltLen     = 64   // longest salt accepted on decrypt
	MaxSecretLen   = 1024 // longest secret (ciphertext) handled
	MaxModuleSize  = 8192 // largest module JSON accepted by ParseModule
	defaultScryptN = 1 << 18
	scryptR        = 8
	scryptP        = 1
)

// Function names of the modules this package reads and writes.
const (
	KDFScrypt       = "scrypt"
	KDFPBKDF2       = "pbkdf2"
	ChecksumSHA256  = "sha256"
	CipherAES128CTR = "aes-128-ctr"
	PRFHMACSHA256   = "hmac-sha256"
)

// ErrWrongPassphrase is returned by Decrypt when the checksum does not
// match, which almost always means the passphrase is wrong.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// ErrInvalidModule wraps every refusal of a malformed or out-of-bounds module.
var ErrInvalidModule = errors.New("invalid keystore crypto module")

// Module is the EIP-2335 "crypto" object. It marshals to
// {"kdf":{...},"checksum":{...},"cipher":{...}}.
type Module struct {
	KDF      Section `json:"kdf"`
	Checksum Section `json:"checksum"`
	Cipher   Section `json:"cipher"`
}

// Section is one EIP-2335 sub-module: a function name, its parameters and
// its message (hex).
type Section struct {
	Function string          `json:"function"`
	Params   json.RawMessage `json:"params"`
	Message  string          `json:"message"`
}

// Params are the scrypt parameters used by Encrypt.
type Params struct {
	ScryptN, ScryptR, ScryptP int
}

// DefaultParams are the parameters of the EIP-2335 test vector and of every
// keystore qapprove writes: N=2^18, r=8, p=1 (with dklen 32 and a 32-byte
// salt). One derivation takes about a second and 256 MiB.
func DefaultParams() Params {
	return Params{ScryptN: defaultScryptN, ScryptR: scryptR, ScryptP: scryptP}
}

type scryptParams struct {
	DKLen int    `json:"dklen"`
	N     int    `json:"n"`
	R     int    `json:"r"`
	P     int    `json:"p"`
	Salt  string `json:"salt"`
}

type pbkdf2Params struct {
	DKLen int    `json:"dklen"`
	C     int    `json:"c"`
	PRF   string `json:"prf"`
	Salt  string `json:"salt"`
}

type cipherParams struct {
	IV string `json:"iv"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidModule, fmt.Sprintf(format, args...))
}

// Encrypt encrypts secret under passphrase (normalised with
// NormalizePassphrase) with scrypt and AES-128-CTR. It refuses an N outside
// lim (production: EncryptLimits) or the absolute bounds, r != 8 and
// p != 1. rand supplies the salt and IV (crypto/rand.Reader in production).
func Encrypt(secret, passphrase []byte, p Params, lim Limits, rand io.Reader) (*Module, error) {
	if len(secret) == 0 || len(secret) > MaxSecretLen {
		return nil, fmt.Errorf("secret must be 1 to %d bytes, not %d", MaxSecretLen, len(secret))
	}
	if err := checkScrypt(p.ScryptN, p.ScryptR, p.ScryptP, max(lim.MinScryptN, MinScryptN), min(lim.MaxScryptN, MaxScryptN)); err != nil {
		return nil, err
	}
	salt := make([]byte, SaltLen)
	iv := make([]byte, IVLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("read random salt: %w", err)
	}
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("read random IV: %w", err)
	}
	dk, err := (&validated{kdf: KDFScrypt, salt: salt, n: p.ScryptN, r: p.ScryptR, p: p.ScryptP}).derive(passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	ct := make([]byte, len(secret))
	if err := ctr(dk[:16], iv, ct, secret); err != nil {
		return nil, err
	}
	sum := checksum(dk, ct)

	kp, _ := json.Marshal(scryptParams{DKLen: DKLen, N: p.ScryptN, R: p.ScryptR, P: p.ScryptP, Salt: hex.EncodeToString(salt)})
	cp, _ := json.Marshal(cipherParams{IV: hex.EncodeToString(iv)})
	return &Module{
		KDF:      Section{Function: KDFScrypt, Params: kp, Message: ""},
		Checksum: Section{Function: ChecksumSHA256, Params: json.RawMessage(`{}`), Message: hex.EncodeToString(sum)},
		Cipher:   Section{Function: CipherAES128CTR, Params: cp, Message: hex.EncodeToString(ct)},
	}, nil
}

// Decrypt validates m, checks its KDF parameters against lim (production:
// DecryptLimits), derives the key from passphrase (normalised with
// NormalizePassphrase), checks the checksum in constant time and returns
// the secret. A checksum mismatch gives ErrWrongPassphrase; a malformed or
// out-of-bounds module gives an error wrapping ErrInvalidModule, before any
// key derivation runs. The caller owns (and should clear) the result.
func Decrypt(m *Module, passphrase []byte, lim Limits) ([]byte, error) {
	v, err := m.validate()
	if err != nil {
		return nil, err
	}
	if err := lim.check(v); err != nil {
		return nil, err
	}
	dk, err := v.derive(passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	sum := checksum(dk, v.ct)
	if subtle.ConstantTimeCompare(sum, v.sum) != 1 {
		return nil, ErrWrongPassphrase
	}
	out := make([]byte, len(v.ct))
	if err := ctr(dk[:16], v.iv, out, v.ct); err != nil {
		return nil, err
	}
	return out, nil
}

// Validate checks the structure of m and its absolute bounds (MinScryptN
// to MaxScryptN, MinPBKDF2C to MaxPBKDF2C) without running the KDF; the
// caller's Limits are checked by Decrypt.
func (m *Module) Validate() error {
	_, err := m.validate()
	return err
}

// SecretLen is the length of the encrypted secret (0 if the cipher message
// is not valid hex).
func (m *Module) SecretLen() int {
	b, err := hex.DecodeString(m.Cipher.Message)
	if err != nil {
		return 0
	}
	return len(b)
}

// ParseModule decodes a module from JSON, strictly (unknown fields are
// refused) and bounded (MaxModuleSize), and validates it (see Validate).
func ParseModule(data []byte) (*Module, error) {
	if len(data) > MaxModuleSize {
		return nil, invalid("module is %d bytes, over the %d-byte limit", len(data), MaxModuleSize)
	}
	var m Module
	if err := strictUnmarshal(data, &m); err != nil {
		return nil, invalid("%v", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// strictUnmarshal decodes exactly one JSON value, refusing unknown fields
// and trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// validated is a module whose fields have been checked and decoded.
type validated struct {
	kdf    string
	salt   []byte
	n, r   int
	p, c   int
	sum    []byte
	iv, ct []byte
}

func (m *Module) validate() (*validated, error) {
	if m == nil {
		return nil, invalid("missing crypto module")
	}
	lim := AbsoluteLimits()
	v := &validated{kdf: m.KDF.Function}
	if m.KDF.Message != "" {
		return nil, invalid("kdf message must be empty")
	}
	var saltHex string
	switch m.KDF.Function {
	case KDFScrypt:
		var sp scryptParams
		if err := strictUnmarshal(m.KDF.Params, &sp); err != nil {
			return nil, invalid("scrypt params: %v", err)
		}
		if sp.DKLen != DKLen {
			return nil, invalid("kdf dklen must be %d", DKLen)
		}
		if err := checkScrypt(sp.N, sp.R, sp.P, lim.MinScryptN, lim.MaxScryptN); err != nil {
			return nil, err
		}
		v.n, v.r, v.p, saltHex = sp.N, sp.R, sp.P, sp.Salt
	case KDFPBKDF2:
		var pp pbkdf2Params
		if err := strictUnmarshal(m.KDF.Params, &pp); err != nil {
			return nil, invalid("pbkdf2 params: %v", err)
		}
		if pp.DKLen != DKLen {
			return nil, invalid("kdf dklen must be %d", DKLen)
		}
		if pp.PRF != PRFHMACSHA256 {
			return nil, invalid("pbkdf2 prf must be %s", PRFHMACSHA256)
		}
		if pp.C < lim.MinPBKDF2C || pp.C > lim.MaxPBKDF2C {
			return nil, invalid("pbkdf2 c must be between %d and %d", lim.MinPBKDF2C, lim.MaxPBKDF2C)
		}
		v.c, saltHex = pp.C, pp.Salt
	default:
		return nil, invalid("unsupported kdf function %q", clip(m.KDF.Function))
	}
	var err error
	if v.salt, err = decodeHex("kdf salt", saltHex, MinSaltLen, MaxSaltLen); err != nil {
		return nil, err
	}

	if m.Checksum.Function != ChecksumSHA256 {
		return nil, invalid("unsupported checksum function %q", clip(m.Checksum.Function))
	}
	if err := strictUnmarshal(m.Checksum.Params, &struct{}{}); err != nil {
		return nil, invalid("checksum params must be {}")
	}
	if v.sum, err = decodeHex("checksum", m.Checksum.Message, sha256.Size, sha256.Size); err != nil {
		return nil, err
	}

	if m.Cipher.Function != CipherAES128CTR {
		return nil, invalid("unsupported cipher function %q", clip(m.Cipher.Function))
	}
	var cp cipherParams
	if err := strictUnmarshal(m.Cipher.Params, &cp); err != nil {
		return nil, invalid("cipher params: %v", err)
	}
	if v.iv, err = decodeHex("cipher iv", cp.IV, IVLen, IVLen); err != nil {
		return nil, err
	}
	if v.ct, err = decodeHex("cipher message", m.Cipher.Message, 1, MaxSecretLen); err != nil {
		return nil, err
	}
	return v, nil
}

// derive runs the KDF on passphrase, normalised with NormalizePassphrase
// (the normalised copy is cleared).
func (v *validated) derive(passphrase []byte) ([]byte, error) {
	pass := NormalizePassphrase(passphrase)
	defer clear(pass)
	if v.kdf == KDFPBKDF2 {
		return pbkdf2.Key(pass, v.salt, v.c, DKLen, sha256.New), nil
	}
	dk, err := scrypt.Key(pass, v.salt, v.n, v.r, v.p, DKLen)
	if err != nil {
		return nil, fmt.Errorf("scrypt: %w", err)
	}
	return dk, nil
}

func checkScrypt(n, r, p, minN, maxN int) error {
	if n < minN || n > maxN || n&(n-1) != 0 {
		return invalid("scrypt n must be a power of two between %d and %d", minN, maxN)
	}
	if r != scryptR || p != scryptP {
		return invalid("scrypt r and p must be %d and %d", scryptR, scryptP)
	}
	return nil
}

func decodeHex(what, s string, minLen, maxLen int) ([]byte, error) {
	if len(s) > 2*maxLen || len(s) < 2*minLen {
		if minLen == maxLen {
			return nil, invalid("%s must be %d bytes of hex", what, minLen)
		}
		return nil, invalid("%s must be %d to %d bytes of hex", what, minLen, maxLen)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, invalid("%s is not valid hex", what)
	}
	return b, nil
}

// clip bounds an untrusted string quoted in an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func checksum(dk, ct []byte) []byte {
	h := sha256.New()
	h.Write(dk[16:32])
	h.Write(ct)
	return h.Sum(nil)
}

func ctr(key, iv, dst, src []byte) error {
	blk, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("aes: %w", err)
	}
	cipher.NewCTR(blk, iv).XORKeyStream(dst, src)
	return nil
}
