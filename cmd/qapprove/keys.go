package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/ui/journalview"
	"github.com/qapprove/qapprove/ui/wizard"
)

func keysCmd(c *cli) *cobra.Command {
	return groupCmd("keys", "the profile's keys: register, show, back up, restore, remove, rebind, rewrap",
		`Keys manages the approver key of the active profile: a Qredo-scheme BLS key
and an EC key, encrypted together with the API secret under one passphrase,
in the OS keychain (or the file keystore with --keystore file).`,
		`  qapprove keys register
  qapprove keys show --json
  qapprove keys export ~/backup/qapprove-default.json`,
		keysRegisterCmd(c), keysShowCmd(c), keysExportCmd(c), keysImportCmd(c), keysDrillCmd(c), keysRemoveCmd(c), keysRebindCmd(c), keysRewrapCmd(c))
}

// registerOptions are the flags of `qapprove keys register`.
type registerOptions struct {
	nonInteractive, keep                           bool
	passFile, apiURL, workspace, keyID, secretFile string
	wrap                                           wrapFlags
}

func keysRegisterCmd(c *cli) *cobra.Command {
	var o registerOptions
	cmd := &cobra.Command{
		Use:   "register",
		Short: "key registration wizard (TUI); --non-interactive for scripts",
		Long: `Register creates the profile's keys, stores them encrypted under your
passphrase and registers them with the Qredo API: a wizard on the terminal,
or with --non-interactive, from flags and files for scripts. When the key
update still awaits approval under the Admin Policy, it says so.

A profile that already has a key or a journal is refused: to rotate, register
under a new profile (docs/KEYS.md).`,
		Example: `  qapprove keys register
  qapprove --profile desk keys register --non-interactive --passphrase-file pass.txt \
      --api-url https://api-v2.qredo.network/api/v2 --workspace W --api-key-id K --api-secret-file secret.txt`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runKeysRegister(c.env, o) }),
	}
	f := cmd.Flags()
	f.BoolVar(&o.nonInteractive, "non-interactive", false, "no wizard: take everything from the flags")
	f.StringVar(&o.passFile, "passphrase-file", "", "read the new passphrase from `FILE`")
	f.StringVar(&o.apiURL, "api-url", "", "API base `URL` (https)")
	f.StringVar(&o.workspace, "workspace", "", "workspace `ID`")
	f.StringVar(&o.keyID, "api-key-id", "", "API key `ID`")
	f.StringVar(&o.secretFile, "api-secret-file", "", "read the API secret from `FILE`")
	f.BoolVar(&o.keep, "keep-on-failure", false, "keep the generated key in the keystore when registering fails")
	o.wrap.add(f, "wrap", "also protect the key with `none`, kms (AWS KMS) or pkcs11 (an HSM token); see docs/KEYS.md")
	for _, n := range []string{"api-url", "workspace", "api-key-id"} {
		c.completeFlag(cmd, n)
	}
	return cmd
}

// maxSmallFile bounds passphrase and API secret files.
const maxSmallFile = 4096

// readSecretFile reads a small secret file and trims one trailing newline
// (and surrounding spaces for the API secret). Callers clear the result.
func readSecretFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the %s file: %v", what, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("cannot read the %s file", what)
	}
	if len(b) > maxSmallFile {
		clear(b)
		return nil, fmt.Errorf("the %s file is larger than %d bytes", what, maxSmallFile)
	}
	t := bytes.TrimRight(b, "\r\n")
	if len(t) == 0 {
		clear(b)
		return nil, fmt.Errorf("the %s file is empty", what)
	}
	out := append([]byte(nil), t...)
	clear(b)
	return out, nil
}

// openBackend opens the keystore of env (the keychain refuses when no
// Secret Service answers: the file keystore needs consent).
func openBackend(env *Env) (secrets.Backend, error) {
	be, _, err := secrets.OpenBackend(env.Keystore, env.Paths())
	return be, err
}

// loadProfileKey opens the keystore and loads the profile's key bundle.
// On failure it reports why and returns the exit code (exitOK otherwise).
func loadProfileKey(env *Env) (secrets.Backend, *secrets.Bundle, int) {
	be, err := openBackend(env)
	if err != nil {
		return nil, nil, env.Errf(exitUsage, "%v", err)
	}
	b, err := secrets.LoadBundle(be, env.Profile)
	if err != nil {
		return nil, nil, env.Errf(exitFail, "%v", err)
	}
	return be, b, exitOK
}

