package app

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink/sinktest"
)

// withSinks adds a [sinks] table naming pg (and rs, when not nil) to the
// config at paths.
func withSinks(t *testing.T, paths storage.Paths, pg *sinktest.Postgres, rs *sinktest.Rsyslog, require bool) {
	t.Helper()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sinks = storage.Sinks{RequireSink: require, Postgres: &storage.PostgresSink{DSN: pg.DSN}}
	if rs != nil {
		cfg.Sinks.Syslog = &storage.SyslogSink{Address: rs.Addr, CAFile: rs.Certs.CAFile}
	}
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
}

// rejectable returns the IDs of the pending actions the rules reject (a
// reject needs no reason and no strong confirmation).
func rejectable(t *testing.T, e *Engine, n int) []string {
	t.Helper()
	var ids []string
	for _, it := range e.Pending() {
		if it.Verdict.Level == VerdictReject {
			ids = append(ids, it.Action.ID)
		}
	}
	if len(ids) < n {
		t.Fatalf("%d pending actions with a reject verdict, want %d", len(ids), n)
	}
	return ids[:n]
}

// assertStoreHoldsJournal checks that the team store holds exactly the
// journal's lines, in order, once each.
func assertStoreHoldsJournal(t *testing.T, pg *sinktest.Postgres, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT seq, line FROM journal_entries ORDER BY journal_id, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var seq int64
		var line []byte
		if err := rows.Scan(&seq, &line); err != nil {
			t.Fatal(err)
		}
		if seq != int64(len(got)) {
			t.Fatalf("stored seq %d after %d lines: lost or duplicated", seq, len(got))
		}
		got = append(got, string(line))
	}
	if len(got) != len(want) {
		t.Fatalf("the store holds %d lines, the journal %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d differs in the store", i)
		}
	}
}

// Under require_sink no decision is signed while the team store is
// down; the refusal names ErrSinkBehind, nothing is journaled for it, and
// once the store is back the decision goes through and every entry
// arrives in order, once.
func TestRequireSinkRefusesWhileTheStoreIsDown(t *testing.T) {
	_, paths := setup(t)
	pg := sinktest.StartPostgres(t)
	withSinks(t, paths, pg, nil, true)
	e := open(t, paths)
	connect(t, e)
	ctx := context.Background()
	ids := rejectable(t, e, 2)
	if _, err := e.Decide(ctx, Decision{ActionID: ids[0]}); err != nil {
		t.Fatalf("decide with the store up: %v", err)
	}
	pg.Stop(t)
	before := e.jr.State().Seq
	out, err := e.Decide(ctx, Decision{ActionID: ids[1]})
	if !errors.Is(err, ErrSinkBehind) || out.Result != ResultRefused {
		t.Fatalf("decide with the store down: %+v %v", out, err)
	}
	if e.jr.State().Seq != before {
		t.Fatal("a refused decision was journaled")
	}
	if st := e.sinkState(); st.Level != SinksDown || !st.Blocking {
		t.Fatalf("sink state = %+v, want down and blocking", st)
	}
	pg.Start(t)
	if _, err := e.Decide(ctx, Decision{ActionID: ids[1]}); err != nil {
		t.Fatalf("decide after the store came back: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	assertStoreHoldsJournal(t, pg, paths.JournalFile("p"))
}

// Without require_sink decisions go on while the receivers are down:
// they are journaled and wait in the journal; everything arrives at both
// the team store and the SIEM when they are back, in order, once.
func TestSinkDownDecisionsAreSpooled(t *testing.T) {
	_, paths := setup(t)
	pg, rs := sinktest.StartPostgres(t), sinktest.StartRsyslog(t)
	withSinks(t, paths, pg, rs, false)
	e := open(t, paths)
	connect(t, e)
	ctx := context.Background()
	pg.Stop(t)
	rs.Stop(t)
	for _, id := range rejectable(t, e, 2) {
		if _, err := e.Decide(ctx, Decision{ActionID: id}); err != nil {
			t.Fatalf("decide with the store down: %v", err)
		}
	}
	if st := e.shipNow(ctx, sinkGateLimit); st.Level != SinksDown || st.Behind == 0 || st.Blocking {
		t.Fatalf("sink state = %+v, want down, behind, not blocking", st)
	}
	rep, err := journal.Verify(paths.JournalFile("p"), journal.VerifyOptions{})
	if err != nil || rep.Decisions != 2 {
		t.Fatalf("journal: %v %+v", err, rep)
	}
	pg.Start(t)
	rs.Start(t)
	if st := e.shipNow(ctx, sinkGateLimit); st.Level != SinksOK || st.Behind != 0 {
		t.Fatalf("sink state after restart = %+v", st)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	assertStoreHoldsJournal(t, pg, paths.JournalFile("p"))
	b, err := os.ReadFile(paths.JournalFile("p"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	got := rs.WaitLines(t, len(want))
	if len(got) != len(want) {
		t.Fatalf("rsyslog holds %d lines, the journal %d", len(got), len(want))
	}
	for i := range want {
		if !strings.HasSuffix(got[i], "] "+want[i]) {
			t.Fatalf("rsyslog line %d is not journal line %d: %q", i, i, got[i])
		}
	}
}

// waitSinkState reads e's events until a SinkState satisfies ok.
func waitSinkState(t *testing.T, e *Engine, what string, ok func(SinkState) bool) SinkState {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev := <-e.Subscribe():
			if st, is := ev.(SinkState); is && ok(st) {
				return st
			}
		case <-timeout:
			t.Fatalf("no SinkState event: %s", what)
		}
	}
}

// Started, the engine ships in the background and reports the sinks for
// the header: ok once everything is out, down when the store goes away
// and a decision waits, ok again when it is back.
func TestBackgroundShippingReportsSinkState(t *testing.T) {
	_, paths := setup(t)
	pg := sinktest.StartPostgres(t)
	withSinks(t, paths, pg, nil, false)
	e := open(t, paths)
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Start(ctx)
	connect(t, e)
	waitSinkState(t, e, "ok after start", func(s SinkState) bool { return s.Level == SinksOK })
	pg.Stop(t)
	if _, err := e.Decide(ctx, Decision{ActionID: rejectable(t, e, 1)[0]}); err != nil {
		t.Fatal(err)
	}
	st := waitSinkState(t, e, "down while the store is stopped", func(s SinkState) bool { return s.Level == SinksDown })
	if st.Sink != "postgres" || st.Reason == "" || st.Behind == 0 || st.Blocking {
		t.Fatalf("down state = %+v", st)
	}
	pg.Start(t)
	waitSinkState(t, e, "ok after the store came back", func(s SinkState) bool { return s.Level == SinksOK && s.Behind == 0 })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	assertStoreHoldsJournal(t, pg, paths.JournalFile("p"))
}
