package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/secrets"
)

// demoPassphrase unlocks the throw-away demo key. It is printed on purpose:
// the demo home is deleted on exit and the key is only known to the sandbox.
const demoPassphrase = "demo-approver-passphrase" //nolint:gosec // G101: the throw-away demo key's passphrase is printed to the user on purpose

func demoCmd(c *cli) *cobra.Command {
	var keep bool
	var arrivals time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "start the embedded sandbox with sample data and open the console on it",
		Long: `Demo starts the embedded sandbox with sample data on a free loopback port,
registers a throw-away key in a temporary home under a demo passphrase that
it prints, and opens the console on it. Nothing touches your keychain or
config; the home is deleted on exit unless --keep.`,
		Example:           "  qapprove demo\n  qapprove demo --keep --arrivals 0",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              c.do(func([]string) int { return runDemo(c.env, keep, arrivals) }),
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the throw-away home after exit (its path is printed)")
	cmd.Flags().DurationVar(&arrivals, "arrivals", 45*time.Second, "a new action arrives this often (0 = off)")
	c.completeFlag(cmd, "arrivals")
	return cmd
}

func runDemo(env *Env, keep bool, arrivals time.Duration) int {
	home, err := os.MkdirTemp("", "qapprove-demo-")
	if err != nil {
		return env.Errf(exitUsage, "demo: %v", err)
	}
	if !keep {
		defer os.RemoveAll(home)
	}
	fmt.Fprintln(env.Stderr, "qapprove demo: starting the sandbox and registering a throw-away key…")
	srv, baseURL, err := startDemoSandbox(arrivals)
	if err != nil {
		return env.Errf(exitUsage, "demo: %v", err)
	}
	defer srv.Close()
	denv := *env
	denv.Home, denv.Keystore, denv.Profile = home, secrets.KindFile, "demo"
	if err := setupDemoHome(&denv, srv, baseURL, []byte(demoPassphrase)); err != nil {
		return env.Errf(exitFail, "demo: %v", err)
	}
	fmt.Fprintf(env.Stderr, "qapprove demo: sandbox at %s, throw-away home %s\n", baseURL, home)
	fmt.Fprintf(env.Stderr, "qapprove demo: the demo passphrase is: %s\n", demoPassphrase)
	if f, ok := env.Stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(env.Stderr, "Press Enter to open the console (u unlocks, a approves, r rejects, ? help)…")
		buf := make([]byte, 1)
		_, _ = f.Read(buf) // any answer, even EOF, goes on
	}
	e, err := app.Open(consoleOptions(&denv))
	if err != nil {
		return engineError(&denv, err)
	}
	code := runConsoleOn(&denv, e)
	if keep {
		fmt.Fprint(env.Stderr, keptNote(home))
	}
	return code
}

// keptNote says how to use a kept demo home: its profile is "demo", its
// config names the file keystore, and its sandbox is gone.
func keptNote(home string) string {
	q := "qapprove --home " + shellQuote(home) + " --profile demo"
	return fmt.Sprintf(`qapprove demo: kept %s (profile demo, file keystore; passphrase %s). Use it with:
  %s journal            the journal viewer (also: journal verify, journal export)
  %s keys show          the demo key
  %s pending --cached   the last pending list seen
The sandbox stopped with the demo and a new one does not know this key: run `+"`qapprove demo`"+` again to approve and reject live.
`, home, demoPassphrase, q, q, q)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// startDemoSandbox runs the embedded scenario on a free loopback port.
func startDemoSandbox(arrivals time.Duration) (*sandbox.Server, string, error) {
	srv, err := sandbox.New(sandbox.Options{ArrivalEvery: arrivals, CoApproverDelay: 20 * time.Second})
	if err != nil {
		return nil, "", err
	}
	base, err := srv.Start("127.0.0.1:0")
	if err != nil {
		_ = srv.Close() // the Start error is the one to report
		return nil, "", err
	}
	return srv, base, nil
}

// setupDemoHome writes a profile for the sandbox into env's home and
// registers a fresh key through the real registration flow.
func setupDemoHome(env *Env, srv *sandbox.Server, baseURL string, passphrase []byte) error {
	wid, kid, secret := srv.Credentials()
	prof := storage.Profile{APIBaseURL: baseURL, WorkspaceID: wid, APIKeyID: kid, Keystore: env.Keystore,
		Prices: &storage.PriceSettings{Table: demoPricesFile, MaxAge: "24h"}}
	paths := env.Paths()
	if err := writeDemoPrices(paths, time.Now()); err != nil {
		return err
	}
	cfg := &storage.Config{Profiles: map[string]storage.Profile{env.Profile: prof}}
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		return err
	}
	be, _, err := secrets.OpenBackend(env.Keystore, paths)
	if err != nil {
		return err
	}
	r := &app.Registration{Paths: paths, Profile: env.Profile, Settings: prof, Backend: be, KDF: env.KDF}
	defer r.Close()
	r.SetAPISecret([]byte(secret))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.CheckCredentials(ctx); err != nil {
		return err
	}
	if err := r.GenerateKeys(); err != nil {
		return err
	}
	if err := r.Store(passphrase); err != nil {
		return err
	}
	if err := r.Register(ctx); err != nil {
		_ = r.Abort(false) // the registration error is the one to report
		return err
	}
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// demoPricesFile is the demo desk's price table, in the config folder.
const demoPricesFile = "prices.toml"

// writeDemoPrices writes the demo's price table: fresh prices for the main
// assets, a stale one for BTC, and none for the testnet assets, so the
// console shows each case.
func writeDemoPrices(paths storage.Paths, now time.Time) error {
	table := fmt.Sprintf(`# qapprove demo: the desk's price table (docs/RULES.md "Fiat value")
currency = "USD"
as_of = %s

[prices]
ETH = "2012.50"
USDC = "1.00"
"USDC.polygon" = "1.00"
POL = "0.42"

[prices.BTC]
price = "97000"
as_of = %s # stale: older than max_age (24h)
`, now.UTC().Format(time.RFC3339), now.Add(-50*time.Hour).UTC().Format(time.RFC3339))
	if err := os.MkdirAll(paths.Config, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(paths.Config, demoPricesFile), []byte(table), 0o600)
}
