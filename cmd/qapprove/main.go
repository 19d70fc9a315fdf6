// Command qapprove is a terminal console for approvers of the Qredo API.
//
// main.go holds the root of the cobra command tree and the global options;
// cli.go the glue (argument checks, flag errors, help, completion); each
// sub-command lives in its own file with its constructor.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/awnumar/memguard"
	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/ui/safetext"
)

// Exit codes of the command-line contract (DESIGN.md).
const (
	exitOK    = 0 // the operation succeeded
	exitFail  = 1 // the operation was refused or failed
	exitUsage = 2 // bad usage or an unusable environment
)

// version and commit are set at build time with
// -ldflags "-X main.version=… -X main.commit=…" (see the Makefile).
var (
	version = "0.1.0-dev"
	commit  = ""
)

// Env is what every sub-command receives: the global options and the
// standard streams (tests replace them). run wraps Stdout and Stderr with
// safetext.Writer, so no text output reaches the terminal raw; JSON goes
// through WriteJSON.
type Env struct {
	Profile  string // --profile (default "default")
	Home     string // --home or QAPPROVE_HOME; "" means the XDG defaults
	Keystore string // --keystore or the config's keystore: "keychain" (default) or "file"
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	// KDF is the key-derivation policy for sealing and opening key
	// bundles: the zero value (production) everywhere but in tests.
	KDF secrets.KDF

	rawStdout io.Writer // Stdout before wrapping, for WriteJSON
}

// wrapStreams makes Stdout and Stderr escape what a terminal would act on
// (control, bidi and zero-width characters). Safe to call twice.
func (e *Env) wrapStreams() {
	if e.rawStdout != nil {
		return
	}
	e.rawStdout = e.Stdout
	e.Stdout = safetext.Writer{W: e.Stdout}
	e.Stderr = safetext.Writer{W: e.Stderr}
}

// WriteJSON prints v as indented JSON on stdout. Values stay exact for a
// JSON reader, while characters a terminal would act on are \u-escaped
// (safetext.JSON).
func (e *Env) WriteJSON(v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := e.rawStdout
	if out == nil {
		out = e.Stdout
	}
	_, err := out.Write(safetext.JSON(b.Bytes()))
	return err
}

// Paths resolves the config and data folders for this invocation.
func (e *Env) Paths() storage.Paths { return storage.ResolvePaths(e.Home) }

// Errf prints one clear error line on stderr and returns code. The
// message is escaped with safetext.Line: values from the network or a
// file cannot drive the terminal.
func (e *Env) Errf(code int, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	msg = strings.ReplaceAll(msg, "\n", " ")
	fmt.Fprintf(e.Stderr, "qapprove: %s\n", safetext.Line(msg))
	return code
}

func main() {
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	code := run(env, os.Args[1:])
	memguard.Purge() // wipe any locked buffer left before exiting
	os.Exit(code)
}

// run parses argv with the command tree and runs the chosen command. A bad
// command line (unknown command or flag, missing or extra argument, a bad
// global option) is one line on stderr and exit 2; otherwise the command's
// own exit code.
func run(env *Env, argv []string) int {
	env.wrapStreams()
	if argv == nil {
		argv = []string{} // cobra reads os.Args for nil
	}
	c := &cli{env: env, completing: len(argv) > 0 && strings.HasPrefix(argv[0], cobra.ShellCompRequestCmd)}
	root := newRootCmd(c)
	root.SetArgs(argv)
	if err := root.Execute(); err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	return c.code
}

// newRootCmd is the whole command tree of the contract (DESIGN.md).
func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "qapprove",
		Short: "open the console for the active profile",
		Long: "qapprove " + version + ` — approve and reject Qredo API actions from the terminal.

With no command it opens the console for the active profile (running the
registration wizard first when the profile has no key yet).`,
		Example: `  qapprove demo                          try it on the embedded sandbox
  qapprove --profile desk keys register  register a key for profile desk
  qapprove pending --json                the pending actions as JSON`,
		Version:           version,
		Args:              commandArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: c.setUp,
		RunE:              c.do(func([]string) int { return runConsole(c.env) }),
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetVersionTemplate("qapprove {{.Version}}\n")
	root.SetOut(c.env.Stdout)
	root.SetErr(c.env.Stderr)
	root.SetIn(c.env.Stdin)
	root.SetFlagErrorFunc(flagError)

	pf := root.PersistentFlags()
	pf.StringVar(&c.globals.profile, "profile", "default", "profile `NAME` to use")
	pf.StringVar(&c.globals.home, "home", "", "keep config, data and the file keystore under `DIR` (default $QAPPROVE_HOME, else the XDG folders)")
	pf.StringVar(&c.globals.keystore, "keystore", "", "keystore `KIND`: keychain or file (default: the profile's keystore in config.toml, else keychain)")
	root.Flags().Bool("version", false, "print the version")
	_ = root.MarkPersistentFlagDirname("home")
	c.completeFlag(root, "keystore", "keychain", "file")
	c.completeFlag(root, "profile")

	root.AddCommand(demoCmd(c), sandboxCmd(c), keysCmd(c), pendingCmd(c), decideCmd(c, true), decideCmd(c, false),
		journalCmd(c), auditCmd(c), rulesCmd(c), selftestCmd(c), versionCmd(c), completionCmd(c, root))
	root.SetHelpCommand(helpCmd(root))
	root.SetUsageFunc(usageFunc(root))
	return root
}

// setUp resolves the global options into the Env before a command runs
// (not for help and completion, which need no profile).
func (c *cli) setUp(cmd *cobra.Command, _ []string) error {
	if cmd.Annotations[noSetUp] != "" || strings.HasPrefix(cmd.Name(), cobra.ShellCompRequestCmd) {
		return nil
	}
	env, g := c.env, c.globals
	env.Profile, env.Home, env.Keystore = g.profile, g.home, g.keystore
	if !cmd.Flags().Changed("home") {
		env.Home = os.Getenv("QAPPROVE_HOME")
	}
	if !storage.ValidProfileName(env.Profile) {
		return fmt.Errorf("invalid profile name %q: use letters, digits, '-', '_' or '.' (at most 64)", env.Profile)
	}
	if env.Keystore == "" {
		ks, err := configuredKeystore(env)
		if err != nil {
			return err
		}
		env.Keystore = ks
	}
	if env.Keystore != "keychain" && env.Keystore != "file" {
		return fmt.Errorf("--keystore must be keychain or file, not %q", env.Keystore)
	}
	return nil
}

// configuredKeystore is the keystore config.toml sets for the profile
// (its own keystore, else the top-level one), or "keychain". An unreadable
// config is left to the command that needs it.
func configuredKeystore(env *Env) (string, error) {
	cfg, err := storage.LoadConfig(env.Paths().ConfigFile())
	if err != nil {
		return "keychain", nil
	}
	ks, err := cfg.KeystoreFor(env.Profile)
	if err != nil || ks == "" {
		return "keychain", err
	}
	return ks, nil
}
