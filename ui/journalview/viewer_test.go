package journalview

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

func TestIndexCountsLinesAndTornTail(t *testing.T) {
	path, _ := writeJournal(t, 5)
	ix, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	// genesis + 5×(decision, outcome) + checkpoint
	if ix.Len() != 12 || ix.TornBytes() != 0 {
		t.Fatalf("len %d torn %d", ix.Len(), ix.TornBytes())
	}
	b, _ := ix.Line(0)
	if !strings.Contains(string(b), `"kind":"genesis"`) {
		t.Fatalf("line 1 = %s", b)
	}
	ix.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if _, err := f.WriteString(`{"v":1,"seq":`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ix, err = OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Len() != 12 || ix.TornBytes() != 13 {
		t.Fatalf("with torn tail: len %d torn %d", ix.Len(), ix.TornBytes())
	}
}

func TestViewerNewestFirstFilterAndVerify(t *testing.T) {
	path, s := writeJournal(t, 6)
	pk := s.PublicKey()
	v := New(testContext(), Options{Path: path, ExpectedPublicKey: &pk})
	defer v.Close()
	v.SetSize(120, 40)
	var scr = drive(v, nil)
	if cmd := v.Init(); cmd != nil {
		scr = drive(scr, cmd())
	}
	view := ansi.Strip(v.View())
	if !strings.Contains(view, "intact ✓ 14 entries") {
		t.Fatalf("verification not shown:\n%s", view)
	}
	first := strings.Index(view, "checkpoint")
	genesis := strings.Index(view, "genesis")
	if first < 0 || genesis < 0 || first > genesis {
		t.Fatalf("not newest first:\n%s", view)
	}
	for _, m := range append([]tea.Msg{uitest.Key("/")}, uitest.Type("kind:decision verdict:reject")...) {
		scr = drive(scr, m)
	}
	scr = drive(scr, uitest.Key("enter"))
	if v.Visible() != 2 {
		t.Fatalf("filter kept %d rows, want 2 (act-0002, act-0005)", v.Visible())
	}
	if got := v.row(v.lineAt(0)).Action; got != "act-0005" {
		t.Fatalf("first filtered row %q", got)
	}
	for _, m := range uitest.Type("ACT-0001") {
		scr = drive(scr, m)
	}
	_ = scr
}

func TestViewerReportsFirstBadLine(t *testing.T) {
	path, _ := writeJournal(t, 4)
	tamper(t, path, 4)
	v := New(testContext(), Options{Path: path})
	defer v.Close()
	v.SetSize(80, 24)
	scr := drive(v, v.Init()())
	rep, err := v.Report()
	if err != nil || rep == nil || rep.Problem == nil {
		t.Fatalf("tampering not found: %v %+v", err, rep)
	}
	view := ansi.Strip(v.View())
	if !strings.Contains(view, fmt.Sprintf("TAMPERED at line %d", rep.Problem.Line)) {
		t.Fatalf("header does not name the bad line:\n%s", view)
	}
	drive(scr, uitest.Key("b"))
	if got := v.lineAt(v.cursor) + 1; got != rep.Problem.Line {
		t.Fatalf("b went to line %d, want %d", got, rep.Problem.Line)
	}
}

// A journal whose anchor is gone is not shown as intact when the keystore
// that should hold it was read.
func TestViewerReportsMissingAnchor(t *testing.T) {
	path, _ := writeJournal(t, 4)
	v := New(testContext(), Options{Path: path, RequireAnchor: true,
		LoadAnchor: func() (*journal.Anchor, error) { return nil, nil }})
	defer v.Close()
	v.SetSize(80, 24)
	drive(v, v.Init()())
	rep, err := v.Report()
	if err != nil || rep == nil || rep.Problem == nil || rep.Problem.Reason != journal.Unanchored {
		t.Fatalf("missing anchor not reported: %v %+v", err, rep)
	}
	if view := ansi.Strip(v.View()); !strings.Contains(view, "TAMPERED") {
		t.Fatalf("header does not say tampered:\n%s", view)
	}
}

func TestExportJSONAndCSV(t *testing.T) {
	path, _ := writeJournal(t, 3)
	dir := t.TempDir()
	v := New(testContext(), Options{Path: path, NoVerify: true})
	defer v.Close()
	v.SetSize(80, 24)
	var scr = drive(v, uitest.Key("/"))
	for _, m := range uitest.Type("kind:outcome") {
		scr = drive(scr, m)
	}
	scr = drive(scr, uitest.Key("enter"))
	for _, name := range []string{"out.json", "out.csv", "out.jsonl"} {
		out := filepath.Join(dir, name)
		scr = drive(scr, uitest.Key("e"))
		for _, m := range uitest.Type(out) {
			scr = drive(scr, m)
		}
		scr = drive(scr, uitest.Key("enter"))
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("%s: %v (viewer says %q)", name, err, v.errNote)
		}
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", name, st.Mode())
		}
		// Oldest first, as the journal and `qapprove journal export`.
		switch name {
		case "out.json":
			var recs []exportRecord
			if err := json.Unmarshal(b, &recs); err != nil || len(recs) != 3 || recs[0].Action != "act-0000" || recs[2].Action != "act-0002" || recs[0].Kind != "outcome" {
				t.Fatalf("json export: %v %+v", err, recs)
			}
		case "out.jsonl":
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			var rec exportRecord
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || len(lines) != 3 || rec.Action != "act-0000" {
				t.Fatalf("jsonl export: %v %q", err, b)
			}
		default:
			rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
			if err != nil || len(rows) != 4 || rows[1][4] != "act-0000" || rows[3][4] != "act-0002" {
				t.Fatalf("csv export: %v %v", err, rows)
			}
		}
		if !strings.Contains(v.note, "exported 3 entries to "+out+", oldest first") {
			t.Fatalf("note %q", v.note)
		}
	}
	// A name whose extension names no format is refused, and nothing is written.
	for _, name := range []string{"j.txt", "journal"} {
		scr = drive(scr, uitest.Key("e"))
		for _, m := range uitest.Type(filepath.Join(dir, name)) {
			scr = drive(scr, m)
		}
		scr = drive(scr, uitest.Key("enter"))
		if !strings.Contains(v.errNote, "end the file name in .json, .jsonl or .csv") {
			t.Fatalf("%s: not refused: note %q err %q", name, v.note, v.errNote)
		}
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s was written", name)
		}
	}
	// Never overwrite.
	scr = drive(scr, uitest.Key("e"))
	for _, m := range uitest.Type(filepath.Join(dir, "out.json")) {
		scr = drive(scr, m)
	}
	drive(scr, uitest.Key("enter"))
	if !strings.Contains(v.errNote, "already exists") {
		t.Fatalf("overwrite not refused: %q", v.errNote)
	}
}

