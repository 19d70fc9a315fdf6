package sink

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink/sinktest"
)

// Two approvers whose journals record different messages for one action
// are a split view; each journal's chain and signatures are verified
// from the store, and an edited stored line is caught.
func TestAuditFlagsSplitViewAndVerifiesChains(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	ctx := context.Background()
	alice, bob := newFixture(t, "alice"), newFixture(t, "bob")
	alice.decide(t, "act-same", "the same message")
	bob.decide(t, "act-same", "the same message")
	alice.decide(t, "act-split", "pay 1 BTC to A")
	bob.decide(t, "act-split", "pay 1 BTC to B")
	for _, fx := range []*fixture{alice, bob} {
		sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg)}})
		if st, _ := sh.Ship(ctx, nil); st[0].Err != "" {
			t.Fatalf("ship %s: %+v", fx.path, st)
		}
	}
	store, err := OpenStore(ctx, pg.DSN, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rep, err := Audit(ctx, store, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Journals) != 2 || len(rep.SplitViews) != 1 {
		t.Fatalf("audit: %+v", rep)
	}
	for _, j := range rep.Journals {
		if !j.Intact || j.Decisions != 2 || j.Signatures < 3 || (j.Profile != "alice" && j.Profile != "bob") {
			t.Fatalf("journal %+v", j)
		}
	}
	sv := rep.SplitViews[0]
	ids := map[string]bool{}
	for _, d := range sv.Decisions {
		ids[d.JournalID] = true
	}
	if sv.ActionID != "act-split" || len(sv.Decisions) != 2 || !ids[alice.j.State().JournalID] || !ids[bob.j.State().JournalID] {
		t.Fatalf("split view = %+v", sv)
	}

	// Edit one stored line (as a database administrator could): its
	// journal is no longer intact.
	c, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `UPDATE journal_entries SET line = convert_to(replace(convert_from(line, 'UTF8'), '"approve"', '"reject"'), 'UTF8') WHERE journal_id = $1 AND seq = 1`, alice.j.State().JournalID); err != nil {
		t.Fatal(err)
	}
	rep, err = Audit(ctx, store, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range rep.Journals {
		if j.JournalID == alice.j.State().JournalID && (j.Intact || j.Problem == nil || j.Problem.Reason != journal.Modified) {
			t.Fatalf("edited journal reported as %+v", j)
		}
		if j.JournalID == bob.j.State().JournalID && !j.Intact {
			t.Fatalf("untouched journal reported as %+v", j)
		}
	}
}
