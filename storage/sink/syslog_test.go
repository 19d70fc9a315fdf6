package sink

import (
	"context"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/sink/sinktest"
)

func newSyslog(t *testing.T, r *sinktest.Rsyslog) *Syslog {
	t.Helper()
	s, err := NewSyslog(SyslogConfig{Address: r.Addr, CAFile: r.Certs.CAFile, Hostname: "desk-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Every journal line reaches rsyslog over TLS byte for byte, in order,
// with its seq, hash, kind and action in the structured data.
func TestSyslogEntriesArriveByteExact(t *testing.T) {
	r := sinktest.StartRsyslog(t)
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 3)
	fx.decide(t, `act-"quoted]\`, "odd id")
	sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: newSyslog(t, r), Required: true}})
	st, err := sh.Ship(context.Background(), nil)
	if err != nil || st[0].Err != "" {
		t.Fatalf("ship: %v %+v", err, st)
	}
	recs := fx.records(t)
	got := r.WaitLines(t, len(recs))
	if len(got) != len(recs) || st[0].Shipped != uint64(len(recs)) {
		t.Fatalf("received %d lines, shipped %d, journal has %d", len(got), st[0].Shipped, len(recs))
	}
	for i, rec := range recs {
		// rsyslog writes the whole RFC 5424 message back as it was sent.
		if want := string(Message("desk-1", rec)); got[i] != want {
			t.Fatalf("line %d arrived as\n%q\nwant\n%q", i, got[i], want)
		}
		if !strings.HasSuffix(got[i], "] "+string(rec.Line)) {
			t.Fatalf("line %d: the journal line is not the exact message: %q", i, got[i])
		}
		if !strings.Contains(got[i], ` hash="`+rec.Hash+`"`) || !strings.Contains(got[i], ` desk-1 qapprove - `+string(rec.Kind)+` `) {
			t.Fatalf("line %d lacks its hash or header: %q", i, got[i])
		}
	}
	if !strings.Contains(got[len(got)-2], `action="act-\"quoted\]\\"`) {
		t.Fatalf("the action ID is not escaped as RFC 5424 asks: %q", got[len(got)-2])
	}
	// Nothing pending: a second pass sends nothing.
	if _, err := sh.Ship(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	fx.decideN(t, 10, 1)
	if _, err := sh.Ship(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := r.WaitLines(t, len(recs)+2); len(got) != len(recs)+2 {
		t.Fatalf("after one more decision rsyslog has %d lines, want %d", len(got), len(recs)+2)
	}
}

// While rsyslog is down the lines stay pending; after it restarts they
// all arrive, in order, once each.
func TestSyslogReceiverDownThenBack(t *testing.T) {
	r := sinktest.StartRsyslog(t)
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 2)
	sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: newSyslog(t, r), Required: true}})
	if st, _ := sh.Ship(context.Background(), nil); st[0].Err != "" {
		t.Fatalf("ship: %+v", st)
	}
	before := len(fx.records(t))
	r.WaitLines(t, before)
	r.Stop(t)
	fx.decideN(t, 3, 3)
	st, err := sh.Ship(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Err == "" || st[0].Shipped != uint64(before) {
		t.Fatalf("with rsyslog down: %+v, want an error and %d shipped", st[0], before)
	}
	head := fx.j.State().Seq
	if lag, name := sh.Lag(head); lag != head+1-uint64(before) || name != "syslog" {
		t.Fatalf("lag = %d (%s), want %d", lag, name, head+1-uint64(before))
	}
	r.Start(t)
	if st, _ := sh.Ship(context.Background(), nil); st[0].Err != "" {
		t.Fatalf("ship after restart: %+v", st)
	}
	recs := fx.records(t)
	got := r.WaitLines(t, len(recs))
	if len(got) != len(recs) {
		t.Fatalf("rsyslog holds %d lines, the journal %d: lost or duplicated", len(got), len(recs))
	}
	for i, rec := range recs {
		if !strings.HasSuffix(got[i], "] "+string(rec.Line)) {
			t.Fatalf("line %d out of order or changed: %q", i, got[i])
		}
	}
	if lag, _ := sh.Lag(fx.j.State().Seq); lag != 0 {
		t.Fatalf("lag after catching up = %d", lag)
	}
}

// Structured-data values escape ", \ and ] and replace control bytes.
func TestSDParamEscapes(t *testing.T) {
	got := string(sdParam(nil, "action", "a\"b\\c]d\x01e\xff"))
	if want := ` action="a\"b\\c\]d` + "\uFFFD" + "e\uFFFD" + `"`; got != want {
		t.Fatalf("sdParam = %q, want %q", got, want)
	}
	if s := string(Message("host name", Record{Kind: journal.KindDecision, Line: []byte("{}")})); !strings.HasPrefix(s, "<109>1 ") || !strings.Contains(s, " hostname qapprove - decision [qapprove@32473 ") {
		t.Fatalf("message header = %q", s)
	}
}

// The receiver's certificate is checked: another CA or another name is
// refused and nothing counts as shipped. A receiver that asks for a
// client certificate gets the configured one, and refuses a client
// without one without the refused lines being taken as delivered.
func TestSyslogCertificateChecks(t *testing.T) {
	r := sinktest.StartRsyslogAuth(t, "x509/certvalid")
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 1)
	other := sinktest.MakeCerts(t, t.TempDir())
	for name, cfg := range map[string]SyslogConfig{
		"another CA":            {Address: r.Addr, CAFile: other.CAFile, CertFile: r.Certs.CertFile, KeyFile: r.Certs.KeyFile},
		"another name":          {Address: r.Addr, CAFile: r.Certs.CAFile, ServerName: "siem.example", CertFile: r.Certs.CertFile, KeyFile: r.Certs.KeyFile},
		"no client certificate": {Address: r.Addr, CAFile: r.Certs.CAFile},
	} {
		s, err := NewSyslog(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Send(context.Background(), fx.records(t))
		if err == nil || n != 0 {
			t.Fatalf("%s: sent %d, err %v", name, n, err)
		}
		_ = s.Close()
	}
	s, err := NewSyslog(SyslogConfig{Address: r.Addr, CAFile: r.Certs.CAFile, CertFile: r.Certs.CertFile, KeyFile: r.Certs.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sh := NewShipper(fx.path, fx.cursors, []Target{{Sink: s}})
	if st, _ := sh.Ship(context.Background(), nil); st[0].Err != "" {
		t.Fatalf("ship with the client certificate: %+v", st)
	}
	if got := r.WaitLines(t, 3); len(got) != 3 {
		t.Fatalf("received %d lines, want 3", len(got))
	}
}
