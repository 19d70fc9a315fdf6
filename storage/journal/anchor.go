package journal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
//
// SealedSeq and SealedHead name the last line written by a signed append,
// and MAC authenticates (JournalID, SealedSeq, SealedHead) under a key only
// the holder of the journal key can derive (AnchorKey): an anchor edited
// without the key is caught at the next unlock. Seq and Head also follow
// unsigned appends and are not authenticated.
type Anchor struct {
	JournalID  string `json:"journal_id"`
	Seq        uint64 `json:"seq"`
	Head       string `json:"head"`
	SealedSeq  uint64 `json:"sealed_seq"`
	SealedHead string `json:"sealed_head,omitempty"`
	MAC        string `json:"mac,omitempty"`
}

// maxAnchorBytes bounds a stored anchor.
const maxAnchorBytes = 4096

// validate checks the shape of an anchor read from outside.
func (a *Anchor) validate() error {
	if !isHex(a.JournalID, 16) || !isHex(a.Head, 32) {
		return errors.New("journal anchor is malformed (journal_id or head is not hex)")
	}
	if a.MAC == "" && a.SealedHead == "" {
		return nil
	}
	if !isHex(a.MAC, 32) || !isHex(a.SealedHead, 32) {
		return errors.New("journal anchor is malformed (mac or sealed_head is not hex)")
	}
	return nil
}

// Authenticated reports whether the anchor carries a MAC.
func (a *Anchor) Authenticated() bool { return a.MAC != "" }

// Domain tags of the anchor key and MAC.
const (
	anchorKeyTag = "qapprove/journal-anchor-key/v1\n"
	anchorMACTag = "qapprove/journal-anchor-mac/v1\n"
)

// AnchorKey derives the anchor MAC key of journal jid from s: the SHA-256
// of s's (deterministic) BLS signature over a domain-separated digest of
// the journal ID. Only the holder of the journal key can compute it, and
// any Signer (keystore, KMS, HSM) can.
func AnchorKey(s Signer, jid [16]byte) ([32]byte, error) {
	d := anchorKeyDigest(jid)
	sig, err := s.Sign(d[:])
	if err != nil {
		return [32]byte{}, fmt.Errorf("derive the journal anchor key: %w", err)
	}
	return sha256.Sum256(append([]byte(anchorMACTag), sig[:]...)), nil
}

// anchorKeyDigest is the message AnchorKey signs for journal jid.
func anchorKeyDigest(jid [16]byte) [32]byte {
	return sha256.Sum256(append([]byte(anchorKeyTag), jid[:]...))
}

// Reserved reports whether msg is a message the journal's key signs for
// the journal itself (the anchor key's digest): signing it for anyone
// else would hand out the anchor's MAC key, so approvals refuse it.
func (j *Journal) Reserved(msg []byte) bool {
	d := anchorKeyDigest(j.jid)
	return hmac.Equal(msg, d[:])
}

// anchorMAC is HMAC-SHA256(key, tag ‖ journal_id ‖ sealed_seq (u64 BE) ‖ sealed_head).
func anchorMAC(key [32]byte, jid [16]byte, seq uint64, head [32]byte) string {
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(anchorMACTag))
	m.Write(jid[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	m.Write(b[:])
	m.Write(head[:])
	return hex.EncodeToString(m.Sum(nil))
}

// checkMAC reports whether a's MAC is right under key.
func (a *Anchor) checkMAC(key [32]byte) bool {
	var jid [16]byte
	var head [32]byte
	if !a.Authenticated() || !decodeHexInto(jid[:], []byte(a.JournalID)) || !decodeHexInto(head[:], []byte(a.SealedHead)) {
		return false
	}
	return hmac.Equal([]byte(anchorMAC(key, jid, a.SealedSeq, head)), []byte(a.MAC))
}

// CheckAnchor checks the MAC of a (an anchor of journal jid) with the key
// derived from s; an anchor without a MAC fails too.
func CheckAnchor(a *Anchor, s Signer) error {
	var jid [16]byte
	if !decodeHexInto(jid[:], []byte(a.JournalID)) {
		return errors.New("journal anchor is malformed")
	}
	key, err := AnchorKey(s, jid)
	if err != nil {
		return err
	}
	if !a.checkMAC(key) {
		return errAnchorMAC(a)
	}
	return nil
}

func errAnchorMAC(a *Anchor) *TamperError {
	if !a.Authenticated() {
		return &TamperError{Line: 0, Seq: -1, Reason: ForgedAnchor,
			Detail: "the stored anchor carries no MAC (edited, or written by an older qapprove): check the journal, then run `qapprove journal re-anchor`"}
	}
	return &TamperError{Line: 0, Seq: seqOf(a.SealedSeq), Reason: ForgedAnchor,
		Detail: "the MAC of the stored anchor does not verify with this key: the anchor was edited without the key"}
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
