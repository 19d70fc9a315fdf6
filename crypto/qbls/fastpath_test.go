package qbls

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// The fast paths (bucket MSM on points before the cofactor, the cofactor
// folded into the signing scalar, mcl's endomorphism subgroup test) against
// plain double-and-add references, on random and edge inputs.

// mulBigRef sets Q = k·P by plain double-and-add: exact for any point of
// E(Fp), in the subgroup or not.
func mulBigRef(Q, P *bls.G1, k *big.Int) {
	var acc bls.G1
	for i := k.BitLen() - 1; i >= 0; i-- {
		bls.G1Dbl(&acc, &acc)
		if k.Bit(i) == 1 {
			bls.G1Add(&acc, &acc, P)
		}
	}
	*Q = acc
}

// liftedAt returns the curve point before the cofactor for message m,
// which is outside G1 with overwhelming probability.
func liftedAt(m []byte) bls.G1 {
	var x bls.Fp
	var P bls.G1
	hashX(&x, m)
	liftNext(&P, &x)
	return P
}

func randomU64s(t *testing.T, n int) []uint64 {
	t.Helper()
	k, ok := batchCoefficients(n)
	if !ok {
		t.Fatal("no randomness")
	}
	return k
}

// msmRef is Σ k[i]·ps[i] term by term.
func msmRef(ps []bls.G1, k []uint64) bls.G1 {
	var sum, t bls.G1
	for i := range ps {
		mulBigRef(&t, &ps[i], new(big.Int).SetUint64(k[i]))
		bls.G1Add(&sum, &sum, &t)
	}
	return sum
}

func TestMSM64MatchesReference(t *testing.T) {
	ensureInit()
	var order3 bls.G1
	var zero bls.Fp
	if !liftX(&order3, &zero, false) {
		t.Fatal("(0, 2) not on the curve")
	}
	for _, n := range []int{0, 1, 2, 3, 17, 64, 130} {
		ps := make([]bls.G1, n)
		for i := range ps {
			ps[i] = liftedAt(fmt.Appendf(nil, "msm %d %d", n, i))
		}
		k := randomU64s(t, n)
		if n >= 17 {
			// Edge cases: repeated points with equal digits (the bucket
			// must double), a point and its negation, an order-3 point,
			// points already in G1, extreme coefficients.
			ps[1] = ps[0]
			k[1] = k[0]
			bls.G1Neg(&ps[3], &ps[2])
			k[3] = k[2]
			ps[4] = order3
			mulCofactor(&ps[5], &ps[5])
			bls.G1Normalize(&ps[5], &ps[5])
			k[6], k[7], k[8], k[9] = 1, ^uint64(0), 1<<63, 2
		}
		var got bls.G1
		msm64(&got, ps, k)
		want := msmRef(ps, k)
		if !got.IsEqual(&want) {
			t.Fatalf("n=%d: bucket MSM differs from term-by-term sum", n)
		}
	}
}

// The batch's H side: h·Σ c_i·P_i must equal Σ c_i·H(m_i) computed with
// the reference cofactor, including repeated messages.
func TestBatchHashSumMatchesPerMessage(t *testing.T) {
	ensureInit()
	const n = 40
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "entry %d", i%33) // some repeat
	}
	msgs[0] = nil
	k := randomU64s(t, n)
	ps := make([]bls.G1, n)
	want := bls.G1{}
	for i, m := range msgs {
		ps[i] = liftedAt(m)
		var H, t1 bls.G1
		mulCofactorRef(&H, &ps[i])
		mulBigRef(&t1, &H, new(big.Int).SetUint64(k[i]))
		bls.G1Add(&want, &want, &t1)
	}
	var sum, got bls.G1
	msm64(&sum, ps, k)
	mulCofactor(&got, &sum)
	if !got.IsEqual(&want) {
		t.Fatal("h·Σ c_i·P_i differs from Σ c_i·H(m_i)")
	}
}

