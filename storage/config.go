package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
	// Keystore is "keychain" or "file"; "" takes the top-level setting.
	// The file keystore is used only when asked for (--keystore or here).
	Keystore string `toml:"keystore,omitempty"`
	// StrongConfirmAbove maps an asset symbol to an amount in whole units
	// ("10"): above it, a decision needs the strong confirmation.
	StrongConfirmAbove map[string]string `toml:"strong_confirm_above,omitempty"`
	Bell               bool              `toml:"bell,omitempty"`           // ring the terminal bell on notices
	ExpiryWarning      string            `toml:"expiry_warning,omitempty"` // notice this long before expiry ("" = 2m, "0" = off)
	DesktopNotify      *bool             `toml:"desktop_notify,omitempty"` // desktop notifications (nil = true)
}

// Defaults of the profile settings (DESIGN.md "Secrets").
const (
	DefaultIdleLock      = 5 * time.Minute
	DefaultAbsoluteLock  = 8 * time.Hour
	DefaultExpiryWarning = 2 * time.Minute
)

// Config is config.toml: an optional top-level keystore and one table per
// profile.
type Config struct {
	Keystore string             `toml:"keystore,omitempty"` // default keystore of every profile
	Profiles map[string]Profile `toml:"profiles"`
	Sinks    Sinks              `toml:"sinks,omitempty"` // where journal entries are shipped (every profile)
}

// KeystoreFor is the keystore of profile: its own setting, else the
// top-level one ("" when neither is set). It refuses other values.
func (c *Config) KeystoreFor(profile string) (string, error) {
	ks := c.Profiles[profile].Keystore
	if ks == "" {
		ks = c.Keystore
	}
	if err := validKeystore(ks); err != nil {
		return "", err
	}
	return ks, nil
}

func validKeystore(ks string) error {
	switch ks {
	case "", "keychain", "file":
		return nil
	}
	return fmt.Errorf("config: keystore must be \"keychain\" or \"file\", not %q", clipValue(ks))
}

// clipValue bounds a config value quoted in an error.
func clipValue(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
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
			return fmt.Errorf("lock timeout %q is not a positive duration like 5m", clipValue(d))
		}
	}
	return p.validateNotices()
}

// validateNotices checks keystore, strong_confirm_above and expiry_warning.
func (p Profile) validateNotices() error {
	if err := validKeystore(p.Keystore); err != nil {
		return err
	}
	for asset, limit := range p.StrongConfirmAbove {
		if strings.TrimSpace(asset) == "" || len(asset) > 32 {
			return fmt.Errorf("strong_confirm_above: asset symbol %q is empty or too long", clipValue(asset))
		}
		if _, ok := parseAmount(limit); !ok {
			return fmt.Errorf("strong_confirm_above.%s = %q is not an amount in whole units like \"10\" or \"0.5\"", clipValue(asset), clipValue(limit))
		}
	}
	if p.ExpiryWarning != "" {
		if v, err := time.ParseDuration(p.ExpiryWarning); err != nil || v < 0 {
			return fmt.Errorf("expiry_warning %q is not a duration like 2m (\"0\" turns it off)", clipValue(p.ExpiryWarning))
		}
	}
	return nil
}

// parseAmount reads a non-negative decimal in whole units ("10", "0.5").
func parseAmount(s string) (*big.Rat, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(s) == 0 || len(s) > 100 || whole == "" || strings.Trim(whole, "0123456789") != "" ||
		(strings.Contains(s, ".") && (frac == "" || strings.Trim(frac, "0123456789") != "")) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// StrongConfirm reports whether amount (whole units, e.g. "12.5") of asset
// is above the profile's strong_confirm_above limit for that asset (the
// symbol matched without regard to case). An amount that cannot be read is
// treated as above the limit; an asset without a limit never is.
func (p Profile) StrongConfirm(asset, amount string) bool {
	for sym, limit := range p.StrongConfirmAbove {
		if !strings.EqualFold(sym, asset) {
			continue
		}
		lim, ok := parseAmount(limit)
		if !ok {
			return true
		}
		v, ok := parseAmount(amount)
		return !ok || v.Cmp(lim) > 0
	}
	return false
}

// ExpiryWarningBefore is how long before its expiry an action gets a
// notice: expiry_warning, 2m by default, 0 when turned off.
func (p Profile) ExpiryWarningBefore() time.Duration {
	if p.ExpiryWarning == "" {
		return DefaultExpiryWarning
	}
	v, err := time.ParseDuration(p.ExpiryWarning)
	if err != nil || v < 0 {
		return DefaultExpiryWarning
	}
	return v
}

// DesktopNotifications reports whether notices also go to the desktop
// (desktop_notify, true by default).
func (p Profile) DesktopNotifications() bool { return p.DesktopNotify == nil || *p.DesktopNotify }

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
			_ = f.Close()
			_ = os.Remove(tmp)
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

// ReadFileBounded reads at most limit+1 bytes of the file at path, so a
// caller can tell a file over limit bytes (the result is then longer than
// limit) without reading all of a hostile one.
func ReadFileBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(limit)+1))
}

// SyncDir makes a rename or a new file in dir durable (best effort: not
// every file system can sync a folder).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort, as documented
		_ = d.Close()
	}
}