// saveProfile writes the profile's settings to config.toml, keeping the
// other profiles and the profile's other settings.
func saveProfile(paths storage.Paths, name string, p storage.Profile) error {
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		return err
	}
	old := cfg.Profiles[name]
	old.APIBaseURL, old.WorkspaceID, old.APIKeyID = p.APIBaseURL, p.WorkspaceID, p.APIKeyID
	old.Wrap = p.Wrap
	cfg.Profiles[name] = old
	return storage.SaveConfig(paths.ConfigFile(), cfg)
}

// alreadyRegistered refuses to register over an existing key or journal.
func alreadyRegistered(be secrets.Backend, paths storage.Paths, profile string) error {
	if _, err := be.Get(profile); err == nil {
		return fmt.Errorf("profile %s already has a key; to rotate, register under a new profile (see docs/KEYS.md)", profile)
	} else if !errors.Is(err, secrets.ErrNotFound) {
		return err
	}
	if _, err := os.Stat(paths.JournalFile(profile)); err == nil {
		return fmt.Errorf("profile %s already has a journal at %s; register under a new profile", profile, paths.JournalFile(profile))
	}
	return nil
}

func runKeysRegister(env *Env, o registerOptions) int {
	if !o.nonInteractive && !stdinIsTerminal(env.Stdin) {
		return env.Errf(exitUsage, "keys register needs a terminal for the wizard; for scripts use --non-interactive --passphrase-file F --api-url U --workspace W --api-key-id K --api-secret-file S")
	}
	paths := env.Paths()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	settings := cfg.Profiles[env.Profile]
	for _, f := range []struct {
		v   string
		dst *string
	}{{o.apiURL, &settings.APIBaseURL}, {o.workspace, &settings.WorkspaceID}, {o.keyID, &settings.APIKeyID}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if settings.Wrap, err = o.wrap.apply(settings.Wrap); err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	be, err := openBackend(env)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	if err := alreadyRegistered(be, paths, env.Profile); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	if !o.nonInteractive {
		return runWizard(env, be, settings)
	}
	if o.passFile == "" || o.secretFile == "" {
		return env.Errf(exitUsage, "--non-interactive needs --passphrase-file and --api-secret-file")
	}
	if err := app.ValidateSettings(settings); err != nil {
		return env.Errf(exitUsage, "%v (give --api-url, --workspace and --api-key-id)", err)
	}
	pass, err := readSecretFile(o.passFile, "passphrase")
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	defer clear(pass)
	if s := wizard.Estimate(pass); !s.OK {
		return env.Errf(exitFail, "passphrase too weak (%.0f bits, %d characters; need %d+ characters and %d+ bits): %s",
			s.Bits, s.Length, wizard.MinLength, wizard.MinBits, strings.Join(s.Feedback, "; "))
	}
	secret, err := readSecretFile(o.secretFile, "API secret")
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	secret = bytes.TrimSpace(secret)
	defer clear(secret)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reg := &app.Registration{Paths: paths, Profile: env.Profile, Settings: settings, Backend: be, KDF: env.KDF, WrapPIN: terminalPIN(env)}
	defer reg.Close()
	reg.SetAPISecret(secret)
	step := func(name string, err error) int {
		if err == nil {
			return exitOK
		}
		msg := fmt.Sprintf("%s failed: %v", name, err)
		if aerr := reg.Abort(o.keep); aerr != nil {
			msg += fmt.Sprintf("; the unregistered key could not be removed from the keystore: %v", aerr)
		} else if reg.Approved() {
			msg += "; the key was accepted by the API and is kept in the keystore"
		} else if o.keep {
			msg += "; the unregistered key is kept in the keystore (--keep-on-failure)"
		} else {
			msg += "; nothing was kept"
		}
		return env.Errf(exitFail, "%s", msg)
	}
	if c := step("checking the API key", reg.CheckCredentials(ctx)); c != exitOK {
		return c
	}
	if c := step("generating keys", reg.GenerateKeys()); c != exitOK {
		return c
	}
	if c := step("storing the key", reg.Store(pass)); c != exitOK {
		return c
	}
	if c := step("registering the key", reg.Register(ctx)); c != exitOK {
		return c
	}
	if err := saveProfile(paths, env.Profile, settings); err != nil {
		return env.Errf(exitFail, "keys registered but config.toml could not be written: %v", err)
	}
	blsPub, ecPub, _ := reg.PublicKeys()
	printRegistered(env, settings.APIKeyID, reg.ActionID(), reg.AwaitingAdmin())
	printKeys(env.Stdout, blsPub, ecPub)
	fmt.Fprintf(env.Stdout, "stored in: %s\nprotected by: %s\nback it up: qapprove --profile %s keys export FILE\n", whereStored(be, env.Profile), describeWrapSettings(settings.Wrap), env.Profile)
	return exitOK
}

// printRegistered is the first line after a registration: registered, or
// submitted and awaiting approval under the Admin Policy.
func printRegistered(env *Env, apiKeyID, actionID string, awaiting bool) {
	if awaiting {
		fmt.Fprintf(env.Stdout, "keys for profile %s %s (API key %s)\n", env.Profile, wizard.RegistrationStatus("", actionID), apiKeyID)
		return
	}
	fmt.Fprintf(env.Stdout, "registered keys for profile %s (API key %s, action %s)\n", env.Profile, apiKeyID, actionID)
}

func printKeys(w io.Writer, blsPub qbls.PublicKey, ecPub eckey.PublicKey) {
	fmt.Fprintf(w, "BLS public key: %x\nBLS fingerprint: %s\nEC public key: %x\nEC fingerprint: %s\n",
		blsPub[:], qbls.Fingerprint(blsPub), ecPub[:], wizard.ECFingerprint(ecPub))
}

func whereStored(be secrets.Backend, profile string) string {
	if fb, ok := be.(*secrets.FileBackend); ok {
		if p, err := fb.Path(profile); err == nil {
			return "file keystore " + p
		}
	}
	return "OS keychain (service " + secrets.Service + ", user " + profile + ")"
}

func runWizard(env *Env, be secrets.Backend, settings storage.Profile) int {
	paths := env.Paths()
	c := journalview.NewContext(false)
	w := wizard.New(c, wizard.Options{
		Registrar: &app.Registration{Paths: paths, Profile: env.Profile, Backend: be, KDF: env.KDF},
		Profile:   env.Profile, Defaults: settings,
		Where:       whereStored(be, env.Profile),
		SaveProfile: func(p storage.Profile) error { return saveProfile(paths, env.Profile, p) },
		OfferWrap:   true,
	})
	defer w.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := journalview.RunUntil(ctx, c, w, wizard.IsDone); err != nil && !errors.Is(err, context.Canceled) {
		return env.Errf(exitFail, "wizard: %v", err)
	}
	if msg := w.Cleanup(); msg != "" {
		fmt.Fprintln(env.Stderr, "qapprove: "+msg)
	}
	if !w.Registered() {
		return env.Errf(exitFail, "registration not completed")
	}
	blsPub, ecPub, _ := w.PublicKeys() // public copies: Cleanup wiped the secrets
	printRegistered(env, w.Settings().APIKeyID, w.ActionID(), w.AwaitingAdmin())
	printKeys(env.Stdout, blsPub, ecPub)
	return exitOK
}

// keyStatus is `keys show --json`.
type keyStatus struct {
	Profile        string     `json:"profile"`
	APIBaseURL     string     `json:"api_base_url"`
	WorkspaceID    string     `json:"workspace_id"`
	APIKeyID       string     `json:"api_key_id"`
	BLSPublicKey   string     `json:"bls_public_key"`
	BLSFingerprint string     `json:"bls_fingerprint"`
	ECPublicKey    string     `json:"ec_public_key"`
	ECFingerprint  string     `json:"ec_fingerprint"`
	Keystore       string     `json:"keystore"`
	Location       string     `json:"location"`
	Created        time.Time  `json:"created"`
	Registered     *time.Time `json:"registered,omitempty"`
	AwaitingAdmin  string     `json:"awaiting_admin,omitempty"` // key-update action awaiting the Admin Policy
	LastUnlock     *time.Time `json:"last_unlock,omitempty"`
	BackupDrill    *drillInfo `json:"backup_drill"`
	Wrap           string     `json:"wrap"`                     // none, kms or pkcs11
	WrapKMSKey     string     `json:"wrap_kms_key,omitempty"`   // the KMS key ARN
	WrapToken      string     `json:"wrap_token,omitempty"`     // the PKCS#11 token label
	WrapKeyLabel   string     `json:"wrap_key_label,omitempty"` // the token key's label
	Protection     string     `json:"protection"`               // in words
	WrapCheck      string     `json:"wrap_check,omitempty"`     // unlock or decision (wrapped keys)
}

func keysShowCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "public keys and status",
		Long: `Show prints the profile's public keys and fingerprints, the API it is bound
to, where the key is stored, whether it is registered (or awaiting approval
under the Admin Policy) and the last unlock. It never needs the passphrase.`,
		Example:           "  qapprove keys show\n  qapprove --profile desk keys show --json",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runKeysShow(c.env, asJSON) }),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runKeysShow(env *Env, asJSON bool) int {
	be, b, code := loadProfileKey(env)
	if code != exitOK {
		return code
	}
	blsPub, err1 := b.BLSPublic()
	ecPub, err2 := b.ECPublic()
	if err := errors.Join(err1, err2); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	paths := env.Paths()
	st := keyStatus{Profile: env.Profile, APIBaseURL: b.APIBaseURL, WorkspaceID: b.WorkspaceID, APIKeyID: b.APIKeyID,
		BLSPublicKey: hex.EncodeToString(blsPub[:]), BLSFingerprint: qbls.Fingerprint(blsPub),
		ECPublicKey: hex.EncodeToString(ecPub[:]), ECFingerprint: wizard.ECFingerprint(ecPub),
		Keystore: be.Kind(), Location: whereStored(be, env.Profile), Created: b.Created, Registered: b.Registered,
		AwaitingAdmin: b.AwaitingAdmin, Wrap: b.WrapKind(), Protection: b.DescribeWrap()}
	if b.Wrap != nil {
		st.WrapKMSKey, st.WrapToken, st.WrapKeyLabel = b.Wrap.KeyARN, b.Wrap.Token, b.Wrap.Label
		st.WrapCheck = storage.WrapCheckUnlock
		if w, err := profileWrap(env); err == nil && w.CheckEachDecision() {
			st.WrapCheck = storage.WrapCheckDecision
		}
	}
	if t, ok := lastUnlock(paths.JournalFile(env.Profile)); ok {
		st.LastUnlock = &t
	}
	now := time.Now()
	st.BackupDrill = backupDrill(paths.JournalFile(env.Profile), b.Created, now)
	if asJSON {
		return writeJSON(env, st)
	}
	w := env.Stdout
	fmt.Fprintf(w, "profile:         %s\nAPI:             %s (workspace %s)\nAPI key ID:      %s\n", st.Profile, st.APIBaseURL, st.WorkspaceID, st.APIKeyID)
	fmt.Fprintf(w, "BLS public key:  %s\nBLS fingerprint: %s\nEC public key:   %s\nEC fingerprint:  %s\n", st.BLSPublicKey, st.BLSFingerprint, st.ECPublicKey, st.ECFingerprint)
	fmt.Fprintf(w, "stored in:       %s\nprotected by:    %s\n", st.Location, st.Protection)
	switch st.WrapCheck {
	case storage.WrapCheckDecision:
		fmt.Fprintf(w, "wrap asked:      at each unlock and before each decision (wrap_check = \"decision\")\n")
	case storage.WrapCheckUnlock:
		fmt.Fprintf(w, "wrap asked:      at each unlock (wrap_check = \"decision\" also asks before each decision)\n")
	}
	fmt.Fprintf(w, "created:         %s\n", st.Created.UTC().Format(time.RFC3339))
	if st.AwaitingAdmin != "" {
		fmt.Fprintf(w, "registration:    %s\n", wizard.RegistrationStatus("", st.AwaitingAdmin))
	} else if st.Registered != nil {
		fmt.Fprintf(w, "registration:    %s\n", wizard.RegistrationStatus(st.Registered.UTC().Format(time.RFC3339), ""))
	} else {
		fmt.Fprintf(w, "registration:    NOT registered (run qapprove keys register)\n")
	}
	if st.LastUnlock != nil {
		fmt.Fprintf(w, "last unlock:     %s\n", st.LastUnlock.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(w, "last unlock:     never\n")
	}
	printDrill(w, st.BackupDrill, now)
	return exitOK
}

// lastUnlock finds the newest unlock entry of the journal, reading lines
// from the end (at most 200,000 of them).
func lastUnlock(path string) (time.Time, bool) {
	ix, err := journalview.OpenIndex(path)
	if err != nil {
		return time.Time{}, false
	}
	defer ix.Close()
	for i, n := ix.Len()-1, 0; i >= 0 && n < 200_000; i, n = i-1, n+1 {
		b, err := ix.Line(i)
		if err != nil || !bytes.Contains(b, []byte(`"kind":"unlock"`)) {
			continue
		}
		if e, err := journal.ParseLine(b); err == nil && e.Kind == journal.KindUnlock {
			return e.TS, true
		}
	}
	return time.Time{}, false
}

func keysExportCmd(c *cli) *cobra.Command {
	var force bool
	var so shareExportOptions
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "encrypted backup of the key bundle",
		Long: `Export writes the profile's key bundle, still encrypted under its passphrase,
to FILE (0600). Keep it offline: it is only as safe as the passphrase.
"qapprove keys import" restores it.

With --shares N --threshold K, FILE is a folder: the backup is split into N
share files, each sealed with age for one custodian (--to, or a passphrase),
any K of which restore it (docs/KEYS.md, "Disaster recovery").`,
		Example: "  qapprove keys export ~/backup/qapprove-default.json\n  qapprove keys export --shares 5 --threshold 3 --to age1… --to age1… --to age1… --to age1… --to age1… ~/shares",
		Args:    argsBetween(1, 1),
		RunE: c.do(func(args []string) int {
			if so.active() {
				return runKeysExportShares(c.env, args[0], force, so)
			}
			return runKeysExport(c.env, args[0], force)
		}),
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite FILE if it exists")
	addShareExportFlags(cmd, &so)
	return cmd
}

func runKeysExport(env *Env, file string, force bool) int {
	be, err := openBackend(env)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	if err := app.ExportBundle(be, env.Profile, file, force); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "exported the encrypted key of profile %s to %s (0600); keep it offline, it is only as safe as the passphrase\n", env.Profile, file)
	journalKeyEvent(env, be, journal.KindKeyExported, file, nil)
	return exitOK
}

