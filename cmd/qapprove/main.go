// Command qapprove is a terminal console for approvers of the Qredo API.
//
// main.go holds only flag parsing and sub-command dispatch; each sub-command
// lives in its own file and registers itself with register in an init func.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/awnumar/memguard"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/ui/safetext"
)

// Exit codes of the command-line contract (DESIGN.md).
const (
	exitOK    = 0 // the operation succeeded
	exitFail  = 1 // the operation was refused or failed
	exitUsage = 2 // bad usage or an unusable environment
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

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

// flagUsage reports a bad command line of the command fs parses (exit 2):
// the bad flag when err is a flag error, otherwise the command's usage.
func flagUsage(env *Env, fs *flag.FlagSet, err error) int {
	name := fs.Name()
	cmd := strings.TrimSpace("qapprove " + name)
	see := fmt.Sprintf("(see %s --help)", cmd)
	if err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			return env.Errf(exitUsage, "unknown flag --%s for `%s` %s", f, cmd, see)
		}
		if f, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
			return env.Errf(exitUsage, "flag --%s of `%s` needs a value %s", f, cmd, see)
		}
		if i := strings.Index(msg, " for flag -"); i >= 0 {
			msg = msg[:i] + " for flag --" + msg[i+len(" for flag -"):]
		}
		return env.Errf(exitUsage, "%s (%s; see %s --help)", msg, cmd, cmd)
	}
	usage := ""
	if c, ok := commands[name]; ok {
		usage = c.usage
	}
	return env.Errf(exitUsage, "usage: %s %s %s", cmd, usage, see)
}

// command is one sub-command of the contract.
type command struct {
	name    string // "pending", "journal verify", …
	usage   string // arguments, e.g. "[--json]"
	summary string // one line for --help
	run     func(env *Env, args []string) int
}

var commands = map[string]*command{}

// register adds a sub-command; called from init funcs of the command files.
func register(c command) {
	if old, ok := commands[c.name]; ok && old.run != nil {
		panic("duplicate command " + c.name)
	}
	cc := c
	commands[c.name] = &cc
}

// contract lists every sub-command of DESIGN.md, so --help shows them all
// even before a file registers the implementation.
var contract = []command{
	{name: "", usage: "", summary: "open the console for the active profile"},
	{name: "demo", summary: "start the embedded sandbox with sample data and open the console on it"},
	{name: "sandbox", usage: "[--addr A] [--scenario F] [--actions N]", summary: "run the sandbox server alone (prints its URL, API key id and secret)"},
	{name: "keys register", usage: "[--non-interactive --passphrase-file F]", summary: "key registration wizard"},
	{name: "keys show", summary: "public keys and status"},
	{name: "keys export", usage: "FILE", summary: "encrypted backup of the key bundle"},
	{name: "keys import", usage: "FILE", summary: "restore an encrypted backup"},
	{name: "keys remove", usage: "--yes", summary: "delete the profile's stored key (after rotating to a new one)"},
	{name: "pending", usage: "[--json]", summary: "pending actions with verdicts"},
	{name: "approve", usage: "ID [--yes] [--passphrase-file F]", summary: "approve one action without the TUI"},
	{name: "reject", usage: "ID [--reason TEXT] [--yes] [--passphrase-file F]", summary: "reject one action without the TUI"},
	{name: "journal", summary: "journal viewer"},
	{name: "journal verify", usage: "[--json]", summary: "verify the journal: exit 0 intact, 1 tampered/corrupt, 2 could not run"},
	{name: "journal export", usage: "[--format json|csv]", summary: "export the journal for auditors"},
	{name: "rules check", usage: "[FILE]", summary: "compile a rules file; errors with line:column"},
	{name: "rules test", usage: "FILE --actions A [--json]", summary: "replay actions through rules and print the verdicts"},
	{name: "selftest", usage: "[--vectors F]", summary: "known-answer tests of the crypto"},
	{name: "version", summary: "print the version"},
}

func init() {
	register(command{name: "version", summary: "print the version", run: func(env *Env, args []string) int {
		fmt.Fprintf(env.Stdout, "qapprove %s\n", version)
		return exitOK
	}})
}

func main() {
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	code := run(env, os.Args[1:])
	memguard.Purge() // wipe any locked buffer left before exiting
	os.Exit(code)
}

