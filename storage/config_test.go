package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigRoundTripAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	c, err := LoadConfig(path)
	if err != nil || len(c.Profiles) != 0 {
		t.Fatalf("missing config: %v %v", c, err)
	}
	c.Profiles["default"] = Profile{APIBaseURL: "https://api-v2.qredo.network/api/v2", WorkspaceID: "w", APIKeyID: "k", IdleLock: "2m"}
	if err := SaveConfig(path, c); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v, want 0600", st.Mode().Perm())
	}
	back, err := LoadConfig(path)
	if err != nil || back.Profiles["default"].WorkspaceID != "w" {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if idle, abs := back.Profiles["default"].LockTimeouts(); idle.Minutes() != 2 || abs != DefaultAbsoluteLock {
		t.Fatalf("lock timeouts %v %v", idle, abs)
	}
	if err := os.WriteFile(path, []byte("[profiles.default]\napi_base_url = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("bad TOML error lacks a position: %v", err)
	}
	for _, p := range []Profile{
		{},
		{APIBaseURL: "ftp://x", WorkspaceID: "w", APIKeyID: "k"},
		{APIBaseURL: "https://x", WorkspaceID: "w"},
		{APIBaseURL: "https://x", WorkspaceID: "w", APIKeyID: "k", IdleLock: "-1m"},
	} {
		if p.Validate() == nil {
			t.Errorf("profile %+v validated", p)
		}
	}
	if ValidProfileName("../x") || ValidProfileName("") || !ValidProfileName("desk-1.a_b") {
		t.Error("ValidProfileName is wrong")
	}
}

// FuzzLoadConfig: any config.toml must load or fail cleanly, never panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("[profiles.default]\napi_base_url = \"https://x\"\nworkspace_id = \"w\"\napi_key_id = \"k\"\n"))
	f.Add([]byte("profiles = 3"))
	f.Add([]byte("[[profiles]]"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(path)
		if err != nil {
			return
		}
		for _, p := range c.Profiles {
			_ = p.Validate()
			p.LockTimeouts()
		}
	})
}

// An oversized config.toml is refused by size, before any parsing.
func TestConfigTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	big := "# " + strings.Repeat("x", MaxConfigSize) + "\n"
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized config: %v", err)
	}
	b, err := ReadFileBounded(path, 10)
	if err != nil || len(b) != 11 {
		t.Fatalf("ReadFileBounded read %d bytes (%v), want max+1 = 11", len(b), err)
	}
}

// TestConfigNoticeSettings reads every setting of issue 13 from TOML, with
// their defaults, and refuses bad values.
func TestConfigNoticeSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	const toml = `keystore = "file"

[profiles.desk]
api_base_url = "https://x"
workspace_id = "w"
api_key_id = "k"
keystore = "keychain"
bell = true
expiry_warning = "0"
desktop_notify = false
strong_confirm_above = { ETH = "10", BTC = "0.5" }

[profiles.plain]
api_base_url = "https://x"
workspace_id = "w"
api_key_id = "k"
`
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	desk, plain := c.Profiles["desk"], c.Profiles["plain"]
	if err := desk.Validate(); err != nil {
		t.Fatal(err)
	}
	if ks, err := c.KeystoreFor("desk"); err != nil || ks != "keychain" {
		t.Errorf("desk keystore %q %v", ks, err)
	}
	if ks, err := c.KeystoreFor("plain"); err != nil || ks != "file" {
		t.Errorf("plain keystore %q %v (the top-level setting)", ks, err)
	}
	if !desk.Bell || desk.ExpiryWarningBefore() != 0 || desk.DesktopNotifications() {
		t.Errorf("desk: bell %v expiry %v desktop %v", desk.Bell, desk.ExpiryWarningBefore(), desk.DesktopNotifications())
	}
	if plain.Bell || plain.ExpiryWarningBefore() != DefaultExpiryWarning || !plain.DesktopNotifications() {
		t.Errorf("plain defaults: bell %v expiry %v desktop %v", plain.Bell, plain.ExpiryWarningBefore(), plain.DesktopNotifications())
	}
	for _, c := range []struct {
		asset, amount string
		want          bool
	}{
		{"ETH", "10", false}, {"ETH", "10.000001", true}, {"eth", "11", true}, {"BTC", "0.49", false},
		{"BTC", "0.51", true}, {"USDC", "1000000", false}, {"ETH", "not a number", true},
	} {
		if got := desk.StrongConfirm(c.asset, c.amount); got != c.want {
			t.Errorf("StrongConfirm(%s, %s) = %v, want %v", c.asset, c.amount, got, c.want)
		}
	}
	if plain.StrongConfirm("ETH", "1e9") {
		t.Error("a profile without limits asks for strong confirmation")
	}
	// A round trip keeps them.
	if err := SaveConfig(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(path)
	if err != nil || back.Keystore != "file" || back.Profiles["desk"].StrongConfirmAbove["ETH"] != "10" || back.Profiles["desk"].DesktopNotifications() {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	ok := Profile{APIBaseURL: "https://x", WorkspaceID: "w", APIKeyID: "k"}
	for name, bad := range map[string]func(*Profile){
		"keystore":      func(p *Profile) { p.Keystore = "vault" },
		"amount":        func(p *Profile) { p.StrongConfirmAbove = map[string]string{"ETH": "ten"} },
		"negative":      func(p *Profile) { p.StrongConfirmAbove = map[string]string{"ETH": "-1"} },
		"exponent":      func(p *Profile) { p.StrongConfirmAbove = map[string]string{"ETH": "1e3"} },
		"empty asset":   func(p *Profile) { p.StrongConfirmAbove = map[string]string{" ": "1"} },
		"expiry":        func(p *Profile) { p.ExpiryWarning = "soon" },
		"negative wait": func(p *Profile) { p.ExpiryWarning = "-1m" },
	} {
		p := ok
		bad(&p)
		if p.Validate() == nil {
			t.Errorf("%s: %+v validated", name, p)
		}
	}
	c.Keystore = "vault"
	if _, err := c.KeystoreFor("plain"); err == nil || !strings.Contains(err.Error(), "keychain") {
		t.Errorf("top-level keystore vault: %v", err)
	}
}

func TestWrapSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := &Config{Profiles: map[string]Profile{"desk": {APIBaseURL: "https://api.example/api/v2", WorkspaceID: "w", APIKeyID: "k",
		Wrap: Wrap{WrapKind: "kms", KMSKey: "arn:aws:kms:eu-west-2:111122223333:key/k", KMSEndpoint: "https://kms.internal:8443", WrapCheck: WrapCheckDecision, WrapTimeout: "3s"}}}}
	if err := SaveConfig(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	p := back.Profiles["desk"]
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if !p.CheckEachDecision() || p.Timeout() != 3*time.Second || p.KMSKey != c.Profiles["desk"].KMSKey {
		t.Fatalf("read back %+v", p.Wrap)
	}
	if (Wrap{}).Timeout() != 10*time.Second || (Wrap{}).CheckEachDecision() {
		t.Fatal("defaults")
	}
	for name, w := range map[string]Wrap{
		"kind":     {WrapKind: "gpg"},
		"check":    {WrapCheck: "always"},
		"timeout":  {WrapTimeout: "1h"},
		"endpoint": {KMSEndpoint: "kms.internal"},
	} {
		q := p
		q.Wrap = w
		if err := q.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
