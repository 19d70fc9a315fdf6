package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"github.com/qapprove/qapprove/storage/shares"
)

const drillPass = "drill-passphrase-for-tests"

// drillProfile makes a profile p with a sealed key and a journal in a
// fresh home, and returns the home's paths, the keystore and the backup
// bytes as `keys export` writes them.
func drillProfile(t *testing.T) (storage.Paths, secrets.Backend, []byte) {
	t.Helper()
	paths := storage.ResolvePaths(t.TempDir())
	be := secrets.NewFileBackend(paths)
	sec, err := secrets.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Zero()
	sec.APISecret = []byte("api-secret")
	b, err := secretstest.KDF().Seal(secrets.BundlePublic{Profile: "p", APIBaseURL: "https://api.example.com/api/v2",
		WorkspaceID: "ws", APIKeyID: "k"}, sec, []byte(drillPass))
	if err != nil {
		t.Fatal(err)
	}
	if err := secrets.SaveBundle(be, "p", b); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(paths.JournalFile("p")), 0o700); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Create(paths.JournalFile("p"), &KeySigner{Key: &sec.BLS}, journal.Options{Profile: "p", Anchors: Anchors(be, "p")})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return paths, be, data
}

// drillEntries reads the backup-drill entries of the journal.
func drillEntries(t *testing.T, paths storage.Paths) []journal.Entry {
	t.Helper()
	return entriesOf(t, paths, journal.KindBackupDrill)
}

func drillBody(t *testing.T, e journal.Entry) journal.BackupDrillBody {
	t.Helper()
	var b journal.BackupDrillBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportSharesAndRecombine(t *testing.T) {
	_, be, backup := drillProfile(t)
	var cs []shares.Custodian
	var ids []*age.X25519Identity
	for range 5 {
		id, _ := age.GenerateX25519Identity()
		c, err := shares.X25519(id.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		cs, ids = append(cs, c), append(ids, id)
	}
	dir := filepath.Join(t.TempDir(), "shares")
	x := ShareExport{Backend: be, Profile: "p", Dir: dir, Threshold: 3, Custodians: cs}
	files, heads, err := ExportShares(x)
	if err != nil || len(files) != 5 || heads[4].Index != 5 {
		t.Fatalf("ExportShares: %v", err)
	}
	for i, f := range files {
		if filepath.Base(f) != ShareFileName("p", i+1, 5) {
			t.Errorf("file %d is %s", i+1, f)
		}
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", f, st.Mode(), err)
		}
	}
	if _, _, err := ExportShares(x); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second export overwrote the shares: %v", err)
	}
	read := func(i int, id age.Identity) ShareFile {
		data, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		return ShareFile{Name: filepath.Base(files[i]), Data: data, Identities: []age.Identity{id}}
	}
	got, head, err := RecombineShares([]ShareFile{read(4, ids[4]), read(0, ids[0]), read(2, ids[2])})
	if err != nil || string(got) != string(backup) || head.Threshold != 3 {
		t.Fatalf("recombine: %v", err)
	}
	if _, _, err := RecombineShares([]ShareFile{read(0, ids[0]), read(1, ids[1])}); !errors.Is(err, shares.ErrTooFew) {
		t.Fatalf("two shares: %v", err)
	}
	if _, _, err := RecombineShares([]ShareFile{read(0, ids[0]), read(1, ids[0]), read(2, ids[2])}); !errors.Is(err, shares.ErrWrongIdentity) ||
		!strings.Contains(err.Error(), ShareFileName("p", 2, 5)) {
		t.Fatalf("wrong identity: %v", err)
	}
}

func TestDrill(t *testing.T) {
	paths, be, backup := drillProfile(t)
	_, _, otherBackup := drillProfile(t)
	then := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	d := Drill{Paths: paths, Backend: be, Profile: "p", KDF: secretstest.KDF(), Now: func() time.Time { return then }}
	if _, err := d.Run(backup, DrillSource{}, []byte(drillPass)); err != nil {
		t.Fatalf("drill of the profile's backup: %v", err)
	}
	if _, err := d.Run(backup, DrillSource{}, []byte("wrong passphrase")); !errors.Is(err, ErrDrillFailed) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := d.Run(otherBackup, DrillSource{}, []byte(drillPass)); !errors.Is(err, ErrDrillFailed) || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("another profile's backup: %v", err)
	}
	src := DrillSource{Shares: true, Set: shares.Header{Set: "00112233445566778899aabbccddeeff", Threshold: 3, Total: 5}, Count: 2}
	if err := d.Fail(src, shares.ErrTooFew); !errors.Is(err, ErrDrillFailed) || !errors.Is(err, shares.ErrTooFew) {
		t.Fatalf("Fail: %v", err)
	}
	es := drillEntries(t, paths)
	if len(es) != 4 {
		t.Fatalf("%d drill entries, want 4", len(es))
	}
	wantResults := []string{journal.DrillPassed, journal.DrillFailed, journal.DrillFailed, journal.DrillFailed}
	for i, e := range es {
		b := drillBody(t, e)
		if b.Result != wantResults[i] || !e.TS.Equal(then) {
			t.Errorf("entry %d: %+v at %v", i, b, e.TS)
		}
		if signed := e.Sig != ""; signed != (b.Result == journal.DrillPassed) {
			t.Errorf("entry %d (%s) signed=%v", i, b.Result, signed)
		}
	}
	if b := drillBody(t, es[3]); b.Source != "shares" || b.Shares != 2 || b.Threshold != 3 {
		t.Errorf("shares drill body %+v", b)
	}
	// The journal still verifies: the signed drill entry is the profile key's.
	if rep, err := journal.Verify(paths.JournalFile("p"), journal.VerifyOptions{}); err != nil || !rep.Intact || rep.Signatures != 2 {
		t.Fatalf("journal verify: %+v %v", rep, err)
	}
	// Nothing was written to the keystore but the anchor.
	if _, err := secrets.LoadBundle(be, "p"); err != nil {
		t.Fatal(err)
	}
}

func TestDrillOverdue(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		name   string
		passed time.Time
		now    time.Time
		want   bool
	}{
		{"new key, never drilled", time.Time{}, created.Add(30 * day), false},
		{"old key, never drilled", time.Time{}, created.Add(91 * day), true},
		{"drilled 89 days ago", created.Add(100 * day), created.Add(189 * day), false},
		{"drilled 91 days ago", created.Add(100 * day), created.Add(191 * day), true},
	} {
		if got := (DrillStatus{LastPassed: c.passed}).Overdue(created, c.now); got != c.want {
			t.Errorf("%s: overdue %v, want %v", c.name, got, c.want)
		}
	}
}
