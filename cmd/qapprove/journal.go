package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/sink"
)

// verifyOptions are the flags of `qapprove journal verify`.
type verifyOptions struct {
	asJSON        bool
	allowUnsealed bool
	unlock        bool
	passFile      string
	sinceVerified bool
	store         string // --against-store: DSN, or "config"
}

func journalVerifyCmd(c *cli) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "verify the journal: exit 0 intact, 1 tampered/corrupt/unsealed, 2 could not run",
		Long: `Verify checks the profile's journal: the hash chain, every signature, the
key it was signed with against the profile's key, and the keystore anchor
(truncation, rollback, a deleted anchor). With --against-store it also
compares the journal with the team store: a shipped line beyond the local
head, or a different line at a shipped seq, means the journal and its anchor
were rolled back together. With --unlock it asks for the
passphrase and checks the anchor's MAC too. It names the first bad line.
Unsigned entries after the last signed one are "unsealed": exit 1 unless
--allow-unsealed. An intact verify with --unlock saves a signed mark of how
far the journal was verified; --since-verified then checks the whole chain
but only the signatures after the mark. Exit 0 intact, 1 tampered, corrupt
unsealed or rolled back, 2 when it could not run.`,
		Example:           "  qapprove journal verify\n  qapprove --profile desk journal verify --json --allow-unsealed\n  qapprove journal verify --unlock\n  qapprove journal verify --since-verified\n  qapprove journal verify --against-store config",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runJournalVerify(c.env, o) }),
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result as a JSON object")
	cmd.Flags().BoolVar(&o.allowUnsealed, "allow-unsealed", false, "exit 0 when the only finding is unsigned entries at the end")
	cmd.Flags().BoolVar(&o.unlock, "unlock", false, "unlock the key to check the anchor's MAC")
	cmd.Flags().StringVar(&o.passFile, "passphrase-file", "", "read the passphrase from `FILE` (with --unlock)")
	cmd.Flags().StringVar(&o.store, "against-store", "", "also compare with the team store at `DSN` (\"config\": [sinks.postgres]): a rollback of journal and anchor exits 1")
	cmd.Flags().BoolVar(&o.sinceVerified, "since-verified", false, "check signatures only after the last verified mark (the chain is checked in full)")
	return cmd
}

func journalReanchorCmd(c *cli) *cobra.Command {
	var reason, passFile string
	cmd := &cobra.Command{
		Use:   "re-anchor",
		Short: "replace a missing or broken journal anchor (needs the key; journaled, signed)",
		Long: `Re-anchor replaces the profile's journal anchor in the keystore by one for the
journal's current end, after checking the whole journal (chain and every
signature). It is the only way to re-anchor a journal whose anchor was
deleted, edited or rolled back: it asks for the passphrase and writes a
signed "re-anchored" entry naming the previous anchor, what was wrong with
it, and --reason. Exit 0 done, 1 refused (the journal itself is tampered,
wrong passphrase), 2 could not run.`,
		Example:           "  qapprove journal re-anchor --reason \"keychain restored from backup\"",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runJournalReanchor(c.env, reason, passFile) }),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the anchor is replaced (`TEXT`, required; journaled)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the passphrase from `FILE`")
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
// A missing anchor is a problem (unanchored); signer, when set, checks the
// anchor's MAC.
func verifyActiveJournal(env *Env, what string, signer journal.Signer, mark *journal.VerifiedMark) (string, *journalRefs, *journal.Report, int) {
	path := env.Paths().JournalFile(env.Profile)
	refs, err := loadJournalRefs(env)
	if err != nil {
		return path, nil, nil, env.Errf(exitUsage, "cannot read the keystore: %v", err)
	}
	rep, err := journal.Verify(path, journal.VerifyOptions{Anchor: refs.anchor, ExpectedPublicKey: refs.key,
		RequireAnchor: true, Signer: signer, Verified: mark})
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
	AnchorMACChecked bool                 `json:"anchor_mac_checked"`
	KeyChecked       bool                 `json:"key_checked"`
	TornTail         *journal.TornTail    `json:"torn_tail,omitempty"`
	Problem          *journal.TamperError `json:"problem,omitempty"`
	ChainSeconds     float64              `json:"chain_seconds"`
	SignatureSeconds float64              `json:"signature_seconds"`
	Warnings         []string             `json:"warnings,omitempty"`
	Store            *sink.Comparison     `json:"store,omitempty"`
}