// stdinIsTerminal reports whether r is a terminal.
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readPassphrase reads the passphrase from file or, without one, from the
// terminal (never echoed).
func readPassphrase(env *Env, file, prompt string) ([]byte, error) {
	if file != "" {
		return readSecretFile(file, "passphrase")
	}
	f, ok := env.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("no terminal to ask the passphrase: use --passphrase-file F")
	}
	fmt.Fprint(env.Stderr, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return nil, errors.New("could not read the passphrase from the terminal")
	}
	return b, nil
}

// importOptions are the flags of `qapprove keys import`.
type importOptions struct {
	force    bool
	passFile string
	shares   shareImportOptions
	wrap     wrapFlags
}

func keysImportCmd(c *cli) *cobra.Command {
	var o importOptions
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "restore an encrypted backup",
		Long: `Import restores a backup made by "qapprove keys export" into the profile,
after checking that the passphrase opens it. On a new machine it also writes
the profile's settings from the backup and starts the audit journal.
A profile that holds a different key is refused without --force.
With --shares, FILE… are K share files of one set, opened with --identity
(or their passphrases), recombined into the backup.`,
		Example: "  qapprove keys import ~/backup/qapprove-default.json\n  qapprove --profile desk keys import backup.json --passphrase-file pass.txt\n  qapprove keys import --shares --identity me.key share-1.txt share-2.txt share-4.txt",
		Args:    importArgs(&o),
		RunE: c.do(func(args []string) int {
			if o.shares.on || isShareFile(args[0]) {
				return runKeysImportShares(c.env, args, o)
			}
			return runKeysImport(c.env, args[0], o)
		}),
	}
	addShareImportFlags(cmd, &o.shares)
	cmd.Flags().BoolVar(&o.force, "force", false, "replace a different key the profile holds (export it first)")
	cmd.Flags().StringVar(&o.passFile, "passphrase-file", "", "read the backup's passphrase from `FILE` (default: ask on the terminal)")
	o.wrap.add(cmd.Flags(), "wrap", "store the key under `none`, kms or pkcs11 (default: the backup's wrap)")
	return cmd
}

