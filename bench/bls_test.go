package bench

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// blstDST is the IETF min-sig ciphersuite tag: blst hashes with SSWU
// hash-to-curve, where Qredo's scheme uses SHAKE256 try-and-increment.
var blstDST = []byte("BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_")

// msgSize is a typical signed journal digest message.
const msgSize = 76

type keys struct {
	qsk   qbls.SecretKey
	qpk   qbls.PublicKey
	bsk   *blst.SecretKey
	bpk   []byte // 192 bytes, uncompressed, like ours
	bpkAf *blst.P2Affine
}

func newKeys(b *testing.B) *keys {
	b.Helper()
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ikm := make([]byte, 32)
	if _, err := rand.Read(ikm); err != nil {
		b.Fatal(err)
	}
	bsk := blst.KeyGen(ikm)
	bpk := new(blst.P2Affine).From(bsk)
	return &keys{qsk: sk, qpk: sk.Public(), bsk: bsk, bpk: bpk.Serialize(), bpkAf: bpk}
}

func messages(n int) [][]byte {
	ms := make([][]byte, n)
	for i := range ms {
		ms[i] = fmt.Appendf(make([]byte, 0, msgSize), "%0*d", msgSize, i)
	}
	return ms
}

// pair runs ours and blst's alternately for b.N rounds and reports, per
// operation (per item when perOp > 1), the wall and CPU time of each and
// the ratios ours/blst. CPU is the calling thread's for single-threaded
// work, the process's when the work spreads over goroutines: on a machine
// shared with other jobs, wall time measures the neighbours too.
func pair(b *testing.B, perOp int, threaded bool, ours, theirs func()) {
	who := clockThreadCPU
	if threaded {
		who = clockProcessCPU
	} else {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	var wo, wt, co, ct time.Duration
	n := 0
	for b.Loop() {
		c0, w0 := cpuTime(who), time.Now()
		ours()
		c1, w1 := cpuTime(who), time.Now()
		theirs()
		c2, w2 := cpuTime(who), time.Now()
		co += c1 - c0
		ct += c2 - c1
		wo += w1.Sub(w0)
		wt += w2.Sub(w1)
		n++
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n*perOp) }
	b.ReportMetric(per(wo), "ours-µs")
	b.ReportMetric(per(wt), "blst-µs")
	b.ReportMetric(per(co), "ours-cpu-µs")
	b.ReportMetric(per(ct), "blst-cpu-µs")
	b.ReportMetric(float64(wo)/float64(wt), "wall-ratio")
	b.ReportMetric(float64(co)/float64(ct), "cpu-ratio")
	b.ReportMetric(0, "ns/op") // the pair's total means nothing
}

// BenchmarkSign: qbls.Sign against blst min-sig Sign, same message size.
func BenchmarkSign(b *testing.B) {
	k := newKeys(b)
	defer k.qsk.Zero()
	msg := messages(1)[0]
	pair(b, 1, false,
		func() { k.qsk.Sign(msg) },
		func() { new(blst.P1Affine).Sign(k.bsk, msg, blstDST) })
}

// BenchmarkVerify: strict single verification from bytes on both sides:
// decode the 192-byte public key with its subgroup check, decompress the
// signature with its subgroup check, hash, pairing.
func BenchmarkVerify(b *testing.B) {
	k := newKeys(b)
	defer k.qsk.Zero()
	msg := messages(1)[0]
	qsig := k.qsk.Sign(msg)
	bsig := new(blst.P1Affine).Sign(k.bsk, msg, blstDST).Compress()
	pair(b, 1, false,
		func() {
			if !qbls.Verify(k.qpk, msg, qsig) {
				b.Fatal("qbls verify failed")
			}
		},
		func() {
			pk := new(blst.P2Affine).Deserialize(k.bpk)
			sig := new(blst.P1Affine).Uncompress(bsig)
			if pk == nil || sig == nil || !sig.Verify(true, pk, true, msg, blstDST) {
				b.Fatal("blst verify failed")
			}
		})
}

