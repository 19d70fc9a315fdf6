package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/wrap"
)

// wrapFlags are the flags that choose and reach a KMS or PKCS#11 wrap
// (register, import, rewrap). Unset flags keep config.toml's values.
type wrapFlags struct {
	kind                                  string
	kmsKey, kmsRegion, kmsEndpoint        string
	p11Module, p11Token, p11Label, p11PIN string
}

// add registers the flags; kindFlag is "wrap" or "to".
func (f *wrapFlags) add(fs *pflag.FlagSet, kindFlag, kindUsage string) {
	fs.StringVar(&f.kind, kindFlag, "", kindUsage)
	fs.StringVar(&f.kmsKey, "kms-key", "", "AWS KMS key `ARN` that wraps the data key (--"+kindFlag+" kms)")
	fs.StringVar(&f.kmsRegion, "kms-region", "", "AWS `REGION` of the KMS key (default: from the ARN or the AWS chain)")
	fs.StringVar(&f.kmsEndpoint, "kms-endpoint", "", "KMS endpoint `URL` (a private endpoint; default AWS's)")
	fs.StringVar(&f.p11Module, "pkcs11-module", "", "PKCS#11 library `PATH` (--"+kindFlag+" pkcs11)")
	fs.StringVar(&f.p11Token, "pkcs11-token", "", "PKCS#11 token `LABEL`")
	fs.StringVar(&f.p11Label, "pkcs11-label", "", "`LABEL` of the AES wrapping key on the token")
	fs.StringVar(&f.p11PIN, "pkcs11-pin-file", "", "read the token PIN from `FILE` (default: ask on the terminal)")
}

// apply overlays the flags that were given on w.
func (f *wrapFlags) apply(w storage.Wrap) (storage.Wrap, error) {
	switch f.kind {
	case "", wrap.KindNone, wrap.KindKMS, wrap.KindPKCS11:
	default:
		return w, fmt.Errorf("unknown wrap %q: use none, kms or pkcs11", f.kind)
	}
	for _, s := range []struct {
		v   string
		dst *string
	}{{f.kind, &w.WrapKind}, {f.kmsKey, &w.KMSKey}, {f.kmsRegion, &w.KMSRegion}, {f.kmsEndpoint, &w.KMSEndpoint},
		{f.p11Module, &w.PKCS11Module}, {f.p11Token, &w.PKCS11Token}, {f.p11Label, &w.PKCS11Label}, {f.p11PIN, &w.PKCS11PIN}} {
		if s.v != "" {
			*s.dst = s.v
		}
	}
	return w, w.Validate()
}

// terminalPIN asks for a PKCS#11 token PIN on the terminal (never echoed).
func terminalPIN(env *Env) app.PINFunc {
	return func() ([]byte, error) {
		f, ok := env.Stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil, errors.New("no terminal to ask the token PIN: set pkcs11_pin_file or --pkcs11-pin-file")
		}
		fmt.Fprint(env.Stderr, "PIN of the PKCS#11 token: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return nil, errors.New("could not read the PIN from the terminal")
		}
		return b, nil
	}
}

// saveWrapSettings writes the profile's wrap settings to config.toml.
func saveWrapSettings(paths storage.Paths, profile string, w storage.Wrap) error {
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		return err
	}
	p := cfg.Profiles[profile]
	p.Wrap = w
	cfg.Profiles[profile] = p
	return storage.SaveConfig(paths.ConfigFile(), cfg)
}

// profileWrap is the wrap settings config.toml gives the profile.
func profileWrap(env *Env) (storage.Wrap, error) {
	cfg, err := storage.LoadConfig(env.Paths().ConfigFile())
	if err != nil {
		return storage.Wrap{}, err
	}
	return cfg.Profiles[env.Profile].Wrap, nil
}

// rewrapOptions are the flags of `qapprove keys rewrap`.
type rewrapOptions struct {
	wrapFlags
	passFile string
}

func keysRewrapCmd(c *cli) *cobra.Command {
	var o rewrapOptions
	cmd := &cobra.Command{
		Use:   "rewrap --to none|kms|pkcs11",
		Short: "move the key bundle under another wrap: passphrase only, AWS KMS or a PKCS#11 token (journaled)",
		Long: `Rewrap moves the profile's key bundle between wraps: none (the passphrase
alone), kms (an AWS KMS key must also allow each unlock) or pkcs11 (an AES
key on a PKCS#11 token must). The keys and the passphrase do not change. It
unlocks the key, checks that the new wrap opens again, journals the move
(signed) and saves the bundle and the wrap settings in config.toml.
See docs/KEYS.md for what each wrap protects against.`,
		Example: `  qapprove keys rewrap --to kms --kms-key arn:aws:kms:eu-west-2:111122223333:key/1234abcd-...
  qapprove keys rewrap --to pkcs11 --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pkcs11-token desk --pkcs11-label qapprove
  qapprove keys rewrap --to none`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runKeysRewrap(c.env, o) }),
	}
	o.add(cmd.Flags(), "to", "the new wrap: `none`, kms or pkcs11")
	cmd.Flags().StringVar(&o.passFile, "passphrase-file", "", "read the passphrase from `FILE` (default: ask on the terminal)")
	return cmd
}