func runKeysImport(env *Env, file string, o importOptions) int {
	data, err := readBounded(file, secrets.MaxValueSize+2)
	if err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	return importBackup(env, file, data, o)
}

// importBackup restores the backup data (read from file) into the profile.
func importBackup(env *Env, file string, data []byte, o importOptions) int {
	b, err := secrets.ParseBundle(bytes.TrimSpace(data))
	if err != nil {
		return env.Errf(exitFail, "%s: %v", file, err)
	}
	be, err := openBackend(env)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	if old, err := secrets.LoadBundle(be, env.Profile); err == nil {
		if old.BLSPublicKey == b.BLSPublicKey && old.ECPublicKey == b.ECPublicKey {
			fmt.Fprintf(env.Stdout, "profile %s already holds this key; nothing to do\n", env.Profile)
			return exitOK
		}
		if !o.force {
			return env.Errf(exitFail, "profile %s already holds a different key (%s); use --force to replace it (export it first)", env.Profile, fingerprintOf(old))
		}
	} else if !errors.Is(err, secrets.ErrNotFound) {
		if !o.force {
			return env.Errf(exitFail, "the stored key of profile %s cannot be read (%v); use --force to replace it", env.Profile, err)
		}
	}
	pass, err := readPassphrase(env, o.passFile, "Passphrase of the backup: ")
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	inner, out, err := importWrap(ctx, env, b, o.wrap)
	if err != nil {
		clear(pass)
		return env.Errf(exitFail, "%v", err)
	}
	s, err := env.KDF.Open(inner, pass)
	clear(pass)
	if err != nil {
		return env.Errf(exitFail, "the backup cannot be opened: %v", err)
	}
	defer s.Zero()
	b = out
	if err := secrets.SaveBundle(be, env.Profile, b); err != nil {
		return env.Errf(exitFail, "%v", err)
	}

	fmt.Fprintf(env.Stdout, "imported the key %s into profile %s (%s; protected by %s)\n", fingerprintOf(b), env.Profile, whereStored(be, env.Profile), b.DescribeWrap())
	journalKeyEvent(env, be, journal.KindKeyImported, file, &app.KeySigner{Key: &s.BLS})
	code := setUpImported(env, be, b, s)
	if code == exitOK && o.wrap != (wrapFlags{}) {
		if err := saveImportedWrap(env, o.wrap); err != nil {
			return env.Errf(exitFail, "key imported, but its wrap settings could not be written to config.toml: %v", err)
		}
	}
	return code
}

