package qbls

import (
	"crypto/rand"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// minBatchChunk is the smallest number of signatures handed to one worker.
const minBatchChunk = 16

// BatchOptions tune BatchVerify. The zero value selects the defaults.
type BatchOptions struct {
	// Workers is the most goroutines one batch is spread over
	// (0: GOMAXPROCS). Each gets at least 16 signatures.
	Workers int
}

// BatchVerify reports whether every sigs[i] is a valid signature of msgs[i]
// under the same pk, with the default BatchOptions. It draws random
// non-zero 64-bit coefficients c_i and checks
// e(Σ c_i·σ_i, G2) == e(h·Σ c_i·P_i, pk) with one two-pair Miller loop,
// where H(m_i) = h·P_i (P_i is the try-and-increment point before the
// cofactor h): since multiplying by h is a group homomorphism,
// h·Σ c_i·P_i = Σ c_i·H(m_i), and h is applied once per batch instead of
// once per message. A batch with any bad signature fails except with
// probability about 2^-64. Every σ_i is decoded strictly (length, prefix,
// canonical x, on curve, subgroup). Decoding, hashing and the multi-scalar
// products run on up to GOMAXPROCS goroutines. Mismatched lengths give
// false; an empty batch gives true.
//
// The one case where Σ c_i·H(m_i) differs from h·Σ c_i·P_i is h·P_i = O
// (Milagro then increments x again); it needs P_i of order dividing h,
// about 2^-255 per message, and would make the batch fail, never pass:
// callers that fall back to Verify on a failed batch stay exact.
func BatchVerify(pk PublicKey, msgs [][]byte, sigs []Signature) bool {
	return BatchOptions{}.Verify(pk, msgs, sigs)
}

// Verify is BatchVerify with the options o.
func (o BatchOptions) Verify(pk PublicKey, msgs [][]byte, sigs []Signature) bool {
	if len(msgs) != len(sigs) {
		return false
	}
	if len(sigs) == 0 {
		return true
	}
	ensureInit()
	var W bls.G2
	if decodeG2(&W, pk[:]) != nil {
		return false
	}
	if len(sigs) == 1 {
		return verifyDecoded(&W, msgs[0], sigs[0][:])
	}
	coef, ok := batchCoefficients(len(sigs))
	if !ok {
		return false
	}

	// Every worker gets a non-empty chunk: the chunk size is fixed first,
	// then the number of workers from it.
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, (len(sigs)+minBatchChunk-1)/minBatchChunk)
	chunk := (len(sigs) + workers - 1) / workers
	workers = (len(sigs) + chunk - 1) / chunk
	sumS := make([]bls.G1, workers)
	sumP := make([]bls.G1, workers)
	var bad atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(sigs))
		wg.Go(func() {
			ss := make([]bls.G1, hi-lo)
			ps := make([]bls.G1, hi-lo)
			var x bls.Fp
			for i := lo; i < hi; i++ {
				if bad.Load() {
					return
				}
				if decodeG1(&ss[i-lo], sigs[i][:]) != nil {
					bad.Store(true)
					return
				}
				hashX(&x, msgs[i])
				liftNext(&ps[i-lo], &x)
			}
			msm64(&sumS[w], ss, coef[lo:hi])
			msm64(&sumP[w], ps, coef[lo:hi])
		})
	}
	wg.Wait()
	if bad.Load() {
		return false
	}
	S, P := sumS[0], sumP[0]
	for w := 1; w < workers; w++ {
		bls.G1Add(&S, &S, &sumS[w])
		bls.G1Add(&P, &P, &sumP[w])
	}
	var H bls.G1
	mulCofactor(&H, &P)
	return pairingCheck(&S, &H, &W)
}

// batchCoefficients draws n random non-zero 64-bit scalars from crypto/rand.
func batchCoefficients(n int) ([]uint64, bool) {
	raw := make([]byte, 8*n)
	if _, err := rand.Read(raw); err != nil {
		return nil, false
	}
	coef := make([]uint64, n)
	for i := range coef {
		coef[i] = binary.LittleEndian.Uint64(raw[8*i:])
		if coef[i] == 0 {
			coef[i] = 1
		}
	}
	return coef, true
}
