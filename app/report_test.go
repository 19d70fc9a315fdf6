package app

import (
	"crypto/rand"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
)

// reportJournal writes a journal over three days with every kind the
// review counts, and returns its path.
func reportJournal(t *testing.T) string {
	t.Helper()
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &KeySigner{Key: &sk}
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	now := day(1, 9)
	path := filepath.Join(t.TempDir(), "p", "journal.jsonl")
	j, err := journal.Create(path, s, journal.Options{Profile: "desk", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	msg := strings.Repeat("ab", 32)
	steps := []struct {
		at     time.Time
		kind   journal.Kind
		body   any
		signed bool
	}{
		{day(1, 9), journal.KindKeyRegistered, journal.KeyRegisteredBody{APIKeyID: "k1", Status: "registered"}, true},
		{day(1, 10), journal.KindUnlockFailed, journal.UnlockFailedBody{Attempt: 1, Backoff: "1s"}, false},
		{day(1, 10), journal.KindUnlockFailed, journal.UnlockFailedBody{Attempt: 2, Backoff: "2s"}, false},
		{day(1, 11), journal.KindUnlock, journal.UnlockBody{}, true},
		{day(1, 11), journal.KindDecision, journal.DecisionBody{ActionID: "a1", Decision: "approve", MessageSHA256: msg, Verdict: "approve"}, true},
		{day(1, 11), journal.KindOutcome, journal.OutcomeBody{ActionID: "a1", Result: journal.OutcomeAccepted}, true},
		{day(1, 12), journal.KindDecision, journal.DecisionBody{ActionID: "a2", Decision: "approve", MessageSHA256: msg, Verdict: "review", Override: "known payee"}, true},
		{day(1, 12), journal.KindOutcome, journal.OutcomeBody{ActionID: "a2", Result: journal.OutcomeRefused, Error: "expired"}, true},
		{day(1, 13), journal.KindLock, journal.LockBody{Reason: "idle"}, true},
		{day(2, 8), journal.KindKeyExported, journal.KeyBackupBody{Fingerprint: "ab12", File: "k.json"}, false},
		{day(3, 9), journal.KindUnlockFailed, journal.UnlockFailedBody{Attempt: 3, Backoff: "4s"}, false},
		{day(3, 9), journal.KindUnlock, journal.UnlockBody{}, true},
		{day(3, 9), journal.KindDecision, journal.DecisionBody{ActionID: "a3", Decision: "reject", MessageSHA256: msg, Verdict: "reject"}, true},
		{day(3, 9), journal.KindAbandoned, journal.AbandonedBody{ActionID: "a4", Decision: "approve", Why: "cancelled"}, false},
		{day(3, 10), journal.KindKeyImported, journal.KeyBackupBody{Fingerprint: "ab12", File: "k.json"}, true},
	}
	for _, st := range steps {
		now = st.at
		if st.signed {
			_, err = j.AppendSigned(st.kind, st.body, s)
		} else {
			_, err = j.Append(st.kind, st.body)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestAccessReportMatchesJournal(t *testing.T) {
	path := reportJournal(t)
	r, err := AccessReport(journal.ReadEntries(path), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []AccessRow{
		{"2026-03-01", "desk", AccessCounts{Unlocks: 1, FailedUnlocks: 2, FailedAttempts: []int{1, 2}, Registrations: 1, Approvals: 2, Overrides: 1, Refusals: 1}},
		{"2026-03-02", "desk", AccessCounts{KeyExports: 1}},
		{"2026-03-03", "desk", AccessCounts{Unlocks: 1, FailedUnlocks: 1, FailedAttempts: []int{3}, KeyImports: 1, Rejections: 1, Abandoned: 1}},
	}
	if !reflect.DeepEqual(r.Rows, want) {
		t.Fatalf("rows:\n got %+v\nwant %+v", r.Rows, want)
	}
	tot := AccessCounts{Unlocks: 2, FailedUnlocks: 3, FailedAttempts: []int{1, 2, 3}, KeyExports: 1, KeyImports: 1,
		Registrations: 1, Approvals: 2, Rejections: 1, Overrides: 1, Refusals: 1, Abandoned: 1}
	if !reflect.DeepEqual(r.Totals, tot) {
		t.Fatalf("totals:\n got %+v\nwant %+v", r.Totals, tot)
	}
	var kinds []string
	for _, e := range r.Events {
		kinds = append(kinds, string(e.Kind)+": "+e.Detail)
	}
	wantEvents := []string{
		"key-registered: keys registered for API key k1 (registered)",
		"unlock-failed: wrong passphrase, attempt 1, back-off 1s",
		"unlock-failed: wrong passphrase, attempt 2, back-off 2s",
		"decision: approve of action a2 against the review verdict: known payee",
		"outcome: action a2 refused by the API: expired",
		`key-exported: key ab12 exported to "k.json"`,
		"unlock-failed: wrong passphrase, attempt 3, back-off 4s",
		"abandoned: approve of action a4 not completed: cancelled",
		`key-imported: key ab12 imported from "k.json"`,
	}
	if !reflect.DeepEqual(kinds, wantEvents) {
		t.Fatalf("events:\n got %q\nwant %q", kinds, wantEvents)
	}

	since, _ := AccessReport(journal.ReadEntries(path), "other", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if len(since.Rows) != 2 || since.Rows[0].Profile != "other" || since.Totals.Approvals != 0 || since.Totals.FailedUnlocks != 1 {
		t.Fatalf("since day 2: %+v", since)
	}
}

// Entries from several journals (a team store) make one row per profile
// and day; an error from the sequence stops the review.
func TestAccessReportBuilderProfiles(t *testing.T) {
	path := reportJournal(t)
	b := NewAccessReportBuilder(time.Time{})
	for _, p := range []string{"b", "a"} {
		for e, err := range journal.ReadEntries(path) {
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Add(p, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := b.Report()
	if len(r.Rows) != 6 || r.Rows[0].Profile != "a" || r.Rows[1].Profile != "b" || r.Totals.Approvals != 4 {
		t.Fatalf("%+v", r.Rows)
	}
	bad := journal.Entry{Kind: journal.KindUnlockFailed, Body: []byte(`{"attempt":"x"}`), TS: time.Now(), Line: 7}
	if err := b.Add("a", bad); err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Fatalf("a body of the wrong shape: %v", err)
	}
	if _, err := AccessReport(journal.ReadEntries(filepath.Join(t.TempDir(), "none")), "", time.Time{}); err == nil {
		t.Fatal("no error for a missing journal")
	}
}
