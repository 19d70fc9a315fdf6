package qbls

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/big"
	"sync"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// fpSize is the size of one big-endian field element.
const fpSize = 48

// Standard BLS12-381 G2 generator (IETF / ZCash constants), big-endian.
const (
	g2XC0 = "024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8"
	g2XC1 = "13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e"
	g2YC0 = "0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801"
	g2YC1 = "0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be"
)

// Curve constants, big-endian. p and r are checked against mcl at init.
const (
	fieldOrderHex = "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
	groupOrderHex = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001"
)

// Values set once by setup and read-only afterwards.
var (
	initOnce sync.Once

	fieldOrder [fpSize]byte // p, big-endian
	groupOrder [32]byte     // r, big-endian

	fpOne  bls.Fp  // 1
	fpFour bls.Fp  // 4, the G1 curve constant b
	fp2B   bls.Fp2 // 4(1+u), the G2 curve constant b'
	g2Gen  bls.G2  // standard G2 generator, affine
)

// ensureInit initialises herumi's library once. bls.Init is global and not
// thread-safe, so every entry point goes through this.
func ensureInit() {
	initOnce.Do(setup)
}

// setup initialises mcl and the constants; it panics if the library does
// not match BLS12-381 as expected, since no key or signature could be
// trusted then.
func setup() {
	if err := bls.Init(bls.BLS12_381); err != nil {
		panic("qbls: cannot initialise BLS12-381: " + err.Error())
	}
	mustHex(fieldOrder[:], fieldOrderHex)
	mustHex(groupOrder[:], groupOrderHex)

	p, ok1 := new(big.Int).SetString(bls.GetFieldOrder(), 10)
	r, ok2 := new(big.Int).SetString(bls.GetCurveOrder(), 10)
	if !ok1 || !ok2 || !bytes.Equal(p.FillBytes(make([]byte, fpSize)), fieldOrder[:]) ||
		!bytes.Equal(r.FillBytes(make([]byte, 32)), groupOrder[:]) {
		panic("qbls: herumi library is not configured for BLS12-381")
	}

	setupCofactor()
	fpOne.SetInt64(1)
	fpFour.SetInt64(4)
	fp2B.D[0].SetInt64(4)
	fp2B.D[1].SetInt64(4)

	var enc [PublicKeySize]byte
	mustHex(enc[0:48], g2XC0)
	mustHex(enc[48:96], g2XC1)
	mustHex(enc[96:144], g2YC0)
	mustHex(enc[144:192], g2YC1)
	if err := decodeG2(&g2Gen, enc[:]); err != nil {
		panic("qbls: built-in G2 generator is invalid: " + err.Error())
	}
}

func mustHex(dst []byte, s string) {
	if n, err := hex.Decode(dst, []byte(s)); err != nil || n != len(dst) {
		panic("qbls: bad built-in constant")
	}
}

// fpFromCanonical sets x from 48 big-endian bytes, rejecting values >= p.
// It does not depend on herumi's serialization mode.
func fpFromCanonical(x *bls.Fp, b []byte) bool {
	if len(b) != fpSize || bytes.Compare(b, fieldOrder[:]) >= 0 {
		return false
	}
	return x.SetBigEndianMod(b) == nil
}

// fpPut writes x as 48 big-endian bytes into dst, independently of
// herumi's serialization mode (GetString(16) is always plain hex).
func fpPut(dst []byte, x *bls.Fp) {
	s := x.GetString(16)
	var buf [2 * fpSize]byte
	if len(s) > len(buf) {
		panic("qbls: field element too long")
	}
	for i := range buf[:len(buf)-len(s)] {
		buf[i] = '0'
	}
	copy(buf[len(buf)-len(s):], s)
	if _, err := hex.Decode(dst[:fpSize], buf[:]); err != nil {
		panic("qbls: field element not hex")
	}
}

// liftX sets P to the affine point (x, y) with y² = x³ + 4 and the given
// parity of y. It reports false when x³ + 4 is not a square.
func liftX(P *bls.G1, x *bls.Fp, odd bool) bool {
	var t bls.Fp
	bls.FpSqr(&t, x)
	bls.FpMul(&t, &t, x)
	bls.FpAdd(&t, &t, &fpFour)
	if !bls.FpSquareRoot(&P.Y, &t) {
		return false
	}
	if P.Y.IsOdd() != odd {
		bls.FpNeg(&P.Y, &P.Y)
	}
	P.X = *x
	P.Z = fpOne
	return true
}

// encodeG1 writes P in the 49-byte compressed form (0x02|0x03 ‖ x).
func encodeG1(dst *[SignatureSize]byte, P *bls.G1) {
	var A bls.G1
	bls.G1Normalize(&A, P)
	dst[0] = 0x02
	if A.Y.IsOdd() {
		dst[0] = 0x03
	}
	fpPut(dst[1:], &A.X)
}

// decodeG1 strictly decodes a 49-byte compressed G1 point: prefix 2 or 3,
// canonical x, on the curve, in the order-r subgroup, not the identity.
func decodeG1(P *bls.G1, b []byte) error {
	if len(b) != SignatureSize {
		return fmt.Errorf("length is %d bytes, want %d", len(b), SignatureSize)
	}
	if b[0] != 0x02 && b[0] != 0x03 {
		return fmt.Errorf("prefix byte must be 0x02 or 0x03")
	}
	var x bls.Fp
	if !fpFromCanonical(&x, b[1:]) {
		return fmt.Errorf("x coordinate is not below the field modulus")
	}
	if !liftX(P, &x, b[0] == 0x03) {
		return fmt.Errorf("point is not on the curve")
	}
	if P.IsZero() || !P.IsValidOrder() {
		return fmt.Errorf("point is not in the prime-order subgroup")
	}
	return nil
}

// encodeG2 writes P as x.c0‖x.c1‖y.c0‖y.c1 (affine, big-endian).
func encodeG2(dst *[PublicKeySize]byte, P *bls.G2) {
	var A bls.G2
	bls.G2Normalize(&A, P)
	fpPut(dst[0:48], &A.X.D[0])
	fpPut(dst[48:96], &A.X.D[1])
	fpPut(dst[96:144], &A.Y.D[0])
	fpPut(dst[144:192], &A.Y.D[1])
}

// decodeG2 strictly decodes a 192-byte G2 point: canonical coordinates, on
// the twist, in the order-r subgroup, not the identity.
func decodeG2(P *bls.G2, b []byte) error {
	if len(b) != PublicKeySize {
		return fmt.Errorf("length is %d bytes, want %d", len(b), PublicKeySize)
	}
	if !fpFromCanonical(&P.X.D[0], b[0:48]) || !fpFromCanonical(&P.X.D[1], b[48:96]) ||
		!fpFromCanonical(&P.Y.D[0], b[96:144]) || !fpFromCanonical(&P.Y.D[1], b[144:192]) {
		return fmt.Errorf("a coordinate is not below the field modulus")
	}
	P.Z.D[0] = fpOne
	P.Z.D[1].Clear()
	// y² == x³ + 4(1+u)
	var lhs, rhs bls.Fp2
	bls.Fp2Sqr(&lhs, &P.Y)
	bls.Fp2Sqr(&rhs, &P.X)
	bls.Fp2Mul(&rhs, &rhs, &P.X)
	bls.Fp2Add(&rhs, &rhs, &fp2B)
	if !lhs.IsEqual(&rhs) {
		return fmt.Errorf("point is not on the curve")
	}
	if P.IsZero() || !P.IsValidOrder() {
		return fmt.Errorf("point is not in the prime-order subgroup")
	}
	return nil
}
