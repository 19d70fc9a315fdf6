package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/sink"
)

func journalVerifyCmd(c *cli) *cobra.Command {
	var asJSON bool
	var store string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "verify the journal: exit 0 intact, 1 tampered/corrupt, 2 could not run",
		Long: `Verify checks the profile's journal: the hash chain, every signature, the
key it was signed with against the profile's key, and the keychain anchor
(truncation and rollback). It names the first bad line. With
--against-store it also compares the journal with the team store: a
shipped line beyond the local head, or a different line at a shipped seq,
means the journal and its anchor were rolled back together. Exit 0 intact,
1 tampered, corrupt or rolled back, 2 when it could not run.`,
		Example:           "  qapprove journal verify\n  qapprove --profile desk journal verify --json\n  qapprove journal verify --against-store config",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runJournalVerify(c.env, asJSON, store) }),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as a JSON object")
	cmd.Flags().StringVar(&store, "against-store", "", "also compare with the team store at `DSN` (\"config\": [sinks.postgres]): a rollback of journal and anchor exits 1")
	return cmd
}

func journalExportCmd(c *cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "export the journal for auditors",
		Long: `Export prints the profile's journal for auditors, oldest entry first, as a
JSON array or as CSV with a header, on stdout. It verifies the journal too:
when it is not intact the entries are still exported, with a warning and
exit 1.`,
		Example:           "  qapprove journal export > journal.json\n  qapprove journal export --format csv > journal.csv",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runJournalExport(c.env, format) }),
	}
	cmd.Flags().StringVar(&format, "format", "json", "`FORMAT`: json or csv")
	c.completeFlag(cmd, "format", "json", "csv")
	return cmd
}

// journalRefs gathers what a journal is checked against: the anchor and the
// profile's BLS public key from the keystore. Missing pieces give warnings.
type journalRefs struct {
	anchor   *journal.Anchor
	key      *qbls.PublicKey
	warnings []string
}

func loadJournalRefs(env *Env) (*journalRefs, error) {
	r := &journalRefs{}
	be, err := openBackend(env)
	if err != nil {
		return nil, err
	}
	a, err := app.Anchors(be, env.Profile).Load()
	if err != nil {
		return nil, err
	}
	if a == nil {
		r.warnings = append(r.warnings, "no journal anchor in the keystore: truncation and rollback cannot be checked")
	}
	r.anchor = a
	b, err := secrets.LoadBundle(be, env.Profile)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		r.warnings = append(r.warnings, fmt.Sprintf("no key bundle for profile %q: the journal's key is not compared with yours", env.Profile))
	case err != nil:
		return nil, err
	default:
		pk, err := b.BLSPublic()
		if err != nil {
			return nil, err
		}
		r.key = &pk
	}
	return r, nil
}

// verifyActiveJournal verifies the active profile's journal against its
// anchor and public key. On failure to run it prints why and returns a nil
// report with exit code 2; what is the verb for that message.
func verifyActiveJournal(env *Env, what string) (string, *journalRefs, *journal.Report, int) {
	path := env.Paths().JournalFile(env.Profile)
	refs, err := loadJournalRefs(env)
	if err != nil {
		return path, nil, nil, env.Errf(exitUsage, "cannot read the keystore: %v", err)
	}
	rep, err := journal.Verify(path, journal.VerifyOptions{Anchor: refs.anchor, ExpectedPublicKey: refs.key})
	if err != nil {
		return path, refs, nil, env.Errf(exitUsage, "cannot %s the journal: %v", what, err)
	}
	return path, refs, rep, exitOK
}

// verifyJSON is the --json output of journal verify (a stable contract).
type verifyJSON struct {
	Intact           bool                 `json:"intact"`
	Path             string               `json:"path"`
	Entries          uint64               `json:"entries"`
	Decisions        uint64               `json:"decisions"`
	Signatures       uint64               `json:"signatures"`
	JournalID        string               `json:"journal_id,omitempty"`
	LastCheckpoint   *journal.Checkpoint  `json:"last_checkpoint,omitempty"`
	Unsealed         uint64               `json:"unsealed"`
	AnchorChecked    bool                 `json:"anchor_checked"`
	KeyChecked       bool                 `json:"key_checked"`
	TornTail         *journal.TornTail    `json:"torn_tail,omitempty"`
	Problem          *journal.TamperError `json:"problem,omitempty"`
	ChainSeconds     float64              `json:"chain_seconds"`
	SignatureSeconds float64              `json:"signature_seconds"`
	Warnings         []string             `json:"warnings,omitempty"`
	Store            *sink.Comparison     `json:"store,omitempty"`
}

