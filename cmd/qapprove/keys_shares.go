package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/crypto/shamir"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/shares"
	"github.com/qapprove/qapprove/ui/journalview"
	"github.com/qapprove/qapprove/ui/wizard"
)

// maxIdentityFile bounds an age identity file.
const maxIdentityFile = 64 << 10

// testAgeWorkFactor is age's scrypt work factor for passphrase shares
// when the Env's KDF allows weak parameters (tests only).
const testAgeWorkFactor = 10

// shareExportOptions are the flags of `keys export --shares`.
type shareExportOptions struct {
	n, k      int
	to        []string
	passFiles []string
	askPass   bool
}

// active reports whether any share flag was given.
func (o shareExportOptions) active() bool {
	return o.n != 0 || o.k != 0 || len(o.to) > 0 || len(o.passFiles) > 0 || o.askPass
}

func addShareExportFlags(cmd *cobra.Command, o *shareExportOptions) {
	f := cmd.Flags()
	f.IntVar(&o.n, "shares", 0, "split the backup into `N` shares, one per custodian (FILE is then a folder)")
	f.IntVar(&o.k, "threshold", 0, "any `K` of the shares restore the backup (with --shares)")
	f.StringArrayVar(&o.to, "to", nil, "age X25519 `RECIPIENT` (age1…) of one share; repeat, one per custodian")
	f.StringArrayVar(&o.passFiles, "share-passphrase-file", nil, "seal one share with the age passphrase in `FILE`; repeat")
	f.BoolVar(&o.askPass, "passphrase-shares", false, "seal the remaining shares with age passphrases typed at the terminal")
}

// shareImportOptions are the flags that open share files (`keys import
// --shares`, `keys drill`).
type shareImportOptions struct {
	on         bool
	identities []string
	passFiles  []string
}

func addShareOpenFlags(cmd *cobra.Command, o *shareImportOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.identities, "identity", nil, "age identity `FILE` (AGE-SECRET-KEY-1…) that opens shares; repeat")
	f.StringArrayVar(&o.passFiles, "share-passphrase-file", nil, "age passphrase of a passphrase share, in `FILE`; repeat")
}

func addShareImportFlags(cmd *cobra.Command, o *shareImportOptions) {
	cmd.Flags().BoolVar(&o.on, "shares", false, "FILE… are share files: recombine any K of them")
	addShareOpenFlags(cmd, o)
}

// importArgs checks the arguments of `keys import`: one backup, or with
// --shares (or when the first file is a share) the share files.
func importArgs(o *importOptions) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if o.shares.on || (len(args) > 0 && isShareFile(args[0])) {
			return argsBetween(1, shamir.MaxShares)(cmd, args)
		}
		if len(o.shares.identities) > 0 || len(o.shares.passFiles) > 0 {
			return errors.New("--identity and --share-passphrase-file go with --shares")
		}
		return argsBetween(1, 1)(cmd, args)
	}
}

// isShareFile reports whether the file at path starts like a share file
// (so `keys import SHARE` says what a share needs rather than failing on
// its size).
func isShareFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	return shares.IsShareFile(head[:n])
}

func runKeysExportShares(env *Env, dir string, force bool, o shareExportOptions) int {
	switch {
	case o.n < 2 || o.n > shamir.MaxShares:
		return env.Errf(exitUsage, "--shares must be 2 to %d, not %d", shamir.MaxShares, o.n)
	case o.k < 2 || o.k > o.n:
		return env.Errf(exitUsage, "--threshold must be 2 to --shares (%d), not %d", o.n, o.k)
	}
	fixed := len(o.to) + len(o.passFiles)
	switch {
	case o.askPass && fixed >= o.n:
		return env.Errf(exitUsage, "%d shares need %d custodians: got %d --to and %d --share-passphrase-file, and none left for --passphrase-shares",
			o.n, o.n, len(o.to), len(o.passFiles))
	case !o.askPass && fixed != o.n:
		return env.Errf(exitUsage, "%d shares need %d custodians: got %d --to and %d --share-passphrase-file",
			o.n, o.n, len(o.to), len(o.passFiles))
	}
	be, _, code := loadProfileKey(env) // before asking any share passphrase
	if code != exitOK {
		return code
	}
	custodians, code := shareCustodians(env, o)
	if code != exitOK {
		return code
	}
	paths, heads, err := app.ExportShares(app.ShareExport{Backend: be, Profile: env.Profile, Dir: dir,
		Threshold: o.k, Custodians: custodians, Force: force})
	if err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	for i, p := range paths {
		fmt.Fprintf(env.Stdout, "share %d of %d: %s (sealed for %s)\n", heads[i].Index, heads[i].Total, p, heads[i].SealedFor)
	}
	fmt.Fprintf(env.Stdout, "any %d of these %d shares restore the encrypted key %s of profile %s (set %s); "+
		"give each to its custodian, keep no two together, and drill: qapprove keys drill SHARE…\n",
		o.k, o.n, heads[0].Fingerprint, env.Profile, heads[0].Set)
	return exitOK
}

