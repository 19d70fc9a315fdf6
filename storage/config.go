package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Profile holds the non-secret settings of one profile. Secrets never live
// here: the API secret and the keys are in the secret bundle.
type Profile struct {
	APIBaseURL   string `toml:"api_base_url"`  // e.g. https://api-v2.qredo.network/api/v2
	WorkspaceID  string `toml:"workspace_id"`  // Qredo workspace ID
	APIKeyID     string `toml:"api_key_id"`    // API key ID (public)
	RulesFile    string `toml:"rules_file"`    // governance rules; "" = the embedded default set
	IdleLock     string `toml:"idle_lock"`     // auto-lock after idle, e.g. "5m" ("" = default)
	AbsoluteLock string `toml:"absolute_lock"` // auto-lock after this long unlocked ("" = default)
	FeedURL      string `toml:"feed_url"`      // optional override of the WebSocket feed URL
}

// Default lock timeouts (DESIGN.md "Secrets").
const (
	DefaultIdleLock     = 5 * time.Minute
	DefaultAbsoluteLock = 8 * time.Hour
)

// Config is config.toml: one table per profile.
type Config struct {
	Profiles map[string]Profile `toml:"profiles"`
}

// MaxConfigSize bounds config.toml: it is read whole.
const MaxConfigSize = 1 << 20

// LoadConfig reads config.toml; a missing file gives an empty config.
func LoadConfig(path string) (*Config, error) {
	b, err := ReadFileBounded(path, MaxConfigSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Profiles: map[string]Profile{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(b) > MaxConfigSize {
		return nil, fmt.Errorf("config %s is larger than %d bytes", path, MaxConfigSize)
	}
	var c Config
	if err := toml.Unmarshal(b, &c); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("config %s:%d:%d: %s", path, row, col, de.Error())
		}
		return nil, fmt.Errorf("config %s: %v", path, err)
	}
	if c.Profiles == nil {
		c.Profiles = map[string]Profile{}
	}
	return &c, nil
}

// SaveConfig writes config.toml atomically (temp file, fsync, rename), 0600.
func SaveConfig(path string, c *Config) error {
	b, err := toml.Marshal(c)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b, 0o600)
}

// Validate checks the profile values a client needs.
func (p Profile) Validate() error {
	if p.APIBaseURL == "" {
		return errors.New("profile has no api_base_url")
	}
	u, err := url.Parse(p.APIBaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("api_base_url %q is not an http(s) URL", p.APIBaseURL)
	}
	if p.WorkspaceID == "" || p.APIKeyID == "" {
		return errors.New("profile needs workspace_id and api_key_id")
	}
	for _, d := range []string{p.IdleLock, p.AbsoluteLock} {
		if d == "" {
			continue
		}
		if v, err := time.ParseDuration(d); err != nil || v <= 0 {
			return fmt.Errorf("lock timeout %q is not a positive duration like 5m", d)
		}
	}
	return nil
}

// RulesPath is the profile's rules file ("" for the embedded default set);
// a relative rules_file is taken from the folder of config.toml.
func (p Profile) RulesPath(paths Paths) string {
	if p.RulesFile == "" || filepath.IsAbs(p.RulesFile) {
		return p.RulesFile
	}
	return filepath.Join(paths.Config, p.RulesFile)
}

// LockTimeouts returns the idle and absolute lock timeouts with defaults.
func (p Profile) LockTimeouts() (idle, absolute time.Duration) {
	idle, absolute = DefaultIdleLock, DefaultAbsoluteLock
	if v, err := time.ParseDuration(p.IdleLock); err == nil && v > 0 {
		idle = v
	}
	if v, err := time.ParseDuration(p.AbsoluteLock); err == nil && v > 0 {
		absolute = v
	}
	return idle, absolute
}

// WriteFileAtomic writes data to path through a temp file in the same
// folder (mode perm, fsync), renames it into place and fsyncs the folder.
// The folder is created 0700 when missing.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteFileAtomicFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileAtomicFunc is WriteFileAtomic with the content streamed by
// write; nothing replaces path unless write succeeds.
func WriteFileAtomicFunc(path string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	SyncDir(dir)
	return nil
}

// ReadFileBounded reads at most max+1 bytes of the file at path, so a
// caller can tell a file over max bytes (the result is then longer than
// max) without reading all of a hostile one.
func ReadFileBounded(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(max)+1))
}

// SyncDir makes a rename or a new file in dir durable (best effort: not
// every file system can sync a folder).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
