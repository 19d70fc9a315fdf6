package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/qapprove/qapprove/storage"
)

// Anchor is the external lower bound of the journal: after each fsync'd
// append the writer stores the journal ID, the seq of the last line and the
// hash of that line. The journal may run ahead of the anchor (a crash
// between fsync and Save) but must never fall behind it.
type Anchor struct {
	JournalID string `json:"journal_id"`
	Seq       uint64 `json:"seq"`
	Head      string `json:"head"`
}

// maxAnchorBytes bounds a stored anchor.
const maxAnchorBytes = 4096

// validate checks the shape of an anchor read from outside.
func (a *Anchor) validate() error {
	if !isHex(a.JournalID, 16) || !isHex(a.Head, 32) {
		return errors.New("journal anchor is malformed (journal_id or head is not hex)")
	}
	return nil
}

// decodeAnchor parses and validates stored anchor bytes.
func decodeAnchor(b []byte) (*Anchor, error) {
	if len(b) > maxAnchorBytes {
		return nil, errors.New("journal anchor is too large")
	}
	var a Anchor
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, errors.New("journal anchor is not valid JSON")
	}
	if err := a.validate(); err != nil {
		return nil, err
	}
	return &a, nil
}

// AnchorStore keeps the anchor outside the journal file (the keychain, or
// the file keystore).
type AnchorStore interface {
	// Load returns the stored anchor, or nil, nil when there is none.
	Load() (*Anchor, error)
	// Save replaces the stored anchor.
	Save(Anchor) error
}

type backendAnchors struct {
	get      func() ([]byte, error)
	set      func([]byte) error
	notFound func(error) bool
}

// BackendAnchors adapts a key-value secret backend (such as the keychain
// item "<profile>/journal-anchor") to an AnchorStore: get and set read and
// write the item, notFound recognises get's "no such item" error.
func BackendAnchors(get func() ([]byte, error), set func([]byte) error, notFound func(error) bool) AnchorStore {
	return &backendAnchors{get: get, set: set, notFound: notFound}
}

func (s *backendAnchors) Load() (*Anchor, error) {
	b, err := s.get()
	if err != nil {
		if s.notFound != nil && s.notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read journal anchor: %w", err)
	}
	return decodeAnchor(b)
}

func (s *backendAnchors) Save(a Anchor) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := s.set(b); err != nil {
		return fmt.Errorf("save journal anchor: %w", err)
	}
	return nil
}

type fileAnchors struct{ path string }

// FileAnchors keeps the anchor in a JSON file (0600, written atomically),
// e.g. <home>/<profile>.journal-anchor.json for the file keystore.
func FileAnchors(path string) AnchorStore { return fileAnchors{path: path} }

func (s fileAnchors) Load() (*Anchor, error) {
	b, err := storage.ReadFileBounded(s.path, maxAnchorBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal anchor: %w", err)
	}
	return decodeAnchor(b)
}

func (s fileAnchors) Save(a Anchor) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := storage.WriteFileAtomic(s.path, b, 0o600); err != nil {
		return fmt.Errorf("save journal anchor: %w", err)
	}
	return nil
}
