package ui

import (
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app/apptest"
	"github.com/qapprove/qapprove/ui/internal/uitest"
)

const benchN = 100_000

// benchModel is a model holding n sample actions, sorted, at 120x40.
func benchModel(b *testing.B, n int) (*Model, *testClock) {
	b.Helper()
	c := newClock()
	fb := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now, Unlocked: true})
	m := New(fb, Options{Now: c.Now})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	cmd := m.pending.load(apptest.SampleItems(n, base), false)
	if cmd != nil {
		m.Update(cmd())
	}
	if m.pending.Len() != n {
		b.Fatalf("len = %d", m.pending.Len())
	}
	return m, c
}

// reportMedian adds the median duration of samples as "median-ms".
func reportMedian(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "median-ms")
}

// BenchmarkView100k: one full-screen View() with 100,000 actions.
func BenchmarkView100k(b *testing.B) {
	m, c := benchModel(b, benchN)
	samples := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.Advance(time.Second) // countdowns change: no stale cache helps
		t0 := time.Now()
		_ = m.View()
		samples = append(samples, time.Since(t0))
	}
	reportMedian(b, samples)
}

// BenchmarkCursorMoveView100k: one `j` key press plus View().
func BenchmarkCursorMoveView100k(b *testing.B) {
	m, _ := benchModel(b, benchN)
	down := uitest.Key("j")
	samples := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		m.Update(down)
		_ = m.View()
		samples = append(samples, time.Since(t0))
	}
	reportMedian(b, samples)
}

// BenchmarkFilterKeystroke100k: the work of one filter keystroke at 100k
// (snapshot in Update + the filter job + applying the result).
func BenchmarkFilterKeystroke100k(b *testing.B) {
	m, _ := benchModel(b, benchN)
	p := m.pending
	queries := []string{"e", "et", "eth", "ethe", "ether", "ethereum s", "sepolia", "0x00000000000000000000000000000000000003"}
	samples := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := queries[i%len(queries)]
		t0 := time.Now()
		p.gen++
		p.wantQuery = q
		res := p.launch(false)()
		p.Update(res)
		samples = append(samples, time.Since(t0))
		if p.Query() != q {
			b.Fatal("result not applied")
		}
	}
	reportMedian(b, samples)
}

// BenchmarkSort100k: re-sorting 100k actions (runs in a Cmd).
func BenchmarkSort100k(b *testing.B) {
	m, _ := benchModel(b, benchN)
	rows := slices.Clone(m.pending.rows.sorted)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = sortRows(rows, (i%3)+1)
	}
}

// BenchmarkMemory100k reports the heap the model adds on top of 100k
// actions (its rows, index and slices). The sample actions themselves are
// not representative of the console — they keep their raw payloads and
// share no strings — so the console's resident memory is measured on the
// real engine by `make bench-memory` instead (docs/BENCHMARKS.md).
func BenchmarkMemory100k(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var m0, m1, m2 runtime.MemStats
		runtime.ReadMemStats(&m0)
		its := apptest.SampleItems(benchN, base)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		c := newClock()
		fb := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now, Unlocked: true})
		m := New(fb, Options{Now: c.Now})
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		if cmd := m.pending.load(its, false); cmd != nil {
			m.Update(cmd())
		}
		_ = m.View()
		runtime.GC()
		runtime.ReadMemStats(&m2)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), "sample-items-MB")
		b.ReportMetric((float64(m2.HeapAlloc)-float64(m1.HeapAlloc))/(1<<20), "model-MB")
		runtime.KeepAlive(m)
	}
}

// BenchmarkFirstFrame100k: from New with 100k actions to the first frame
// (load, sort, first View).
func BenchmarkFirstFrame100k(b *testing.B) {
	its := apptest.SampleItems(benchN, base)
	b.ResetTimer()
	for b.Loop() {
		c := newClock()
		fb := apptest.NewFakeBackend(apptest.FakeOptions{Now: c.Now, Unlocked: true})
		m := New(fb, Options{Now: c.Now})
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		cmd := m.pending.load(its, false)
		_ = m.View() // the unsorted list is on screen at once
		if cmd != nil {
			m.Update(cmd())
		}
		_ = m.View()
	}
}

// BenchmarkFilterFresh100k: worst case, every keystroke filters all 100k
// (the new query never narrows the previous one).
func BenchmarkFilterFresh100k(b *testing.B) {
	m, _ := benchModel(b, benchN)
	p := m.pending
	queries := []string{"sepolia", "usdc", "cold storage", "act-0009"}
	samples := make([]time.Duration, 0, 1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := queries[i%len(queries)]
		t0 := time.Now()
		p.gen++
		p.wantQuery = q
		p.Update(p.launch(false)())
		samples = append(samples, time.Since(t0))
	}
	reportMedian(b, samples)
}

// BenchmarkFilterOpen100k: opening the filter (/) builds every row's
// filter text in the background (they are dropped when the filter is
// cleared, to keep an unfiltered list small); then the first keystroke.
func BenchmarkFilterOpen100k(b *testing.B) {
	m, _ := benchModel(b, benchN)
	p := m.pending
	warm := make([]time.Duration, 0, 64)
	first := make([]time.Duration, 0, 64)
	b.ResetTimer()
	for b.Loop() {
		p.rows.dropSearch()
		t0 := time.Now()
		warmSearch(p.rows.sorted)()
		warm = append(warm, time.Since(t0))
		t1 := time.Now()
		p.gen++
		p.wantQuery = "e"
		p.Update(p.launch(false)())
		first = append(first, time.Since(t1))
	}
	slices.Sort(warm)
	b.ReportMetric(float64(warm[len(warm)/2].Microseconds())/1000, "warm-median-ms")
	reportMedian(b, first)
}