// shareCustodians builds the custodians in order: the --to recipients,
// the --share-passphrase-file passphrases, then those asked at the
// terminal. Two shares for one recipient or under one passphrase are
// refused.
func shareCustodians(env *Env, o shareExportOptions) ([]shares.Custodian, int) {
	var cs []shares.Custodian
	for _, r := range o.to {
		c, err := shares.X25519(r)
		if err != nil {
			return nil, env.Errf(exitUsage, "--to: %v", err)
		}
		for _, d := range cs {
			if d.Label() == c.Label() {
				return nil, env.Errf(exitUsage, "--to %s is given twice: one custodian would hold two shares", c.Label())
			}
		}
		cs = append(cs, c)
	}
	var passes [][]byte
	defer func() {
		for _, p := range passes {
			clear(p)
		}
	}()
	add := func(p []byte) error {
		n := len(cs) + len(passes) + 1
		passes = append(passes, p)
		if s := wizard.Estimate(p); !s.OK {
			return fmt.Errorf("the passphrase of share %d is too weak (%.0f bits, %d characters; need %d+ characters and %d+ bits)",
				n, s.Bits, s.Length, wizard.MinLength, wizard.MinBits)
		}
		for _, q := range passes[:len(passes)-1] {
			if bytes.Equal(p, q) {
				return errors.New("two shares have the same passphrase: each custodian needs their own")
			}
		}
		return nil
	}
	for _, f := range o.passFiles {
		p, err := readSecretFile(f, "share passphrase")
		if err != nil {
			return nil, env.Errf(exitUsage, "%v", err)
		}
		if err := add(p); err != nil {
			return nil, env.Errf(exitFail, "%v", err)
		}
	}
	for i := len(cs) + len(passes); o.askPass && i < o.n; i++ {
		p, err := askNewPassphrase(env, fmt.Sprintf("share %d of %d", i+1, o.n))
		if err != nil {
			return nil, env.Errf(exitUsage, "%v", err)
		}
		if err := add(p); err != nil {
			return nil, env.Errf(exitFail, "%v", err)
		}
	}
	wf := 0
	if env.KDF.AllowWeak {
		wf = testAgeWorkFactor
	}
	for _, p := range passes {
		c, err := shares.Passphrase(string(p), wf)
		if err != nil {
			return nil, env.Errf(exitUsage, "%v", err)
		}
		cs = append(cs, c)
	}
	return cs, exitOK
}

// askNewPassphrase asks a new passphrase twice on the terminal.
func askNewPassphrase(env *Env, what string) ([]byte, error) {
	p, err := readPassphrase(env, "", "Passphrase for "+what+": ")
	if err != nil {
		return nil, err
	}
	again, err := readPassphrase(env, "", "Again, passphrase for "+what+": ")
	defer clear(again)
	if err != nil || !bytes.Equal(p, again) {
		clear(p)
		return nil, fmt.Errorf("the two passphrases for %s differ", what)
	}
	return p, nil
}

