package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// forgeUnsigned appends to the fixture's file a correctly chained unsigned
// outcome line, as someone without the key can; it returns its seq.
func (fx *fixture) forgeUnsigned(t *testing.T) uint64 {
	t.Helper()
	rep := fx.verify(t)
	if !rep.Intact {
		t.Fatalf("fixture not intact: %v", rep.Problem)
	}
	seq := rep.LastSeq + 1
	line := encodeLine(seq, formatTS(time.Now()), KindOutcome, rep.head, []byte(`{"action_id":"act-evil","result":"accepted"}`), nil)
	f, err := os.OpenFile(fx.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	return seq
}

// editAnchor rewrites the stored anchor file with edit applied.
func (fx *fixture) editAnchor(t *testing.T, edit func(a *Anchor)) {
	t.Helper()
	a, err := fx.anchors.Load()
	if err != nil || a == nil {
		t.Fatalf("anchor: %v %v", a, err)
	}
	edit(a)
	b, _ := json.Marshal(a)
	if err := os.WriteFile(filepath.Join(fx.dir, "anchor.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) open(t *testing.T) (*Journal, *Recovery) {
	t.Helper()
	j, rec, err := Open(fx.path, Options{Anchors: fx.anchors, ExpectedPublicKey: &fx.signer.pk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j, rec
}

// lastEntries reads the last n lines as parsed records.
func (fx *fixture) lastEntries(t *testing.T, n int) []parsed {
	t.Helper()
	ls := fx.lines(t)
	var out []parsed
	for _, l := range ls[len(ls)-n:] {
		p, err := parseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func recoveryOf(t *testing.T, p parsed) AcceptedLines {
	t.Helper()
	var r RecoveryBody
	if p.kind != KindRecovery || json.Unmarshal(p.body, &r) != nil || r.Accepts == nil {
		t.Fatalf("want a recovery accepting lines, got %s %s", p.kind, p.body)
	}
	return *r.Accepts
}

func wantTamper(t *testing.T, err error, reason Reason) {
	t.Helper()
	var te *TamperError
	if !errors.As(err, &te) || te.Reason != reason {
		t.Fatalf("got %v; want a %q TamperError", err, reason)
	}
}

// A forged unsigned line beyond the anchor is accepted on open only by an
// unsigned recovery naming it, and the next unlock names it again in a
// signed recovery before anything is sealed.
func TestForgedTailBeyondAnchor(t *testing.T) {
	fx := newFixture(t, 2)
	seq := fx.forgeUnsigned(t)
	rep := fx.verify(t)
	if !rep.Intact || rep.Unsealed != 1 || rep.FirstUnsealed != int(seq)+1 {
		t.Fatalf("verify: intact %v unsealed %d first %d", rep.Intact, rep.Unsealed, rep.FirstUnsealed)
	}
	j, rec := fx.open(t)
	if rec == nil || rec.Accepted == nil || rec.Accepted.FromSeq != seq || rec.Accepted.ToSeq != seq || rec.Accepted.Why != AcceptedBeyondAnchor {
		t.Fatalf("open: recovery %+v", rec)
	}
	must(t)(j.AppendSigned(KindUnlock, UnlockBody{}, fx.signer))
	es := fx.lastEntries(t, 3)
	if a := recoveryOf(t, es[0]); es[0].hasSig || a.Why != AcceptedBeyondAnchor {
		t.Fatalf("first recovery: signed %v %+v", es[0].hasSig, a)
	}
	if a := recoveryOf(t, es[1]); !es[1].hasSig || a.Why != AcceptedUnsealed || a.FromSeq != seq || a.ToSeq != seq {
		t.Fatalf("signed recovery: signed %v %+v", es[1].hasSig, a)
	}
	if es[2].kind != KindUnlock {
		t.Fatalf("last entry %s", es[2].kind)
	}
}

// In the file keystore the attacker can move the anchor's unauthenticated
// part over the forged line: the next unlock still names it.
func TestForgedTailWithEditedAnchor(t *testing.T) {
	fx := newFixture(t, 2)
	seq := fx.forgeUnsigned(t)
	ls := fx.lines(t)
	h := sha256.Sum256(ls[len(ls)-1])
	fx.editAnchor(t, func(a *Anchor) { a.Seq, a.Head = seq, hex.EncodeToString(h[:]) })
	j, rec := fx.open(t)
	if rec != nil {
		t.Fatalf("open: recovery %+v", rec)
	}
	must(t)(j.AppendSigned(KindUnlock, UnlockBody{}, fx.signer))
	es := fx.lastEntries(t, 2)
	if a := recoveryOf(t, es[0]); !es[0].hasSig || a.FromSeq != seq || a.ToSeq != seq || a.Why != AcceptedUnsealed || a.Head != hex.EncodeToString(h[:]) {
		t.Fatalf("signed recovery: %+v", a)
	}
}

// Normal locked operation: unsigned entries across processes open without
// error or recovery, and the next unlock accepts them in one signed entry.
func TestLockedOperation(t *testing.T) {
	fx := newFixture(t, 1)
	for range 2 {
		j, rec := fx.open(t)
		if rec != nil {
			t.Fatalf("open: recovery %+v", rec)
		}
		must(t)(j.Append(KindUnlockFailed, UnlockFailedBody{Attempt: 1, Backoff: "1s"}))
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if rep := fx.verify(t); !rep.Intact || rep.Unsealed != 2 {
		t.Fatalf("verify: %+v", rep)
	}
	j, _ := fx.open(t)
	must(t)(j.AppendSigned(KindUnlock, UnlockBody{}, fx.signer))
	must(t)(j.Append(KindAbandoned, AbandonedBody{ActionID: "a", Decision: "approve", Why: "cancelled"}))
	must(t)(j.AppendSigned(KindDecision, decision(9), fx.signer))
	es := fx.lastEntries(t, 4)
	if a := recoveryOf(t, es[0]); a.ToSeq-a.FromSeq != 1 {
		t.Fatalf("recovery %+v", a)
	}
	if es[1].kind != KindUnlock || es[2].kind != KindAbandoned || es[3].kind != KindDecision {
		t.Fatal("an unsigned line written while unlocked needed a recovery")
	}
	rep := fx.verify(t)
	if !rep.Intact || rep.Unsealed != 0 {
		t.Fatalf("verify: %+v", rep.Problem)
	}
	a, _ := fx.anchors.Load()
	rep, _ = Verify(fx.path, VerifyOptions{Anchor: a, Signer: fx.signer, RequireAnchor: true})
	if !rep.Intact || !rep.AnchorMACChecked {
		t.Fatalf("verify with the key: %+v", rep.Problem)
	}
}

func TestMissingAnchorIsTampered(t *testing.T) {
	fx := newFixture(t, 1)
	if err := os.Remove(filepath.Join(fx.dir, "anchor.json")); err != nil {
		t.Fatal(err)
	}
	_, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	wantTamper(t, err, Unanchored)
	rep, err := Verify(fx.path, VerifyOptions{RequireAnchor: true})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, rep, Unanchored, len(fx.lines(t)))
	// The explicit, journaled way back.
	e, err := Reanchor(fx.path, fx.signer, Options{Anchors: fx.anchors, ExpectedPublicKey: &fx.signer.pk}, "restored the keystore")
	if err != nil {
		t.Fatal(err)
	}
	var body ReanchoredBody
	if e.Kind != KindReanchored || e.Sig == "" || json.Unmarshal(e.Body, &body) != nil || body.Problem != string(Unanchored) || body.Previous != nil {
		t.Fatalf("re-anchored entry %+v %s", e, e.Body)
	}
	a, _ := fx.anchors.Load()
	rep, _ = Verify(fx.path, VerifyOptions{Anchor: a, Signer: fx.signer, RequireAnchor: true})
	if !rep.Intact || !rep.AnchorMACChecked {
		t.Fatalf("after re-anchor: %+v", rep.Problem)
	}
}

func TestReanchorRefusesTampered(t *testing.T) {
	fx := newFixture(t, 2)
	ls := fx.lines(t)
	ls[3] = []byte(strings.Replace(string(ls[3]), "act-0001", "act-0009", 1))
	fx.write(t, ls)
	_, err := Reanchor(fx.path, fx.signer, Options{Anchors: fx.anchors}, "x")
	wantTamper(t, err, Modified)
	if _, err := Reanchor(fx.path, newSigner(t), Options{Anchors: fx.anchors}, "x"); err == nil {
		t.Fatal("re-anchored with another key")
	}
}

func TestForgedAnchorMAC(t *testing.T) {
	cases := map[string]func(a *Anchor){
		"edited mac": func(a *Anchor) { a.MAC = strings.Repeat("0", 64) },
		"no mac":     func(a *Anchor) { a.MAC, a.SealedHead, a.SealedSeq = "", "", 0 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, 1)
			fx.editAnchor(t, edit)
			j, _ := fx.open(t) // locked: the MAC cannot be checked yet
			_, err := j.AppendSigned(KindUnlock, UnlockBody{}, fx.signer)
			wantTamper(t, err, ForgedAnchor)
			if _, err := j.AppendSigned(KindDecision, decision(5), fx.signer); err == nil {
				t.Fatal("signed after a forged anchor")
			}
			a, _ := fx.anchors.Load()
			rep, _ := Verify(fx.path, VerifyOptions{Anchor: a, Signer: fx.signer})
			if rep.Problem == nil || rep.Problem.Reason != ForgedAnchor {
				t.Fatalf("verify: %+v", rep.Problem)
			}
		})
	}
}

// Cutting signed lines and rewriting the anchor's plain part to fit is
// caught by the sealed part; rewriting the sealed part too, by the MAC.
func TestTruncatedWithEditedAnchor(t *testing.T) {
	fx := newFixture(t, 3)
	ls := fx.lines(t)
	cut := ls[:len(ls)-4]
	fx.write(t, cut)
	h := sha256.Sum256(cut[len(cut)-1])
	seq := uint64(len(cut) - 1)
	fx.editAnchor(t, func(a *Anchor) { a.Seq, a.Head = seq, hex.EncodeToString(h[:]) })
	wantProblem(t, fx.verify(t), Truncated, len(cut)+1)
	_, _, err := Open(fx.path, Options{Anchors: fx.anchors})
	wantTamper(t, err, Truncated)

	fx.editAnchor(t, func(a *Anchor) { a.SealedSeq, a.SealedHead = seq, hex.EncodeToString(h[:]) })
	if rep := fx.verify(t); !rep.Intact {
		t.Fatalf("without the key: %+v", rep.Problem)
	}
	a, _ := fx.anchors.Load()
	rep, _ := Verify(fx.path, VerifyOptions{Anchor: a, Signer: fx.signer})
	wantProblem(t, rep, ForgedAnchor, len(cut))
	j, _ := fx.open(t)
	_, err = j.AppendSigned(KindUnlock, UnlockBody{}, fx.signer)
	wantTamper(t, err, ForgedAnchor)
}
