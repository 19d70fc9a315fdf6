package journal

import (
	"bytes"
	"crypto/sha256"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestIntactJournal(t *testing.T) {
	fx := newFixture(t, 6)
	rep := fx.verify(t)
	if !rep.Intact || rep.Problem != nil {
		t.Fatalf("fresh journal not intact: %+v", rep.Problem)
	}
	n := len(fx.lines(t))
	if rep.Entries != uint64(n) || rep.Decisions != 6 || rep.Signatures != 9 {
		t.Errorf("entries=%d decisions=%d signatures=%d; want %d, 6, 9", rep.Entries, rep.Decisions, rep.Signatures, n)
	}
	if rep.LastCheckpoint == nil || rep.LastCheckpoint.Line != n || rep.LastCheckpoint.Seq != uint64(n-1) {
		t.Errorf("last checkpoint = %+v; want line %d", rep.LastCheckpoint, n)
	}
	if rep.Unsealed != 0 {
		t.Errorf("unsealed = %d after a final checkpoint", rep.Unsealed)
	}
	a, _ := fx.anchors.Load()
	if a == nil || a.Seq != uint64(n-1) || a.Head != rep.Head || a.JournalID != rep.JournalID {
		t.Errorf("anchor %+v does not point at the head %s", a, rep.Head)
	}
}

// replaceIn changes the first occurrence of old in line k (1-based) to new,
// keeping the length.
func replaceIn(t *testing.T, ls [][]byte, k int, orig, repl string) {
	t.Helper()
	if !bytes.Contains(ls[k-1], []byte(orig)) {
		t.Fatalf("line %d has no %q", k, orig)
	}
	ls[k-1] = bytes.Replace(ls[k-1], []byte(orig), []byte(repl), 1)
}

func TestTamperModifiedUnsignedLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	replaceIn(t, ls, 6, "act-0002", "act-0003") // an outcome
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Modified, 6)
}

func TestTamperModifiedSignedLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	replaceIn(t, ls, 5, `"decision":"approve"`, `"decision":"rejectx"`)
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Modified, 5)
}

func TestTamperModifiedSeq(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	replaceIn(t, ls, 8, `"seq":7,`, `"seq":9,`)
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Modified, 8)
}

func TestTamperModifiedLastLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	n := len(ls)
	replaceIn(t, ls, n, `"reason":"exit"`, `"reason":"exiT"`)
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Modified, n)
}

func TestTamperDeletedLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	fx.write(t, slices.Delete(ls, 6, 7)) // line 7
	wantProblem(t, fx.verify(t), Deleted, 7)
}

func TestTamperDeletedGenesis(t *testing.T) {
	fx := newFixture(t, 3)
	fx.write(t, fx.lines(t)[1:])
	wantProblem(t, fx.verify(t), Deleted, 1)
}

func TestTamperSwappedLines(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	ls[6], ls[7] = ls[7], ls[6] // lines 7 and 8
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Reordered, 7)
}

func TestTamperMovedLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	moved := ls[4] // line 5 goes after line 9
	ls = slices.Delete(ls, 4, 5)
	ls = slices.Insert(ls, 8, moved)
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Reordered, 5)
}

// forged builds a line that claims to follow line k of ls.
func forged(t *testing.T, ls [][]byte, k int, body string, s Signer) []byte {
	t.Helper()
	p, err := parseLine(ls[k-1])
	if err != nil {
		t.Fatal(err)
	}
	prev := sha256.Sum256(ls[k-1])
	j, _ := parseLine(ls[0])
	g, jid, _, _ := parseGenesis(j.body)
	_ = g
	ts := string(p.ts)
	if s == nil {
		return encodeLine(p.seq+1, ts, KindOutcome, prev, []byte(body), nil)
	}
	d := digest(jid, p.seq+1, prev, sha256.Sum256([]byte(body)), KindDecision, []byte(ts))
	sig, _ := s.Sign(d[:])
	return encodeLine(p.seq+1, ts, KindDecision, prev, []byte(body), &sig)
}

func TestTamperInsertedUnsignedLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	f := forged(t, ls, 6, `{"action_id":"act-9999","result":"accepted"}`, nil)
	fx.write(t, slices.Insert(ls, 6, f)) // becomes line 7
	wantProblem(t, fx.verify(t), Inserted, 7)
}

func TestTamperInsertedForeignSignedLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	f := forged(t, ls, 9, `{"action_id":"act-6666","decision":"approve","message_sha256":"00","verdict":"reject","rules":[]}`, newSigner(t))
	fx.write(t, slices.Insert(ls, 9, f)) // becomes line 10
	wantProblem(t, fx.verify(t), Inserted, 10)
}

