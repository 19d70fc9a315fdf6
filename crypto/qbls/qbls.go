// Package qbls implements Qredo's BLS signature scheme (the legacy
// BLS_BLS381 API of Apache Milagro crypto C) on the mcl primitives that
// github.com/herumi/bls-eth-go-binary exposes.
//
// Public keys live in G2 (192 bytes, uncompressed, x.c0‖x.c1‖y.c0‖y.c1),
// signatures in G1 (49 bytes, 0x02|0x03 parity prefix ‖ x), and messages are
// hashed with SHAKE256 and try-and-increment with no domain separation tag.
// Decoding and verification are strict: exact lengths, canonical
// coordinates, on-curve, prime-order subgroup, no identity. Milagro accepts
// more (x ≥ p, trailing bytes, torsion points); honest signers never
// produce those.
//
// All functions are safe for concurrent use.
package qbls

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// Sizes of the encodings, in bytes.
const (
	SecretKeySize = 48  // big-endian scalar with 16 leading zero bytes
	PublicKeySize = 192 // G2 point, uncompressed
	SignatureSize = 49  // G1 point, compressed with a parity prefix
)

// Errors returned (wrapped, with the reason) by the parsers. They never
// contain the input bytes.
var (
	ErrInvalidSecretKey = errors.New("invalid BLS secret key")
	ErrInvalidPublicKey = errors.New("invalid BLS public key")
	ErrInvalidSignature = errors.New("invalid BLS signature")
)

// SecretKey is a BLS secret scalar: 48 bytes big-endian, non-zero and below
// the group order r (so its first 16 bytes are zero). Call Zero when done.
type SecretKey [SecretKeySize]byte

// PublicKey is sk·G2 encoded as x.c0‖x.c1‖y.c0‖y.c1, each 48 bytes big-endian.
type PublicKey [PublicKeySize]byte

// Signature is sk·H(m) encoded as 0x02|0x03 (parity of y) followed by x.
type Signature [SignatureSize]byte

// maxGenerateTries bounds rejection sampling in Generate; an honest source
// needs more than a few tries with negligible probability.
const maxGenerateTries = 64

// Generate draws a secret key uniformly in [1, r) from rand (normally
// crypto/rand.Reader) by rejection sampling.
func Generate(rand io.Reader) (SecretKey, error) {
	var sk SecretKey
	buf := sk[SecretKeySize-32:]
	for range maxGenerateTries {
		if _, err := io.ReadFull(rand, buf); err != nil {
			sk.Zero()
			return SecretKey{}, fmt.Errorf("generate BLS key: read random source: %w", err)
		}
		buf[0] &= 0x7f // r < 2^255
		if scalarInRange(&sk) == 1 {
			return sk, nil
		}
	}
	sk.Zero()
	return SecretKey{}, errors.New("generate BLS key: random source keeps giving out-of-range values")
}

// scalarInRange returns 1 if the 48-byte big-endian s is in [1, r) and 0
// otherwise, in constant time: every byte is read, with no branch or
// early exit on secret data (crypto/subtle style).
func scalarInRange(s *SecretKey) int {
	ensureInit()
	// s < r exactly when s − r borrows; r is padded to 48 bytes with zeros.
	var borrow, nonZero uint32
	for i := SecretKeySize - 1; i >= 0; i-- {
		var ri uint32
		if k := i - (SecretKeySize - len(groupOrder)); k >= 0 {
			ri = uint32(groupOrder[k]) // public; the branch depends on i only
		}
		borrow = (uint32(s[i]) - ri - borrow) >> 31
		nonZero |= uint32(s[i])
	}
	return int(borrow) & (1 ^ subtle.ConstantTimeEq(int32(nonZero), 0))
}

// SecretKeyFromBytes checks that b is exactly 48 bytes, non-zero and below
// r (in constant time), and returns it as a SecretKey. The caller still
// owns (and should clear) b.
func SecretKeyFromBytes(b []byte) (SecretKey, error) {
	if len(b) != SecretKeySize {
		return SecretKey{}, fmt.Errorf("%w: length is %d bytes, want %d", ErrInvalidSecretKey, len(b), SecretKeySize)
	}
	var sk SecretKey
	copy(sk[:], b)
	if scalarInRange(&sk) != 1 {
		sk.Zero()
		return SecretKey{}, fmt.Errorf("%w: zero or not below the group order", ErrInvalidSecretKey)
	}
	return sk, nil
}

