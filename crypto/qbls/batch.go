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
// non-zero 64-bit coefficients r_i and checks
// e(Σ r_i·σ_i, G2) == e(Σ r_i·H(m_i), pk) with one two-pair Miller loop, so
// a batch with any bad signature fails except with probability about
// 2^-64. Every σ_i is decoded strictly (length, prefix, canonical x, on
// curve, subgroup). Decoding, hashing and the multi-scalar products run on
// up to GOMAXPROCS goroutines. Mismatched lengths give false; an empty
// batch gives true.
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
	sumH := make([]bls.G1, workers)
	var bad atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(sigs))
		wg.Go(func() {
			ss := make([]bls.G1, hi-lo)
			hs := make([]bls.G1, hi-lo)
			for i := lo; i < hi; i++ {
				if bad.Load() {
					return
				}
				if decodeG1(&ss[i-lo], sigs[i][:]) != nil {
					bad.Store(true)
					return
				}
				hashToG1(&hs[i-lo], msgs[i])
			}
			bls.G1MulVec(&sumS[w], ss, coef[lo:hi])
			bls.G1MulVec(&sumH[w], hs, coef[lo:hi])
		})
	}
	wg.Wait()
	if bad.Load() {
		return false
	}
	S, H := sumS[0], sumH[0]
	for w := 1; w < workers; w++ {
		bls.G1Add(&S, &S, &sumS[w])
		bls.G1Add(&H, &H, &sumH[w])
	}
	return pairingCheck(&S, &H, &W)
}

// batchCoefficients draws n random non-zero 64-bit scalars from crypto/rand.
func batchCoefficients(n int) ([]bls.Fr, bool) {
	raw := make([]byte, 8*n)
	if _, err := rand.Read(raw); err != nil {
		return nil, false
	}
	coef := make([]bls.Fr, n)
	for i := range coef {
		b := raw[8*i : 8*i+8]
		if binary.LittleEndian.Uint64(b) == 0 {
			b[0] = 1
		}
		if coef[i].SetLittleEndian(b) != nil {
			return nil, false
		}
	}
	return coef, true
}
