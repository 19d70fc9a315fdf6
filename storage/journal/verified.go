package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
)

// VerifiedMark is a signed record of how far a journal was verified in
// full (chain and every signature): Verify with it checks the chain of the
// whole file but the signatures only after Seq, so a daily check costs
// only the new entries. It needs the key to make (MarkVerified), only the
// public key to check.
type VerifiedMark struct {
	JournalID string `json:"journal_id"`
	Seq       uint64 `json:"seq"`  // the last line verified
	Head      string `json:"head"` // its hash
	Time      string `json:"time"` // RFC 3339 UTC, when it was verified
	Sig       string `json:"sig"`  // BLS signature by the journal key over the mark's digest
}

// verifiedTag starts the digest a VerifiedMark signs.
const verifiedTag = "qapprove/journal-verified/v1\n"

// maxMarkBytes bounds a stored mark.
const maxMarkBytes = 4096

// VerifiedPath is the file that keeps the mark of the journal at path.
func VerifiedPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".verified.json"
}

func (m *VerifiedMark) digest() ([32]byte, bool) {
	var jid [16]byte
	var head [32]byte
	if !decodeHexInto(jid[:], []byte(m.JournalID)) || !decodeHexInto(head[:], []byte(m.Head)) || len(m.Time) > 64 {
		return [32]byte{}, false
	}
	h := sha256.New()
	h.Write([]byte(verifiedTag))
	h.Write(jid[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], m.Seq)
	h.Write(b[:])
	h.Write(head[:])
	h.Write([]byte{byte(len(m.Time))}) //nolint:gosec // G115: bounded to 64 above
	h.Write([]byte(m.Time))
	var d [32]byte
	h.Sum(d[:0])
	return d, true
}

// valid reports whether m is signed by pk.
func (m *VerifiedMark) valid(pk qbls.PublicKey) bool {
	d, ok := m.digest()
	var sig qbls.Signature
	if !ok || !decodeHexInto(sig[:], []byte(m.Sig)) {
		return false
	}
	return qbls.Verify(pk, d[:], sig)
}

// MarkVerified signs a mark for the journal rep describes, which must be
// intact and verified with every signature (Verify without the sealOnly
// or noSigs shortcuts; a mark given to Verify counts as verified).
func MarkVerified(rep *Report, s Signer, now time.Time) (*VerifiedMark, error) {
	if !rep.Intact || !rep.full {
		return nil, errors.New("only a journal verified intact, with its signatures, can be marked verified")
	}
	if s.PublicKey() != rep.pk {
		return nil, errors.New("the signer's key is not the journal's key")
	}
	m := &VerifiedMark{JournalID: rep.JournalID, Seq: rep.LastSeq, Head: hex.EncodeToString(rep.head[:]),
		Time: now.UTC().Format(time.RFC3339)}
	d, _ := m.digest() // the fields above are well formed
	sig, err := s.Sign(d[:])
	if err != nil {
		return nil, fmt.Errorf("sign the verified mark: %w", err)
	}
	m.Sig = hex.EncodeToString(sig[:])
	return m, nil
}

// SaveVerified writes m to path (0600, atomically).
func SaveVerified(path string, m *VerifiedMark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := storage.WriteFileAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("save the verified mark: %w", err)
	}
	return nil
}

// LoadVerified reads the mark at path; nil, nil when there is none. Its
// signature is checked by Verify.
func LoadVerified(path string) (*VerifiedMark, error) {
	b, err := storage.ReadFileBounded(path, maxMarkBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the verified mark: %w", err)
	}
	var m VerifiedMark
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errors.New("the verified mark is not valid JSON")
	}
	return &m, nil
}