// scalar loads sk into an Fr; the caller must Clear it after use.
//
// The key is copied to a local array first: sk may live inside a struct
// that also holds Go pointers (secrets.Secrets), and cgo refuses a pointer
// into such memory.
func (sk *SecretKey) scalar(s *bls.Fr) {
	ensureInit()
	var local [SecretKeySize]byte
	copy(local[:], sk[:])
	err := s.SetBigEndianMod(local[:])
	clear(local[:])
	if err != nil || s.IsZero() {
		s.Clear()
		panic("qbls: use of a zero or invalid secret key")
	}
}

// Public returns the public key sk·G2. It panics on a zero key (one not
// made by Generate or SecretKeyFromBytes, or already wiped).
func (sk *SecretKey) Public() PublicKey {
	var s bls.Fr
	sk.scalar(&s)
	defer s.Clear()
	var W bls.G2
	bls.G2Mul(&W, &g2Gen, &s)
	var pk PublicKey
	encodeG2((*[PublicKeySize]byte)(&pk), &W)
	return pk
}

// Sign returns σ = sk·H(msg). An empty msg is allowed. It panics on a zero
// key (one not made by Generate or SecretKeyFromBytes, or already wiped).
func (sk *SecretKey) Sign(msg []byte) Signature {
	var s bls.Fr
	sk.scalar(&s)
	defer s.Clear()
	// σ = sk·h·P = (sk·(1−z)/3 mod r)·((1−z)·P): the second factor of the
	// cofactor rides on the one constant-time multiplication.
	var k bls.Fr
	bls.FrMul(&k, &s, &cofactorRestFr)
	defer k.Clear()
	var Q, S bls.G1
	hashToG1Eff(&Q, msg)
	bls.G1MulCT(&S, &Q, &k)
	var sig Signature
	encodeG1((*[SignatureSize]byte)(&sig), &S)
	return sig
}

// Zero wipes the secret key.
func (sk *SecretKey) Zero() { clear(sk[:]) }

// ParsePublicKey strictly decodes a public key: exactly 192 bytes, every
// coordinate below p, on the curve, in the order-r subgroup, not the
// identity.
func ParsePublicKey(b []byte) (PublicKey, error) {
	ensureInit()
	var W bls.G2
	if err := decodeG2(&W, b); err != nil {
		return PublicKey{}, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return PublicKey(b), nil
}

// ParseSignature strictly decodes a signature: exactly 49 bytes, prefix
// 0x02 or 0x03, x below p, on the curve, in the order-r subgroup, not the
// identity.
func ParseSignature(b []byte) (Signature, error) {
	ensureInit()
	var S bls.G1
	if err := decodeG1(&S, b); err != nil {
		return Signature{}, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	return Signature(b), nil
}

// Verify reports whether sig is a valid signature of msg under pk, checking
// e(σ, G2) == e(H(msg), pk). It rejects everything ParsePublicKey and
// ParseSignature reject.
func Verify(pk PublicKey, msg []byte, sig Signature) bool {
	ensureInit()
	var W bls.G2
	if decodeG2(&W, pk[:]) != nil {
		return false
	}
	return verifyDecoded(&W, msg, sig[:])
}

// verifyDecoded verifies sig over msg with an already validated pk point.
func verifyDecoded(W *bls.G2, msg, sig []byte) bool {
	var S, H bls.G1
	if decodeG1(&S, sig) != nil {
		return false
	}
	hashToG1(&H, msg)
	return pairingCheck(&S, &H, W)
}

// pairingCheck reports whether e(S, G2) == e(H, W), computed as
// e(-S, G2)·e(H, W) == 1 with one two-pair Miller loop.
func pairingCheck(S, H *bls.G1, W *bls.G2) bool {
	var ps [2]bls.G1
	bls.G1Neg(&ps[0], S)
	ps[1] = *H
	qs := [2]bls.G2{g2Gen, *W}
	var e bls.GT
	bls.MillerLoopVec(&e, ps[:], qs[:])
	bls.FinalExp(&e, &e)
	return e.IsOne()
}

// Fingerprint returns a short human fingerprint of pk: the first 8 bytes of
// SHA-256(pk) as four colon-separated groups of 4 hex digits, e.g.
// "3f2a:91c0:5be7:0d14". It is for display, not for security decisions.
func Fingerprint(pk PublicKey) string {
	d := sha256.Sum256(pk[:])
	h := hex.EncodeToString(d[:8])
	return strings.Join([]string{h[0:4], h[4:8], h[8:12], h[12:16]}, ":")
}