// setUpImported makes an imported key usable on a new machine: it writes
// the profile settings from the backup when config.toml has none, and
// starts the journal (a genesis signed by the imported key) when the
// profile has none.
func setUpImported(env *Env, be secrets.Backend, b *secrets.Bundle, s *secrets.Secrets) int {
	paths := env.Paths()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		return env.Errf(exitFail, "key imported, but config.toml cannot be read: %v", err)
	}
	if _, ok := cfg.Profiles[env.Profile]; !ok {
		cfg.Profiles[env.Profile] = storage.Profile{APIBaseURL: b.APIBaseURL, WorkspaceID: b.WorkspaceID, APIKeyID: b.APIKeyID}
		if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
			return env.Errf(exitFail, "key imported, but config.toml could not be written: %v", err)
		}
		fmt.Fprintf(env.Stdout, "wrote the profile settings of the backup to %s\n", paths.ConfigFile())
	}
	path := paths.JournalFile(env.Profile)
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return exitOK // an existing journal is kept as it is
	}
	signer := &app.KeySigner{Key: &s.BLS}
	j, err := journal.Create(path, signer, journal.Options{Profile: env.Profile, Anchors: app.Anchors(be, env.Profile)})
	if err == nil {
		_, err = j.Checkpoint(signer, "imported")
		if cerr := j.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return env.Errf(exitFail, "key imported, but the journal could not be created: %v", err)
	}
	fmt.Fprintf(env.Stdout, "started the audit journal at %s\n", path)
	return exitOK
}

