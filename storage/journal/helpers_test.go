package journal

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/qapprove/qapprove/crypto/qbls"
)

// testSigner holds a throw-away key.
type testSigner struct {
	sk qbls.SecretKey
	pk qbls.PublicKey
}

func newSigner(t testing.TB) *testSigner {
	t.Helper()
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testSigner{sk: sk, pk: sk.Public()}
}

func (s *testSigner) PublicKey() qbls.PublicKey { return s.pk }
func (s *testSigner) Sign(msg []byte) (qbls.Signature, error) {
	return s.sk.Sign(msg), nil
}

// decision returns a valid decision body for action n.
func decision(n int) DecisionBody {
	m := sha256.Sum256([]byte(fmt.Sprint("message", n)))
	return DecisionBody{ActionID: fmt.Sprintf("act-%04d", n), Decision: "approve",
		MessageSHA256: hex.EncodeToString(m[:]), Verdict: "approve", Rules: []string{"testnet"}}
}

// fixture is a journal with a realistic mix of entries, closed, and its
// anchor store.
type fixture struct {
	dir, path string
	anchors   AnchorStore
	signer    *testSigner
}

// newFixture writes: genesis, unlock, then for i in 1..n a decision and an
// outcome, an unsigned lock and a final checkpoint. Line k holds seq k-1.
func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{dir: dir, path: filepath.Join(dir, "p", "journal.jsonl"),
		anchors: FileAnchors(filepath.Join(dir, "anchor.json")), signer: newSigner(t)}
	j, err := Create(fx.path, fx.signer, Options{Anchors: fx.anchors, Profile: "test"})
	if err != nil {
		t.Fatal(err)
	}
	must(t)(j.AppendSigned(KindUnlock, UnlockBody{Method: "passphrase"}, fx.signer))
	for i := 1; i <= n; i++ {
		must(t)(j.AppendSigned(KindDecision, decision(i), fx.signer))
		must(t)(j.Append(KindOutcome, OutcomeBody{ActionID: fmt.Sprintf("act-%04d", i), Result: OutcomeAccepted}))
	}
	must(t)(j.Append(KindLock, LockBody{Reason: "idle"}))
	must(t)(j.Checkpoint(fx.signer, "exit"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return fx
}

// must fails the test when an append fails: must(t)(j.Append(…)).
func must(t testing.TB) func(Entry, error) {
	return func(_ Entry, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// lines reads the file as lines without newlines.
func (fx *fixture) lines(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

// write replaces the file with lines.
func (fx *fixture) write(t testing.TB, ls [][]byte) {
	t.Helper()
	b := append(bytes.Join(ls, []byte("\n")), '\n')
	if err := os.WriteFile(fx.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// verify runs Verify with the stored anchor and the fixture's key.
func (fx *fixture) verify(t testing.TB) *Report {
	t.Helper()
	a, err := fx.anchors.Load()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(fx.path, VerifyOptions{Anchor: a, ExpectedPublicKey: &fx.signer.pk})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// wantProblem asserts the reason and line of the first bad line.
func wantProblem(t *testing.T, rep *Report, reason Reason, line int) {
	t.Helper()
	if rep.Problem == nil {
		t.Fatalf("journal reported intact; want %q at line %d", reason, line)
	}
	if rep.Intact {
		t.Errorf("Intact is true with a problem")
	}
	if rep.Problem.Reason != reason || rep.Problem.Line != line {
		t.Fatalf("got %q at line %d (%s); want %q at line %d", rep.Problem.Reason, rep.Problem.Line, rep.Problem.Detail, reason, line)
	}
}

// signature is the line's signature, nil when unsigned.
func (p *parsed) signature() *qbls.Signature {
	if !p.hasSig {
		return nil
	}
	s := qbls.Signature(p.sig)
	return &s
}
