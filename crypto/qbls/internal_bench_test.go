package qbls

import (
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

func BenchmarkInternalG1MulVec100(b *testing.B) {
	ensureInit()
	ps := make([]bls.G1, 100)
	for i := range ps {
		hashToG1(&ps[i], []byte{byte(i)})
	}
	coef, _ := batchCoefficients(100)
	var out bls.G1
	for b.Loop() {
		bls.G1MulVec(&out, ps, coef)
	}
}