func TestMissingJournal(t *testing.T) {
	v := New(testContext(), Options{Path: filepath.Join(t.TempDir(), "none.jsonl")})
	v.SetSize(80, 24)
	if v.Init() != nil {
		t.Fatal("verification started without a journal")
	}
	if !strings.Contains(ansi.Strip(v.View()), "No journal yet") {
		t.Fatal(v.View())
	}
}

// TestGolden drives the viewer in a real program (teatest) into each state
// at two sizes and compares the frame with testdata/.
func TestGolden(t *testing.T) {
	states := []struct {
		name, wait string
		tamper     bool
		keys       []tea.Msg
	}{
		{name: "list", wait: "intact ✓"},
		{name: "filter", wait: "(4 of 26", keys: append(append([]tea.Msg{uitest.Key("/")}, uitest.Type("verdict:reject")...), uitest.Key("enter"))},
		{name: "detail", wait: "message_sha256", keys: []tea.Msg{uitest.Key("down"), uitest.Key("down"), uitest.Key("enter")}},
		{name: "tampered", wait: "TAMPERED", tamper: true},
		{name: "help", wait: "close help", keys: []tea.Msg{uitest.Key("?")}},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, st := range states {
			t.Run(fmt.Sprintf("%s_%dx%d", st.name, size[0], size[1]), func(t *testing.T) {
				path, _ := writeJournal(t, 12)
				if st.tamper {
					tamper(t, path, 8)
				}
				c := testContext()
				v := New(c, Options{Path: path})
				defer v.Close()
				h := &Host{Screen: v, Ctx: c}
				tm := teatest.NewTestModel(t, h, teatest.WithInitialTermSize(size[0], size[1]),
					teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
				waitFrame(t, h, tm, "Journal")
				waitFrame(t, h, tm, "entries  ") // verification done or not, keys go in order
				waitVerified(t, h, tm)
				for _, k := range st.keys {
					tm.Send(k)
				}
				// The rows are read in commands: wait until none is a
				// placeholder.
				frame := uitest.WaitFor(t, tm, h.LastFrame, func(f string) bool {
					return strings.Contains(f, st.wait) && !strings.Contains(f, "reading…")
				}, 10*time.Second, st.wait)
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
				// The journal ID is random, so hashes and signatures are too.
				golden.RequireEqual(t, []byte(hexRun.ReplaceAllString(frame, "<hex>")))
			})
		}
	}
}

var hexRun = regexp.MustCompile(`[0-9a-f]{16,}…?`)

func waitVerified(t *testing.T, h *Host, tm *teatest.TestModel) {
	t.Helper()
	uitest.WaitFor(t, tm, h.LastFrame, func(f string) bool {
		return strings.Contains(f, "intact") || strings.Contains(f, "TAMPERED") || strings.Contains(f, "could not verify")
	}, 10*time.Second, "verification never finished")
}

func waitFrame(t *testing.T, h *Host, tm *teatest.TestModel, s string) string {
	t.Helper()
	return uitest.WaitFrame(t, tm, h.LastFrame, s, 10*time.Second)
}

// TestViewerFollowsAppends: the console tab picks up entries appended
// while it is open and keeps the selected entry selected.
func TestViewerFollowsAppends(t *testing.T) {
	path, _ := writeJournal(t, 3) // 8 lines
	v := New(testContext(), Options{Path: path, NoVerify: true, Follow: true})
	defer v.Close()
	v.SetSize(120, 40)
	var scr ui.Screen = v
	scr = drive(scr, uitest.Key("down"))
	scr = drive(scr, uitest.Key("down"))
	selected := v.lineAt(v.cursor)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := b[bytes.LastIndexByte(b[:len(b)-1], '\n')+1:]
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{last, last, []byte(`{"v":1,`)} { // then a torn tail, not an entry yet
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	scr = drive(scr, ui.TickMsg{Now: base})
	if v.Len() != 10 {
		t.Fatalf("after the append: %d entries, want 10", v.Len())
	}
	if got := v.lineAt(v.cursor); got != selected {
		t.Fatalf("selection moved from line %d to %d", selected, got)
	}
	if v.ix.TornBytes() != 7 {
		t.Fatalf("torn tail %d", v.ix.TornBytes())
	}
	drive(scr, ui.TickMsg{Now: base})
	if v.Len() != 10 {
		t.Fatalf("a quiet tick changed the count to %d", v.Len())
	}
}

func TestViewerFollowOpensLateJournal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.jsonl")
	v := New(testContext(), Options{Path: path, NoVerify: true, Follow: true})
	defer v.Close()
	v.SetSize(80, 24)
	if !strings.Contains(ansi.Strip(v.View()), "No journal yet") {
		t.Fatalf("missing journal not explained:\n%s", v.View())
	}
	src, _ := writeJournal(t, 1)
	b, _ := os.ReadFile(src)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	drive(v, ui.TickMsg{Now: base})
	if v.Len() != 4 {
		t.Fatalf("late journal: %d entries, want 4", v.Len())
	}
}

func TestVerifyProgressShown(t *testing.T) {
	path, _ := writeJournal(t, 2)
	v := New(testContext(), Options{Path: path, NoVerify: true})
	defer v.Close()
	v.SetSize(120, 40)
	cmd := v.startVerify()
	v.ver.done.Store(50)
	v.ver.total.Store(200)
	if txt, _ := v.verifyText(); !strings.Contains(txt, "verifying… 25%") {
		t.Fatalf("progress not shown: %q", txt)
	}
	drive(v, cmd()) // the real run finishes and replaces the progress
	if txt, _ := v.verifyText(); !strings.Contains(txt, "intact") {
		t.Fatalf("after the run: %q", txt)
	}
}

// TestViewerReadsInCommandsOnly: View draws only the rows the viewer
// holds, Update returns the reads as commands, and a Follow tick indexes
// appended lines only when its command's message arrives.
func TestViewerReadsInCommandsOnly(t *testing.T) {
	path, _ := writeJournal(t, 100) // 202 lines, more than Init reads
	v := New(testContext(), Options{Path: path, NoVerify: true, Follow: true})
	defer v.Close()
	v.SetSize(120, 20)
	if !strings.Contains(ansi.Strip(v.View()), "reading…") {
		t.Fatalf("rows drawn before any read:\n%s", v.View())
	}
	drive(v, v.Init()())
	if view := ansi.Strip(v.View()); strings.Contains(view, "reading…") || !strings.Contains(view, "checkpoint") {
		t.Fatalf("Init's read not drawn:\n%s", view)
	}
	_, cmd := v.Update(uitest.Key("G")) // the oldest entries: not read yet
	if view := ansi.Strip(v.View()); !strings.Contains(view, "reading…") || strings.Contains(view, "genesis") {
		t.Fatalf("View read the file:\n%s", view)
	}
	if cmd == nil {
		t.Fatal("no read command for the new window")
	}
	drive(v, cmd())
	if view := ansi.Strip(v.View()); strings.Contains(view, "reading…") || !strings.Contains(view, "genesis") {
		t.Fatalf("the read window is not drawn:\n%s", view)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b[bytes.LastIndexByte(b[:len(b)-1], '\n')+1:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, cmd = v.Update(ui.TickMsg{Now: base})
	if v.Len() != 202 || cmd == nil {
		t.Fatalf("the tick indexed inside Update (%d entries) or returned no command", v.Len())
	}
	drive(v, cmd())
	if v.Len() != 203 {
		t.Fatalf("after the poll: %d entries, want 203", v.Len())
	}
}