// Sign folds (1−z)/3 into the scalar; the result must be sk·H(m) with H
// computed by the reference cofactor.
func TestSignMatchesReference(t *testing.T) {
	ensureInit()
	r := new(big.Int).SetBytes(groupOrder[:])
	for i := range 12 {
		sk, err := Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		switch i { // r−1 and 1: the extremes of the scalar range
		case 0:
			new(big.Int).Sub(r, big.NewInt(1)).FillBytes(sk[:])
		case 1:
			big.NewInt(1).FillBytes(sk[:])
		}
		msg := fmt.Appendf(nil, "sign %d", i)
		if i == 2 {
			msg = nil
		}
		var H, want bls.G1
		mulCofactorRef(&H, ptr(liftedAt(msg)))
		mulBigRef(&want, &H, new(big.Int).SetBytes(sk[:]))
		var wantEnc Signature
		encodeG1((*[SignatureSize]byte)(&wantEnc), &want)
		if got := sk.Sign(msg); got != wantEnc {
			t.Fatalf("key %d: Sign differs from sk·(h·P)", i)
		}
		if got := HashToG1(msg); got != encodeOf(&H) {
			t.Fatalf("key %d: HashToG1 differs from h·P", i)
		}
		sk.Zero()
	}
}

func ptr(P bls.G1) *bls.G1 { return &P }

func encodeOf(P *bls.G1) [SignatureSize]byte {
	var out [SignatureSize]byte
	encodeG1(&out, P)
	return out
}

// cofactorPrimes are the primes of h = 3·11²·10177²·859267²·52437899².
var cofactorPrimes = []int64{3, 11, 10177, 859267, 52437899}

// torsionPoint returns a point of order exactly ell, built from points
// outside G1 as [r·(1−z)/ell]·P: 1−z, the exponent of the torsion
// E(Fp)[h] ≅ Z/((1−z)/3) ⊕ Z/(1−z), holds each prime once.
func torsionPoint(t *testing.T, ell int64) bls.G1 {
	t.Helper()
	r := new(big.Int).SetBytes(groupOrder[:])
	k := new(big.Int).Mul(r, new(big.Int).SetUint64(cofactorEff))
	k.Div(k, big.NewInt(ell))
	for i := range 20 {
		P := liftedAt(fmt.Appendf(nil, "torsion %d %d", ell, i))
		var T, check bls.G1
		mulBigRef(&T, &P, k)
		if T.IsZero() {
			continue
		}
		mulBigRef(&check, &T, big.NewInt(ell))
		if !check.IsZero() {
			t.Fatalf("[r·h/%d]P does not have order %d", ell, ell)
		}
		return T
	}
	t.Fatalf("no point of order %d found", ell)
	return bls.G1{}
}

// mcl's subgroup test (Bowe's endomorphism test, on by default for
// BLS12-381) must agree with r·P == O on points inside and outside G1,
// including a valid point plus torsion of each order dividing h.
func TestSubgroupCheckMatchesMultiplicationByR(t *testing.T) {
	ensureInit()
	r := new(big.Int).SetBytes(groupOrder[:])
	inR := func(P *bls.G1) bool {
		var Q bls.G1
		mulBigRef(&Q, P, r)
		return Q.IsZero()
	}
	sk, pk, msg, sig := fixture(t)
	defer sk.Zero()
	var S bls.G1
	if err := decodeG1(&S, sig[:]); err != nil {
		t.Fatal(err)
	}
	var cases []bls.G1
	for i := range 6 {
		var H bls.G1
		hashToG1(&H, fmt.Appendf(nil, "in %d", i))
		cases = append(cases, H, liftedAt(fmt.Appendf(nil, "out %d", i)))
	}
	for _, ell := range cofactorPrimes {
		T := torsionPoint(t, ell)
		var ST bls.G1
		bls.G1Add(&ST, &S, &T)
		cases = append(cases, T, ST)
		// A signature shifted by this torsion must be refused everywhere.
		enc := encodeOf(&ST)
		mustReject(t, fmt.Sprintf("σ+T%d", ell), pk, msg, enc[:])
		sigs := []Signature{sig, sig, Signature(enc)}
		if BatchVerify(pk, [][]byte{msg, msg, msg}, sigs) {
			t.Errorf("batch accepted σ+T of order %d", ell)
		}
	}
	for i := range cases {
		if got, want := cases[i].IsValidOrder(), inR(&cases[i]); got != want {
			t.Fatalf("case %d: IsValidOrder %v, r·P == O %v", i, got, want)
		}
	}
}
