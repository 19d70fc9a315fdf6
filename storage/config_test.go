package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	os.WriteFile(path, []byte("[profiles.default]\napi_base_url = \n"), 0o600)
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
