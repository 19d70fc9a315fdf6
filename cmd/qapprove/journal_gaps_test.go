package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

// keyedJournalHome is a home whose file keystore holds the profile's key
// bundle (passphrase keysPass, in the file it returns) and a journal of n
// decisions signed by that key, as the console leaves it.
func keyedJournalHome(t *testing.T, n int) (home, path, passFile string) {
	t.Helper()
	home = t.TempDir()
	paths := storage.ResolvePaths(home)
	be := secrets.NewFileBackend(paths)
	sec, err := secrets.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Zero()
	sec.APISecret = []byte("c2VjcmV0")
	b, err := secretstest.KDF().Seal(secrets.BundlePublic{Profile: "default", APIBaseURL: "https://api.example.com/api/v2", WorkspaceID: "ws1", APIKeyID: "k1"}, sec, []byte(keysPass))
	if err != nil {
		t.Fatal(err)
	}
	if err := secrets.SaveBundle(be, "default", b); err != nil {
		t.Fatal(err)
	}
	s := journalTestSigner{sec.BLS}
	path = paths.JournalFile("default")
	j, err := journal.Create(path, s, journal.Options{Anchors: app.Anchors(be, "default"), Profile: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.AppendSigned(journal.KindKeyRegistered, journal.KeyRegisteredBody{APIKeyID: "k1", Status: "registered"}, s); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d := journal.DecisionBody{ActionID: "act-" + string(rune('a'+i)), Decision: "approve",
			MessageSHA256: strings.Repeat("ab", 32), Verdict: "approve"}
		if _, err := j.AppendSigned(journal.KindDecision, d, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Checkpoint(s, "exit"); err != nil {
		t.Fatal(err)
	}
	passFile = filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(keysPass), 0o600); err != nil {
		t.Fatal(err)
	}
	return home, path, passFile
}

// editAnchor rewrites the profile's stored anchor (nil edit deletes it)
// as someone who can write the keystore files can.
func editAnchor(t *testing.T, home string, edit func(a *journal.Anchor)) {
	t.Helper()
	be := secrets.NewFileBackend(storage.ResolvePaths(home))
	store := app.Anchors(be, "default")
	if edit == nil {
		p, _ := be.Path("default" + secrets.AnchorSuffix)
		for _, f := range []string{p, strings.TrimSuffix(p, ".json") + ".slots"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		if a, err := store.Load(); a != nil || err != nil {
			t.Fatalf("anchor still there: %v %v", a, err)
		}
		return
	}
	a, err := store.Load()
	if err != nil || a == nil {
		t.Fatalf("anchor %v %v", a, err)
	}
	edit(a)
	if err := store.Save(*a); err != nil {
		t.Fatal(err)
	}
}

// verifyFails runs journal verify (with args) and wants exit 1 naming
// reason, in text and in --json.
func verifyFails(t *testing.T, home, reason string, args ...string) {
	t.Helper()
	code, out, errs := runJournalCmd(t, home, append([]string{"verify"}, args...)...)
	if code != exitFail || !strings.Contains(errs, "journal "+reason+" ") || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errs, reason)
	}
	code, out, _ = runJournalCmd(t, home, append([]string{"verify", "--json"}, args...)...)
	if code != exitFail || !strings.Contains(out, `"reason": "`+reason+`"`) || !strings.Contains(out, `"intact": false`) {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}
}

func TestJournalVerifyUnsealedTail(t *testing.T) {
	home, path, _ := keyedJournalHome(t, 2)
	j, _, err := journal.Open(path, journal.Options{Anchors: app.Anchors(secrets.NewFileBackend(storage.ResolvePaths(home)), "default")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := j.Append(journal.KindUnlockFailed, journal.UnlockFailedBody{Attempt: i + 1, Backoff: "1s"}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	verifyFails(t, home, "unsealed")
	code, out, errs := runJournalCmd(t, home, "verify")
	if !strings.Contains(errs, "journal unsealed (2 entries) from line 6") {
		t.Fatalf("exit %d %q %q", code, out, errs)
	}
	code, out, errs = runJournalCmd(t, home, "verify", "--allow-unsealed")
	if code != exitOK || !strings.HasPrefix(out, "intact: 7 entries") || !strings.Contains(errs, "unsealed (2 entries), allowed") {
		t.Fatalf("--allow-unsealed: exit %d %q %q", code, out, errs)
	}
}

func TestJournalVerifyMissingAnchorAndReanchor(t *testing.T) {
	home, _, pass := keyedJournalHome(t, 2)
	editAnchor(t, home, nil)
	verifyFails(t, home, "unanchored")
	verifyFails(t, home, "unanchored", "--allow-unsealed")
	if code, _, errs := runJournalCmd(t, home, "re-anchor", "--passphrase-file", pass); code != exitUsage || !strings.Contains(errs, "--reason") {
		t.Fatalf("without --reason: exit %d %q", code, errs)
	}
	wrong := filepath.Join(t.TempDir(), "wrong")
	_ = os.WriteFile(wrong, []byte("not the passphrase at all"), 0o600)
	if code, _, errs := runJournalCmd(t, home, "re-anchor", "--reason", "x", "--passphrase-file", wrong); code != exitFail {
		t.Fatalf("wrong passphrase: exit %d %q", code, errs)
	}
	// The failed attempt above sets a back-off for the profile: clear it.
	_ = os.Remove(storage.ResolvePaths(home).AttemptsFile("default"))
	code, out, errs := runJournalCmd(t, home, "re-anchor", "--reason", "keychain restored", "--passphrase-file", pass)
	if code != exitOK || !strings.HasPrefix(out, "re-anchored journal at seq 5") {
		t.Fatalf("re-anchor: exit %d %q %q", code, out, errs)
	}
	code, out, errs = runJournalCmd(t, home, "verify", "--unlock", "--passphrase-file", pass)
	if code != exitOK || !strings.HasPrefix(out, "intact: 6 entries") || !strings.Contains(errs, "MAC verifies") {
		t.Fatalf("verify after re-anchor: exit %d %q %q", code, out, errs)
	}
	_, out, _ = runJournalCmd(t, home, "export")
	if !strings.Contains(out, `"kind":"re-anchored"`) || !strings.Contains(out, `"problem":"unanchored"`) || !strings.Contains(out, `"why":"keychain restored"`) {
		t.Fatalf("export: %s", out)
	}
}

func TestJournalVerifyForgedAnchor(t *testing.T) {
	home, _, pass := keyedJournalHome(t, 2)
	editAnchor(t, home, func(a *journal.Anchor) { a.MAC = strings.Repeat("0", 64) })
	if code, _, errs := runJournalCmd(t, home, "verify"); code != exitOK {
		t.Fatalf("locked verify cannot check the MAC: exit %d %q", code, errs)
	}
	verifyFails(t, home, "forged anchor", "--unlock", "--passphrase-file", pass)
}

// Cutting the last lines and moving the anchor's plain part to fit is
// caught without the key by the anchor's sealed part.
func TestJournalVerifyTruncatedWithEditedAnchor(t *testing.T) {
	home, path, _ := keyedJournalHome(t, 3)
	b, _ := os.ReadFile(path)
	ls := strings.SplitAfter(string(b), "\n")
	cut := strings.Join(ls[:3], "")
	if err := os.WriteFile(path, []byte(cut), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := journal.Verify(path, journal.VerifyOptions{})
	if err != nil || !rep.Intact {
		t.Fatalf("%v %v", rep, err)
	}
	editAnchor(t, home, func(a *journal.Anchor) { a.Seq, a.Head = rep.LastSeq, rep.Head })
	verifyFails(t, home, "truncated")
}

func TestJournalVerifySinceVerified(t *testing.T) {
	home, path, pass := keyedJournalHome(t, 3)
	code, _, errs := runJournalCmd(t, home, "verify", "--since-verified")
	if code != exitOK || !strings.Contains(errs, "no verified mark yet") {
		t.Fatalf("no mark: exit %d %q", code, errs)
	}
	code, _, errs = runJournalCmd(t, home, "verify", "--unlock", "--passphrase-file", pass)
	if code != exitOK || !strings.Contains(errs, "verified mark saved at seq 5") {
		t.Fatalf("--unlock: exit %d %q", code, errs)
	}
	code, out, errs := runJournalCmd(t, home, "verify", "--since-verified")
	if code != exitOK || !strings.HasPrefix(out, "intact: 6 entries") || !strings.Contains(errs, "5 signatures up to seq 5 were verified on") {
		t.Fatalf("--since-verified: exit %d %q %q", code, out, errs)
	}
	// A mark edited without the key is ignored, with a warning.
	mp := journal.VerifiedPath(path)
	b, _ := os.ReadFile(mp)
	if err := os.WriteFile(mp, []byte(strings.Replace(string(b), `"seq":5`, `"seq":4`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runJournalCmd(t, home, "verify", "--since-verified")
	if code != exitOK || !strings.Contains(errs, "does not verify") || strings.Contains(errs, "not checked again") {
		t.Fatalf("forged mark: exit %d %q", code, errs)
	}
}
