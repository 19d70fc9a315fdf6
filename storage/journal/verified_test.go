package journal

import (
	"bytes"
	"testing"
	"time"
)

func TestSinceVerified(t *testing.T) {
	fx := newFixture(t, 3)
	rep := fx.verify(t)
	m, err := MarkVerified(rep, fx.signer, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mp := VerifiedPath(fx.path)
	if err := SaveVerified(mp, m); err != nil {
		t.Fatal(err)
	}
	if m2, err := LoadVerified(mp); err != nil || *m2 != *m {
		t.Fatalf("load: %+v %v", m2, err)
	}
	j, _ := fx.open(t)
	must(t)(j.AppendSigned(KindUnlock, UnlockBody{}, fx.signer))
	must(t)(j.AppendSigned(KindDecision, decision(7), fx.signer))
	j.Close()

	a, _ := fx.anchors.Load()
	since, _ := Verify(fx.path, VerifyOptions{Anchor: a, Verified: m})
	if !since.Intact || since.SkippedSignatures != rep.Signatures-1 || since.MarkIgnored != "" || since.Signatures != rep.Signatures+2 {
		t.Fatalf("since verified: intact %v skipped %d of %d, ignored %q, problem %v", since.Intact, since.SkippedSignatures, since.Signatures, since.MarkIgnored, since.Problem)
	}
	if _, err := MarkVerified(since, fx.signer, time.Now()); err != nil {
		t.Fatalf("a since-verified run can be marked: %v", err)
	}

	// A bad signature after the mark is still caught.
	ls := fx.lines(t)
	last := ls[len(ls)-1]
	i := bytes.LastIndex(last, []byte(`"sig":"`)) + 10
	if last[i] == '0' { // another hex digit: the field stays well-formed
		last[i] = '1'
	} else {
		last[i] = '0'
	}
	fx.write(t, ls)
	bad, _ := Verify(fx.path, VerifyOptions{Verified: m})
	wantProblem(t, bad, BadSignature, len(ls))

	// A mark signed by another key is ignored: everything is checked.
	other, _ := MarkVerified(rep, fx.signer, time.Now())
	other.Time = "2000-01-01T00:00:00Z"
	ign, _ := Verify(fx.path, VerifyOptions{Verified: other})
	if ign.MarkIgnored == "" || ign.SkippedSignatures != 0 {
		t.Fatalf("forged mark used: %+v", ign)
	}

	// Cut below the mark: truncated.
	fx.write(t, ls[:m.Seq])
	cut, _ := Verify(fx.path, VerifyOptions{Verified: m})
	wantProblem(t, cut, Truncated, int(m.Seq)+1)
}

func TestMarkVerifiedNeedsFullVerify(t *testing.T) {
	fx := newFixture(t, 1)
	rep, _ := Verify(fx.path, VerifyOptions{noSigs: true})
	if _, err := MarkVerified(rep, fx.signer, time.Now()); err == nil {
		t.Fatal("marked a journal whose signatures were not checked")
	}
	rep = fx.verify(t)
	if _, err := MarkVerified(rep, newSigner(t), time.Now()); err == nil {
		t.Fatal("marked with another key")
	}
}
