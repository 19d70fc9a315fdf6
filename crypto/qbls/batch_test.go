package qbls

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

func batchFixture(t testing.TB, n int) (SecretKey, PublicKey, [][]byte, []Signature) {
	t.Helper()
	sk, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([][]byte, n)
	sigs := make([]Signature, n)
	for i := range n {
		msgs[i] = fmt.Appendf(nil, "journal entry %d", i)
		sigs[i] = sk.Sign(msgs[i])
	}
	return sk, sk.Public(), msgs, sigs
}

func TestBatchVerify(t *testing.T) {
	sk, pk, msgs, sigs := batchFixture(t, 100)
	defer sk.Zero()
	if !BatchVerify(pk, msgs, sigs) {
		t.Fatal("good batch rejected")
	}
	if !BatchVerify(pk, nil, nil) {
		t.Error("empty batch rejected")
	}
	if !BatchVerify(pk, msgs[:1], sigs[:1]) || BatchVerify(pk, msgs[:1], sigs[1:2]) {
		t.Error("batch of one is wrong")
	}
	if BatchVerify(pk, msgs, sigs[:99]) {
		t.Error("mismatched lengths accepted")
	}

	for _, at := range []int{0, 37, 99} {
		// One signature over another message.
		bad := append([]Signature(nil), sigs...)
		bad[at] = sk.Sign([]byte("something else"))
		if BatchVerify(pk, msgs, bad) {
			t.Errorf("batch with a wrong signature at %d accepted", at)
		}
		// Two signatures swapped: each valid, but for the other message.
		sw := append([]Signature(nil), sigs...)
		sw[at], sw[(at+1)%100] = sw[(at+1)%100], sw[at]
		if BatchVerify(pk, msgs, sw) {
			t.Errorf("batch with swapped signatures at %d accepted", at)
		}
		// A malformed signature.
		mal := append([]Signature(nil), sigs...)
		mal[at][0] = 0x04
		if BatchVerify(pk, msgs, mal) {
			t.Errorf("batch with a malformed signature at %d accepted", at)
		}
	}

	// σ + T (order-3 torsion) in one slot must fail strict decoding.
	var S, T bls.G1
	if err := decodeG1(&S, sigs[5][:]); err != nil {
		t.Fatal(err)
	}
	var zero bls.Fp
	liftX(&T, &zero, false)
	bls.G1Add(&S, &S, &T)
	tor := append([]Signature(nil), sigs...)
	encodeG1((*[SignatureSize]byte)(&tor[5]), &S)
	if BatchVerify(pk, msgs, tor) {
		t.Error("batch with a torsion-shifted signature accepted")
	}

	// Another key's public key.
	sk2, pk2, _, _ := batchFixture(t, 0)
	defer sk2.Zero()
	if BatchVerify(pk2, msgs, sigs) {
		t.Error("batch verified under another key")
	}
}

func BenchmarkBatchVerify100(b *testing.B) {
	sk, pk, msgs, sigs := batchFixture(b, 100)
	defer sk.Zero()
	for b.Loop() {
		if !BatchVerify(pk, msgs, sigs) {
			b.Fatal("batch failed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/sig")
}

// Split over one or many workers, every chunk still counts.
func TestBatchVerifyWorkers(t *testing.T) {
	sk, pk, msgs, sigs := batchFixture(t, 100)
	defer sk.Zero()
	for _, w := range []int{1, 3, 8, 1000} {
		o := BatchOptions{Workers: w}
		if !o.Verify(pk, msgs, sigs) {
			t.Fatalf("workers %d: good batch rejected", w)
		}
		for _, at := range []int{0, 50, 99} {
			bad := append([]Signature(nil), sigs...)
			bad[at] = sk.Sign([]byte("something else"))
			if o.Verify(pk, msgs, bad) {
				t.Errorf("workers %d: batch with a wrong signature at %d accepted", w, at)
			}
		}
	}
}

func BenchmarkBatchVerify64OneWorker(b *testing.B) {
	sk, pk, msgs, sigs := batchFixture(b, 64)
	defer sk.Zero()
	o := BatchOptions{Workers: 1}
	for b.Loop() {
		if !o.Verify(pk, msgs, sigs) {
			b.Fatal("batch failed")
		}
	}
}

// batchVerifyOld is the method before the cofactor moved out of the loop:
// H(m_i) in full for every message, then mcl's GLV multi-scalar products.
// It stays here as the same-run baseline of the benchmark below.
func batchVerifyOld(pk PublicKey, msgs [][]byte, sigs []Signature) bool {
	var W bls.G2
	if decodeG2(&W, pk[:]) != nil {
		return false
	}
	coef, ok := batchCoefficients(len(sigs))
	if !ok {
		return false
	}
	ss := make([]bls.G1, len(sigs))
	hs := make([]bls.G1, len(sigs))
	for i := range sigs {
		if decodeG1(&ss[i], sigs[i][:]) != nil {
			return false
		}
		hashToG1(&hs[i], msgs[i])
	}
	fr := frCoefficients(coef)
	var S, H bls.G1
	bls.G1MulVec(&S, ss, fr)
	bls.G1MulVec(&H, hs, fr)
	return pairingCheck(&S, &H, &W)
}

// One worker each, CPU time per signature, old and new alternately.
func BenchmarkBatchVerify64NewVsOld(b *testing.B) {
	sk, pk, msgs, sigs := batchFixture(b, 64)
	defer sk.Zero()
	o := BatchOptions{Workers: 1}
	benchPair(b, 64, [2]string{"old", "new"},
		func() {
			if !batchVerifyOld(pk, msgs, sigs) {
				b.Fatal("old batch failed")
			}
		},
		func() {
			if !o.Verify(pk, msgs, sigs) {
				b.Fatal("new batch failed")
			}
		})
}
