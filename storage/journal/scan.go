package journal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"sync"
)

// chunkSize is how much the reader reads at a time; a buffer also has room
// for a carried partial line of up to MaxLineBytes.
const chunkSize = 1 << 20

// lineRec is one line as hashed and parsed by a worker. p aliases the chunk
// buffer, which stays alive until the checker has seen the chunk.
type lineRec struct {
	off       int64 // file offset of the line
	line      []byte
	hash      [32]byte
	p         parsed
	digest    [32]byte // the signed digest of a signed line, when hasDigest
	hasDigest bool
	err       error // parse error
	torn      bool  // bytes after the last newline
}

// chunk is a run of complete lines (or the final partial line).
type chunk struct {
	slot  *slot
	data  []byte
	off   int64
	final bool  // data is a tail without newline
	err   error // read error or overlong line
	recs  []lineRec
	done  chan struct{}
}

// scanFile reads path in chunks, hashes and parses the lines on workers and
// hands them to visit in file order. visit returns false to stop early.
// Memory stays bounded by the number of buffers in flight. size, when
// known (> 0), is the file size: a small file gets small buffers. With
// jid, workers also compute the signed digest of every signed line.
func scanFile(f io.Reader, size int64, workers int, jid *[16]byte, visit func(r *lineRec) bool) error {
	chunkLen := chunkSize
	if size > 0 && size < int64(chunkSize) {
		chunkLen = int(size) + 1
	}
	if workers < 1 {
		workers = 1
	}
	nbuf := 2*workers + 2
	free := make(chan *slot, nbuf)
	for range nbuf {
		free <- slotPool.Get().(*slot) //nolint:errcheck // the pool holds only *slot
	}
	defer func() {
		for range nbuf {
			slotPool.Put(<-free)
		}
	}()
	jobs := make(chan *chunk, workers)
	order := make(chan *chunk, nbuf-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				work(c, jid)
				close(c.done)
			}
		})
	}
	go func() {
		defer close(order)
		defer close(jobs)
		var carry []byte
		var off int64
		for {
			var sl *slot
			select {
			case sl = <-free:
			case <-stop:
				return
			}
			buf := sl.get(len(carry) + chunkLen + 1)
			n0 := copy(buf, carry)
			n, err := io.ReadFull(f, buf[n0:n0+chunkLen])
			data := buf[:n0+n]
			c := &chunk{slot: sl, off: off, recs: sl.recs[:0], done: make(chan struct{})}
			eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
			if err != nil && !eof {
				c.err = err
				close(c.done)
				order <- c
				return
			}
			i := bytes.LastIndexByte(data, '\n')
			c.data = data[:i+1]
			carry = append(carry[:0], data[i+1:]...)
			if len(carry) > MaxLineBytes {
				c.err = errOverlong
			}
			off += int64(len(c.data))
			if eof && len(carry) > 0 && c.err == nil {
				// Emit the complete lines, then the torn tail in its own chunk.
				order <- c
				jobs <- c
				ts := <-free
				tb := ts.get(len(carry) + 1)
				t := &chunk{slot: ts, data: tb[:copy(tb, carry)], off: off, final: true, recs: ts.recs[:0], done: make(chan struct{})}
				order <- t
				jobs <- t
				return
			}
			order <- c
			jobs <- c
			if eof || c.err != nil {
				return
			}
		}
	}()
	var ferr error
	stopped := false
	for c := range order {
		<-c.done
		if !stopped {
			for i := range c.recs {
				if !visit(&c.recs[i]) {
					stopped = true
					break
				}
			}
			if !stopped && c.err != nil {
				ferr = c.err
				stopped = true
			}
			if stopped {
				close(stop)
			}
		}
		c.slot.recs = c.recs[:0]
		free <- c.slot
	}
	wg.Wait()
	return ferr
}

var errOverlong = errors.New("a line is longer than the 1 MiB limit")

// work hashes and parses every line of c (and digests signed lines, with jid).
func work(c *chunk, jid *[16]byte) {
	data := c.data
	if c.final {
		// A torn tail is only reported (its hash), never parsed.
		c.recs = append(c.recs, lineRec{off: c.off, line: data, torn: true, hash: sha256.Sum256(data)})
		return
	}
	if cap(c.recs) == 0 {
		c.recs = make([]lineRec, 0, len(data)/200+1)
	}
	off := c.off
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		c.recs = append(c.recs, lineRec{})
		r := &c.recs[len(c.recs)-1]
		r.off, r.line = off, data[:i]
		r.hash = sha256.Sum256(r.line)
		r.p, r.err = parseLine(r.line)
		if jid != nil && r.err == nil && r.p.hasSig {
			r.digest = digest(*jid, r.p.seq, r.p.prev, sha256.Sum256(r.p.body), r.p.kind, r.p.ts)
			r.hasDigest = true
		}
		off += int64(i + 1)
		data = data[i+1:]
	}
}

// slotPool keeps read buffers and line records between scans (the
// console's viewer verifies again as the journal grows).
var slotPool = sync.Pool{New: func() any { return &slot{} }}

// slot is a reusable read buffer with its line records.
type slot struct {
	buf  []byte
	recs []lineRec
}

// get returns a buffer of at least n bytes, with room for the carried
// partial lines of the next chunks.
func (s *slot) get(n int) []byte {
	if len(s.buf) < n {
		s.buf = make([]byte, n+n/4)
	}
	return s.buf
}
