// Package journalview is the journal viewer: a ui.Screen that lists the
// entries of an audit journal newest first, shows one entry in a detail
// pane, filters them, verifies the journal in the background and exports
// the visible entries. It reads the file lazily through an index of line
// offsets, so it opens a 1,000,000-entry journal in well under a second.
package journalview

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/qapprove/qapprove/storage/journal"
)

// readChunk is the size of the reads that build the index.
const readChunk = 1 << 20

// Index locates every complete line of a journal file by its byte offset.
// Lines are read on demand with ReadAt; nothing else is kept in memory.
// The viewer changes an Index only in its Update; the reads it does in
// commands (readSpans, poll) take what they need by value.
type Index struct {
	f     *os.File
	path  string
	ends  []int64 // ends[i] is the offset just past the newline of line i
	torn  int64   // bytes after the last newline (a torn tail)
	bytes int64
}

// OpenIndex opens path and indexes its lines. A missing file is an error
// wrapping os.ErrNotExist.
func OpenIndex(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ix := &Index{f: f, path: path}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		// ~300 bytes a line is typical; reserve to avoid regrowth.
		ix.ends = make([]int64, 0, st.Size()/256+16)
	}
	g, err := scanFrom(f, 0, 0)
	if err != nil {
		_ = f.Close() // read-only: the scan error is the one to report
		return nil, err
	}
	ix.extend(g)
	return ix, nil
}

// growth is what a scan past the indexed lines found.
type growth struct {
	from int64   // the end of the last complete line when the scan started
	ends []int64 // the ends of the complete lines after it
	torn int64   // bytes after the last newline
}

// scanFrom indexes the complete lines of f from offset from (the end of
// line number line) to the end of the file. It does not touch an Index,
// so it can run in a command.
func scanFrom(f *os.File, from int64, line int) (growth, error) {
	g := growth{from: from}
	buf := make([]byte, readChunk)
	off, lineStart := from, from
	for {
		n, err := f.ReadAt(buf, off)
		chunk := buf[:n]
		base := off
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			end := base + int64(i) + 1
			if end-1-lineStart > journal.MaxLineBytes {
				return g, fmt.Errorf("journal line %d is longer than the %d-byte limit", line+len(g.ends)+1, journal.MaxLineBytes)
			}
			g.ends = append(g.ends, end)
			lineStart = end
			base = end
			chunk = chunk[i+1:]
		}
		off += int64(n)
		if off-lineStart > journal.MaxLineBytes {
			return g, fmt.Errorf("journal line %d is longer than the %d-byte limit", line+len(g.ends)+1, journal.MaxLineBytes)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return g, fmt.Errorf("read journal: %w", err)
		}
	}
	g.torn = off - lineStart
	return g, nil
}

// poll returns a function that looks for lines appended since the index
// was built (the journal grows while the console runs). It reads nothing
// of the Index when it runs, so it can run in a command; it costs one stat
// when nothing changed. A file that shrank below the indexed lines is an
// error: reopen it.
func (ix *Index) poll() func() (growth, error) {
	f, from, torn, line := ix.f, ix.bytes, ix.torn, len(ix.ends)
	return func() (growth, error) {
		st, err := f.Stat()
		if err != nil {
			return growth{}, fmt.Errorf("read journal: %w", err)
		}
		switch size := st.Size(); {
		case size < from:
			return growth{}, fmt.Errorf("the journal shrank from %d to %d bytes while open", from, size)
		case size == from+torn:
			return growth{from: from, torn: torn}, nil
		}
		return scanFrom(f, from, line)
	}
}

// extend adds what a scan found and returns how many lines it added; a
// scan that did not start at the end of the index is stale and ignored.
func (ix *Index) extend(g growth) int {
	if g.from != ix.bytes {
		return 0
	}
	ix.ends = append(ix.ends, g.ends...)
	ix.torn = g.torn
	if len(ix.ends) > 0 {
		ix.bytes = ix.ends[len(ix.ends)-1]
	}
	return len(g.ends)
}

// Len is the number of complete lines.
func (ix *Index) Len() int { return len(ix.ends) }

// Path is the indexed file.
func (ix *Index) Path() string { return ix.path }

// TornBytes is the number of bytes after the last newline (0 when the
// file ends cleanly).
func (ix *Index) TornBytes() int64 { return ix.torn }

// span is where line i (0-based, oldest first) lies in the file, its
// newline excluded.
func (ix *Index) span(i int) (start, end int64, err error) {
	if i < 0 || i >= len(ix.ends) {
		return 0, 0, fmt.Errorf("line %d out of range", i+1)
	}
	if i > 0 {
		start = ix.ends[i-1]
	}
	return start, ix.ends[i] - 1, nil
}

// readSpan reads the bytes of line i lying at [start, end) of f.
func readSpan(f *os.File, i int, start, end int64) ([]byte, error) {
	b := make([]byte, end-start)
	if _, err := f.ReadAt(b, start); err != nil {
		return nil, fmt.Errorf("read journal line %d: %w", i+1, err)
	}
	return b, nil
}

// Line returns the bytes of line i (0-based, oldest first) without its
// newline.
func (ix *Index) Line(i int) ([]byte, error) {
	start, end, err := ix.span(i)
	if err != nil {
		return nil, err
	}
	return readSpan(ix.f, i, start, end)
}

// Close closes the file.
func (ix *Index) Close() error { return ix.f.Close() }