func TestTamperTruncatedTail(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	n := len(ls)
	fx.write(t, ls[:n-3])
	wantProblem(t, fx.verify(t), Truncated, n-2)
}

func TestTamperTruncatedMidLine(t *testing.T) {
	fx := newFixture(t, 6)
	b, _ := os.ReadFile(fx.path)
	if err := os.WriteFile(fx.path, b[:len(b)-40], 0o600); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, fx.verify(t), Truncated, len(fx.lines(t)))
}

func TestTamperRolledBack(t *testing.T) {
	fx := newFixture(t, 6)
	old, _ := os.ReadFile(fx.path)
	n := len(fx.lines(t))
	// More decisions move the anchor forward...
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 13; i++ {
		must(t)(j.AppendSigned(KindDecision, decision(i), fx.signer))
	}
	j.Close()
	// ...then the old file is restored and written on with no anchor check.
	if err := os.WriteFile(fx.path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	j, _, err = Open(fx.path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 24; i++ {
		must(t)(j.AppendSigned(KindDecision, decision(i), fx.signer))
	}
	j.Close()
	wantProblem(t, fx.verify(t), RolledBack, n+3)
	// Open refuses it too.
	if _, _, err := Open(fx.path, Options{Anchors: fx.anchors}); !isReason(err, RolledBack) {
		t.Fatalf("Open of a rolled back journal: %v", err)
	}
}

func TestTamperRolledBackCopyIsTruncated(t *testing.T) {
	fx := newFixture(t, 3)
	old, _ := os.ReadFile(fx.path)
	n := len(fx.lines(t))
	j, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	if err != nil {
		t.Fatal(err)
	}
	must(t)(j.AppendSigned(KindDecision, decision(9), fx.signer))
	j.Close()
	if err := os.WriteFile(fx.path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, fx.verify(t), Truncated, n+1)
}

func TestTamperReplacedByForeignJournal(t *testing.T) {
	fx := newFixture(t, 6)
	other := newFixture(t, 6) // same shape, another key and journal ID
	b, _ := os.ReadFile(other.path)
	if err := os.WriteFile(fx.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, fx.verify(t), ForeignKey, 1)
	// Without the expected key, the anchor still tells the journals apart.
	a, _ := fx.anchors.Load()
	rep, err := Verify(fx.path, VerifyOptions{Anchor: a})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, rep, RolledBack, 1)
}

func TestTamperRewrittenAndRechained(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	replaceIn(t, ls, 5, "act-0002", "act-0008")
	rechain(t, ls, 5)
	fx.write(t, ls)
	rep, err := Verify(fx.path, VerifyOptions{ExpectedPublicKey: &fx.signer.pk})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, rep, BadSignature, 5)
}

// A bad signature among many is named at the same line whether the
// signatures are checked in batches or one by one.
func TestBadSignatureBatchAndOneByOne(t *testing.T) {
	fx := newFixture(t, 150)
	ls := fx.lines(t)
	k := len(ls) - 20
	replaceIn(t, ls, k, "act-", "act-X")
	rechain(t, ls, k)
	fx.write(t, ls)
	for _, one := range []bool{false, true} {
		rep, err := Verify(fx.path, VerifyOptions{ExpectedPublicKey: &fx.signer.pk, oneByOne: one})
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, rep, BadSignature, k+1)
	}
}

// rechain recomputes the prev of every line after line k.
func rechain(t *testing.T, ls [][]byte, k int) {
	for i := k; i < len(ls); i++ {
		p, err := parseLine(ls[i])
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = encodeLine(p.seq, string(p.ts), p.kind, sha256.Sum256(ls[i-1]), p.body, p.signature())
	}
}

func TestTamperCorruptLine(t *testing.T) {
	fx := newFixture(t, 6)
	ls := fx.lines(t)
	ls[7] = []byte(`{"v":1,"seq":7,"ts":garbage}`)
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Corrupt, 8)
}

func TestTamperLongLine(t *testing.T) {
	fx := newFixture(t, 2)
	ls := fx.lines(t)
	ls = append(ls, bytes.Repeat([]byte("x"), MaxLineBytes+10))
	fx.write(t, ls)
	wantProblem(t, fx.verify(t), Corrupt, len(ls))
}

func isReason(err error, r Reason) bool {
	te, ok := err.(*TamperError)
	return ok && te.Reason == r
}

func TestTamperMessagesAreHuman(t *testing.T) {
	fx := newFixture(t, 3)
	ls := fx.lines(t)
	fx.write(t, slices.Delete(ls, 3, 4))
	rep := fx.verify(t)
	if rep.Problem == nil || !strings.Contains(rep.Problem.Error(), "line 4: deleted: entries seq 3 to 3 are missing") {
		t.Fatalf("message = %v", rep.Problem)
	}
}
