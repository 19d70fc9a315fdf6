package journal

import (
	"github.com/qapprove/qapprove/crypto/qbls"
)

// sigBatch is how many signatures one worker checks at a time.
const sigBatch = 64

// startSigWorkers starts the goroutines that check signatures while the
// chain is still being read.
func (c *checker) startSigWorkers() {
	c.sigs = make(chan []sigJob, c.opts.Workers)
	c.batch = make([]sigJob, 0, sigBatch)
	for range c.opts.Workers {
		c.sigWG.Go(func() {
			for b := range c.sigs {
				c.checkBatch(b)
			}
		})
	}
}

// stopSigWorkers flushes the last batch and waits for the workers.
func (c *checker) stopSigWorkers() {
	if c.sigs == nil {
		return
	}
	c.stopOnce.Do(func() {
		if len(c.batch) > 0 {
			c.sigs <- c.batch
			c.batch = nil
		}
		close(c.sigs)
		c.sigWG.Wait()
	})
}

// checkBatch verifies b and records its first bad line. Lines after an
// already known problem are skipped. A batch is checked at once with
// qbls.BatchVerify; when it fails (or opts.oneByOne is set), one by one to
// name the first bad line.
func (c *checker) checkBatch(b []sigJob) {
	if c.badBefore(b[0].line) {
		return
	}
	pk := c.rep.pk
	if !c.opts.oneByOne {
		msgs := make([][]byte, len(b))
		sigs := make([]qbls.Signature, len(b))
		for i := range b {
			msgs[i] = b[i].digest[:]
			sigs[i] = b[i].sig
		}
		if qbls.BatchVerify(pk, msgs, sigs) {
			return
		}
	}
	for i := range b {
		j := &b[i]
		if c.badBefore(j.line) {
			return
		}
		if !qbls.Verify(pk, j.digest[:], j.sig) {
			c.sigMu.Lock()
			if c.sigBad == nil || j.line < c.sigBad.Line {
				c.sigBad = &TamperError{Line: j.line, Seq: seqOf(j.seq), Reason: BadSignature,
					Detail: "the signature does not verify with the journal's public key"}
			}
			c.sigMu.Unlock()
			return
		}
	}
}

// badBefore reports whether a signature problem is already known at or
// before line.
func (c *checker) badBefore(line int) bool {
	c.sigMu.Lock()
	defer c.sigMu.Unlock()
	return c.sigBad != nil && c.sigBad.Line <= line
}

// mergeProblems keeps the first bad line of the chain and signature checks;
// on a tie the chain's explanation wins (a modified signed line also fails
// its signature).
func (c *checker) mergeProblems() {
	p := c.problem
	if s := c.sigBad; s != nil && (p == nil || s.Line < p.Line) {
		p = s
	}
	c.rep.Problem = p
	c.rep.Intact = p == nil
}
