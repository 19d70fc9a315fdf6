package secrets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/wrap"
)

// ErrWrapped is returned when a wrapped bundle is opened without its wrap.
var ErrWrapped = errors.New("the keystore is wrapped by a KMS or HSM key: it opens only through that wrap")

// Wrapped is the envelope of a wrapped bundle: the wrap's record (which
// key wraps the data key, and the wrapped data key) and the bundle's
// EIP-2335 module, in a compact binary form, sealed with AES-256-GCM under
// the data key. The scrypt parameters stay in clear so that a bundle
// asking for too much work is refused before any KMS call.
type Wrapped struct {
	wrap.Record
	N   int    `json:"n"`
	R   int    `json:"r"`
	P   int    `json:"p"`
	Box []byte `json:"box"` // nonce ‖ AES-256-GCM(salt_len ‖ salt ‖ checksum ‖ iv ‖ ciphertext) ‖ tag
}

// Sizes of the compact module.
const (
	checksumLen = 32
	ivLen       = eip2335.IVLen
	minBox      = wrap.BoxOverhead + 1 + 16 + checksumLen + ivLen + fixedSecretLen + 1
	maxBox      = wrap.BoxOverhead + 1 + 64 + checksumLen + ivLen + fixedSecretLen + MaxAPISecretLen
)

// Validate checks a wrapped module read from outside: the record, the
// scrypt parameters and the size of the box.
func (w *Wrapped) Validate() error {
	if err := w.Record.Validate(); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	if w.N < eip2335.MinScryptN || w.N > eip2335.MaxScryptN || w.N&(w.N-1) != 0 || w.R != 8 || w.P != 1 {
		return errors.New("keystore: the wrapped module's scrypt parameters are out of bounds")
	}
	if len(w.Box) < minBox || len(w.Box) > maxBox {
		return fmt.Errorf("keystore: the wrapped module is %d bytes, want %d to %d", len(w.Box), minBox, maxBox)
	}
	return nil
}

// Wrapped reports whether the bundle is wrapped by a KMS or HSM key.
func (b *Bundle) Wrapped() bool { return b.Wrap != nil }

// WrapKind is wrap.KindKMS, wrap.KindPKCS11 or wrap.KindNone.
func (b *Bundle) WrapKind() string {
	if b.Wrap == nil {
		return wrap.KindNone
	}
	return b.Wrap.Kind
}

// DescribeWrap says in one line how the bundle is protected.
func (b *Bundle) DescribeWrap() string {
	if b.Wrap == nil {
		return (*wrap.Record)(nil).Describe()
	}
	return b.Wrap.Describe()
}

// WrapContext is what the bundle's data key is bound to: the profile, the
// API key ID and the BLS public key's fingerprint.
func (b *BundlePublic) WrapContext() wrap.Context {
	fp := ""
	if pk, err := b.BLSPublic(); err == nil {
		fp = qbls.Fingerprint(pk)
	}
	return wrap.Context{Profile: b.Profile, APIKeyID: b.APIKeyID, BLSFingerprint: fp}
}

// boxAAD binds the box to the context, the wrap's key and the KDF.
func boxAAD(c wrap.Context, w *Wrapped) []byte {
	return fmt.Appendf(c.AAD("bundle-box"), "\n%s\n%d:%s\n%d:%s\n%d:%s\n%d/%d/%d",
		w.Kind, len(w.KeyARN), w.KeyARN, len(w.Token), w.Token, len(w.Label), w.Label, w.N, w.R, w.P)
}

// WrapBundle returns a copy of the unwrapped bundle b whose module is
// sealed under a fresh data key from w. The passphrase is not needed: the
// EIP-2335 module is kept as it is, inside.
func WrapBundle(ctx context.Context, b *Bundle, w wrap.Wrapper) (*Bundle, wrap.Use, error) {
	if err := b.validate(); err != nil {
		return nil, wrap.Use{}, err
	}
	if b.Wrapped() {
		return nil, wrap.Use{}, errors.New("the keystore is already wrapped: unwrap it first")
	}
	n, r, p, plain, err := compactModule(b.Crypto)
	if err != nil {
		return nil, wrap.Use{}, err
	}
	c := b.WrapContext()
	dk, rec, use, err := w.NewDataKey(ctx, c)
	if err != nil {
		return nil, wrap.Use{}, err
	}
	defer clear(dk)
	wr := &Wrapped{Record: rec, N: n, R: r, P: p}
	if wr.Box, err = wrap.SealBox(dk, plain, boxAAD(c, wr)); err != nil {
		return nil, wrap.Use{}, err
	}
	out := *b
	out.Crypto, out.Wrap = nil, wr
	if err := out.validate(); err != nil {
		return nil, wrap.Use{}, err
	}
	return &out, use, nil
}