func runKeysRewrap(env *Env, o rewrapOptions) int {
	if o.kind == "" {
		return env.Errf(exitUsage, "keys rewrap needs --to none, kms or pkcs11")
	}
	cur, err := profileWrap(env)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	w, err := o.apply(cur)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	to, err := app.NewWrapper(ctx, o.kind, w, terminalPIN(env))
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	e, code := openEngine(env)
	if code != exitOK {
		closeWrapper(to)
		return code
	}
	defer e.Close()
	if code := unlockForScript(env, e, o.passFile); code != exitOK {
		closeWrapper(to)
		return code
	}
	from, into, err := e.Rewrap(ctx, to)
	if err != nil {
		closeWrapper(to)
		return env.Errf(exitFail, "%v", err)
	}
	if err := saveWrapSettings(env.Paths(), env.Profile, w); err != nil {
		return env.Errf(exitFail, "rewrapped (journaled), but config.toml could not be written: %v", err)
	}
	fmt.Fprintf(env.Stdout, "rewrapped the key of profile %s (journaled)\nfrom: %s\nto:   %s\n", env.Profile, from, into)
	return exitOK
}

func closeWrapper(w wrap.Wrapper) {
	if w != nil {
		_ = w.Close() // logging out of a token: nothing to report
	}
}

// importWrap turns the bundle b read from a backup into the one to store
// for the profile: it opens the backup's wrap (with the profile's settings
// and the flags), and wraps it again when the flags ask for a wrap or the
// profile name (part of the wrap's context) changes. It returns the
// unwrapped bundle, to check the passphrase on, and the bundle to save.
func importWrap(ctx context.Context, env *Env, b *secrets.Bundle, f wrapFlags) (inner, out *secrets.Bundle, err error) {
	cur, err := profileWrap(env)
	if err != nil {
		return nil, nil, err
	}
	w, err := f.apply(cur)
	if err != nil {
		return nil, nil, err
	}
	old, err := app.WrapperFor(ctx, b, w, terminalPIN(env))
	if err != nil {
		return nil, nil, err
	}
	defer closeWrapper(old)
	if inner, _, err = secrets.UnwrapBundle(ctx, b, old); err != nil {
		return nil, nil, fmt.Errorf("the backup's wrap did not open: %w", err)
	}
	kind := f.kind
	if kind == "" && b.Wrapped() {
		if b.Profile == env.Profile {
			return inner, b, nil // kept as it is
		}
		kind = b.Wrap.Kind // the same key, bound to the new profile name
		w.KMSKey, w.PKCS11Token, w.PKCS11Label = b.Wrap.KeyARN, b.Wrap.Token, b.Wrap.Label
	}
	renamed := *inner
	renamed.Profile = env.Profile
	nw, err := app.NewWrapper(ctx, kind, w, terminalPIN(env))
	if err != nil || nw == nil {
		return inner, &renamed, err
	}
	defer closeWrapper(nw)
	out, _, err = secrets.WrapBundle(ctx, &renamed, nw)
	return inner, out, err
}

// saveImportedWrap records the wrap flags of an import in config.toml.
func saveImportedWrap(env *Env, f wrapFlags) error {
	cur, err := profileWrap(env)
	if err != nil {
		return err
	}
	w, err := f.apply(cur)
	if err != nil {
		return err
	}
	return saveWrapSettings(env.Paths(), env.Profile, w)
}

// describeWrapSettings says how a registration protects the key.
func describeWrapSettings(w storage.Wrap) string {
	switch w.WrapKind {
	case wrap.KindKMS:
		return (&wrap.Record{Kind: wrap.KindKMS, KeyARN: w.KMSKey}).Describe()
	case wrap.KindPKCS11:
		return (&wrap.Record{Kind: wrap.KindPKCS11, Token: w.PKCS11Token, Label: w.PKCS11Label}).Describe()
	}
	return (*wrap.Record)(nil).Describe()
}

// drillUnwrap opens a wrapped backup for `keys drill` through the
// profile's wrap settings (the bundle names its own KMS key or token key),
// asking a token PIN on the terminal.
func drillUnwrap(env *Env) func(*secrets.Bundle) (*secrets.Bundle, error) {
	return func(b *secrets.Bundle) (*secrets.Bundle, error) {
		w, err := profileWrap(env)
		if err != nil {
			return nil, err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		wr, err := app.WrapperFor(ctx, b, w, terminalPIN(env))
		if err != nil {
			return nil, err
		}
		defer closeWrapper(wr)
		inner, _, err := secrets.UnwrapBundle(ctx, b, wr)
		return inner, err
	}
}

// consolePIN asks the PKCS#11 token's PIN on the terminal before the
// console starts drawing (it cannot ask while it draws), when the
// profile's key is under a token and no pkcs11_pin_file is set. Each
// unlock of the session then uses a copy; wipe clears it at exit. Nil
// when no PIN is needed or none could be asked: the unlock says why.
func consolePIN(env *Env) (pin app.PINFunc, wipe func()) {
	wipe = func() {}
	w, err := profileWrap(env)
	if err != nil || w.PKCS11PIN != "" {
		return nil, wipe
	}
	be, _, err := secrets.OpenBackend(env.Keystore, env.Paths())
	if err != nil {
		return nil, wipe
	}
	b, err := secrets.LoadBundle(be, env.Profile)
	if err != nil || b.WrapKind() != wrap.KindPKCS11 {
		return nil, wipe
	}
	fmt.Fprintf(env.Stderr, "qapprove: the key of profile %s is wrapped by %s\n", env.Profile, b.DescribeWrap())
	held, err := terminalPIN(env)()
	if err != nil {
		fmt.Fprintf(env.Stderr, "qapprove: %v\n", err)
		return nil, wipe
	}
	return func() ([]byte, error) { return bytes.Clone(held), nil }, func() { clear(held) }
}
