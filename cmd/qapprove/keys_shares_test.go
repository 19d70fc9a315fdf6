package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

// custodianKeys makes n age identities, writes each to an identity file
// and returns the recipients and the files.
func custodianKeys(t *testing.T, n int) (recipients, idFiles []string) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("custodian-%d.key", i+1))
		if err := os.WriteFile(f, []byte("# custodian\n"+id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		recipients, idFiles = append(recipients, id.Recipient().String()), append(idFiles, f)
	}
	return recipients, idFiles
}

// splitKey registers profile p and splits its backup 3-of-5 among five
// custodians; it returns the home, the share files and the custodians'
// identity files (share i is for idFiles[i]).
func splitKey(t *testing.T, s *keysSandbox) (home string, files, idFiles []string) {
	t.Helper()
	home = s.register(t)
	recipients, idFiles := custodianKeys(t, 5)
	dir := filepath.Join(t.TempDir(), "shares")
	args := []string{"keys", "export", "--shares", "5", "--threshold", "3"}
	for _, r := range recipients {
		args = append(args, "--to", r)
	}
	code, out, errs := qa(t, home, "p", append(args, dir)...)
	if code != exitOK {
		t.Fatalf("export --shares: exit %d: %s", code, errs)
	}
	for i := range 5 {
		f := filepath.Join(dir, app.ShareFileName("p", i+1, 5))
		if !strings.Contains(out, fmt.Sprintf("share %d of 5: %s (sealed for %s)", i+1, f, recipients[i])) {
			t.Fatalf("export output does not list share %d:\n%s", i+1, out)
		}
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st.Mode(), err)
		}
		files = append(files, f)
	}
	if !strings.Contains(out, "any 3 of these 5 shares restore") {
		t.Errorf("export output: %s", out)
	}
	return home, files, idFiles
}

// importArgsFor is `keys import --shares` of the given share indexes
// (0-based) with their custodians' identities.
func importArgsFor(s *keysSandbox, files, idFiles []string, idx ...int) []string {
	args := []string{"keys", "import", "--shares", "--passphrase-file", s.passFile}
	for _, i := range idx {
		args = append(args, "--identity", idFiles[i])
	}
	for _, i := range idx {
		args = append(args, files[i])
	}
	return args
}

func TestKeysExportSharesAndImportEveryThree(t *testing.T) {
	s := newKeysSandbox(t)
	home, files, idFiles := splitKey(t, s)
	orig, err := loadBundle(t, home, "p")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(files[0])
	if !strings.Contains(string(text), "fingerprint: "+fingerprintOf(orig)) || strings.Contains(string(text), orig.Crypto.Checksum.Message) {
		t.Errorf("share file clear part:\n%s", text)
	}
	// A second export does not overwrite the shares.
	r, _ := custodianKeys(t, 2)
	code, _, errs := qa(t, home, "p", "keys", "export", "--shares", "2", "--threshold", "2", "--to", r[0], "--to", r[1], filepath.Dir(files[0]))
	if code != exitOK {
		t.Fatalf("2-of-2 export into the same folder (other names): %s", errs)
	}
	recipients, _ := custodianKeys(t, 5)
	args := []string{"keys", "export", "--shares", "5", "--threshold", "3"}
	for _, r := range recipients {
		args = append(args, "--to", r)
	}
	if code, _, errs := qa(t, home, "p", append(args, filepath.Dir(files[0]))...); code != exitFail || !strings.Contains(errs, "already exists") {
		t.Fatalf("overwrote the shares: exit %d %s", code, errs)
	}
	n := 0
	for a := range 5 {
		for b := a + 1; b < 5; b++ {
			for c := b + 1; c < 5; c++ {
				home2 := t.TempDir()
				code, out, errs := qa(t, home2, "p", importArgsFor(s, files, idFiles, c, a, b)...)
				if code != exitOK {
					t.Fatalf("shares %d,%d,%d: exit %d: %s", a+1, b+1, c+1, code, errs)
				}
				got, err := loadBundle(t, home2, "p")
				if err != nil || got.BLSPublicKey != orig.BLSPublicKey || got.ECPublicKey != orig.ECPublicKey {
					t.Fatalf("shares %d,%d,%d: imported %v", a+1, b+1, c+1, err)
				}
				if !strings.Contains(out, "recombined 3 of the 5 shares") || !strings.Contains(out, "started the audit journal") {
					t.Errorf("import output: %s", out)
				}
				n++
			}
		}
	}
	if n != 10 {
		t.Fatalf("%d subsets", n)
	}
}

