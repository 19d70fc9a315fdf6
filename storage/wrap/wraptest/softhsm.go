package wraptest

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ThalesGroup/crypto11"
)

// softHSMModules are where distributions put the SoftHSM2 library.
var softHSMModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// HSM is a SoftHSM2 token initialised in a temp SOFTHSM2_CONF.
type HSM struct {
	Module string
	Token  string
	PIN    string
	Dir    string // the token folder
}

// StartSoftHSM initialises a fresh token (softhsm2-util --init-token
// --free) in a temp folder and points SOFTHSM2_CONF at it for the test
// (so the test must not run in parallel).
func StartSoftHSM(t testing.TB) *HSM {
	t.Helper()
	module := ""
	for _, m := range softHSMModules {
		if _, err := os.Stat(m); err == nil {
			module = m
			break
		}
	}
	util, err := exec.LookPath("softhsm2-util")
	if module == "" || err != nil {
		missing(t, "SoftHSM2 is not installed (Debian package softhsm2): skipping the PKCS#11 test")
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	h := &HSM{Module: module, Token: "qapprove-test", PIN: "1234", Dir: tokens}
	cmd := exec.Command(util, "--init-token", //nolint:gosec // G204: softhsm2-util from PATH, fixed arguments
		"--free", "--label", h.Token, "--pin", h.PIN, "--so-pin", "5678")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return h
}

// PINFunc returns the token PIN as the wrap asks for it.
func (h *HSM) PINFunc() func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(h.PIN), nil }
}

func (h *HSM) context(t testing.TB) *crypto11.Context {
	t.Helper()
	c, err := crypto11.Configure(&crypto11.Config{Path: h.Module, TokenLabel: h.Token, Pin: h.PIN})
	if err != nil {
		t.Fatalf("open the SoftHSM2 token: %v", err)
	}
	return c
}

// GenerateKey makes a non-extractable AES-256 key labelled label on the token.
func (h *HSM) GenerateKey(t testing.TB, label string) {
	t.Helper()
	c := h.context(t)
	defer c.Close()
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	if _, err := c.GenerateSecretKeyWithLabel(id, []byte(label), 256, crypto11.CipherAES); err != nil {
		t.Fatalf("generate the AES key on the token: %v", err)
	}
}

// DeleteKey deletes the key labelled label from the token.
func (h *HSM) DeleteKey(t testing.TB, label string) {
	t.Helper()
	c := h.context(t)
	defer c.Close()
	k, err := c.FindKey(nil, []byte(label))
	if err != nil || k == nil {
		t.Fatalf("find the AES key %q: %v", label, err)
	}
	if err := k.Delete(); err != nil {
		t.Fatalf("delete the AES key: %v", err)
	}
}
