package secrets

import (
	"encoding/json"
	"errors"
	"io/fs"
	"time"

	"github.com/qapprove/qapprove/storage"
)

// Attempts is the wrong-passphrase state of a profile: how many wrong
// passphrases in a row, and when the next attempt is allowed.
type Attempts struct {
	Failures int       `json:"failures"`
	RetryAt  time.Time `json:"retry_at"`
}

// AttemptStore keeps Attempts across processes, so that running the
// command line again does not reset the back-off.
type AttemptStore interface {
	Load() (Attempts, error)
	Save(Attempts) error
}

// FileAttempts is an AttemptStore in a small JSON file (0600).
type FileAttempts string

// maxAttemptsFile bounds what Load reads.
const maxAttemptsFile = 4 << 10

// Load reads the state; a missing file is no failures. A file that is
// not understood counts as one more failure than none, with the longest
// wait, rather than as a reset.
func (f FileAttempts) Load() (Attempts, error) {
	b, err := storage.ReadFileBounded(string(f), maxAttemptsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return Attempts{}, nil
	}
	if err != nil {
		return Attempts{}, err
	}
	var a Attempts
	if err := json.Unmarshal(b, &a); err != nil || a.Failures < 0 {
		return Attempts{Failures: 1, RetryAt: time.Now().Add(MaxBackoff)}, nil
	}
	return a, nil
}

// Save writes the state atomically.
func (f FileAttempts) Save(a Attempts) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return storage.WriteFileAtomic(string(f), b, 0o600)
}
