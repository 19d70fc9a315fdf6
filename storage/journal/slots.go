package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/qapprove/qapprove/storage"
)

// slotSize is the size of one anchor slot: counter (8 bytes), length (2),
// the anchor JSON, zero padding, SHA-256 of all that (32).
const slotSize = 512

// slotAnchors keeps the anchor in two fixed slots of one file, written in
// turn in place with one fdatasync: no temp file, rename or directory
// sync per append. A torn write spoils only the slot being written; Load
// then reads the other, one anchor older (the journal may run ahead of
// its anchor, never behind).
type slotAnchors struct {
	mu      sync.Mutex
	path    string
	counter uint64 // of the last slot read or written
	legacy  AnchorStore
	drop    func() error
	dropped bool
	f       *os.File // kept open between saves
}

// SlotAnchors keeps the anchor in the two-slot file at path (0600; see
// docs/JOURNAL.md). While that file does not exist, Load reads legacy (an
// older store, e.g. the keystore's JSON anchor file; may be nil); after
// the first Save, drop (may be nil) deletes the legacy copy so a stale
// one is never read again.
func SlotAnchors(path string, legacy AnchorStore, drop func() error) AnchorStore {
	return &slotAnchors{path: path, legacy: legacy, drop: drop}
}

func (s *slotAnchors) Load() (*Anchor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := storage.ReadFileBounded(s.path, 2*slotSize)
	if errors.Is(err, fs.ErrNotExist) {
		if s.legacy == nil {
			return nil, nil
		}
		return s.legacy.Load()
	}
	if err != nil {
		return nil, fmt.Errorf("read journal anchor: %w", err)
	}
	var best []byte
	var bestC uint64
	for i := 0; i+slotSize <= len(b); i += slotSize {
		if c, a, ok := readSlot(b[i : i+slotSize]); ok && (best == nil || c > bestC) {
			best, bestC = a, c
		}
	}
	if best == nil {
		return nil, errors.New("journal anchor file has no valid slot")
	}
	s.counter = bestC
	return decodeAnchor(best)
}

// readSlot checks one slot and returns its counter and anchor bytes.
func readSlot(b []byte) (uint64, []byte, bool) {
	n := int(binary.BigEndian.Uint16(b[8:10]))
	if n == 0 || 10+n > slotSize-32 {
		return 0, nil, false
	}
	sum := sha256.Sum256(b[:slotSize-32])
	if !bytes.Equal(sum[:], b[slotSize-32:]) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(b[:8]), b[10 : 10+n], true
}

func (s *slotAnchors) Save(a Anchor) error {
	j, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if 10+len(j) > slotSize-32 {
		return errors.New("save journal anchor: the anchor does not fit its slot")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	created := false
	if s.f == nil {
		f, c, err := s.open()
		if err != nil {
			return fmt.Errorf("save journal anchor: %w", err)
		}
		s.f, created = f, c
	}
	f := s.f
	s.counter++
	var slot [slotSize]byte
	binary.BigEndian.PutUint64(slot[:8], s.counter)
	binary.BigEndian.PutUint16(slot[8:10], uint16(len(j))) //nolint:gosec // G115: bounded by slotSize above
	copy(slot[10:], j)
	sum := sha256.Sum256(slot[:slotSize-32])
	copy(slot[slotSize-32:], sum[:])
	off := int64(s.counter%2) * slotSize //nolint:gosec // G115: 0 or 1
	if _, err := f.WriteAt(slot[:], off); err != nil {
		s.closeFile()
		return fmt.Errorf("save journal anchor: %w", err)
	}
	if err := fdatasync(f); err != nil {
		s.closeFile()
		return fmt.Errorf("save journal anchor: %w", err)
	}
	if created {
		storage.SyncDir(filepath.Dir(s.path))
	}
	if !s.dropped && s.drop != nil {
		if err := s.drop(); err != nil {
			return fmt.Errorf("save journal anchor: remove the old anchor: %w", err)
		}
	}
	s.dropped = true
	return nil
}

// closeFile drops the open file after an error; the next Save reopens it
// and reads the counter again.
func (s *slotAnchors) closeFile() {
	_ = s.f.Close()
	s.f, s.counter = nil, 0
}

// open opens the slot file for writing, creating it (with both slots)
// when missing; a new file starts from the counter of the last Load.
func (s *slotAnchors) open() (*os.File, bool, error) {
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err == nil {
		if s.counter == 0 {
			s.counter = s.lastCounter()
		}
		return f, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return nil, false, err
	}
	f, err = os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := f.Truncate(2 * slotSize); err != nil {
		_ = f.Close()
		return nil, false, err
	}
	return f, true, nil
}

// lastCounter reads the highest valid counter in the file (0 when none).
func (s *slotAnchors) lastCounter() uint64 {
	f, err := os.Open(s.path)
	if err != nil {
		return 0
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 2*slotSize)) // a short read leaves fewer slots
	var c uint64
	for i := 0; i+slotSize <= len(b); i += slotSize {
		if n, _, ok := readSlot(b[i : i+slotSize]); ok && n > c {
			c = n
		}
	}
	return c
}
