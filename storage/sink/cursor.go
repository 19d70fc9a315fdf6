package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"

	"github.com/qapprove/qapprove/storage"
)

// Cursor is where one sink stands in one journal: the next seq to ship,
// the hash and length of the last shipped line ("" before the genesis is
// shipped) and the byte offset of the next line in the file.
type Cursor struct {
	JournalID string `json:"journal_id"`
	Next      uint64 `json:"next"`
	Prev      string `json:"prev,omitempty"`
	Offset    int64  `json:"offset"`
	PrevLen   int64  `json:"prev_len,omitempty"` // length of the last shipped line, to find it again
}

// maxCursorBytes bounds a cursor file.
const maxCursorBytes = 4096

var (
	jidRE  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// cursorPath is the cursor file of sink name for journal jid in dir.
func cursorPath(dir, name, jid string) string {
	return filepath.Join(dir, name+"-"+jid+".cursor.json")
}

// loadCursor reads the cursor of sink name for journal jid; a missing
// file is the start of the journal.
func loadCursor(dir, name, jid string) (Cursor, error) {
	b, err := storage.ReadFileBounded(cursorPath(dir, name, jid), maxCursorBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return Cursor{JournalID: jid}, nil
	}
	if err != nil {
		return Cursor{JournalID: jid}, fmt.Errorf("read %s cursor: %w", name, err)
	}
	c, ok := decodeCursor(b, jid)
	if !ok {
		return Cursor{JournalID: jid}, fmt.Errorf("the %s cursor %s is malformed: delete it to ship the whole journal again", name, cursorPath(dir, name, jid))
	}
	return c, nil
}

// decodeCursor parses and checks the cursor file of journal jid.
func decodeCursor(b []byte, jid string) (Cursor, bool) {
	var c Cursor
	if len(b) > maxCursorBytes || json.Unmarshal(b, &c) != nil || c.JournalID != jid {
		return c, false
	}
	if c.Next == 0 {
		return c, c.Prev == "" && c.PrevLen == 0 && c.Offset == 0
	}
	return c, hashRE.MatchString(c.Prev) && c.PrevLen > 0 && c.PrevLen < c.Offset
}

// saveCursor writes c atomically (0600).
func saveCursor(dir, name string, c Cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := storage.WriteFileAtomic(cursorPath(dir, name, c.JournalID), b, 0o600); err != nil {
		return fmt.Errorf("save %s cursor: %w", name, err)
	}
	return nil
}