// readShareFiles reads share files and gives each the identities that may
// open it: the --identity files for X25519 shares, the
// --share-passphrase-file passphrases (else one asked at the terminal)
// for passphrase shares. It returns the exit code of a usage error.
func readShareFiles(env *Env, names []string, o shareImportOptions) ([]app.ShareFile, int) {
	files := make([]app.ShareFile, len(names))
	for i, n := range names {
		data, err := readFileBounded(n, shares.MaxFileSize)
		if err != nil {
			return nil, env.Errf(exitUsage, "cannot read the share file: %v", err)
		}
		files[i] = app.ShareFile{Name: filepath.Base(n), Data: data}
	}
	var ids []age.Identity
	for _, f := range o.identities {
		data, err := readFileBounded(f, maxIdentityFile)
		if err != nil {
			return nil, env.Errf(exitUsage, "cannot read the identity file: %v", err)
		}
		got, err := age.ParseIdentities(bytes.NewReader(data))
		clear(data)
		if err != nil {
			return nil, env.Errf(exitUsage, "%s: not an age identity file: %v", f, err)
		}
		ids = append(ids, got...)
	}
	var scrypts []age.Identity
	for _, f := range o.passFiles {
		p, err := readSecretFile(f, "share passphrase")
		if err != nil {
			return nil, env.Errf(exitUsage, "%v", err)
		}
		id, err := shares.PassphraseIdentity(string(p))
		clear(p)
		if err != nil {
			return nil, env.Errf(exitUsage, "%v", err)
		}
		scrypts = append(scrypts, id)
	}
	for i := range files {
		h, err := shares.ParseHeader(files[i].Data)
		if err != nil {
			continue // app.ShareHeaders reports it
		}
		if h.SealedFor != shares.PassphraseLabel {
			if len(ids) == 0 {
				return nil, env.Errf(exitUsage, "%s is sealed for %s: give its custodian's --identity FILE", files[i].Name, h.SealedFor)
			}
			files[i].Identities = ids
			continue
		}
		files[i].Identities = scrypts
		if len(scrypts) == 0 {
			p, err := readPassphrase(env, "", fmt.Sprintf("Passphrase of share %d of %d (%s): ", h.Index, h.Total, files[i].Name))
			if err != nil {
				return nil, env.Errf(exitUsage, "%s is sealed with a passphrase: %v (or --share-passphrase-file F)", files[i].Name, err)
			}
			id, err := shares.PassphraseIdentity(string(p))
			clear(p)
			if err != nil {
				return nil, env.Errf(exitUsage, "%v", err)
			}
			files[i].Identities = []age.Identity{id}
		}
	}
	return files, exitOK
}

func runKeysImportShares(env *Env, names []string, o importOptions) int {
	files, code := readShareFiles(env, names, o.shares)
	if code != exitOK {
		return code
	}
	data, head, err := app.RecombineShares(files)
	if err != nil {
		return env.Errf(exitFail, "the shares do not restore the backup: %v", err)
	}
	fmt.Fprintf(env.Stdout, "recombined %d of the %d shares of set %s (key %s)\n", len(files), head.Total, head.Set, head.Fingerprint)
	return importBackup(env, "the recombined backup", data, o)
}

// drillOptions are the flags of `keys drill`.
type drillOptions struct {
	passFile string
	shares   shareImportOptions
}

func keysDrillCmd(c *cli) *cobra.Command {
	var o drillOptions
	cmd := &cobra.Command{
		Use:   "drill FILE…",
		Short: "restore a backup (or K share files) in memory and check it against the profile (journaled)",
		Long: `Drill proves that a backup restores the profile's key, without touching the
key in the keystore: it reads a backup made by "qapprove keys export FILE", or
recombines K share files made by "keys export --shares", opens it with the
key's passphrase in memory only, checks that its BLS and EC public keys are
the profile's, wipes it, and journals "backup drill passed" (signed by the
restored key) or "failed" with the reason. "keys show" shows the last drill
and warns when none passed in 90 days.`,
		Example: `  qapprove keys drill ~/backup/qapprove-default.json
  qapprove keys drill --identity alice.key --identity bob.key --identity carol.key share-1.txt share-3.txt share-4.txt`,
		Args: argsBetween(1, shamir.MaxShares),
		RunE: c.do(func(args []string) int { return runKeysDrill(c.env, args, o) }),
	}
	cmd.Flags().StringVar(&o.passFile, "passphrase-file", "", "read the key's passphrase from `FILE` (default: ask on the terminal)")
	addShareOpenFlags(cmd, &o.shares)
	return cmd
}

