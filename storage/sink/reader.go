package sink

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/qapprove/qapprove/storage/journal"
)

// lineReader reads complete journal lines from an offset; a line still
// being written (no newline yet) is left for the next pass.
type lineReader struct {
	f   *os.File
	br  *bufio.Reader
	off int64 // offset of the next line
}

func openLines(path string, off int64) (*lineReader, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", journal.ErrNoJournal, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("read journal: %w", err)
	}
	return &lineReader{f: f, br: bufio.NewReaderSize(f, 64<<10), off: off}, nil
}

// next returns the next complete line (without newline), or io.EOF.
func (r *lineReader) next() ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > journal.MaxLineBytes+1 {
			return nil, fmt.Errorf("journal line at offset %d is longer than %d bytes", r.off, journal.MaxLineBytes)
		}
		switch {
		case err == nil:
			r.off += int64(len(line))
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.EOF // a partial last line is not ready yet
		default:
			return nil, fmt.Errorf("read journal: %w", err)
		}
	}
}

func (r *lineReader) close() { _ = r.f.Close() }

// checkLast checks that the line shipped last is still where cursor c
// left it, so a journal rolled back or rewritten under the cursor is
// caught before anything more is sent.
func (r *lineReader) checkLast(c Cursor) error {
	if c.Next == 0 {
		return nil
	}
	b := make([]byte, c.PrevLen+1)
	if _, err := r.f.ReadAt(b, c.Offset-c.PrevLen-1); err != nil || b[c.PrevLen] != '\n' {
		return fmt.Errorf("%w: the line shipped last (seq %d) is no longer at its place: the file was cut or rewritten", ErrDiverged, c.Next-1)
	}
	if sum := sha256.Sum256(b[:c.PrevLen]); hex.EncodeToString(sum[:]) != c.Prev {
		return fmt.Errorf("%w: the line shipped last (seq %d) has changed: the file was rolled back or rewritten", ErrDiverged, c.Next-1)
	}
	return nil
}

// journalID reads the genesis of the journal at path and returns its
// journal ID.
func journalID(path string) (string, error) {
	r, err := openLines(path, 0)
	if err != nil {
		return "", err
	}
	defer r.close()
	line, err := r.next()
	if errors.Is(err, io.EOF) {
		return "", fmt.Errorf("the journal %s has no complete line yet", path)
	}
	if err != nil {
		return "", err
	}
	return genesisID(line)
}

// genesisID is the journal ID a genesis line names.
func genesisID(line []byte) (string, error) {
	e, err := journal.ParseLine(line)
	if err != nil || e.Kind != journal.KindGenesis {
		return "", errors.New("the first journal line is not a genesis")
	}
	var g journal.GenesisBody
	if err := json.Unmarshal(e.Body, &g); err != nil || !jidRE.MatchString(g.JournalID) {
		return "", errors.New("the journal genesis names no valid journal ID")
	}
	return g.JournalID, nil
}

// record parses one line read after cursor c and checks that it continues
// the lines already shipped.
func record(c Cursor, line []byte) (Record, error) {
	e, err := journal.ParseLine(line)
	if err != nil {
		return Record{}, fmt.Errorf("journal line seq %d: %v", c.Next, err)
	}
	if e.Seq != c.Next || (c.Next > 0 && e.Prev != c.Prev) {
		return Record{}, fmt.Errorf("%w: after seq %d (hash %.12s…) the file holds seq %d linking to %.12s…",
			ErrDiverged, int64(c.Next)-1, c.Prev, e.Seq, e.Prev) //nolint:gosec // G115: a seq read from our own cursor, shown in a message
	}
	return Record{JournalID: c.JournalID, Seq: e.Seq, Hash: e.Hash, Line: bytes.Clone(line),
		Kind: e.Kind, TS: e.TS, Body: e.Body}, nil
}
