package journal

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestPermissions(t *testing.T) {
	fx := newFixture(t, 1)
	st, err := os.Stat(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v; want 0600", st.Mode().Perm())
	}
	dst, _ := os.Stat(filepath.Dir(fx.path))
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v; want 0700", dst.Mode().Perm())
	}
}

func TestSecondWriterRefused(t *testing.T) {
	fx := newFixture(t, 1)
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, _, err = Open(fx.path, Options{Anchors: fx.anchors})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), fmt.Sprintf("journal is in use by PID %d", os.Getpid())) {
		t.Fatalf("second Open: %v", err)
	}
	if _, err := Create(fx.path, fx.signer, Options{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("Create while open: %v", err)
	}
}

// TestSecondProcessRefused runs the second writer as another process.
func TestSecondProcessRefused(t *testing.T) {
	if p := os.Getenv("JOURNAL_TEST_OPEN"); p != "" {
		_, _, err := Open(p, Options{})
		fmt.Println("RESULT:", err)
		return
	}
	fx := newFixture(t, 1)
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessRefused$")
	cmd.Env = append(os.Environ(), "JOURNAL_TEST_OPEN="+fx.path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := fmt.Sprintf("RESULT: journal is in use by PID %d", os.Getpid())
	if !bytes.Contains(out, []byte(want)) {
		t.Fatalf("child said %q; want %q", out, want)
	}
}

func TestReopenAndAppend(t *testing.T) {
	fx := newFixture(t, 2)
	n := len(fx.lines(t))
	j, rec, err := Open(fx.path, Options{Anchors: fx.anchors, ExpectedPublicKey: &fx.signer.pk})
	if err != nil || rec != nil {
		t.Fatalf("Open: %v, recovery %v", err, rec)
	}
	e, err := j.AppendSigned(KindDecision, decision(7), fx.signer)
	if err != nil {
		t.Fatal(err)
	}
	if e.Line != n+1 || e.Seq != uint64(n) {
		t.Errorf("entry line %d seq %d; want %d, %d", e.Line, e.Seq, n+1, n)
	}
	if _, err := j.AppendSigned(KindDecision, decision(8), newSigner(t)); err == nil {
		t.Error("a signer with another key was accepted")
	}
	if _, err := j.Append(KindDecision, decision(9)); err == nil {
		t.Error("an unsigned decision was accepted")
	}
	bad := decision(10)
	bad.Verdict = "reject"
	if _, err := j.AppendSigned(KindDecision, bad, fx.signer); err == nil || !strings.Contains(err.Error(), "override") {
		t.Errorf("approve against a reject verdict without override: %v", err)
	}
	bad.Override = "CFO confirmed by phone"
	if _, err := j.AppendSigned(KindDecision, bad, fx.signer); err != nil {
		t.Error(err)
	}
	j.Close()
	if rep := fx.verify(t); !rep.Intact || rep.Decisions != 4 {
		t.Fatalf("after reopen: %+v decisions %d", rep.Problem, rep.Decisions)
	}
}

func TestOpenRefusesForeignKey(t *testing.T) {
	fx := newFixture(t, 1)
	other := newSigner(t)
	_, _, err := Open(fx.path, Options{Anchors: fx.anchors, ExpectedPublicKey: &other.pk})
	if !isReason(err, ForeignKey) {
		t.Fatalf("Open with another expected key: %v", err)
	}
	// The lock was released on failure.
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
}

func TestTornTailRecovered(t *testing.T) {
	fx := newFixture(t, 2)
	ls := fx.lines(t)
	n := len(ls)
	f, err := os.OpenFile(fx.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := []byte(`{"v":1,"seq":` + strconv.Itoa(n) + `,"ts":"2026-01-0`)
	_, err = f.Write(torn)
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	rep := fx.verify(t)
	if !rep.Intact || rep.TornTail == nil || rep.TornTail.Length != int64(len(torn)) {
		t.Fatalf("verify of a torn tail: intact=%v torn=%+v problem=%v", rep.Intact, rep.TornTail, rep.Problem)
	}
	j, rec, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.Cut.Length != int64(len(torn)) || rec.Entry.Kind != KindRecovery || rec.Entry.Line != n+1 {
		t.Fatalf("recovery = %+v", rec)
	}
	j.Close()
	rep = fx.verify(t)
	if !rep.Intact || rep.TornTail != nil || rep.Entries != uint64(n+1) {
		t.Fatalf("after recovery: %+v", rep)
	}
}

func TestTornAnchoredLineIsNotRecovered(t *testing.T) {
	fx := newFixture(t, 2)
	b, _ := os.ReadFile(fx.path)
	if err := os.WriteFile(fx.path, b[:len(b)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(fx.path, Options{Anchors: fx.anchors}); !isReason(err, Truncated) {
		t.Fatalf("Open of a journal cut below its anchor: %v", err)
	}
}

func TestExport(t *testing.T) {
	fx := newFixture(t, 3)
	n := len(fx.lines(t))
	var js bytes.Buffer
	if err := Export(fx.path, &js, "json"); err != nil {
		t.Fatal(err)
	}
	var got []ExportEntry
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("json export does not parse: %v", err)
	}
	if len(got) != n || got[0].Kind != KindGenesis || got[2].Kind != KindDecision || !got[2].Signed {
		t.Fatalf("json export: %d entries, first %+v", len(got), got[0])
	}
	var cs bytes.Buffer
	if err := Export(fx.path, &cs, "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || rows[3][3] != string(KindDecision) || rows[3][5] != "act-0001" || rows[3][6] != "approve" {
		t.Fatalf("csv export rows=%d row3=%v", len(rows), rows[3])
	}
	if err := Export(fx.path, &cs, "xml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=cmd()": "'=cmd()", "act-1": "act-1", "-1": "'-1", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestBackendAnchors(t *testing.T) {
	var stored []byte
	notFound := errors.New("not found")
	s := BackendAnchors(func() ([]byte, error) {
		if stored == nil {
			return nil, notFound
		}
		return stored, nil
	}, func(b []byte) error { stored = append([]byte(nil), b...); return nil },
		func(err error) bool { return errors.Is(err, notFound) })
	if a, err := s.Load(); a != nil || err != nil {
		t.Fatalf("empty store: %v %v", a, err)
	}
	want := Anchor{JournalID: strings.Repeat("ab", 16), Seq: 42, Head: strings.Repeat("cd", 32)}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Load(); err != nil || *a != want {
		t.Fatalf("round trip: %+v %v", a, err)
	}
	stored = []byte(`{"journal_id":"zz","seq":1,"head":"00"}`)
	if _, err := s.Load(); err == nil {
		t.Error("malformed anchor accepted")
	}
}

func TestVerifyReportsProgress(t *testing.T) {
	fx := newFixture(t, 300) // with 2 MiB chunks, several reads
	path := fx.path
	var last, total int64
	calls := 0
	rep, err := Verify(path, VerifyOptions{Progress: func(done, tot int64) {
		if done < last {
			t.Errorf("progress went backwards: %d after %d", done, last)
		}
		last, total = done, tot
		calls++
	}})
	if err != nil || !rep.Intact {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	st, _ := os.Stat(path)
	if calls == 0 || last != st.Size() || total != st.Size() {
		t.Fatalf("progress ended at %d/%d after %d calls, file is %d bytes", last, total, calls, st.Size())
	}
}

// A checkpoint names exactly the lines before it, even while other
// entries are being appended at the same time.
func TestCheckpointUnderConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	s := newSigner(t)
	j, err := Create(filepath.Join(dir, "journal.jsonl"), s, Options{Anchors: FileAnchors(filepath.Join(dir, "anchor.json")), Profile: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var checkpoints []Entry
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 40 {
			if _, err := j.Append(KindLock, LockBody{Reason: "test"}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 40 {
		e, err := j.Checkpoint(s, "test")
		if err != nil {
			t.Fatal(err)
		}
		checkpoints = append(checkpoints, e)
	}
	wg.Wait()
	for _, e := range checkpoints {
		var b CheckpointBody
		if err := json.Unmarshal(e.Body, &b); err != nil {
			t.Fatal(err)
		}
		if b.Entries != uint64(e.Line-1) || b.Head != e.Prev {
			t.Fatalf("checkpoint on line %d names %d entries and head %.8s…, want %d and %.8s…", e.Line, b.Entries, b.Head, e.Line-1, e.Prev)
		}
	}
}