func runKeysDrill(env *Env, names []string, o drillOptions) int {
	be, err := openBackend(env)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	d := app.Drill{Paths: env.Paths(), Backend: be, Profile: env.Profile, KDF: env.KDF, Unwrap: drillUnwrap(env)}
	first, err := readFileBounded(names[0], shares.MaxFileSize)
	if err != nil {
		return env.Errf(exitUsage, "cannot read %s: %v", names[0], err)
	}
	var src app.DrillSource
	backup := first
	if len(names) > 1 || shares.IsShareFile(first) {
		src = app.DrillSource{Shares: true, Count: len(names)}
		files, code := readShareFiles(env, names, o.shares)
		if code != exitOK {
			return code
		}
		if heads, err := app.ShareHeaders(files); err == nil {
			src.Set = heads[0]
		}
		data, _, err := app.RecombineShares(files)
		if err != nil {
			return env.Errf(exitFail, "%v (journaled)", d.Fail(src, err))
		}
		backup = data
	} else if len(o.shares.identities) > 0 || len(o.shares.passFiles) > 0 {
		return env.Errf(exitUsage, "%s is a backup file, not a share: --identity and --share-passphrase-file are for share files", names[0])
	}
	pass, err := readPassphrase(env, o.passFile, "Passphrase of the key: ")
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	fp, err := d.Run(backup, src, pass)
	clear(pass)
	switch {
	case errors.Is(err, app.ErrDrillFailed):
		return env.Errf(exitFail, "%v (journaled)", err)
	case err != nil:
		return env.Errf(exitFail, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "backup drill passed: the backup restores the key %s of profile %s (opened in memory only, nothing stored); journaled\n", fp, env.Profile)
	return exitOK
}

// drillInfo is the backup drill part of `keys show --json`.
type drillInfo struct {
	Last       *time.Time `json:"last,omitempty"`
	LastResult string     `json:"last_result,omitempty"`
	LastPassed *time.Time `json:"last_passed,omitempty"`
	Overdue    bool       `json:"overdue"`
}

// backupDrill reads the last drills from the journal at path and says
// whether one is due at now.
func backupDrill(path string, keyCreated, now time.Time) *drillInfo {
	st := lastDrills(path)
	info := &drillInfo{LastResult: st.LastResult, Overdue: st.Overdue(keyCreated, now)}
	if !st.Last.IsZero() {
		info.Last = &st.Last
	}
	if !st.LastPassed.IsZero() {
		info.LastPassed = &st.LastPassed
	}
	return info
}

// lastDrills finds the newest backup-drill entry and the newest passed
// one, reading lines from the end (at most 200,000). A passed entry counts
// only when signed (`journal verify` checks the signatures).
func lastDrills(path string) app.DrillStatus {
	var st app.DrillStatus
	ix, err := journalview.OpenIndex(path)
	if err != nil {
		return st
	}
	defer ix.Close()
	for i, n := ix.Len()-1, 0; i >= 0 && n < 200_000; i, n = i-1, n+1 {
		b, err := ix.Line(i)
		if err != nil || !bytes.Contains(b, []byte(`"kind":"backup-drill"`)) {
			continue
		}
		e, err := journal.ParseLine(b)
		if err != nil || e.Kind != journal.KindBackupDrill {
			continue
		}
		var body journal.BackupDrillBody
		if json.Unmarshal(e.Body, &body) != nil {
			continue
		}
		passed := body.Result == journal.DrillPassed && e.Sig != ""
		if st.Last.IsZero() {
			st.Last, st.LastResult = e.TS, journal.DrillFailed
			if passed {
				st.LastResult = journal.DrillPassed
			}
		}
		if passed {
			st.LastPassed = e.TS
			break
		}
	}
	return st
}

// printDrill is the backup drill line of `keys show`.
func printDrill(w io.Writer, d *drillInfo, now time.Time) {
	day := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return fmt.Sprintf("%s (%d days ago)", t.UTC().Format(time.RFC3339), int(now.Sub(*t).Hours()/24))
	}
	switch {
	case d.Last == nil:
		fmt.Fprintf(w, "last drill:      never (qapprove keys drill BACKUP, or K share files)\n")
	case d.LastResult == journal.DrillPassed:
		fmt.Fprintf(w, "last drill:      passed %s\n", day(d.Last))
	default:
		fmt.Fprintf(w, "last drill:      FAILED %s; last passed: %s\n", day(d.Last), day(d.LastPassed))
	}
	if d.Overdue {
		fmt.Fprintf(w, "warning:         no backup drill passed in the last %d days: run qapprove keys drill\n", int(app.DrillInterval.Hours()/24))
	}
}
