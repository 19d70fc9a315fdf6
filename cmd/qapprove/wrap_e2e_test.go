package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/wrap/wraptest"
)

// TestE2EConsoleAsksTokenPIN: with the key under a PKCS#11 token and no
// pkcs11_pin_file, the console asks the token's PIN on the terminal
// before it draws (never echoed), and the unlock then goes through the
// token.
func TestE2EConsoleAsksTokenPIN(t *testing.T) {
	needTmux(t)
	h := wraptest.StartSoftHSM(t)
	h.GenerateKey(t, "desk")
	bin := buildBinary(t)
	srv, base := sandboxtest.Start(t, sandbox.Options{})
	home := t.TempDir()
	env := &Env{Home: home, Keystore: "file", Profile: "e2e", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	if err := setupDemoHome(env, srv, base, []byte(e2ePass)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	passFile, pinFile := filepath.Join(dir, "pass"), filepath.Join(dir, "pin")
	if os.WriteFile(passFile, []byte(e2ePass), 0o600) != nil || os.WriteFile(pinFile, []byte(h.PIN), 0o600) != nil {
		t.Fatal("cannot write the passphrase and PIN files")
	}
	if code, out, errs := qa(t, home, "e2e", "keys", "rewrap", "--to", "pkcs11", "--passphrase-file", passFile,
		"--pkcs11-module", h.Module, "--pkcs11-token", h.Token, "--pkcs11-label", "desk", "--pkcs11-pin-file", pinFile); code != exitOK {
		t.Fatalf("rewrap --to pkcs11: exit %d\n%s%s", code, out, errs)
	}
	// No PIN file: the console must ask.
	paths := storage.ResolvePaths(home)
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles["e2e"]
	p.PKCS11PIN = ""
	cfg.Profiles["e2e"] = p
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}

	s := startTmux(t, "env", "SOFTHSM2_CONF="+os.Getenv("SOFTHSM2_CONF"), bin, "--home", home, "--keystore", "file", "--profile", "e2e")
	s.waitFor(20*time.Second, "PIN of the PKCS#11 token:")
	s.line(h.PIN)
	s.waitFor(20*time.Second, "LOCKED")
	s.keys("u")
	s.waitFor(10*time.Second, "assphrase")
	s.line(e2ePass)
	s.waitUntil(30*time.Second, "unlocked through the token", func(x string) bool {
		_, open := findDialog(x)
		return !open && strings.Contains(x, "unlocked")
	})
	quit(s)
	// Back on the normal screen: the prompt shows nothing of what was typed.
	prompts := 0
	for _, l := range strings.Split(s.screen(), "\n") {
		if _, after, ok := strings.Cut(l, "PIN of the PKCS#11 token:"); ok {
			prompts++
			if strings.TrimSpace(after) != "" {
				t.Fatalf("the PIN prompt echoed %q", after)
			}
		}
	}
	if prompts != 1 {
		t.Fatalf("%d PIN prompts on the screen after exit, want 1:\n%s", prompts, s.screen())
	}
}