// blstBatch is our batch method written with blst's primitives: strict
// decompression and subgroup check of every signature and hashing spread
// over GOMAXPROCS goroutines, then two 64-bit multi-scalar products
// (blst's Pippenger) and one two-pair pairing check
// e(Σ c_i·σ_i, G2) == e(Σ c_i·H(m_i), pk).
func blstBatch(pk, g2 *blst.P2Affine, msgs, sigs [][]byte) bool {
	n := len(msgs)
	ss := make([]blst.P1Affine, n)
	hs := make(blst.P1s, n)
	workers := runtime.GOMAXPROCS(0)
	chunk := (n + workers - 1) / workers
	var bad atomic.Bool
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if ss[i].Uncompress(sigs[i]) == nil || !ss[i].InG1() {
					bad.Store(true)
					return
				}
				hs[i] = *blst.HashToG1(msgs[i], blstDST)
			}
		})
	}
	wg.Wait()
	if bad.Load() {
		return false
	}
	scalars := make([]byte, 8*n)
	if _, err := rand.Read(scalars); err != nil {
		return false
	}
	for i := 0; i < n; i++ {
		scalars[8*i] |= 1 // non-zero
	}
	S := blst.P1Affines(ss).Mult(scalars, 64).ToAffine()
	H := hs.ToAffine().Mult(scalars, 64).ToAffine()
	return blst.Fp12FinalVerify(blst.Fp12MillerLoop(g2, S), blst.Fp12MillerLoop(pk, H))
}

type batchFixture struct {
	k     *keys
	msgs  [][]byte
	qsigs []qbls.Signature
	bsigs [][]byte
}

func newBatch(b *testing.B, n int) *batchFixture {
	f := &batchFixture{k: newKeys(b), msgs: messages(n), qsigs: make([]qbls.Signature, n), bsigs: make([][]byte, n)}
	for i, m := range f.msgs {
		f.qsigs[i] = f.k.qsk.Sign(m)
		f.bsigs[i] = new(blst.P1Affine).Sign(f.k.bsk, m, blstDST).Compress()
	}
	return f
}

// BenchmarkBatchVerify: n signatures by one key, as a journal holds them,
// by the same method on both sides (blstBatch), on all GOMAXPROCS threads;
// times per signature.
func BenchmarkBatchVerify(b *testing.B) {
	g2 := blst.P2Generator().ToAffine()
	for _, n := range []int{64, 256} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newBatch(b, n)
			defer f.k.qsk.Zero()
			pair(b, n, true,
				func() {
					if !qbls.BatchVerify(f.k.qpk, f.msgs, f.qsigs) {
						b.Fatal("qbls batch failed")
					}
				},
				func() {
					if !blstBatch(f.k.bpkAf, g2, f.msgs, f.bsigs) {
						b.Fatal("blst batch failed")
					}
				})
		})
	}
}

// BenchmarkBatchVerifyBlstAPI: against blst's own batch call,
// MultipleAggregateVerify, which takes a key per signature and so runs a
// Miller loop per signature: not the same method, shown for reference.
func BenchmarkBatchVerifyBlstAPI(b *testing.B) {
	const n = 64
	f := newBatch(b, n)
	defer f.k.qsk.Zero()
	bmsgs := make([]blst.Message, n)
	pks := make([]*blst.P2Affine, n)
	for i, m := range f.msgs {
		bmsgs[i] = m
		pks[i] = f.k.bpkAf
	}
	randFn := func(s *blst.Scalar) {
		var r [8]byte
		if _, err := rand.Read(r[:]); err != nil {
			panic(err)
		}
		s.FromBEndian(r[:])
	}
	pair(b, n, true,
		func() {
			if !qbls.BatchVerify(f.k.qpk, f.msgs, f.qsigs) {
				b.Fatal("qbls batch failed")
			}
		},
		func() {
			sigs := new(blst.P1Affine).BatchUncompress(f.bsigs)
			if sigs == nil || !new(blst.P1Affine).MultipleAggregateVerify(sigs, true, pks, false, bmsgs, blstDST, randFn, 64) {
				b.Fatal("blst batch failed")
			}
		})
}
