package qbls

import (
	"encoding/binary"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

func liftedPoint(_ *testing.B) bls.G1 {
	ensureInit()
	var x bls.Fp
	var P bls.G1
	for i := int64(5); !liftX(&P, &x, false); i++ {
		x.SetInt64(i)
	}
	return P
}

func BenchmarkInternalMulCofactor(b *testing.B) {
	P := liftedPoint(b)
	var Q bls.G1
	for b.Loop() {
		mulCofactor(&Q, &P)
	}
}

func BenchmarkInternalMulCofactorRef(b *testing.B) {
	P := liftedPoint(b)
	var Q bls.G1
	for b.Loop() {
		mulCofactorRef(&Q, &P)
	}
}

func BenchmarkInternalLiftX(b *testing.B) {
	P := liftedPoint(b)
	x := P.X
	for b.Loop() {
		liftX(&P, &x, true)
	}
}

func BenchmarkInternalEncodeG1(b *testing.B) {
	P := liftedPoint(b)
	var out [SignatureSize]byte
	for b.Loop() {
		encodeG1(&out, &P)
	}
}

func BenchmarkInternalG1SubgroupCheck(b *testing.B) {
	ensureInit()
	var P bls.G1
	hashToG1(&P, []byte("x"))
	for b.Loop() {
		P.IsValidOrder()
	}
}

func BenchmarkInternalMillerLoopVec(b *testing.B) {
	ensureInit()
	var ps [2]bls.G1
	hashToG1(&ps[0], []byte("a"))
	hashToG1(&ps[1], []byte("b"))
	qs := [2]bls.G2{g2Gen, g2Gen}
	var e bls.GT
	for b.Loop() {
		bls.MillerLoopVec(&e, ps[:], qs[:])
	}
}

func BenchmarkInternalPrecomputedMillerLoopx2(b *testing.B) {
	ensureInit()
	var ps [2]bls.G1
	hashToG1(&ps[0], []byte("a"))
	hashToG1(&ps[1], []byte("b"))
	buf := make([]uint64, bls.GetUint64NumToPrecompute())
	bls.PrecomputeG2(buf, &g2Gen)
	var e, f bls.GT
	for b.Loop() {
		bls.PrecomputedMillerLoop(&e, &ps[0], buf)
		bls.PrecomputedMillerLoop(&f, &ps[1], buf)
		bls.GTMul(&e, &e, &f)
	}
}

func BenchmarkInternalFinalExp(b *testing.B) {
	ensureInit()
	var ps [2]bls.G1
	hashToG1(&ps[0], []byte("a"))
	var e bls.GT
	bls.MillerLoop(&e, &ps[0], &g2Gen)
	for b.Loop() {
		bls.FinalExp(&e, &e)
	}
}

// frCoefficients converts 64-bit coefficients to mcl scalars.
func frCoefficients(k []uint64) []bls.Fr {
	fr := make([]bls.Fr, len(k))
	for i, v := range k {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		if err := fr[i].SetLittleEndian(b[:]); err != nil {
			panic(err)
		}
	}
	return fr
}

func msmFixture(n int) ([]bls.G1, []uint64) {
	ensureInit()
	ps := make([]bls.G1, n)
	for i := range ps {
		var x bls.Fp
		hashX(&x, []byte{byte(i), byte(i >> 8)})
		liftNext(&ps[i], &x)
	}
	coef, _ := batchCoefficients(n)
	return ps, coef
}

// mcl's GLV multi-scalar product (needs points in G1) ...
func BenchmarkInternalG1MulVec100(b *testing.B) {
	ps, coef := msmFixture(100)
	for i := range ps {
		mulCofactor(&ps[i], &ps[i])
	}
	fr := frCoefficients(coef)
	var out bls.G1
	for b.Loop() {
		bls.G1MulVec(&out, ps, fr)
	}
}

// ... against ours (any points of E(Fp)).
func BenchmarkInternalMSM64x100(b *testing.B) {
	ps, coef := msmFixture(100)
	var out bls.G1
	for b.Loop() {
		msm64(&out, ps, coef)
	}
}

func BenchmarkInternalMSM64x32(b *testing.B) {
	ps, coef := msmFixture(32)
	var out bls.G1
	for b.Loop() {
		msm64(&out, ps, coef)
	}
}

// Our bucket MSM against mcl's GLV G1MulVec, 64 points.
func BenchmarkInternalMSMVsMulVec64(b *testing.B) {
	ps, coef := msmFixture(64)
	for i := range ps {
		mulCofactor(&ps[i], &ps[i])
		bls.G1Normalize(&ps[i], &ps[i])
	}
	fr := frCoefficients(coef)
	var out bls.G1
	benchPair(b, 1, [2]string{"mulvec", "msm64"}, func() { bls.G1MulVec(&out, ps, fr) }, func() { msm64(&out, ps, coef) })
}
