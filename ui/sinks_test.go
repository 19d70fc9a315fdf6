package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/app/apptest"
)

// The header says when the key is also wrapped by a KMS or an HSM.
func TestHeaderShowsWrap(t *testing.T) {
	c := newClock()
	b := apptest.NewFakeBackend(apptest.FakeOptions{Info: app.Info{Profile: "default", Workspace: "ws-test", Keystore: "file", Wrap: "KMS"}, Now: c.Now})
	f := fixtureOn(t, c, b, Options{Now: c.Now, NoColor: true})
	f.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	if h := strings.SplitN(f.screen(), "\n", 2)[0]; !strings.Contains(h, "keystore: file + KMS") {
		t.Fatalf("header does not name the wrap: %q", h)
	}
}

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