// run parses the global flags, finds the sub-command and runs it.
func run(env *Env, argv []string) int {
	env.wrapStreams()
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	profile := fs.String("profile", "default", "profile name")
	home := fs.String("home", os.Getenv("QAPPROVE_HOME"), "put config, data and the file keystore under this folder")
	keystore := fs.String("keystore", "", "where secrets live: keychain or file (default: the config's keystore, else keychain)")
	help := fs.Bool("help", false, "show help")
	fs.BoolVar(help, "h", false, "show help")
	showVersion := fs.Bool("version", false, "print the version")
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(env.Stdout)
			return exitOK
		}
		return flagUsage(env, fs, err)
	}
	env.Profile, env.Home, env.Keystore = *profile, *home, *keystore
	if *help {
		usage(env.Stdout)
		return exitOK
	}
	if *showVersion {
		return commands["version"].run(env, nil)
	}
	if !storage.ValidProfileName(env.Profile) {
		return env.Errf(exitUsage, "invalid profile name %q: use letters, digits, '-', '_' or '.' (at most 64)", env.Profile)
	}
	if env.Keystore == "" {
		ks, err := configuredKeystore(env)
		if err != nil {
			return env.Errf(exitUsage, "%v", err)
		}
		env.Keystore = ks
	}
	if env.Keystore != "keychain" && env.Keystore != "file" {
		return env.Errf(exitUsage, "--keystore must be keychain or file, not %q", env.Keystore)
	}
	rest := fs.Args()
	name, args := lookup(rest)
	if strings.HasSuffix(name, " ?") {
		group := strings.TrimSuffix(name, " ?")
		var subs []string
		for _, k := range contract {
			if strings.HasPrefix(k.name, group+" ") {
				subs = append(subs, strings.TrimPrefix(k.name, group+" "))
			}
		}
		return env.Errf(exitUsage, "usage: qapprove %s %s", group, strings.Join(subs, "|"))
	}
	c, ok := commands[name]
	if !ok || c.run == nil {
		for _, k := range contract {
			if k.name == name {
				return env.Errf(exitUsage, "%q is not built yet", strings.TrimSpace("qapprove "+name))
			}
		}
		return env.Errf(exitUsage, "unknown command %q (see qapprove --help)", strings.Join(rest, " "))
	}
	for _, a := range args {
		if a == "--help" || a == "-h" {
			fmt.Fprintf(env.Stdout, "usage: qapprove %s %s\n  %s\n", c.name, c.usage, c.summary)
			return exitOK
		}
	}
	return c.run(env, args)
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

// lookup finds the longest registered or contracted command name that
// prefixes args (two words, then one, then the empty command).
func lookup(args []string) (string, []string) {
	known := func(n string) bool {
		if _, ok := commands[n]; ok {
			return true
		}
		for _, k := range contract {
			if k.name == n {
				return true
			}
		}
		return false
	}
	if len(args) >= 2 && known(args[0]+" "+args[1]) {
		return args[0] + " " + args[1], args[2:]
	}
	if len(args) >= 1 && known(args[0]) {
		return args[0], args[1:]
	}
	if len(args) >= 1 && hasPrefix(args[0]) {
		// "keys" alone or "keys bogus": a group without a valid sub-command.
		return args[0] + " ?", args[1:]
	}
	if len(args) == 0 {
		return "", nil
	}
	return strings.Join(args, " "), nil
}

func hasPrefix(word string) bool {
	for _, k := range contract {
		if strings.HasPrefix(k.name, word+" ") {
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "qapprove %s — approve and reject Qredo API actions from the terminal\n\n", version)
	fmt.Fprintln(w, "Usage:")
	for _, c := range contract {
		status := ""
		if r, ok := commands[c.name]; !ok || r.run == nil {
			status = " (not built yet)"
		} else if r.usage != "" {
			c.usage = r.usage
		}
		line := strings.TrimSpace("qapprove " + c.name + " " + c.usage)
		if len(line) > 44 {
			fmt.Fprintf(w, "  %s\n  %-44s %s%s\n", line, "", c.summary, status)
			continue
		}
		fmt.Fprintf(w, "  %-44s %s%s\n", line, c.summary, status)
	}
	fmt.Fprintln(w, `
Global options (before the command):
  --profile NAME        profile to use (default "default")
  --home DIR            keep config, data and the file keystore under DIR (also QAPPROVE_HOME)
  --keystore KIND       keychain (default) or file; config.toml: keystore = "file"
  -h, --help            this help;  --version  the version

Exit codes: 0 ok, 1 refused or failed, 2 bad usage or unusable environment.
NO_COLOR is honoured.`)
}
