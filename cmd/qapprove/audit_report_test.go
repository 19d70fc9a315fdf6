package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

// reportHome is a keyed journal home (a registration and 2 approvals)
// plus two wrong passphrases and a key export through the CLI.
func reportHome(t *testing.T) string {
	t.Helper()
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
	backup := filepath.Join(t.TempDir(), "backup.json")
	if code, _, errs := runArgs(t, "--home", home, "--keystore", "file", "keys", "export", backup); code != exitOK {
		t.Fatalf("keys export: exit %d %q", code, errs)
	}
	return home
}

func runAudit(t *testing.T, home string, args ...string) (int, string, string) {
	t.Helper()
	return runArgs(t, append([]string{"--home", home, "--keystore", "file", "audit", "report"}, args...)...)
}

func TestAuditReportMatchesJournal(t *testing.T) {
	home := reportHome(t)
	code, out, errs := runAudit(t, home, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d %q", code, errs)
	}
	var r app.AccessReview
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	want := app.AccessCounts{FailedUnlocks: 2, FailedAttempts: []int{1, 2}, KeyExports: 1, Registrations: 1, Approvals: 2}
	if len(r.Rows) != 1 || r.Rows[0].Day != today || r.Rows[0].Profile != "default" || !equalCounts(r.Rows[0].AccessCounts, want) || !equalCounts(r.Totals, want) {
		t.Fatalf("rows %+v totals %+v", r.Rows, r.Totals)
	}
	if n := len(r.Events); n != 4 || r.Events[3].Kind != journal.KindKeyExported || !strings.Contains(r.Events[3].Detail, "backup.json") {
		t.Fatalf("events %+v", r.Events)
	}

	code, out, _ = runAudit(t, home, "--format", "csv", "--since", "7d")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "day,profile,unlocks,failed_unlocks,failed_attempts,key_exports") ||
		lines[1] != today+",default,0,2,1;2,1,0,1,2,0,0,0,0,0,0" || !strings.HasPrefix(lines[2], "total,,0,2,1;2,1,") {
		t.Fatalf("csv: exit %d\n%s", code, out)
	}
	code, out, _ = runAudit(t, home)
	if code != exitOK || !strings.Contains(out, "wrong passphrase, attempt 2") || !strings.Contains(out, "default") {
		t.Fatalf("text: exit %d\n%s", code, out)
	}
	code, out, _ = runAudit(t, home, "--since", "2099-01-01", "--format", "json")
	if code != exitOK || !strings.Contains(out, `"rows": []`) {
		t.Fatalf("nothing since 2099: exit %d\n%s", code, out)
	}
}

func equalCounts(a, b app.AccessCounts) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestAuditReportUsageAndTamper(t *testing.T) {
	home := reportHome(t)
	for _, args := range [][]string{{"--format", "xml"}, {"--since", "soon"}, {"--since", "-3d"}, {"extra"}} {
		if code, _, _ := runAudit(t, home, args...); code != exitUsage {
			t.Fatalf("%v: exit %d", args, code)
		}
	}
	if code, _, errs := runArgs(t, "--home", home, "--keystore", "file", "audit"); code != exitUsage || !strings.Contains(errs, "report") {
		t.Fatalf("audit alone: exit %d %q", code, errs)
	}
	editAnchor(t, home, nil)
	code, out, errs := runAudit(t, home)
	if code != exitFail || !strings.Contains(errs, "not intact (unanchored") || !strings.Contains(out, "total") {
		t.Fatalf("tampered: exit %d %q\n%s", code, errs, out)
	}
	if code, _, _ := runAudit(t, t.TempDir()); code != exitUsage {
		t.Fatalf("no journal: exit %d", code)
	}
}
