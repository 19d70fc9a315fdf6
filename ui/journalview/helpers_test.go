package journalview

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/ui"
	"github.com/qapprove/qapprove/ui/keys"
	"github.com/qapprove/qapprove/ui/styles"
)

var base = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

type keySigner struct{ sk qbls.SecretKey }

func (s *keySigner) PublicKey() qbls.PublicKey             { return s.sk.Public() }
func (s *keySigner) Sign(m []byte) (qbls.Signature, error) { return s.sk.Sign(m), nil }

// fixedSigner is a deterministic BLS key.
func fixedSigner(t testing.TB) *keySigner {
	seed := sha256.Sum256([]byte("journalview test key"))
	sk, err := qbls.Generate(bytes.NewReader(append(seed[:], seed[:]...)))
	if err != nil {
		t.Fatal(err)
	}
	return &keySigner{sk: sk}
}

// writeJournal creates a real signed journal with n decisions and outcomes.
func writeJournal(t testing.TB, n int) (string, *keySigner) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.jsonl")
	s := fixedSigner(t)
	clock := base
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	j, err := journal.Create(path, s, journal.Options{Profile: "default", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("act-%04d", i)
		verdict, decision := "approve", "approve"
		if i%3 == 2 {
			verdict, decision = "reject", "reject"
		}
		if _, err := j.AppendSigned(journal.KindDecision, journal.DecisionBody{ActionID: id, Decision: decision,
			MessageSHA256: strings.Repeat("ab", 32), Verdict: verdict, Rules: []string{"r1"}}, s); err != nil {
			t.Fatal(err)
		}
		if _, err := j.Append(journal.KindOutcome, journal.OutcomeBody{ActionID: id, Result: journal.OutcomeAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Checkpoint(s, "exit"); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return path, s
}

func testContext() *ui.Context {
	return &ui.Context{Now: func() time.Time { return base }, Styles: styles.New(true, true), Keys: keys.Default()}
}

// drive sends msg and runs the returned commands synchronously (feeding
// their results back), as the program would.
func drive(v ui.Screen, msg tea.Msg) ui.Screen {
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, cmd := range batch {
			if cmd != nil {
				v = drive(v, cmd())
			}
		}
		return v
	}
	v, cmd := v.Update(msg)
	if cmd != nil {
		if m := cmd(); m != nil {
			v = drive(v, m)
		}
	}
	return v
}

func tamper(t *testing.T, path string, line int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	lines[line-1] = bytes.Replace(lines[line-1], []byte("approve"), []byte("APPROVE"), 1)
	if err := os.WriteFile(path, bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}
