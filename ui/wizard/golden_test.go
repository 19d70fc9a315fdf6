package wizard

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"github.com/qapprove/qapprove/ui/journalview"
)

// goldenStates are the wizard states with a golden file, in the order the
// wizard reaches them; each run drives a fresh wizard up to its state.
var goldenStates = []string{
	"profile",           // step 1 filled in (secret masked)
	"wrong_secret",      // step 1: the sign-in check refused the secret
	"keys",              // step 2: the generated public keys
	"passphrase_weak",   // step 3: a weak passphrase refused, with feedback
	"store",             // step 4: stored and read back
	"register_progress", // step 5 running
	"register_failed",   // step 5 failed: retry / keep / discard
	"backup",            // step 6 with the registration result
	"done",              // the end, backup written
}

// goldenRun is one wizard under teatest against an in-process sandbox.
type goldenRun struct {
	t     *testing.T
	tm    *teatest.TestModel
	host  *journalview.Host
	w     *Wizard
	sb    *sandbox.Server
	url   string
	ws    string
	kid   string
	sec   string
	state string
}

// waitFor polls the rendered frame until it shows s and returns it.
func (g *goldenRun) waitFor(s string) string {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		g.tm.Send(probe{})
		time.Sleep(20 * time.Millisecond)
		if f := g.host.LastFrame(); strings.Contains(f, s) {
			return f
		}
	}
	g.t.Fatalf("screen never showed %q; last frame:\n%s", s, g.host.LastFrame())
	return ""
}

type probe struct{}

func (g *goldenRun) key(code rune) { g.tm.Send(tea.KeyPressMsg{Code: code}) }

func (g *goldenRun) line(s string) {
	g.tm.Type(s)
	g.key(tea.KeyEnter)
}

// drive walks the wizard to g.state and returns the frame to compare.
func (g *goldenRun) drive() string {
	g.waitFor("step 1 of 6: Profile")
	g.line(g.url)
	g.line(g.ws)
	g.line(g.kid)
	if g.state == "wrong_secret" {
		g.line("d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA")
		return g.waitFor("could not sign in")
	}
	g.tm.Type(g.sec)
	f := g.waitFor("API secret    " + strings.Repeat("•", 20))
	if g.state == "profile" {
		return f
	}
	g.key(tea.KeyEnter)
	f = g.waitFor("BLS fingerprint")
	if g.state == "keys" {
		return f
	}
	g.key(tea.KeyEnter)
	g.waitFor("step 3 of 6: Passphrase")
	if g.state == "passphrase_weak" {
		g.line("qwerty12")
		g.line("qwerty12")
		return g.waitFor("too weak")
	}
	g.line(goodPass)
	g.line(goodPass)
	f = g.waitFor("Encrypted, saved and read back")
	if g.state == "store" {
		return f
	}
	switch g.state {
	case "register_progress":
		g.sb.Faults().Set(sandbox.FaultSettings{Latency: 500 * time.Millisecond})
		g.key(tea.KeyEnter)
		f = g.waitFor("Registering the public keys")
		g.sb.Faults().Set(sandbox.FaultSettings{})
		g.waitFor("step 6 of 6: Backup") // let the registration finish
		return f
	case "register_failed":
		g.sb.Faults().Set(sandbox.FaultSettings{ErrorRate: 1})
		g.key(tea.KeyEnter)
		return g.waitFor("NOT registered")
	}
	g.key(tea.KeyEnter)
	f = g.waitFor("step 6 of 6: Backup")
	if g.state == "backup" {
		return f
	}
	// A relative name keeps the frame free of the random temp path; the
	// working dir is restored before the golden file is read.
	wd, err := os.Getwd()
	if err != nil {
		g.t.Fatal(err)
	}
	if err := os.Chdir(g.t.TempDir()); err != nil {
		g.t.Fatal(err)
	}
	defer os.Chdir(wd)
	g.line("backup.json")
	f = g.waitFor("Backup written")
	if _, err := os.Stat("backup.json"); err != nil {
		g.t.Fatalf("the screen says written but: %v", err)
	}
	return f
}

var (
	fingerprintRe = regexp.MustCompile(`[0-9a-f]{4}:[0-9a-f]{4}:[0-9a-f]{4}:[0-9a-f]{4}`)
	hexRe         = regexp.MustCompile(`[0-9a-f]{16,}(…[0-9a-f]+)?`)
	portRe        = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// mask replaces what changes between runs (keys, fingerprints, the port,
// the action ID) by same-width placeholders and trims trailing spaces.
func (g *goldenRun) mask(frame string) string {
	same := func(s string) string { return strings.Repeat("x", len([]rune(s))) }
	frame = fingerprintRe.ReplaceAllString(frame, "xxxx:xxxx:xxxx:xxxx")
	frame = hexRe.ReplaceAllStringFunc(frame, same)
	frame = portRe.ReplaceAllString(frame, "127.0.0.1:PORT")
	if id := g.w.reg.ActionID(); id != "" {
		frame = strings.ReplaceAll(frame, id, "<action-id>")
	}
	lines := strings.Split(frame, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// TestGolden drives the wizard under teatest (fixed size, fixed clock,
// ASCII colour profile) against an in-process sandbox into each state and
// compares the masked frame with testdata/TestGolden/<state>_<w>x<h>.golden.
// Regenerate with: go test ./ui/wizard -run TestGolden -update
func TestGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, state := range goldenStates {
			t.Run(fmt.Sprintf("%s_%dx%d", state, size[0], size[1]), func(t *testing.T) {
				e := newTestEnv(t, 7)
				w := New(e.ctx, Options{Registrar: &app.Registration{Paths: e.paths, Profile: "default", Backend: e.be, KDF: secretstest.KDF()}, Profile: "default",
					Where: "file keystore (test)", Warning: "no OS keychain: the key is kept in an encrypted file",
					Timeout: 20 * time.Second})
				t.Cleanup(w.Close)
				h := &journalview.Host{Screen: w, Ctx: e.ctx}
				tm := teatest.NewTestModel(t, h, teatest.WithInitialTermSize(size[0], size[1]),
					teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
				g := &goldenRun{t: t, tm: tm, host: h, w: w, sb: e.sb, url: e.url, ws: e.ws, kid: e.kid, sec: e.sec, state: state}
				frame := g.drive()
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
				golden.RequireEqual(t, []byte(g.mask(frame)))
			})
		}
	}
}
