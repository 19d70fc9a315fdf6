package storage

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
)

// Records is a bounded on-disk file of opaque JSON records: one header
// line, then one record a line. The caller decides what a record holds
// (the pending-action cache keeps actions there; storage never looks
// inside). It is treated as hostile on read: a file or a line over its
// bound is not read, and a record the caller cannot decode is skipped.
type Records struct {
	Path       string
	MaxSize    int64 // bytes of the whole file
	MaxRecord  int   // bytes of one line
	MaxRecords int   // records read at most
}

// ErrRecordsTooLarge is returned by Read for a file over MaxSize.
var ErrRecordsTooLarge = errors.New("record file is larger than its bound")

// Read decodes the header into header, then hands each record line to fn
// (which must not keep the slice) until fn returns false or MaxRecords
// were read. A missing file gives an error matching os.ErrNotExist.
func (r Records) Read(header any, fn func(rec []byte) bool) error {
	f, err := os.Open(r.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.Size() > r.MaxSize {
		return ErrRecordsTooLarge
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, min(64<<10, r.MaxRecord)), r.MaxRecord)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	}
	if err := json.Unmarshal(sc.Bytes(), header); err != nil {
		return err
	}
	for n := 0; n < r.MaxRecords && sc.Scan(); n++ {
		if !fn(sc.Bytes()) {
			return nil
		}
	}
	return sc.Err()
}

// Write replaces the file atomically (0600) with header and the records
// next yields (it returns false when there are no more), streaming them,
// so a long list needs no second copy in memory.
func (r Records) Write(header any, next func() (rec any, ok bool)) error {
	return WriteFileAtomicFunc(r.Path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		enc := json.NewEncoder(bw)
		if err := enc.Encode(header); err != nil {
			return err
		}
		for {
			rec, ok := next()
			if !ok {
				break
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}
