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
	// TimeZone is the IANA zone of the rules' clock (now, weekday,
	// within_hours); "" is UTC. HolidaysFile is the desk's holiday list
	// (TOML `holidays = [...]` or one YYYY-MM-DD per line), relative to
	// the config folder. Prices is the price source of tx.value.
	TimeZone     string         `toml:"time_zone,omitempty"`
	HolidaysFile string         `toml:"holidays_file,omitempty"`
	Prices       *PriceSettings `toml:"prices,omitempty"`
	Wrap
}

// Wrap are the settings of the envelope wrap of the key bundle
// (docs/KEYS.md). The bundle itself records which wrap it is under; these
// say how to reach it from this machine. Nothing here is secret: the PIN
// is read from pkcs11_pin_file or the terminal.
type Wrap struct {
	// WrapKind is the wrap a registration or import applies: "" or
	// "none", "kms", "pkcs11".
	WrapKind     string `toml:"wrap,omitempty"`
	KMSKey       string `toml:"kms_key,omitempty"`         // KMS key ARN for new data keys
	KMSRegion    string `toml:"kms_region,omitempty"`      // "" = from the key ARN or the AWS chain
	KMSEndpoint  string `toml:"kms_endpoint,omitempty"`    // "" = AWS's; a private (VPC) endpoint or a test server
	PKCS11Module string `toml:"pkcs11_module,omitempty"`   // path of the PKCS#11 library
	PKCS11Token  string `toml:"pkcs11_token,omitempty"`    // token label
	PKCS11Label  string `toml:"pkcs11_label,omitempty"`    // label of the AES wrapping key on the token
	PKCS11PIN    string `toml:"pkcs11_pin_file,omitempty"` // file holding the token PIN ("" = ask on the terminal)
	// WrapCheck is "unlock" (default: the wrap is asked at each unlock)
	// or "decision" (asked again before each decision, so a revocation
	// takes effect at once).
	WrapCheck   string `toml:"wrap_check,omitempty"`
	WrapTimeout string `toml:"wrap_timeout,omitempty"` // per KMS or token call ("" = 10s)
}

// Values of wrap_check.
const (
	WrapCheckUnlock   = "unlock"
	WrapCheckDecision = "decision"
)

// CheckEachDecision reports whether the wrap is asked before each decision.
func (w Wrap) CheckEachDecision() bool { return w.WrapCheck == WrapCheckDecision }

// Timeout is wrap_timeout, 10 s by default.
func (w Wrap) Timeout() time.Duration {
	if v, err := time.ParseDuration(w.WrapTimeout); err == nil && v > 0 {
		return v
	}
	return 10 * time.Second
}

// Validate checks the wrap settings.
func (w Wrap) Validate() error {
	switch w.WrapKind {
	case "", "none", "kms", "pkcs11":
	default:
		return fmt.Errorf("config: wrap must be \"none\", \"kms\" or \"pkcs11\", not %q", clipValue(w.WrapKind))
	}
	switch w.WrapCheck {
	case "", WrapCheckUnlock, WrapCheckDecision:
	default:
		return fmt.Errorf("config: wrap_check must be \"unlock\" or \"decision\", not %q", clipValue(w.WrapCheck))
	}
	if w.WrapTimeout != "" {
		if v, err := time.ParseDuration(w.WrapTimeout); err != nil || v <= 0 || v > 2*time.Minute {
			return fmt.Errorf("config: wrap_timeout %q is not a duration from 1ms to 2m", clipValue(w.WrapTimeout))
		}
	}
	if w.KMSEndpoint != "" {
		u, err := url.Parse(w.KMSEndpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("config: kms_endpoint %q is not an http(s) URL", clipValue(w.KMSEndpoint))
		}
	}
	return nil
}

// PriceSettings configure the price source of tx.value (docs/RULES.md
// "Fiat value"): a TOML table, or an HTTP JSON endpoint. Durations are Go
// durations ("15m").
type PriceSettings struct {
	Table     string   `toml:"table,omitempty"`       // TOML price table, relative to the config folder
	URL       string   `toml:"url,omitempty"`         // HTTP JSON source; {asset} becomes each asset of Assets
	Field     string   `toml:"field,omitempty"`       // dotted path of the price in the JSON; {asset} as in URL
	AsOfField string   `toml:"as_of_field,omitempty"` // dotted path of the as-of time (RFC 3339 or Unix seconds); "" = the fetch time
	Currency  string   `toml:"currency,omitempty"`    // currency of the HTTP prices
	Assets    []string `toml:"assets,omitempty"`      // the assets to fetch from the HTTP source
	Timeout   string   `toml:"timeout,omitempty"`     // per HTTP request ("" = 5s)
	MaxAge    string   `toml:"max_age,omitempty"`     // a price older than this is stale ("" = 15m)
	Refresh   string   `toml:"refresh,omitempty"`     // how often the source is read again ("" = 1m)
}

// ConfigRelative resolves a path from config.toml: relative paths are
// taken from the config folder.
func (p Paths) ConfigRelative(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.Config, path)
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
	if err := p.Wrap.Validate(); err != nil {
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
