package sink

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
)

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

func (s *testSigner) PublicKey() qbls.PublicKey               { return s.pk }
func (s *testSigner) Sign(msg []byte) (qbls.Signature, error) { return s.sk.Sign(msg), nil }

// fixture is an open journal in a temp folder with its cursor folder.
type fixture struct {
	dir, path, cursors string
	signer             *testSigner
	j                  *journal.Journal
}

func newFixture(t testing.TB, profile string) *fixture {
	t.Helper()
	dir := t.TempDir()
	fx := &fixture{dir: dir, path: filepath.Join(dir, profile, "journal.jsonl"), cursors: filepath.Join(dir, profile, "sinks"), signer: newSigner(t)}
	j, err := journal.Create(fx.path, fx.signer, journal.Options{Profile: profile})
	if err != nil {
		t.Fatal(err)
	}
	fx.j = j
	t.Cleanup(func() { _ = fx.j.Close() })
	return fx
}

// decide appends a signed decision on action id over message msg and its
// outcome.
func (fx *fixture) decide(t testing.TB, id, msg string) {
	t.Helper()
	m := sha256.Sum256([]byte(msg))
	d := journal.DecisionBody{ActionID: id, Decision: "approve", MessageSHA256: hex.EncodeToString(m[:]), Verdict: "approve", Rules: []string{"testnet"}}
	if _, err := fx.j.AppendSigned(journal.KindDecision, d, fx.signer); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.j.Append(journal.KindOutcome, journal.OutcomeBody{ActionID: id, Result: journal.OutcomeAccepted}); err != nil {
		t.Fatal(err)
	}
}

// decideN appends n decisions on act-<from..>.
func (fx *fixture) decideN(t testing.TB, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		fx.decide(t, fmt.Sprintf("act-%04d", i), fmt.Sprint("message ", i))
	}
}

// lines returns the journal's lines (without newlines).
func (fx *fixture) lines(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// records parses the journal's lines as the shipper would.
func (fx *fixture) records(t testing.TB) []Record {
	t.Helper()
	var out []Record
	jid := fx.j.State().JournalID
	for _, l := range fx.lines(t) {
		e, err := journal.ParseLine([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Record{JournalID: jid, Seq: e.Seq, Hash: e.Hash, Line: []byte(l), Kind: e.Kind, TS: e.TS, Body: e.Body})
	}
	return out
}

// reopen opens the journal again after Close (no anchor: the tests roll
// the file back on purpose).
func (fx *fixture) reopen(t testing.TB) {
	t.Helper()
	j, _, err := journal.Open(fx.path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fx.j = j
}
