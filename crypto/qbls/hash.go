package qbls

import (
	"crypto/sha3"
	"encoding/binary"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// HashToG1 returns H(msg), Qredo's (Milagro's) hash to G1, compressed to
// 49 bytes like a signature. It is exported for the self-test.
func HashToG1(msg []byte) [SignatureSize]byte {
	ensureInit()
	var P bls.G1
	hashToG1(&P, msg)
	var out [SignatureSize]byte
	encodeG1(&out, &P)
	return out
}

// hashToG1 computes H(msg): x = SHAKE256(msg)[:48] mod p; try-and-increment
// until x³+4 is a square; take the even root; multiply by the full cofactor
// (and go on incrementing in the never-seen case that this gives O).
func hashToG1(Q *bls.G1, msg []byte) {
	hashToG1Eff(Q, msg)
	bls.G1Mul(Q, Q, &cofactorRestFr)
}

// hashToG1Eff sets Q = (1−z)·P, where H(msg) = h·P: H(msg) is then
// ((1−z)/3)·Q, with Q in the order-r subgroup, so a caller can fold the
// factor (1−z)/3 into its own scalar (Sign does).
func hashToG1Eff(Q *bls.G1, msg []byte) {
	var x bls.Fp
	hashX(&x, msg)
	var P bls.G1
	for {
		liftNext(&P, &x)
		// Q is in G1, where (1−z)/3 is invertible: h·P = O exactly when Q = O.
		mulCofactorEff(Q, &P)
		if !Q.IsZero() {
			return
		}
		bls.FpAdd(&x, &x, &fpOne)
	}
}

// hashX sets x = SHAKE256(msg)[:48] mod p, the first candidate of H(msg).
func hashX(x *bls.Fp, msg []byte) {
	d := sha3.SumSHAKE256(msg, fpSize)
	if err := x.SetBigEndianMod(d); err != nil {
		panic("qbls: cannot reduce hash: " + err.Error())
	}
}

// liftNext increments x until x³+4 is a square and sets P to the point
// with that x and the even y: H(msg) before the cofactor, when x came from
// hashX. mcl's square root is one exponentiation per candidate, the root
// and its check (one squaring) from the same power.
func liftNext(P *bls.G1, x *bls.Fp) {
	for !liftX(P, x, false) {
		bls.FpAdd(x, x, &fpOne)
	}
}

// The full G1 cofactor factors as h = (1-z)·((1-z)/3), where z is the
// BLS12-381 parameter and 1-z is the "effective" cofactor of the IETF
// hash-to-curve draft: (1-z)·P lies in the order-r subgroup for every P on
// the curve. So h·P is computed as a sparse double-and-add by 1-z (only 7 bits
// set), then a GLV multiplication by (1-z)/3, which is correct there.
const (
	cofactorEff  uint64 = 0xd201000000010001 // 1 - z
	cofactorRest uint64 = 0x460055555555aaab // (1 - z) / 3
)

// cofactorRestFr is (1-z)/3 as a scalar; set once by setupCofactor.
var cofactorRestFr bls.Fr

func setupCofactor() {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], cofactorRest)
	if err := cofactorRestFr.SetLittleEndian(b[:]); err != nil {
		panic("qbls: cannot set cofactor scalar")
	}
}

// mulCofactor sets Q = h·P for any P on the curve. herumi's G1Mul uses the
// GLV endomorphism, which is only correct inside the order-r subgroup, so the
// first factor (taking P there) is an explicit double-and-add.
func mulCofactor(Q, P *bls.G1) {
	mulCofactorEff(Q, P)
	bls.G1Mul(Q, Q, &cofactorRestFr)
}

// mulCofactorEff sets Q = (1−z)·P by double-and-add; Q is in G1 for every
// P on the curve.
func mulCofactorEff(Q, P *bls.G1) {
	acc := *P // top bit of cofactorEff
	for i := 62; i >= 0; i-- {
		bls.G1Dbl(&acc, &acc)
		if cofactorEff>>uint(i)&1 == 1 {
			bls.G1Add(&acc, &acc, P)
		}
	}
	*Q = acc
}
