package main

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
)

// TestE2EPassphraseSharesTypedAtTheTerminal: the built binary in tmux
// asks each custodian's passphrase twice (never echoed) when splitting,
// then asks them again, and the key's passphrase, for a drill.
func TestE2EPassphraseSharesTypedAtTheTerminal(t *testing.T) {
	needTmux(t)
	bin := buildBinary(t)
	srv, base := sandboxtest.Start(t, sandbox.Options{})
	home := t.TempDir()
	env := &Env{Home: home, Keystore: "file", Profile: "e2e", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	if err := setupDemoHome(env, srv, base, []byte(e2ePass)); err != nil {
		t.Fatal(err)
	}
	global := []string{bin, "--home", home, "--keystore", "file", "--profile", "e2e"}
	dir := filepath.Join(t.TempDir(), "shares")
	passes := []string{"Saffron-glacier-63-ember", "Quill-orchard-28-Nimbus"}

	s := startTmux(t, append(global, "keys", "export", "--shares", "2", "--threshold", "2", "--passphrase-shares", dir)...)
	for i, p := range passes {
		n := string(rune('1' + i))
		s.waitFor(10*time.Second, "Passphrase for share "+n+" of 2:")
		s.line(p)
		s.waitFor(10*time.Second, "Again, passphrase for share "+n+" of 2:")
		s.line(p)
	}
	scr := s.waitFor(60*time.Second, "any 2 of these 2 shares restore", "EXIT=0")
	for _, p := range passes {
		if bytes.Contains([]byte(scr), []byte(p)) {
			t.Fatalf("a share passphrase was echoed:\n%s", scr)
		}
	}

	d := startTmux(t, append(global, "keys", "drill",
		filepath.Join(dir, app.ShareFileName("e2e", 1, 2)), filepath.Join(dir, app.ShareFileName("e2e", 2, 2)))...)
	for i, p := range passes {
		d.waitFor(10*time.Second, "Passphrase of share "+string(rune('1'+i))+" of 2")
		d.line(p)
	}
	d.waitFor(60*time.Second, "Passphrase of the key:")
	d.line(e2ePass)
	d.waitFor(60*time.Second, "backup drill passed", "EXIT=0")
}