func runJournalVerify(env *Env, asJSON bool, store string) int {
	path, refs, rep, code := verifyActiveJournal(env, "verify")
	if rep == nil {
		return code
	}
	code = exitOK
	if !rep.Intact {
		code = exitFail
	}
	var cmp *sink.Comparison
	storeCode, storeMsg := exitOK, ""
	if store != "" {
		if store == "config" {
			store = ""
		}
		if cmp, storeCode, storeMsg = againstStore(env, path, store); storeCode == exitUsage {
			return env.Errf(exitUsage, "%s", storeMsg)
		}
		code = max(code, storeCode)
	}
	if asJSON {
		out := verifyJSON{Intact: rep.Intact, Path: path, Entries: rep.Entries, Decisions: rep.Decisions,
			Signatures: rep.Signatures, JournalID: rep.JournalID, LastCheckpoint: rep.LastCheckpoint,
			Unsealed: rep.Unsealed, AnchorChecked: refs.anchor != nil, KeyChecked: refs.key != nil,
			TornTail: rep.TornTail, Problem: rep.Problem, ChainSeconds: rep.ChainDuration.Seconds(),
			SignatureSeconds: rep.SignatureDuration.Seconds(), Warnings: refs.warnings, Store: cmp}
		if c := writeJSON(env, out); c != exitOK {
			return c
		}
		return code
	}
	for _, w := range refs.warnings {
		env.Errf(exitOK, "warning: %s", w)
	}
	if p := rep.Problem; p != nil {
		seq := ""
		if p.Seq >= 0 {
			seq = fmt.Sprintf(" (seq %d)", p.Seq)
		}
		return env.Errf(exitFail, "journal %s at line %d%s: %s", p.Reason, p.Line, seq, p.Detail)
	}
	cp := "no checkpoint"
	if c := rep.LastCheckpoint; c != nil {
		cp = fmt.Sprintf("last checkpoint #%d at %s", c.Seq, c.Time.Format(time.RFC3339))
	}
	fmt.Fprintf(env.Stdout, "intact: %d %s, %d %s, %d %s, %s\n",
		rep.Entries, plural(rep.Entries, "entry", "entries"), rep.Decisions, plural(rep.Decisions, "decision", "decisions"),
		rep.Signatures, plural(rep.Signatures, "signature", "signatures"), cp)
	if rep.Unsealed > 0 {
		env.Errf(exitOK, "%s", unsealedNote(rep.Unsealed, env.Profile))
	}
	if t := rep.TornTail; t != nil {
		env.Errf(exitOK, "note: %d bytes of an interrupted write at the end will be cut when the journal is next opened", t.Length)
	}
	switch {
	case storeCode != exitOK:
		env.Errf(storeCode, "%s", storeMsg)
	case storeMsg != "":
		fmt.Fprintln(env.Stdout, storeMsg)
	}
	return code
}

func runJournalExport(env *Env, format string) int {
	if format != "json" && format != "csv" {
		return env.Errf(exitUsage, "--format must be json or csv, not %q", format)
	}
	path, _, rep, code := verifyActiveJournal(env, "read")
	if rep == nil {
		return code
	}
	out := &jsonLines{w: env.rawStdout}
	err := journal.Export(path, out, format)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return env.Errf(exitFail, "export: %v", err)
	}
	if p := rep.Problem; p != nil {
		return env.Errf(exitFail, "warning: the exported journal is not intact: %s at line %d: %s", p.Reason, p.Line, p.Detail)
	}
	return exitOK
}

// unsealedNote says which entries no signature covers yet and how they
// get sealed: the next signed entry (an unlock, a decision, a checkpoint
// on lock) covers every entry before it.
func unsealedNote(n uint64, profile string) string {
	what, them := fmt.Sprintf("the last %d entries are", n), "them"
	if n == 1 {
		what, them = "the last entry is", "it"
	}
	return fmt.Sprintf("note: %s not sealed by a signature yet; the next unlock seals %s "+
		"(open the console with `qapprove --profile %s` and press u, or run `qapprove --profile %s pending`)", what, them, profile, profile)
}