func runJournalVerify(env *Env, o verifyOptions) int {
	var signer journal.Signer
	if o.unlock {
		sess, pk, code := unlockProfileKey(env, o.passFile)
		if sess == nil {
			return code
		}
		defer sess.Lock()
		signer = app.SessionSigner(sess, pk)
	}
	var mark *journal.VerifiedMark
	if o.sinceVerified {
		m, err := journal.LoadVerified(journal.VerifiedPath(env.Paths().JournalFile(env.Profile)))
		if err != nil {
			return env.Errf(exitUsage, "%v", err)
		}
		if m == nil {
			env.Errf(exitOK, "note: no verified mark yet (run `qapprove journal verify --unlock`): checking every signature")
		}
		mark = m
	}
	path, refs, rep, code := verifyActiveJournal(env, "verify", signer, mark)
	if rep == nil {
		return code
	}
	if rep.MarkIgnored != "" {
		refs.warnings = append(refs.warnings, rep.MarkIgnored+": checking every signature")
	}
	problem := rep.Problem
	if problem == nil && rep.Unsealed > 0 && !o.allowUnsealed {
		problem = &journal.TamperError{Line: rep.FirstUnsealed, Seq: -1, Reason: journal.Unsealed,
			Detail: fmt.Sprintf("%d %s at the end %s no signature (--allow-unsealed accepts them)", rep.Unsealed,
				plural(rep.Unsealed, "entry", "entries"), plural(rep.Unsealed, "has", "have"))}
	}
	code = exitOK
	if problem != nil {
		code = exitFail
	}
	var cmp *sink.Comparison
	storeCode, storeMsg := exitOK, ""
	if o.store != "" {
		store := o.store
		if store == "config" {
			store = ""
		}
		if cmp, storeCode, storeMsg = againstStore(env, path, store); storeCode == exitUsage {
			return env.Errf(exitUsage, "%s", storeMsg)
		}
		code = max(code, storeCode)
	}
	if signer != nil && rep.Intact {
		saveVerifiedMark(env, path, rep, signer)
	}
	if o.asJSON {
		out := verifyJSON{Intact: problem == nil, Path: path, Entries: rep.Entries, Decisions: rep.Decisions,
			Signatures: rep.Signatures, JournalID: rep.JournalID, LastCheckpoint: rep.LastCheckpoint,
			Unsealed: rep.Unsealed, AnchorChecked: refs.anchor != nil, AnchorMACChecked: rep.AnchorMACChecked, KeyChecked: refs.key != nil,
			TornTail: rep.TornTail, Problem: problem, ChainSeconds: rep.ChainDuration.Seconds(),
			SignatureSeconds: rep.SignatureDuration.Seconds(), Warnings: refs.warnings, Store: cmp}
		if c := writeJSON(env, out); c != exitOK {
			return c
		}
		return code
	}
	for _, w := range refs.warnings {
		env.Errf(exitOK, "warning: %s", w)
	}
	if p := problem; p != nil {
		if p.Reason == journal.Unsealed {
			env.Errf(exitOK, "%s", unsealedNote(rep.Unsealed, env.Profile))
			return env.Errf(exitFail, "journal unsealed (%d %s) from line %d: %s", rep.Unsealed, plural(rep.Unsealed, "entry", "entries"), p.Line, p.Detail)
		}
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
		env.Errf(exitOK, "unsealed (%d %s), allowed: %s", rep.Unsealed, plural(rep.Unsealed, "entry", "entries"), unsealedNote(rep.Unsealed, env.Profile))
	}
	if rep.AnchorMACChecked {
		env.Errf(exitOK, "the anchor's MAC verifies with this key")
	}
	if rep.SkippedSignatures > 0 {
		env.Errf(exitOK, "%d %s up to seq %d were verified on %s and not checked again", rep.SkippedSignatures,
			plural(rep.SkippedSignatures, "signature", "signatures"), mark.Seq, mark.Time)
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

// saveVerifiedMark signs and saves how far the journal was verified.
func saveVerifiedMark(env *Env, path string, rep *journal.Report, signer journal.Signer) {
	m, err := journal.MarkVerified(rep, signer, time.Now())
	if err == nil {
		err = journal.SaveVerified(journal.VerifiedPath(path), m)
	}
	if err != nil {
		env.Errf(exitOK, "warning: the verified mark was not saved: %v", err)
		return
	}
	env.Errf(exitOK, "verified mark saved at seq %d: `journal verify --since-verified` checks only the signatures after it", m.Seq)
}

func runJournalReanchor(env *Env, reason, passFile string) int {
	if strings.TrimSpace(reason) == "" {
		return env.Errf(exitUsage, "re-anchor needs --reason TEXT: it is journaled")
	}
	sess, pk, code := unlockProfileKey(env, passFile)
	if sess == nil {
		return code
	}
	defer sess.Lock()
	be, err := openBackend(env)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	path := env.Paths().JournalFile(env.Profile)
	e, err := journal.Reanchor(path, app.SessionSigner(sess, pk), journal.Options{Anchors: app.Anchors(be, env.Profile), ExpectedPublicKey: &pk}, reason)
	var te *journal.TamperError
	switch {
	case errors.As(err, &te):
		return env.Errf(exitFail, "%v", err)
	case errors.Is(err, journal.ErrNoJournal) || errors.Is(err, journal.ErrInUse):
		return env.Errf(exitUsage, "%v", err)
	case err != nil:
		return env.Errf(exitFail, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "re-anchored journal at seq %d (entry %d, signed)\n", e.Seq, e.Line)
	return exitOK
}

// unlockProfileKey unlocks the profile's key in a session of its own (the
// wrong-passphrase back-off is the profile's, across processes). On
// failure it says why and returns a nil session and the exit code.
func unlockProfileKey(env *Env, passFile string) (*secrets.Session, qbls.PublicKey, int) {
	_, b, code := loadProfileKey(env)
	if b == nil {
		return nil, qbls.PublicKey{}, code
	}
	pk, err := b.BLSPublic()
	if err != nil {
		return nil, pk, env.Errf(exitFail, "%v", err)
	}
	sess := secrets.NewSession(b, secrets.SessionOptions{KDF: env.KDF, Attempts: secrets.FileAttempts(env.Paths().AttemptsFile(env.Profile))})
	if wait := sess.Backoff(); wait > 0 {
		return nil, pk, env.Errf(exitFail, "too many wrong passphrases: wait %s", wait.Round(time.Second))
	}
	pass, err := readPassphrase(env, passFile, "Passphrase for profile "+env.Profile+": ")
	if err != nil {
		return nil, pk, env.Errf(exitUsage, "%v", err)
	}
	err = sess.Unlock(pass)
	clear(pass)
	if err != nil {
		return nil, pk, env.Errf(exitFail, "%v", err)
	}
	return sess, pk, exitOK
}

func runJournalExport(env *Env, format string) int {
	if format != "json" && format != "csv" {
		return env.Errf(exitUsage, "--format must be json or csv, not %q", format)
	}
	path, _, rep, code := verifyActiveJournal(env, "read", nil, nil)
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

// journalKeyEvent records a key export or import (kind) of the backup file
// in the profile's journal when it has one: signed when signer holds the
// journal's key, else unsigned (accepted at the next unlock). A journal
// that cannot be written (in use by the console, tampered) gives a
// warning, not a failure: the backup itself is already done.
func journalKeyEvent(env *Env, be secrets.Backend, kind journal.Kind, file string, signer journal.Signer) {
	path := env.Paths().JournalFile(env.Profile)
	if _, err := os.Stat(path); err != nil {
		return // no journal yet: keys import starts one
	}
	body := journal.KeyBackupBody{File: file}
	if b, err := secrets.LoadBundle(be, env.Profile); err == nil {
		body.Fingerprint = fingerprintOf(b)
	}
	j, _, err := journal.Open(path, journal.Options{Anchors: app.Anchors(be, env.Profile), Profile: env.Profile})
	if err == nil {
		if signer != nil && signer.PublicKey() == j.State().PublicKey {
			_, err = j.AppendSigned(kind, body, signer)
		} else {
			_, err = j.Append(kind, body)
		}
		if cerr := j.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		env.Errf(exitOK, "warning: the %s was not journaled: %v", kind, err)
	}
}