func TestKeysImportSharesRefusals(t *testing.T) {
	s := newKeysSandbox(t)
	home, files, idFiles := splitKey(t, s)
	_, other, otherIDs := splitKey(t, s)
	run := func(args ...string) (int, string) {
		home2 := t.TempDir()
		code, _, errs := qa(t, home2, "p", args...)
		assertNothingStored(t, home2, "p")
		return code, errs
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"too few", importArgsFor(s, files, idFiles, 0, 3), exitFail, "too few shares: 2 given, any 3 of the 5"},
		{"different sets", append(importArgsFor(s, files, idFiles, 0, 1), "--identity", otherIDs[2], other[2]), exitFail, "not of one set"},
		{"duplicate", append(importArgsFor(s, files, idFiles, 0, 1), files[1]), exitFail, "both share 2"},
		{"wrong identity", []string{"keys", "import", "--shares", "--passphrase-file", s.passFile, "--identity", idFiles[0],
			"--identity", idFiles[1], "--identity", idFiles[4], files[0], files[1], files[2]}, exitFail,
			app.ShareFileName("p", 3, 5) + ": none of the identities given opens this share"},
		{"no identity", []string{"keys", "import", "--shares", files[0], files[1], files[2]}, exitUsage, "give its custodian's --identity FILE"},
		{"identity with a backup", []string{"keys", "import", "--identity", idFiles[0], s.passFile}, exitUsage, "go with --shares"},
		{"one share, no --shares", []string{"keys", "import", "--identity", idFiles[0], files[0]}, exitFail, "too few shares: 1 given"},
	} {
		code, errs := run(c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, errs, c.code, c.want)
		}
	}
	// Tampered: the clear header says another index, or a ciphertext byte changed.
	data, _ := os.ReadFile(files[1])
	dir := t.TempDir()
	edited := filepath.Join(dir, "edited.txt")
	if err := os.WriteFile(edited, bytes.Replace(data, []byte("share:       2 of 5"), []byte("share:       4 of 5"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	code, errs := run("keys", "import", "--shares", "--identity", idFiles[0], "--identity", idFiles[1], "--identity", idFiles[2], files[0], edited, files[2])
	if code != exitFail || !strings.Contains(errs, "altered") {
		t.Errorf("edited header: exit %d %q", code, errs)
	}
	i := bytes.Index(data, []byte("-----END"))
	flipped := bytes.Clone(data)
	flipped[i-8] ^= 0x01
	if flipped[i-8] == '=' || flipped[i-8] == '\n' {
		flipped[i-8] = 'A'
	}
	bad := filepath.Join(dir, "flipped.txt")
	if err := os.WriteFile(bad, flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	code, errs = run("keys", "import", "--shares", "--identity", idFiles[0], "--identity", idFiles[1], "--identity", idFiles[2], files[0], bad, files[2])
	if code != exitFail || !strings.Contains(errs, "flipped.txt") {
		t.Errorf("flipped ciphertext: exit %d %q", code, errs)
	}
	_ = home
}

// passFiles writes passphrase files.
func passFiles(t *testing.T, passes ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for i, p := range passes {
		f := filepath.Join(dir, fmt.Sprintf("share-pass-%d", i))
		if err := os.WriteFile(f, []byte(p+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func TestKeysPassphraseShares(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	pf := passFiles(t, "Aster-velvet-19-quarry", "Juniper-84-lantern-oxide", "Mosaic-tundra-57-Harbor")
	dir := filepath.Join(t.TempDir(), "shares")
	code, out, errs := qa(t, home, "p", "keys", "export", "--shares", "3", "--threshold", "2",
		"--share-passphrase-file", pf[0], "--share-passphrase-file", pf[1], "--share-passphrase-file", pf[2], dir)
	if code != exitOK || !strings.Contains(out, "(sealed for passphrase)") {
		t.Fatalf("export: exit %d %s %s", code, out, errs)
	}
	share := func(i int) string { return filepath.Join(dir, app.ShareFileName("p", i, 3)) }
	home2 := t.TempDir()
	code, _, errs = qa(t, home2, "p", "keys", "import", "--shares", "--passphrase-file", s.passFile,
		"--share-passphrase-file", pf[2], "--share-passphrase-file", pf[0], share(1), share(3))
	if code != exitOK {
		t.Fatalf("import of passphrase shares 1 and 3: %s", errs)
	}
	home3 := t.TempDir()
	code, _, errs = qa(t, home3, "p", "keys", "import", "--shares", "--passphrase-file", s.passFile,
		"--share-passphrase-file", pf[1], share(1), share(3))
	if code != exitFail || !strings.Contains(errs, "none of the identities given opens this share") {
		t.Fatalf("wrong share passphrase: exit %d %s", code, errs)
	}
	// Weak or repeated share passphrases are refused.
	weak := passFiles(t, "password1", "Juniper-84-lantern-oxide")
	if code, _, errs := qa(t, home, "p", "keys", "export", "--shares", "2", "--threshold", "2", "--share-passphrase-file", weak[0],
		"--share-passphrase-file", weak[1], t.TempDir()); code != exitFail || !strings.Contains(errs, "too weak") {
		t.Errorf("weak share passphrase: exit %d %s", code, errs)
	}
	if code, _, errs := qa(t, home, "p", "keys", "export", "--shares", "2", "--threshold", "2", "--share-passphrase-file", pf[0],
		"--share-passphrase-file", pf[0], t.TempDir()); code != exitFail || !strings.Contains(errs, "same passphrase") {
		t.Errorf("repeated share passphrase: exit %d %s", code, errs)
	}
}

func TestKeysExportSharesUsage(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	r, _ := custodianKeys(t, 3)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shares", "3", "--threshold", "4", "--to", r[0], "--to", r[1], "--to", r[2]}, "--threshold must be 2 to --shares (3)"},
		{[]string{"--shares", "256", "--threshold", "2"}, "--shares must be 2 to 255"},
		{[]string{"--shares", "3", "--threshold", "2", "--to", r[0]}, "3 shares need 3 custodians"},
		{[]string{"--shares", "2", "--threshold", "2", "--to", r[0], "--to", "age1nope"}, "not an age X25519 recipient"},
		{[]string{"--shares", "2", "--threshold", "2", "--to", r[1], "--to", r[1]}, "given twice"},
		{[]string{"--shares", "3", "--threshold", "2", "--to", r[0], "--passphrase-shares"}, "no terminal"},
	} {
		code, _, errs := qa(t, home, "p", append(append([]string{"keys", "export"}, c.args...), t.TempDir())...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d %q, want %q", c.args, code, errs, c.want)
		}
	}
}

// drills reads the results of the backup-drill entries of profile p.
func drills(t *testing.T, home string) []string {
	t.Helper()
	data, err := os.ReadFile(storage.ResolvePaths(home).JournalFile("p"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		e, err := journal.ParseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == journal.KindBackupDrill {
			var b journal.BackupDrillBody
			if err := json.Unmarshal(e.Body, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Result+"/"+b.Source)
		}
	}
	return out
}

func TestKeysDrill(t *testing.T) {
	s := newKeysSandbox(t)
	home, files, idFiles := splitKey(t, s)
	backup := filepath.Join(t.TempDir(), "backup.json")
	if code, _, errs := qa(t, home, "p", "keys", "export", backup); code != exitOK {
		t.Fatal(errs)
	}
	before, _ := os.ReadFile(storage.ResolvePaths(home).KeystoreFile("p"))
	if code, out, _ := qa(t, home, "p", "keys", "show"); code != exitOK || !strings.Contains(out, "last drill:      never") || strings.Contains(out, "warning:") {
		t.Fatalf("keys show before any drill:\n%s", out)
	}

	code, out, errs := qa(t, home, "p", "keys", "drill", "--passphrase-file", s.passFile, backup)
	if code != exitOK || !strings.Contains(out, "backup drill passed") {
		t.Fatalf("drill of the backup: exit %d %s %s", code, out, errs)
	}
	code, out, errs = qa(t, home, "p", append([]string{"keys", "drill", "--passphrase-file", s.passFile,
		"--identity", idFiles[1], "--identity", idFiles[3], "--identity", idFiles[4]}, files[1], files[3], files[4])...)
	if code != exitOK || !strings.Contains(out, "backup drill passed") {
		t.Fatalf("drill of shares 2, 4, 5: exit %d %s %s", code, out, errs)
	}
	code, _, errs = qa(t, home, "p", "keys", "drill", "--passphrase-file", s.otherPassFile, backup)
	if code != exitFail || !strings.Contains(errs, "passphrase does not open the backup") || !strings.Contains(errs, "(journaled)") {
		t.Fatalf("drill with a wrong passphrase: exit %d %s", code, errs)
	}
	code, _, errs = qa(t, home, "p", "keys", "drill", "--identity", idFiles[0], files[0])
	if code != exitFail || !strings.Contains(errs, "too few shares") {
		t.Fatalf("drill with one share: exit %d %s", code, errs)
	}
	// Another profile's backup fails, journaled; keys show says so.
	_, otherBackup, _ := exportedKey(t)
	code, _, errs = qa(t, home, "p", "keys", "drill", "--passphrase-file", s.passFile, otherBackup)
	if code != exitFail || !strings.Contains(errs, "another key") {
		t.Fatalf("drill of another profile's backup: exit %d %s", code, errs)
	}
	want := []string{"passed/backup", "passed/shares", "failed/backup", "failed/shares", "failed/backup"}
	if got := drills(t, home); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("journaled drills %v, want %v", got, want)
	}
	code, out, _ = qa(t, home, "p", "keys", "show")
	if code != exitOK || !strings.Contains(out, "last drill:      FAILED") || !strings.Contains(out, "last passed: 20") || strings.Contains(out, "warning:") {
		t.Fatalf("keys show after drills:\n%s", out)
	}
	// The keystore item was not touched, and the journal verifies.
	after, _ := os.ReadFile(storage.ResolvePaths(home).KeystoreFile("p"))
	if !bytes.Equal(before, after) {
		t.Error("a drill changed the stored key")
	}
	// The three failed drills at the end are unsigned: unsealed until the next
	// unlock seals it, and intact otherwise.
	if code, out, errs := qa(t, home, "p", "journal", "verify"); code != exitFail || !strings.Contains(out+errs, "unsealed (3 entries)") {
		t.Fatalf("journal verify after drills: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := qa(t, home, "p", "journal", "verify", "--allow-unsealed"); code != exitOK {
		t.Fatalf("journal verify --allow-unsealed after drills: exit %d\n%s%s", code, out, errs)
	}
}

// TestKeysShowDrillAge injects the drill's clock: a drill passed 100 days
// ago warns, one passed 10 days ago does not.
func TestKeysShowDrillAge(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	backup := filepath.Join(t.TempDir(), "backup.json")
	if code, _, errs := qa(t, home, "p", "keys", "export", backup); code != exitOK {
		t.Fatal(errs)
	}
	data, _ := os.ReadFile(backup)
	paths := storage.ResolvePaths(home)
	drillAt := func(daysAgo int) {
		at := time.Now().Add(-time.Duration(daysAgo) * 24 * time.Hour)
		d := app.Drill{Paths: paths, Backend: secrets.NewFileBackend(paths), Profile: "p", KDF: secretstest.KDF(),
			Now: func() time.Time { return at }}
		if _, err := d.Run(data, app.DrillSource{}, []byte(keysPass)); err != nil {
			t.Fatal(err)
		}
	}
	drillAt(100)
	code, out, _ := qa(t, home, "p", "keys", "show")
	if code != exitOK || !strings.Contains(out, "last drill:      passed") || !strings.Contains(out, "(100 days ago)") ||
		!strings.Contains(out, "warning:         no backup drill passed in the last 90 days") {
		t.Fatalf("keys show, drill 100 days ago:\n%s", out)
	}
	code, out, _ = qa(t, home, "p", "keys", "show", "--json")
	var st struct {
		BackupDrill drillInfo `json:"backup_drill"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || !st.BackupDrill.Overdue || st.BackupDrill.LastResult != "passed" {
		t.Fatalf("keys show --json: %s", out)
	}
	drillAt(10)
	if code, out, _ := qa(t, home, "p", "keys", "show"); code != exitOK || !strings.Contains(out, "(10 days ago)") || strings.Contains(out, "warning:") {
		t.Fatalf("keys show, drill 10 days ago:\n%s", out)
	}
}
