package sink

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink/sinktest"
)

func newPostgres(t *testing.T, pg *sinktest.Postgres) *Postgres {
	t.Helper()
	p, err := NewPostgres(PostgresConfig{DSN: pg.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// storedLines returns the stored lines of journal jid in seq order.
func storedLines(t *testing.T, pg *sinktest.Postgres, jid string) []string {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT seq, line FROM journal_entries WHERE journal_id = $1 ORDER BY seq`, jid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var seq int64
		var line []byte
		if err := rows.Scan(&seq, &line); err != nil {
			t.Fatal(err)
		}
		if seq != int64(len(out)) {
			t.Fatalf("stored seqs skip or repeat: %d after %d lines", seq, len(out))
		}
		out = append(out, string(line))
	}
	return out
}

func assertStored(t *testing.T, pg *sinktest.Postgres, fx *fixture) {
	t.Helper()
	want := fx.lines(t)
	got := storedLines(t, pg, fx.j.State().JournalID)
	if len(got) != len(want) {
		t.Fatalf("the store holds %d lines, the journal %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d stored as %q, want %q", i, got[i], want[i])
		}
	}
}

// Every line reaches the team store byte for byte; shipping again (a lost
// cursor) stores nothing twice; the schema is versioned.
func TestPostgresEntriesStoredByteExactAndIdempotent(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 3)
	fx.decide(t, "act-\u202eodd\"id", "hostile id")
	sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg), Required: true}})
	if st, err := sh.Ship(context.Background(), nil); err != nil || st[0].Err != "" {
		t.Fatalf("ship: %v %+v", err, st)
	}
	assertStored(t, pg, fx)
	// Forget the cursor: everything is sent again and stored once.
	if err := os.RemoveAll(fx.cursors); err != nil {
		t.Fatal(err)
	}
	sh2 := NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg), Required: true}})
	if st, err := sh2.Ship(context.Background(), nil); err != nil || st[0].Err != "" {
		t.Fatalf("ship again: %v %+v", err, st)
	}
	assertStored(t, pg, fx)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v int
	if err := c.QueryRow(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion() || v < 1 {
		t.Fatalf("schema_version = %d (%v), want %d", v, err, SchemaVersion())
	}
}

// While PostgreSQL is down the lines stay pending; after it restarts they
// all arrive, in order, once each.
func TestPostgresDownThenBack(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 2)
	sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg), Required: true}})
	if st, _ := sh.Ship(context.Background(), nil); st[0].Err != "" {
		t.Fatalf("ship: %+v", st)
	}
	shipped := uint64(len(fx.lines(t)))
	pg.Stop(t)
	fx.decideN(t, 3, 4)
	st, err := sh.Ship(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Err == "" || st[0].Shipped != shipped {
		t.Fatalf("with postgres down: %+v, want an error and %d shipped", st[0], shipped)
	}
	pg.Start(t)
	if st, _ := sh.Ship(context.Background(), nil); st[0].Err != "" {
		t.Fatalf("ship after restart: %+v", st)
	}
	assertStored(t, pg, fx)
}

// A journal rolled back and rewritten after it was shipped is refused by
// the store (a different line at a stored seq), and caught by Compare.
func TestPostgresCatchesRollback(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 2)
	old, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	fx.decideN(t, 3, 2)
	sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg)}})
	if st, _ := sh.Ship(context.Background(), nil); st[0].Err != "" {
		t.Fatalf("ship: %+v", st)
	}
	ctx := context.Background()
	store, err := OpenStore(ctx, pg.DSN, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if c, err := Compare(ctx, store, fx.path); err != nil || c.RolledBack {
		t.Fatalf("compare before the rollback: %+v %v", c, err)
	}
	// Roll the file back to the older copy: the store is 4 lines ahead.
	if err := os.WriteFile(fx.path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Compare(ctx, store, fx.path)
	if err != nil || !c.RolledBack || c.Ahead != 4 || c.Mismatch != nil {
		t.Fatalf("compare after the rollback: %+v %v", c, err)
	}
	// Then write new lines where the old ones were: a different line at a
	// shipped seq.
	fx.j.Close()
	fx.reopen(t)
	fx.decide(t, "act-9999", "another story")
	c, err = Compare(ctx, store, fx.path)
	if err != nil || !c.RolledBack || c.Mismatch == nil || *c.Mismatch != 5 {
		t.Fatalf("compare after the rewrite: %+v %v", c, err)
	}
	// The shipper refuses to go on: its cursor no longer fits the file,
	// and a fresh cursor meets the stored line.
	if st, _ := sh.Ship(ctx, nil); !st[0].Conflict || !errors.Is(st[0].Cause, ErrDiverged) {
		t.Fatalf("ship over the rewritten journal: %+v", st[0])
	}
	_ = os.RemoveAll(fx.cursors)
	sh = NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg)}})
	if st, _ := sh.Ship(ctx, nil); !st[0].Conflict || st[0].Shipped != 5 {
		t.Fatalf("fresh ship over the rewritten journal: %+v", st[0])
	}
}

// A journal replaced by a new one under the same key (deleted with its
// anchor, then started again) is named against the store.
func TestCompareNamesAReplacedJournal(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	ctx := context.Background()
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 1)
	if st, _ := NewShipper(fx.path, fx.cursors, []Target{{Sink: newPostgres(t, pg)}}).Ship(ctx, nil); st[0].Err != "" {
		t.Fatalf("ship: %+v", st)
	}
	old := fx.j.State().JournalID
	fx.j.Close()
	if err := os.Remove(fx.path); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Create(fx.path, fx.signer, journal.Options{Profile: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	fx.j = j
	store, err := OpenStore(ctx, pg.DSN, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c, err := Compare(ctx, store, fx.path)
	if !errors.Is(err, ErrNotShipped) || c == nil || len(c.Others) != 1 || c.Others[0] != old || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("compare of the new journal: %+v %v", c, err)
	}
}
