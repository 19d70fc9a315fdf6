package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

type journalTestSigner struct{ sk qbls.SecretKey }

func (s journalTestSigner) PublicKey() qbls.PublicKey { return s.sk.Public() }
func (s journalTestSigner) Sign(m []byte) (qbls.Signature, error) {
	return s.sk.Sign(m), nil
}

// journalHome creates a home with a journal of n decisions whose anchor is
// in the file keystore, as the approve command leaves it.
func journalHome(t *testing.T, n int) (home, path string) {
	t.Helper()
	home = t.TempDir()
	paths := storage.ResolvePaths(home)
	be := secrets.NewFileBackend(paths)
	anchors := app.Anchors(be, "default")
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := journalTestSigner{sk}
	path = paths.JournalFile("default")
	j, err := journal.Create(path, s, journal.Options{Anchors: anchors, Profile: "default"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := sha256.Sum256([]byte(fmt.Sprint(i)))
		d := journal.DecisionBody{ActionID: fmt.Sprintf("act-%d", i), Decision: "approve",
			MessageSHA256: hex.EncodeToString(m[:]), Verdict: "approve", Rules: []string{"testnet"}}
		if _, err := j.AppendSigned(journal.KindDecision, d, s); err != nil {
			t.Fatal(err)
		}
		if _, err := j.Append(journal.KindOutcome, journal.OutcomeBody{ActionID: d.ActionID, Result: journal.OutcomeAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := j.Checkpoint(s, "exit"); err != nil {
		t.Fatal(err)
	}
	j.Close()
	return home, path
}

func runJournalCmd(t *testing.T, home string, args ...string) (int, string, string) {
	t.Helper()
	return runArgs(t, append([]string{"--home", home, "--keystore", "file", "journal"}, args...)...)
}

func TestJournalVerifyIntact(t *testing.T) {
	home, _ := journalHome(t, 3)
	code, out, errs := runJournalCmd(t, home, "verify")
	if code != exitOK || !strings.HasPrefix(out, "intact: 8 entries, 3 decisions, 5 signatures, last checkpoint #7 at ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, _ = runJournalCmd(t, home, "verify", "--json")
	var v struct {
		Intact        bool   `json:"intact"`
		Entries       int    `json:"entries"`
		AnchorChecked bool   `json:"anchor_checked"`
		Problem       any    `json:"problem"`
		JournalID     string `json:"journal_id"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitOK || !v.Intact || v.Entries != 8 || !v.AnchorChecked || v.Problem != nil {
		t.Fatalf("--json: exit %d, %+v, %v\n%s", code, v, err, out)
	}
}

func TestJournalVerifyTampered(t *testing.T) {
	cases := []struct {
		name   string
		tamper func([][]byte) [][]byte
		want   string
	}{
		{"deleted", func(ls [][]byte) [][]byte { return append(ls[:2:2], ls[3:]...) }, "journal deleted at line 3 (seq 3)"},
		{"reordered", func(ls [][]byte) [][]byte { ls[2], ls[3] = ls[3], ls[2]; return ls }, "journal reordered at line 3"},
		{"truncated", func(ls [][]byte) [][]byte { return ls[:len(ls)-2] }, "journal truncated at line 7"},
		{"modified", func(ls [][]byte) [][]byte {
			ls[3] = bytes.Replace(ls[3], []byte("act-1"), []byte("act-9"), 1)
			return ls
		}, "journal modified at line 4 (seq 3)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home, path := journalHome(t, 3)
			b, _ := os.ReadFile(path)
			ls := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
			ls = c.tamper(ls)
			if err := os.WriteFile(path, append(bytes.Join(ls, []byte("\n")), '\n'), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs := runJournalCmd(t, home, "verify")
			if code != exitFail || !strings.Contains(errs, c.want) || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errs, c.want)
			}
			code, out, _ = runJournalCmd(t, home, "verify", "--json")
			if code != exitFail || !strings.Contains(out, `"reason": "`+c.name+`"`) {
				t.Fatalf("--json: exit %d\n%s", code, out)
			}
		})
	}
}

func TestJournalVerifyNoJournal(t *testing.T) {
	code, _, errs := runJournalCmd(t, t.TempDir(), "verify")
	if code != exitUsage || !strings.Contains(errs, "no journal") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if code, _, _ := runJournalCmd(t, t.TempDir(), "verify", "extra"); code != exitUsage {
		t.Fatalf("extra argument: exit %d", code)
	}
}

func TestJournalExport(t *testing.T) {
	home, _ := journalHome(t, 2)
	code, out, errs := runJournalCmd(t, home, "export", "--format", "csv")
	if code != exitOK || !strings.HasPrefix(out, "line,seq,ts,kind,signed,action_id") || strings.Count(out, "\n") != 7 {
		t.Fatalf("csv: exit %d, stderr %q\n%s", code, errs, out)
	}
	code, out, _ = runJournalCmd(t, home, "export")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != exitOK || len(rows) != 6 || rows[1]["kind"] != "decision" {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if code, _, _ := runJournalCmd(t, home, "export", "--format", "xml"); code != exitUsage {
		t.Fatalf("--format xml: exit %d", code)
	}
}

// TestJournalExportAndNotesAreInert: a hostile action ID in the journal
// comes out of export exact for a JSON reader and inert on a terminal;
// the unsealed note says what seals the entries, in the right number.
func TestJournalExportAndNotesAreInert(t *testing.T) {
	home, path := journalHome(t, 1)
	j, _, err := journal.Open(path, journal.Options{Profile: "default", Anchors: app.Anchors(secrets.NewFileBackend(storage.ResolvePaths(home)), "default")})
	if err != nil {
		t.Fatal(err)
	}
	const bad = "act-\x1b[2J\a\r\u202e\u0085x"
	if _, err := j.Append(journal.KindOutcome, journal.OutcomeBody{ActionID: bad, Result: journal.OutcomeAccepted}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for _, format := range []string{"json", "csv"} {
		code, out, errs := runJournalCmd(t, home, "export", "--format", format)
		if code != exitOK || strings.ContainsAny(out, "\x1b\a\r\u202e\u0085") {
			t.Fatalf("%s: exit %d %q\n%q", format, code, errs, out)
		}
		if format == "json" {
			var rows []struct {
				Body struct {
					ActionID string `json:"action_id"`
				} `json:"body"`
			}
			if err := json.Unmarshal([]byte(out), &rows); err != nil || rows[len(rows)-1].Body.ActionID != bad {
				t.Fatalf("json round trip: %v %q", err, out)
			}
		}
	}
	code, _, errs := runJournalCmd(t, home, "verify")
	if code != exitFail || !strings.Contains(errs, "journal unsealed (1 entry) from line 5") {
		t.Fatalf("verify: exit %d %q", code, errs)
	}
	code, _, errs = runJournalCmd(t, home, "verify", "--allow-unsealed")
	if code != exitOK || !strings.Contains(errs, "note: the last entry is not sealed by a signature yet; the next unlock seals it") ||
		!strings.Contains(errs, "qapprove --profile default pending") {
		t.Fatalf("verify: exit %d %q", code, errs)
	}
	if unsealedNote(2, "p") == unsealedNote(1, "p") || !strings.Contains(unsealedNote(2, "p"), "the last 2 entries are not") {
		t.Fatal("the plural note is wrong")
	}
}