func fingerprintOf(b *secrets.Bundle) string {
	pk, err := b.BLSPublic()
	if err != nil {
		return "unreadable"
	}
	return qbls.Fingerprint(pk)
}

// readBounded reads a key backup of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	b, err := readFileBounded(path, limit)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key backup: %v", err)
	}
	return b, nil
}

func keysRemoveCmd(c *cli) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove",
		Short: "delete the profile's key from the keystore (after rotating)",
		Long: `Remove deletes the profile's key from the keystore; the journal is kept.
Export the key first: without a backup it is gone. It asks for --yes.`,
		Example:           "  qapprove --profile old keys export old-key.json\n  qapprove --profile old keys remove --yes",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runKeysRemove(c.env, yes) }),
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete the key")
	return cmd
}

func runKeysRemove(env *Env, yes bool) int {
	if !yes {
		return env.Errf(exitUsage, "keys remove deletes the key of profile %s from the keystore: export it first, then pass --yes", env.Profile)
	}
	be, b, code := loadProfileKey(env)
	if code != exitOK {
		return code
	}
	if err := be.Delete(env.Profile); err != nil {
		return env.Errf(exitFail, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "removed the key %s of profile %s from the keystore (the journal is kept)\n", fingerprintOf(b), env.Profile)
	return exitOK
}