// UnwrapBundle returns a copy of b with its module opened from the wrap
// by w (no wrap left); an unwrapped b is returned as it is. Nothing here
// needs the passphrase: the result is still encrypted under it.
func UnwrapBundle(ctx context.Context, b *Bundle, w wrap.Wrapper) (*Bundle, wrap.Use, error) {
	if err := b.validate(); err != nil {
		return nil, wrap.Use{}, err
	}
	if !b.Wrapped() {
		return b, wrap.Use{}, nil
	}
	if w == nil {
		return nil, wrap.Use{}, fmt.Errorf("%w (%s): this machine has no %s wrap configured", ErrWrapped, b.DescribeWrap(), b.Wrap.Kind)
	}
	c := b.WrapContext()
	dk, use, err := w.Unwrap(ctx, b.Wrap.Record, c)
	if err != nil {
		return nil, wrap.Use{}, err
	}
	plain, err := wrap.OpenBox(dk, b.Wrap.Box, boxAAD(c, b.Wrap))
	clear(dk)
	if err != nil {
		return nil, wrap.Use{}, fmt.Errorf("keystore: %w", err)
	}
	m, err := expandModule(b.Wrap.N, b.Wrap.R, b.Wrap.P, plain)
	if err != nil {
		return nil, wrap.Use{}, err
	}
	out := *b
	out.Crypto, out.Wrap = m, nil
	if err := out.validate(); err != nil {
		return nil, wrap.Use{}, err
	}
	return &out, use, nil
}

// CheckWrap asks the wrap for the bundle's data key and forgets it: an
// error means access was revoked (or the KMS or token cannot be reached).
// An unwrapped bundle passes.
func CheckWrap(ctx context.Context, b *Bundle, w wrap.Wrapper) (wrap.Use, error) {
	if !b.Wrapped() {
		return wrap.Use{}, nil
	}
	if w == nil {
		return wrap.Use{}, fmt.Errorf("%w (%s): this machine has no %s wrap configured", ErrWrapped, b.DescribeWrap(), b.Wrap.Kind)
	}
	dk, use, err := w.Unwrap(ctx, b.Wrap.Record, b.WrapContext())
	clear(dk)
	return use, err
}

type scryptJSON struct {
	DKLen int    `json:"dklen"`
	N     int    `json:"n"`
	R     int    `json:"r"`
	P     int    `json:"p"`
	Salt  string `json:"salt"`
}

// compactModule encodes a scrypt module as salt_len ‖ salt ‖ checksum ‖
// iv ‖ ciphertext, with the scrypt parameters apart.
func compactModule(m *eip2335.Module) (n, r, p int, out []byte, err error) {
	if err := m.Validate(); err != nil {
		return 0, 0, 0, nil, err
	}
	if m.KDF.Function != eip2335.KDFScrypt {
		return 0, 0, 0, nil, errors.New("only a keystore under scrypt can be wrapped (re-seal it with this qapprove first)")
	}
	var sp scryptJSON
	var cp struct {
		IV string `json:"iv"`
	}
	if err := json.Unmarshal(m.KDF.Params, &sp); err != nil {
		return 0, 0, 0, nil, err
	}
	if err := json.Unmarshal(m.Cipher.Params, &cp); err != nil {
		return 0, 0, 0, nil, err
	}
	salt, err1 := hex.DecodeString(sp.Salt)
	sum, err2 := hex.DecodeString(m.Checksum.Message)
	iv, err3 := hex.DecodeString(cp.IV)
	ct, err4 := hex.DecodeString(m.Cipher.Message)
	if err := errors.Join(err1, err2, err3, err4); err != nil || len(salt) > 255 || len(sum) != checksumLen || len(iv) != ivLen {
		return 0, 0, 0, nil, errors.New("keystore: the crypto module cannot be wrapped (unexpected sizes)")
	}
	out = append([]byte{byte(len(salt))}, salt...) //nolint:gosec // G115: len(salt) <= 255 was checked above
	out = append(append(append(out, sum...), iv...), ct...)
	return sp.N, sp.R, sp.P, out, nil
}

// expandModule rebuilds the EIP-2335 module of compactModule's output and
// validates it.
func expandModule(n, r, p int, b []byte) (*eip2335.Module, error) {
	bad := errors.New("keystore: the wrapped module is malformed")
	if len(b) < 1 {
		return nil, bad
	}
	sl := int(b[0])
	b = b[1:]
	if len(b) < sl+checksumLen+ivLen+1 {
		return nil, bad
	}
	salt, sum, iv, ct := b[:sl], b[sl:sl+checksumLen], b[sl+checksumLen:sl+checksumLen+ivLen], b[sl+checksumLen+ivLen:]
	kp, err := json.Marshal(scryptJSON{DKLen: eip2335.DKLen, N: n, R: r, P: p, Salt: hex.EncodeToString(salt)})
	if err != nil {
		return nil, err
	}
	cp, err := json.Marshal(struct {
		IV string `json:"iv"`
	}{hex.EncodeToString(iv)})
	if err != nil {
		return nil, err
	}
	m := &eip2335.Module{
		KDF:      eip2335.Section{Function: eip2335.KDFScrypt, Params: kp},
		Checksum: eip2335.Section{Function: eip2335.ChecksumSHA256, Params: json.RawMessage(`{}`), Message: hex.EncodeToString(sum)},
		Cipher:   eip2335.Section{Function: eip2335.CipherAES128CTR, Params: cp, Message: hex.EncodeToString(ct)},
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("keystore: the wrapped module: %w", err)
	}
	return m, nil
}
