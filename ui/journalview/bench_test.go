package journalview

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

// bigJournal writes a 1,000,000-line journal by repeating real lines (the
// viewer parses lines; it does not check the chain while scrolling).
func bigJournal(b *testing.B) string {
	src, _ := writeJournal(b, 2)
	ix, err := OpenIndex(src)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	var lines [][]byte
	for i := 1; i < ix.Len()-1; i++ {
		l, _ := ix.Line(i)
		lines = append(lines, append([]byte(nil), l...))
	}
	path := filepath.Join(b.TempDir(), "big.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range 1_000_000 {
		// A bufio.Writer keeps its first error for Flush, checked below.
		_, _ = w.Write(lines[i%len(lines)])
		_ = w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

// BenchmarkOpen1M measures opening (indexing) a 1M-entry journal.
func BenchmarkOpen1M(b *testing.B) {
	path := bigJournal(b)
	b.ResetTimer()
	for b.Loop() {
		v := New(testContext(), Options{Path: path, NoVerify: true})
		if v.Len() != 1_000_000 {
			b.Fatal(v.Len())
		}
		v.Close()
	}
}

// BenchmarkView1M measures one frame at 120x40 while scrolling a page at a
// time through a 1M-entry journal (no row cache hits), with the command
// that reads the page.
func BenchmarkView1M(b *testing.B) {
	path := bigJournal(b)
	v := New(testContext(), Options{Path: path, NoVerify: true})
	defer v.Close()
	v.SetSize(120, 40)
	b.ResetTimer()
	for b.Loop() {
		v.move(v.listHeight())
		drive(v, uitest.Probe{}) // reads the new page in its command
		_ = v.View()
	}
}

// BenchmarkFollowTickQuiet1M measures the console tab's once-a-second
// check for appended entries when nothing changed (one stat).
func BenchmarkFollowTickQuiet1M(b *testing.B) {
	path := bigJournal(b)
	v := New(testContext(), Options{Path: path, NoVerify: true, Follow: true})
	defer v.Close()
	v.SetSize(120, 40)
	b.ResetTimer()
	for b.Loop() {
		drive(v, ui.TickMsg{Now: base})
	}
}

// BenchmarkFilter1M measures a filter (kind and text) over a 1M-entry
// journal, run in the background by the viewer.
func BenchmarkFilter1M(b *testing.B) {
	path := bigJournal(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	q := ParseQuery("kind:decision act-0001")
	b.ResetTimer()
	for b.Loop() {
		rows, err := FilterLines(context.Background(), path, st.Size(), q)
		if err != nil || len(rows) == 0 {
			b.Fatal(len(rows), err)
		}
	}
}
