package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink/sinktest"
)

// useStore adds [sinks.postgres] naming pg to home's config.toml.
func useStore(t *testing.T, home string, pg *sinktest.Postgres) {
	t.Helper()
	p := storage.ResolvePaths(home).ConfigFile()
	cfg, err := storage.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks = storage.Sinks{Postgres: &storage.PostgresSink{DSN: pg.DSN}}
	if err := storage.SaveConfig(p, cfg); err != nil {
		t.Fatal(err)
	}
}

// rejectAs rejects action id as profile, with the passphrase file of s.
func rejectAs(t *testing.T, s *keysSandbox, home, profile, id string) {
	t.Helper()
	if code, out, errs := qa(t, home, profile, "reject", id, "--yes", "--passphrase-file", s.passFile, "--reason", "sink test"); code != exitOK {
		t.Fatalf("reject %s as %s: exit %d\n%s\n%s", id, profile, code, out, errs)
	}
}

// copyFile copies src to dst (0600).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// journal ship sends what is pending; a journal rolled back together with
// its anchor still verifies locally, and is caught against the store.
func TestJournalShipAndRollbackCaughtAgainstStore(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	pg := sinktest.StartPostgres(t)
	useStore(t, home, pg)
	ids := s.srv.ActionIDs()
	if len(ids) < 2 {
		t.Fatalf("the sandbox has %d actions", len(ids))
	}
	rejectAs(t, s, home, "p", ids[0])
	code, out, errs := qa(t, home, "p", "journal", "ship")
	if code != exitOK || !strings.Contains(out, "postgres: up to date") {
		t.Fatalf("journal ship: exit %d\n%s\n%s", code, out, errs)
	}
	paths := storage.ResolvePaths(home)
	jpath, apath := paths.JournalFile("p"), filepath.Join(home, "p.journal-anchor.slots")
	saved := t.TempDir()
	copyFile(t, jpath, filepath.Join(saved, "journal"))
	copyFile(t, apath, filepath.Join(saved, "anchor"))
	// With the store down a decision is still journaled (require_sink is
	// off) and waits; journal ship says so, then delivers it.
	pg.Stop(t)
	rejectAs(t, s, home, "p", ids[1])
	if code, out, errs := qa(t, home, "p", "journal", "ship"); code != exitFail || !strings.Contains(errs, "entries still pending") {
		t.Fatalf("journal ship with the store down: exit %d\n%s\n%s", code, out, errs)
	}
	pg.Start(t)
	if code, out, errs := qa(t, home, "p", "journal", "ship"); code != exitOK || !strings.Contains(out, "postgres: up to date") {
		t.Fatalf("journal ship after the store came back: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := qa(t, home, "p", "journal", "verify", "--against-store", pg.DSN); code != exitOK || !strings.Contains(out, "team store: in step") {
		t.Fatalf("verify against the store before the rollback: exit %d\n%s\n%s", code, out, errs)
	}

	// Roll back the journal and its anchor together: locally nothing shows.
	copyFile(t, filepath.Join(saved, "journal"), jpath)
	copyFile(t, filepath.Join(saved, "anchor"), apath)
	if code, _, errs := qa(t, home, "p", "journal", "verify"); code != exitOK {
		t.Fatalf("the local check was expected to miss the rollback (it needs the store): exit %d %s", code, errs)
	}
	code, _, errs = qa(t, home, "p", "journal", "verify", "--against-store", pg.DSN)
	if code != exitFail || !strings.Contains(errs, "journal rolled back") || !strings.Contains(errs, "more lines than the local journal") {
		t.Fatalf("verify against the store after the rollback: exit %d %q", code, errs)
	}
	code, out, _ = qa(t, home, "p", "journal", "verify", "--against-store", pg.DSN, "--json")
	var v struct {
		Store struct {
			RolledBack bool   `json:"rolled_back"`
			Ahead      uint64 `json:"ahead"`
		} `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitFail || !v.Store.RolledBack || v.Store.Ahead == 0 {
		t.Fatalf("--json: exit %d %v %s", code, err, out)
	}
}

// A password in a DSN given on the command line never comes back in an
// error.
func TestStoreErrorsDoNotShowThePassword(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{
		{"audit", "verify", "--store", "postgres://qa:hunter2-secret@127.0.0.1:1/qapprove?connect_timeout=5"},
		{"audit", "verify", "--store", "host=127.0.0.1 port=1 user=qa password=hunter2-secret connect_timeout=5"},
		{"audit", "verify", "--store", "postgres://qa:hunter2-secret@[bad"},
	} {
		code, out, errs := qa(t, home, "p", args...)
		if code != exitUsage || strings.Contains(out+errs, "hunter2") || errs == "" {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

// Two approvers shown different messages for one action ID are a split
// view: audit verify names the action and both journals, exit 1.
func TestAuditVerifyFlagsSplitView(t *testing.T) {
	a, b := newKeysSandbox(t), newKeysSandbox(t)
	home := t.TempDir()
	for _, x := range []struct {
		s       *keysSandbox
		profile string
		amount  string
	}{{a, "alice", "1000"}, {b, "bob", "2000"}} {
		if code, out, errs := qa(t, home, x.profile, x.s.registerArgs(x.s.url, x.s.secFile)...); code != exitOK {
			t.Fatalf("register %s: %d %s %s", x.profile, code, out, errs)
		}
		if _, err := x.s.srv.AddCustomAction(sandbox.CustomAction{ID: "act-split-view", Amount: x.amount, Message: sandbox.MessageSandbox}); err != nil {
			t.Fatal(err)
		}
	}
	pg := sinktest.StartPostgres(t)
	useStore(t, home, pg)
	rejectAs(t, a, home, "alice", "act-split-view")
	if code, out, errs := qa(t, home, "alice", "audit", "verify", "--store", pg.DSN); code != exitOK || !strings.Contains(out, "(profile alice): intact") {
		t.Fatalf("audit with one journal: exit %d\n%s\n%s", code, out, errs)
	}
	rejectAs(t, b, home, "bob", "act-split-view")
	code, out, errs := qa(t, home, "alice", "audit", "verify", "--store", pg.DSN)
	if code != exitFail || !strings.Contains(errs, "SPLIT VIEW on action act-split-view") {
		t.Fatalf("audit with the split view: exit %d\n%s\n%s", code, out, errs)
	}
	paths := storage.ResolvePaths(home)
	for _, p := range []string{"alice", "bob"} {
		rep, err := journal.Verify(paths.JournalFile(p), journal.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errs, rep.JournalID) || !strings.Contains(out, rep.JournalID+" (profile "+p+"): intact") {
			t.Fatalf("the audit does not name %s's journal %s:\n%s\n%s", p, rep.JournalID, out, errs)
		}
	}

	// The access review from the store holds both approvers, and each
	// one's rows are those of the review of its local journal.
	if code, _, errs := qa(t, home, "alice", "journal", "ship"); code != exitOK {
		t.Fatalf("ship alice: %s", errs)
	}
	if code, _, errs := qa(t, home, "bob", "journal", "ship"); code != exitOK {
		t.Fatalf("ship bob: %s", errs)
	}
	review := func(args ...string) []app.AccessRow {
		t.Helper()
		code, out, errs := qa(t, home, "alice", append([]string{"audit", "report", "--since", "1d", "--format", "json"}, args...)...)
		var r app.AccessReview
		if code != exitOK || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("audit report %v: exit %d\n%s\n%s", args, code, out, errs)
		}
		return r.Rows
	}
	stored := review("--store", pg.DSN)
	byProfile := map[string][]app.AccessRow{}
	for _, r := range stored {
		byProfile[r.Profile] = append(byProfile[r.Profile], r)
	}
	if len(byProfile["alice"]) == 0 || len(byProfile["bob"]) == 0 {
		t.Fatalf("the store's review lacks an approver: %+v", stored)
	}
	if local := review(); fmt.Sprint(local) != fmt.Sprint(byProfile["alice"]) {
		t.Fatalf("alice's rows differ: local %+v, store %+v", local, byProfile["alice"])
	}
	for _, r := range byProfile["bob"] {
		if r.Rejections != 1 || r.Registrations != 1 {
			t.Fatalf("bob's row %+v, want one registration and one rejection", r)
		}
	}
}
