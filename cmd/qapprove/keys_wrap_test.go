package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/wrap"
	"github.com/qapprove/qapprove/storage/wrap/wraptest"
)

// TestKeysWrapCLI: register under an AWS KMS wrap, show it, move it to a
// PKCS#11 token and back to none (journaled, same keys), import a backup
// under a KMS wrap, and see a disabled key refuse with who can help.
func TestKeysWrapCLI(t *testing.T) {
	kms := wraptest.StartKMS(t)
	h := wraptest.StartSoftHSM(t)
	h.GenerateKey(t, "desk")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALKMSTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-kms-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	arn := kms.CreateKey(t)
	kmsFlags := []string{"--kms-key", arn, "--kms-endpoint", kms.Endpoint, "--kms-region", wraptest.Region}

	s := newKeysSandbox(t)
	home := t.TempDir()
	code, out, errs := qa(t, home, "p", append(append(s.registerArgs(s.url, s.secFile), "--wrap", "kms"), kmsFlags...)...)
	if code != exitOK || !strings.Contains(out, "protected by: AWS KMS key "+arn) {
		t.Fatalf("register --wrap kms: exit %d\n%s%s", code, out, errs)
	}
	orig, err := loadBundle(t, home, "p")
	if err != nil || orig.WrapKind() != wrap.KindKMS {
		t.Fatalf("stored bundle: %v", err)
	}
	code, out, _ = qa(t, home, "p", "keys", "show", "--json")
	var st keyStatus
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.Wrap != wrap.KindKMS || st.WrapKMSKey != arn || st.WrapCheck != storage.WrapCheckUnlock {
		t.Fatalf("keys show --json: exit %d %s", code, out)
	}

	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(h.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = qa(t, home, "p", "keys", "rewrap", "--to", "pkcs11", "--passphrase-file", s.passFile,
		"--pkcs11-module", h.Module, "--pkcs11-token", h.Token, "--pkcs11-label", "desk", "--pkcs11-pin-file", pinFile)
	if code != exitOK || !strings.Contains(out, "to:   PKCS#11 token") {
		t.Fatalf("rewrap --to pkcs11: exit %d\n%s%s", code, out, errs)
	}
	if _, out, _ = qa(t, home, "p", "keys", "show"); !strings.Contains(out, "protected by:    PKCS#11 token") {
		t.Fatalf("keys show after the rewrap:\n%s", out)
	}
	if code, _, errs = qa(t, home, "p", "keys", "rewrap", "--to", "none", "--passphrase-file", s.passFile); code != exitOK {
		t.Fatalf("rewrap --to none: exit %d %s", code, errs)
	}
	b, _ := loadBundle(t, home, "p")
	if b.Wrapped() || b.BLSPublicKey != orig.BLSPublicKey || b.ECPublicKey != orig.ECPublicKey {
		t.Fatal("after the rewraps the bundle is still wrapped or holds other keys")
	}
	if code, out, errs := qa(t, home, "p", "journal", "verify"); code != exitOK {
		t.Fatalf("journal verify: exit %d\n%s%s", code, out, errs)
	}
	data, _ := os.ReadFile(storage.ResolvePaths(home).JournalFile("p"))
	if n := strings.Count(string(data), `"kind":"`+string(journal.KindRewrapped)+`"`); n != 2 {
		t.Fatalf("%d rewrapped entries, want 2", n)
	}

	// A backup imported under another profile and a KMS wrap.
	file := filepath.Join(t.TempDir(), "backup.json")
	if code, _, errs := qa(t, home, "p", "keys", "export", file); code != exitOK {
		t.Fatalf("export: %s", errs)
	}
	home2 := t.TempDir()
	code, out, errs = qa(t, home2, "q", append([]string{"keys", "import", file, "--passphrase-file", s.passFile, "--wrap", "kms"}, kmsFlags...)...)
	if code != exitOK || !strings.Contains(out, "protected by AWS KMS key") {
		t.Fatalf("import --wrap kms: exit %d\n%s%s", code, out, errs)
	}
	if b, _ := loadBundle(t, home2, "q"); b == nil || b.WrapKind() != wrap.KindKMS || b.Profile != "q" {
		t.Fatal("the import did not wrap the key")
	}

	// A drill of the KMS-wrapped backup opens its wrap, in memory.
	wrapped := filepath.Join(t.TempDir(), "wrapped.json")
	if code, _, errs := qa(t, home2, "q", "keys", "export", wrapped); code != exitOK {
		t.Fatalf("export of the wrapped key: %s", errs)
	}
	if code, out, errs := qa(t, home2, "q", "keys", "drill", wrapped, "--passphrase-file", s.passFile); code != exitOK || !strings.Contains(out, "passed") {
		t.Fatalf("drill of a KMS-wrapped backup: exit %d\n%s%s", code, out, errs)
	}

	// Revoked: the disabled key refuses, and says who can restore access.
	kms.Disable(t, arn)
	if code, _, errs := qa(t, home2, "q", "keys", "drill", wrapped, "--passphrase-file", s.passFile); code != exitFail || !strings.Contains(errs, "disabled") {
		t.Fatalf("drill with the KMS key disabled: exit %d %q", code, errs)
	}
	code, _, errs = qa(t, home2, "q", "keys", "rewrap", "--to", "none", "--passphrase-file", s.passFile)
	if code != exitFail || !strings.Contains(errs, "disabled") || !strings.Contains(errs, "re-enable") {
		t.Fatalf("rewrap with the key disabled: exit %d %q", code, errs)
	}
	kms.Enable(t, arn)
	if code, _, errs := qa(t, home2, "q", "keys", "rewrap", "--to", "none", "--passphrase-file", s.passFile); code != exitOK {
		t.Fatalf("rewrap after re-enabling: exit %d %s", code, errs)
	}
}
