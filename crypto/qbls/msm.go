package qbls

import (
	"math/bits"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// msm64 sets out = Σ k[i]·ps[i] by Pippenger's bucket method with unsigned
// windows. It uses only additions and doublings, so, unlike mcl's GLV
// G1MulVec, it is exact for any points of E(Fp), inside the order-r
// subgroup or not. The points are best given affine (Z = 1): mcl then
// adds them with the cheaper mixed formula.
func msm64(out *bls.G1, ps []bls.G1, k []uint64) {
	out.Clear()
	if len(ps) == 0 {
		return
	}
	c := msmWindow(len(ps))
	buckets := make([]bls.G1, 1<<c)
	var acc bls.G1
	for top := ((64 + c - 1) / c) * c; top > 0; top -= c {
		shift := uint(top - c)
		for range c {
			bls.G1Dbl(&acc, &acc)
		}
		for j := range buckets {
			buckets[j].Clear()
		}
		mask := uint64(1)<<uint(c) - 1
		for i := range ps {
			if d := k[i] >> shift & mask; d != 0 {
				bls.G1Add(&buckets[d], &buckets[d], &ps[i])
			}
		}
		// Σ d·bucket[d] as a running sum from the top bucket down.
		var run, sum bls.G1
		for d := len(buckets) - 1; d > 0; d-- {
			if !buckets[d].IsZero() {
				bls.G1Add(&run, &run, &buckets[d])
			}
			if !run.IsZero() {
				bls.G1Add(&sum, &sum, &run)
			}
		}
		bls.G1Add(&acc, &acc, &sum)
	}
	*out = acc
}

// msmWindow picks the window width in bits for n points: about log2(n)−2,
// between 2 and 8.
func msmWindow(n int) int {
	return min(max(bits.Len(uint(n))-2, 2), 8)
}
