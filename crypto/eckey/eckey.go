// Package eckey holds the secp256k1 key pair that the Qredo API registers
// next to the BLS key, built on github.com/decred/dcrd/dcrec/secp256k1/v4.
//
// Private keys are 32-byte big-endian scalars in [1, n); public keys are the
// 65-byte uncompressed SEC1 form (0x04 ‖ x ‖ y). Parsing is strict and its
// errors never contain the input bytes.
package eckey

import (
	"errors"
	"fmt"
	"io"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Sizes of the encodings, in bytes.
const (
	PrivateKeySize = 32 // big-endian scalar
	PublicKeySize  = 65 // 0x04 ‖ x ‖ y
)

// Errors returned (wrapped, with the reason) by the parsers.
var (
	ErrInvalidPrivateKey = errors.New("invalid secp256k1 private key")
	ErrInvalidPublicKey  = errors.New("invalid secp256k1 public key")
)

// PrivateKey is a secp256k1 secret scalar, 32 bytes big-endian, in [1, n).
// Call Zero when done.
type PrivateKey [PrivateKeySize]byte

// PublicKey is an uncompressed SEC1 public key: 0x04 ‖ x ‖ y.
type PublicKey [PublicKeySize]byte

// Generate draws a private key uniformly in [1, n) from rand (normally
// crypto/rand.Reader).
func Generate(rand io.Reader) (PrivateKey, error) {
	k, err := secp256k1.GeneratePrivateKeyFromRand(rand)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("generate secp256k1 key: read random source: %w", err)
	}
	defer k.Zero()
	var out PrivateKey
	k.Key.PutBytes((*[32]byte)(&out))
	return out, nil
}

// PrivateKeyFromBytes checks that b is exactly 32 bytes, non-zero and below
// the group order n. The caller still owns (and should clear) b.
func PrivateKeyFromBytes(b []byte) (PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return PrivateKey{}, fmt.Errorf("%w: length is %d bytes, want %d", ErrInvalidPrivateKey, len(b), PrivateKeySize)
	}
	var s secp256k1.ModNScalar
	overflow := s.SetByteSlice(b)
	zero := s.IsZero()
	s.Zero()
	if overflow || zero {
		return PrivateKey{}, fmt.Errorf("%w: zero or not below the group order", ErrInvalidPrivateKey)
	}
	return PrivateKey(b), nil
}

// Public returns the public key k·G. It panics on a zero key (one not made
// by Generate or PrivateKeyFromBytes, or already wiped).
func (k *PrivateKey) Public() PublicKey {
	priv := secp256k1.PrivKeyFromBytes(k[:])
	defer priv.Zero()
	if priv.Key.IsZero() {
		panic("eckey: use of a zero or invalid private key")
	}
	var out PublicKey
	copy(out[:], priv.PubKey().SerializeUncompressed())
	return out
}

// Zero wipes the private key.
func (k *PrivateKey) Zero() { clear(k[:]) }

// ParsePublicKey strictly decodes an uncompressed public key: exactly 65
// bytes, prefix 0x04, coordinates below the field prime, on the curve.
func ParsePublicKey(b []byte) (PublicKey, error) {
	if len(b) != PublicKeySize {
		return PublicKey{}, fmt.Errorf("%w: length is %d bytes, want %d", ErrInvalidPublicKey, len(b), PublicKeySize)
	}
	if b[0] != 0x04 {
		return PublicKey{}, fmt.Errorf("%w: prefix byte must be 0x04 (uncompressed)", ErrInvalidPublicKey)
	}
	if _, err := secp256k1.ParsePubKey(b); err != nil {
		// dcrd's messages may quote coordinates; report only the kind.
		reason := "point is not on the curve"
		switch {
		case errors.Is(err, secp256k1.ErrPubKeyXTooBig), errors.Is(err, secp256k1.ErrPubKeyYTooBig):
			reason = "a coordinate is not below the field prime"
		case !errors.Is(err, secp256k1.ErrPubKeyNotOnCurve):
			reason = "malformed point"
		}
		return PublicKey{}, fmt.Errorf("%w: %s", ErrInvalidPublicKey, reason)
	}
	return PublicKey(b), nil
}
