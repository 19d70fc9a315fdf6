package ui

import (
	"strings"
	"testing"

	"github.com/qapprove/qapprove/app"
)

// The header shows the journal's sinks only when some are configured:
// ok, behind n, down (with a note saying why), and when require_sink
// pauses signing.
func TestHeaderShowsSinkState(t *testing.T) {
	f := newFixture(t, items(2), true)
	header := func() string { return strings.SplitN(f.screen(), "\n", 2)[0] }
	if h := header(); strings.Contains(h, "sinks") {
		t.Fatalf("header shows sinks with none configured: %q", h)
	}
	f.send(eventMsg{app.SinkState{Level: app.SinksOK}})
	if h := header(); !strings.Contains(h, "sinks ok") {
		t.Fatalf("header lacks sinks ok: %q", h)
	}
	f.send(eventMsg{app.SinkState{Level: app.SinksBehind, Behind: 3, Sink: "postgres"}})
	if h := header(); !strings.Contains(h, "sinks behind 3") {
		t.Fatalf("header lacks sinks behind 3: %q", h)
	}
	f.send(eventMsg{app.SinkState{Level: app.SinksDown, Behind: 4, Sink: "syslog", Reason: "connection refused\x1b[31m", Blocking: true}})
	if h := header(); !strings.Contains(h, "sinks down") || !strings.Contains(h, "paused") {
		t.Fatalf("header lacks sinks down and paused: %q", h)
	}
	f.mustShow("Journal sink syslog down: connection refused")
	f.mustNotShow("\x1b[31m")
}
