package journal

import (
	"sync"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// sigBatch is how many signatures one worker checks at a time.
const sigBatch = 64

// batchQueue hands signature batches from the chain reader to the
// workers. push never blocks, so the chain reader never waits for
// signatures: batches that are not checked yet wait here (about 100 bytes
// per signature).
type batchQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      [][]sigJob
	head   int
	closed bool
}

func newBatchQueue() *batchQueue {
	q := &batchQueue{}
	q.cond.L = &q.mu
	return q
}

func (q *batchQueue) push(b []sigJob) {
	q.mu.Lock()
	q.q = append(q.q, b)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a batch; false once the queue is closed and empty.
func (q *batchQueue) pop() ([]sigJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.q) && !q.closed {
		q.cond.Wait()
	}
	if q.head == len(q.q) {
		return nil, false
	}
	b := q.q[q.head]
	q.q[q.head] = nil
	q.head++
	if q.head == len(q.q) {
		q.q, q.head = q.q[:0], 0
	}
	return b, true
}

func (q *batchQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// startSigWorkers starts the goroutines that check signatures while the
// chain is still being read.
func (c *checker) startSigWorkers() {
	c.sigs = newBatchQueue()
	c.batch = make([]sigJob, 0, sigBatch)
	for range c.opts.Workers {
		c.sigWG.Go(func() {
			for {
				b, ok := c.sigs.pop()
				if !ok {
					return
				}
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
			c.sigs.push(c.batch)
			c.batch = nil
		}
		c.sigs.close()
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
