package app_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"github.com/qapprove/qapprove/ui"
)

// BenchmarkConsole100k measures the console on the real engine with
// 100,000 pending actions loaded from a local sandbox: the time from
// opening the engine to the first rendered frame (with the list loaded
// from the on-disk cache), View() per frame, and the memory held.
func BenchmarkConsole100k(b *testing.B) {
	const n = 100_000
	// Not every generated action is visible to this key (policy
	// membership), so generate more than n.
	srv, base := sandboxtest.Start(b, sandbox.Options{ExtraActions: n * 6 / 5, RateLimit: 1_000_000})
	paths := storage.ResolvePaths(b.TempDir())
	registerForBench(b, srv, base, paths)

	// Load once from the API, which also writes the cache.
	e, err := app.Open(app.Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e.Prepare()
	if err := e.Unlock(benchPass); err != nil {
		b.Fatal(err)
	}
	if err := e.SignIn(ctx); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := e.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms-load-from-API")
	if got := len(e.Pending()); got < n {
		b.Fatalf("only %d pending", got)
	} else {
		b.ReportMetric(float64(got), "actions")
	}
	e.Close()

	// First frame after a restart: engine open + model + one View; the
	// cached list arrives in the background.
	var first time.Duration
	var e2 *app.Engine
	for i := 0; i < b.N; i++ {
		t1 := time.Now()
		e2, err = app.Open(app.Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF()})
		if err != nil {
			b.Fatal(err)
		}
		e2.Start(ctx)
		m := ui.New(e2, ui.Options{NoColor: true, Context: ctx})
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		if !strings.Contains(m.Render(), "qapprove") {
			b.Fatal("first frame has no header")
		}
		first += time.Since(t1)
		if i < b.N-1 {
			e2.Close()
		}
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1000, "ms-first-frame")

	// The cached list arrives in the background; then measure View and
	// memory with the whole list in the model.
	deadline := time.Now().Add(60 * time.Second)
	for len(e2.Pending()) < n {
		if time.Now().After(deadline) {
			b.Fatal("cache never loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := ui.New(e2, ui.Options{NoColor: true, Context: ctx, InitialItems: e2.Pending()})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	if !strings.Contains(ansi.Strip(m.Render()), "Pending") {
		b.Fatalf("no list:\n%s", m.Render())
	}
	t2 := time.Now()
	const frames = 200
	for range frames {
		m.Render()
	}
	b.ReportMetric(float64(time.Since(t2).Microseconds())/frames/1000, "ms-view")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
	b.ReportMetric(rssMiB(), "MiB-rss")
	if p := os.Getenv("QAPPROVE_HEAPPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := errors.Join(pprof.WriteHeapProfile(f), f.Close()); err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(m)
	e2.Close()
}

// benchPass is the passphrase of the benchmark's key.
var benchPass = []byte("correct horse battery staple 42")

func registerForBench(b *testing.B, srv *sandbox.Server, base string, paths storage.Paths) {
	wid, kid, secret := srv.Credentials()
	prof := storage.Profile{APIBaseURL: base, WorkspaceID: wid, APIKeyID: kid}
	if err := storage.SaveConfig(paths.ConfigFile(), &storage.Config{Profiles: map[string]storage.Profile{"p": prof}}); err != nil {
		b.Fatal(err)
	}
	r := &app.Registration{Paths: paths, Profile: "p", Settings: prof, Backend: secrets.NewFileBackend(paths), KDF: secretstest.KDF()}
	defer r.Close()
	r.SetAPISecret([]byte(secret))
	ctx := context.Background()
	if err := r.GenerateKeys(); err != nil {
		b.Fatal(err)
	}
	if err := r.Store(benchPass); err != nil {
		b.Fatal(err)
	}
	if err := r.Register(ctx); err != nil {
		b.Fatal(err)
	}
}

// rssMiB is the resident set size of this process (Linux), 0 elsewhere.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
