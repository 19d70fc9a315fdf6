package qbls

import (
	"fmt"
	"sync"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// PreparedPublicKey is a public key decoded and validated once, with its
// Miller-loop lines precomputed, for verifying many signatures by the same
// key (the audit journal, the pending list). It is immutable and safe for
// concurrent use.
type PreparedPublicKey struct {
	pk    PublicKey
	lines []uint64 // herumi's precomputed G2 lines of pk
}

var (
	g2GenLinesOnce sync.Once
	g2GenLines     []uint64 // precomputed lines of the G2 generator
)

func generatorLines() []uint64 {
	g2GenLinesOnce.Do(func() {
		ensureInit()
		g2GenLines = make([]uint64, bls.GetUint64NumToPrecompute())
		bls.PrecomputeG2(g2GenLines, &g2Gen)
	})
	return g2GenLines
}

// Prepare strictly decodes pk (as ParsePublicKey does) and precomputes
// what verification needs.
func Prepare(pk PublicKey) (*PreparedPublicKey, error) {
	ensureInit()
	var W bls.G2
	if err := decodeG2(&W, pk[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	p := &PreparedPublicKey{pk: pk, lines: make([]uint64, bls.GetUint64NumToPrecompute())}
	bls.PrecomputeG2(p.lines, &W)
	return p, nil
}

// PublicKey returns the key p was prepared from.
func (p *PreparedPublicKey) PublicKey() PublicKey { return p.pk }

// Verify reports whether sig is a valid signature of msg under p, with the
// same strict checks as the package-level Verify.
func (p *PreparedPublicKey) Verify(msg []byte, sig Signature) bool {
	var S, H bls.G1
	if decodeG1(&S, sig[:]) != nil {
		return false
	}
	bls.G1Neg(&S, &S)
	hashToG1(&H, msg)
	var e, f bls.GT
	bls.PrecomputedMillerLoop(&e, &S, generatorLines())
	bls.PrecomputedMillerLoop(&f, &H, p.lines)
	bls.GTMul(&e, &e, &f)
	bls.FinalExp(&e, &e)
	return e.IsOne()
}
