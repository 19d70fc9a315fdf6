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
type Index struct {
	f     *os.File
	path  string
	ends  []int64 // ends[i] is the offset just past the newline of line i
	torn  int64   // bytes after the last newline (a torn tail)
	buf   []byte
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
	if err := ix.build(); err != nil {
		f.Close()
		return nil, err
	}
	return ix, nil
}

func (ix *Index) build() error {
	if st, err := ix.f.Stat(); err == nil && st.Size() > 0 {
		// ~300 bytes a line is typical; reserve to avoid regrowth.
		ix.ends = make([]int64, 0, st.Size()/256+16)
	}
	return ix.scan()
}

// scan indexes the complete lines from ix.bytes (the end of the last
// complete line) to the end of the file.
func (ix *Index) scan() error {
	buf := make([]byte, readChunk)
	off, lineStart := ix.bytes, ix.bytes
	for {
		n, err := ix.f.ReadAt(buf, off)
		chunk := buf[:n]
		base := off
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			end := base + int64(i) + 1
			if end-1-lineStart > journal.MaxLineBytes {
				return fmt.Errorf("journal line %d is longer than the %d-byte limit", len(ix.ends)+1, journal.MaxLineBytes)
			}
			ix.ends = append(ix.ends, end)
			lineStart = end
			base = end
			chunk = chunk[i+1:]
		}
		off += int64(n)
		if off-lineStart > journal.MaxLineBytes {
			return fmt.Errorf("journal line %d is longer than the %d-byte limit", len(ix.ends)+1, journal.MaxLineBytes)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return fmt.Errorf("read journal: %w", err)
		}
	}
	ix.torn = off - lineStart
	ix.bytes = lineStart
	return nil
}

// Refresh indexes the lines appended since the index was built (the
// journal grows while the console runs) and returns how many were added.
// It costs one stat when nothing changed. A file that shrank below the
// indexed lines is reported as an error: reopen it.
func (ix *Index) Refresh() (int, error) {
	st, err := ix.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("read journal: %w", err)
	}
	switch size := st.Size(); {
	case size < ix.bytes:
		return 0, fmt.Errorf("the journal shrank from %d to %d bytes while open", ix.bytes, size)
	case size == ix.bytes+ix.torn:
		return 0, nil
	}
	before := len(ix.ends)
	if err := ix.scan(); err != nil {
		return 0, err
	}
	return len(ix.ends) - before, nil
}

// Len is the number of complete lines.
func (ix *Index) Len() int { return len(ix.ends) }

// Path is the indexed file.
func (ix *Index) Path() string { return ix.path }

// TornBytes is the number of bytes after the last newline (0 when the
// file ends cleanly).
func (ix *Index) TornBytes() int64 { return ix.torn }

// Line returns the bytes of line i (0-based, oldest first) without its
// newline. The slice is valid until the next call to Line.
func (ix *Index) Line(i int) ([]byte, error) {
	if i < 0 || i >= len(ix.ends) {
		return nil, fmt.Errorf("line %d out of range", i+1)
	}
	var start int64
	if i > 0 {
		start = ix.ends[i-1]
	}
	n := int(ix.ends[i] - start - 1)
	if cap(ix.buf) < n {
		ix.buf = make([]byte, n)
	}
	b := ix.buf[:n]
	if _, err := ix.f.ReadAt(b, start); err != nil {
		return nil, fmt.Errorf("read journal line %d: %w", i+1, err)
	}
	return b, nil
}

// Close closes the file.
func (ix *Index) Close() error { return ix.f.Close() }
