package main

import (
	"bytes"
	"encoding/json"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runArgs runs the command line args and returns the exit code and output.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	// Keys sealed in these tests use a tiny work factor; the built binary
	// of the terminal tests keeps the real one.
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, KDF: secretstest.KDF()}
	return run(env, args), out.String(), errb.String()
}

// contract is the command line of DESIGN.md (plus keys drill, keys remove
// and keys rebind): scripts rely on every one of these.
var contract = []string{"", "demo", "sandbox", "keys register", "keys show", "keys export", "keys import", "keys drill",
	"keys remove", "keys rebind", "pending", "approve", "reject", "journal", "journal verify", "journal export",
	"rules check", "rules test", "selftest", "version"}

// TestHelpListsTheWholeContract: --help lists every command of the
// contract, and each is a runnable command of the tree.
func TestHelpListsTheWholeContract(t *testing.T) {
	code, out, errs := runArgs(t, "--help")
	if code != exitOK || errs != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, errs)
	}
	root := newRootCmd(&cli{env: &Env{}})
	for _, name := range contract {
		path := strings.TrimSpace("qapprove " + name)
		if !strings.Contains(out, "\n  "+path) {
			t.Errorf("--help does not list %q", path)
		}
		cmd, rest, err := root.Find(strings.Fields(name))
		if err != nil || len(rest) > 0 || cmd.CommandPath() != path || !cmd.Runnable() {
			t.Errorf("%q is not a command of the tree (found %q, rest %q, %v)", path, cmd.CommandPath(), rest, err)
		}
	}
	for _, want := range []string{"--profile NAME", "--home DIR", "--keystore KIND", "--version", "-h, --help",
		"qapprove help [command]", "qapprove completion bash|zsh|fish", "Exit codes: 0 ok, 1 refused or failed, 2 bad usage"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %q:\n%s", want, out)
		}
	}
}

// TestDesignCommandsExist: every command of DESIGN.md's command-line
// contract is a command of the tree.
func TestDesignCommandsExist(t *testing.T) {
	design := sharedFile(t, "DESIGN.md")
	names := designCommands(t, design)
	if len(names) < 15 {
		t.Fatalf("found only %d commands in %s: %q", len(names), design, names)
	}
	root := newRootCmd(&cli{env: &Env{}})
	for _, name := range names {
		cmd, rest, err := root.Find(strings.Fields(name))
		if err != nil || len(rest) > 0 || cmd.CommandPath() != strings.TrimSpace("qapprove "+name) || !cmd.Runnable() {
			t.Errorf("DESIGN.md command %q is not built", "qapprove "+name)
		}
	}
}

// sharedFile finds name in ../shared next to the repository (a fresh
// clone) or next to the main checkout of this worktree; it skips when
// neither has it.
func sharedFile(t *testing.T, name string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("skipping: cannot locate the source file to find ../shared")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dirs := []string{filepath.Join(root, "..", "shared")}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir").Output(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "..", "shared"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Skipf("skipping: %s not found in %q", name, dirs)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// designCommands reads the command names of the "Command line" block of
// DESIGN.md: "qapprove keys show|export|import  …" gives "keys show",
// "keys export" and "keys import"; "qapprove approve ID | reject ID" gives
// "approve" and "reject".
func designCommands(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "## Command line")
	_, block, ok2 := strings.Cut(sec, "```\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("%s has no command-line block", path)
	}
	var names []string
	for _, line := range strings.Split(block, "\n") {
		if !strings.HasPrefix(line, "qapprove") {
			continue
		}
		synopsis, _, _ := strings.Cut(line, "  ")
		for i, alt := range strings.Split(synopsis, " | ") {
			words := strings.Fields(alt)
			if i == 0 {
				words = words[1:] // "qapprove"
			}
			var path []string
			for _, w := range words {
				if strings.Trim(w, "abcdefghijklmnopqrstuvwxyz|") != "" {
					break
				}
				path = append(path, w)
			}
			if len(path) == 0 {
				names = append(names, "")
				continue
			}
			prefix := strings.Join(path[:len(path)-1], " ")
			for _, last := range strings.Split(path[len(path)-1], "|") {
				names = append(names, strings.TrimSpace(prefix+" "+last))
			}
		}
	}
	return names
}

// TestHelpOnEveryCommand: --help, -h and `help X` print the help of every
// command (its path, usage, flags, examples) on stdout and exit 0.
func TestHelpOnEveryCommand(t *testing.T) {
	root := newRootCmd(&cli{env: &Env{}})
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, s := range cmd.Commands() {
			walk(s)
		}
		if cmd.Hidden {
			return
		}
		words := strings.Fields(cmd.CommandPath())[1:]
		if cmd.Short == "" || cmd.Long == "" || cmd.Example == "" {
			t.Errorf("%s: want Short, Long and Example text", cmd.CommandPath())
		}
		for _, args := range [][]string{append(words, "--help"), append(words, "-h"), append([]string{"help"}, words...)} {
			code, out, errs := runArgs(t, append([]string{"--keystore", "vault"}, args...)...)
			if code != exitOK || errs != "" || !strings.Contains(out, "Usage:\n  "+cmd.CommandPath()) && cmd != root {
				t.Errorf("%q: exit %d, stderr %q, stdout %q", args, code, errs, out)
				continue
			}
			cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if !strings.Contains(out, "--"+f.Name) {
					t.Errorf("%q does not list its flag --%s", args, f.Name)
				}
			})
			if cmd.HasParent() && !strings.Contains(out, "Global Flags:") {
				t.Errorf("%q does not list the global flags", args)
			}
		}
	}
	walk(root)
}

func TestVersionFlag(t *testing.T) {
	code, out, errs := runArgs(t, "--version")
	if code != exitOK || out != "qapprove "+version+"\n" || errs != "" {
		t.Fatalf("--version: %d %q %q", code, out, errs)
	}
}

// TestGlobalFlagsAnywhere: the global options work after the command too,
// flags come before or after the arguments, and -- ends the flags.
func TestGlobalFlagsAnywhere(t *testing.T) {
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "r.toml", rulesGood)
	for _, args := range [][]string{
		{"rules", "check", rules, "--home", home, "--profile", "p"},
		{"rules", "check", "--home", home, rules},
		{"--home", home, "rules", "check", "--", rules},
	} {
		if code, out, errs := runArgs(t, args...); code != exitOK || !strings.HasPrefix(out, "ok: ") {
			t.Errorf("%q: exit %d %q %q", args, code, out, errs)
		}
	}
	code, _, errs := runArgs(t, "--home", home, "rules", "check", "--", "-r.toml")
	if code != exitUsage || !strings.Contains(errs, "cannot read rules file") {
		t.Errorf("a file named -r.toml after --: exit %d %q", code, errs)
	}
	code, _, errs = runArgs(t, "version", "--keystore", "vault")
	if code != exitUsage || !strings.Contains(errs, "--keystore must be keychain or file") {
		t.Errorf("--keystore after the command: exit %d %q", code, errs)
	}
}

// TestUsageErrorsSayWhat: a missing argument, an unknown command and a
// group without its sub-command each get one line that says what is wrong.
func TestUsageErrorsSayWhat(t *testing.T) {
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "r.toml", rulesGood)
	for want, args := range map[string][]string{
		"qapprove: missing ID: usage: qapprove approve ID [flags] (see qapprove approve --help)\n":                                  {"approve"},
		"qapprove: missing FILE: usage: qapprove keys export FILE [flags] (see qapprove keys export --help)\n":                      {"keys", "export"},
		"qapprove: unexpected argument \"b\" for `qapprove rules check` (see qapprove rules check --help)\n":                        {"rules", "check", "a", "b"},
		"qapprove: missing --actions: usage: qapprove rules test FILE --actions ACTIONS [flags] (see qapprove rules test --help)\n": {"rules", "test", rules},
		"qapprove: usage: qapprove keys register|show|export|import|drill|remove|rebind|rewrap (see qapprove keys --help)\n":        {"keys"},
		"qapprove: usage: qapprove rules check|test|diff|replay (see qapprove rules --help)\n":                                      {"rules"},
		"qapprove: unknown command \"bogus\" for `qapprove keys` (see qapprove keys --help)\n":                                      {"keys", "bogus"},
		"qapprove: unknown command \"pendng\" for `qapprove`; did you mean qapprove pending? (see qapprove --help)":                 {"pendng"},
		"qapprove: unknown command \"bogus\" for `qapprove journal` (see qapprove journal --help)\n":                                {"journal", "bogus"},
		"qapprove: unknown help topic \"keys bogus\" (see qapprove --help)\n":                                                       {"help", "keys", "bogus"},
		"qapprove: unknown flag -json for `qapprove pending` (long flags take two dashes: --json)":                                  {"pending", "-json"},
		"qapprove: invalid value \"many\" for flag --actions of `qapprove sandbox`":                                                 {"sandbox", "--actions", "many"},
		"qapprove: no completion for shell \"tcsh\": use bash, zsh or fish":                                                         {"completion", "tcsh"},
		"qapprove: missing bash|zsh|fish": {"completion"},
	} {
		code, out, errs := runArgs(t, append([]string{"--home", home}, args...)...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, errs, want)
		}
	}
}

// TestBadCommandLineIsEscaped: a hostile command or flag name comes back
// escaped in the one error line.
func TestBadCommandLineIsEscaped(t *testing.T) {
	for _, args := range [][]string{{hostile}, {"keys", hostile}, {"pending", "--" + hostile}, {"help", hostile}} {
		code, out, errs := runArgs(t, args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, `\x1b[31mred`) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		if strings.ContainsAny(errs, "\x1b\a\r\u202e") {
			t.Errorf("%q: raw control or bidi character in %q", args, errs)
		}
	}
}

// TestCompletion: each shell's script hooks back into qapprove, and the
// binary completes sub-commands, flags and flag values.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errs := runArgs(t, "completion", shell)
		if code != exitOK || errs != "" || !strings.Contains(out, "qapprove") || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes", shell, code, errs, len(out))
		}
	}
	for args, want := range map[string][]string{
		"":                            {"demo", "sandbox", "keys", "pending", "approve", "reject", "journal", "rules", "selftest", "version", "completion", "help"},
		"keys ":                       {"register", "show", "export", "import", "remove", "rebind"},
		"journal ":                    {"verify", "export"},
		"pending --":                  {"--json", "--cached", "--passphrase-file", "--profile", "--home", "--keystore"},
		"journal export --format ":    {"json", "csv"},
		"--keystore ":                 {"keychain", "file"},
		"sandbox --protocol ":         {"minimal", "extended"},
		"completion ":                 {"bash", "zsh", "fish"},
		"help keys ":                  {"register", "rebind"},
		"approve 2Vvs --passphrase-f": {"--passphrase-file"},
	} {
		argv := append([]string{cobra.ShellCompRequestCmd}, strings.Split(args, " ")...)
		code, out, errs := runArgs(t, argv...)
		if code != exitOK {
			t.Errorf("%q: exit %d %q", argv, code, errs)
		}
		for _, w := range want {
			if !strings.Contains(out, "\n"+w+"\t") && !strings.HasPrefix(out, w+"\t") && !strings.Contains(out, "\n"+w+"\n") && !strings.HasPrefix(out, w+"\n") {
				t.Errorf("completing %q does not offer %q:\n%s", args, w, out)
			}
		}
	}
}

func TestUsageErrorsExit2WithOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"},
		{"keys"},
		{"keys", "bogus"},
		{"--keystore", "vault", "version"},
		{"--profile", "../etc", "version"},
		{"--no-such-flag"},
		{"approve"},
		{"approve", "bad/id"},
		{"rules"},
		{"help", "bogus"},
		{"completion", "tcsh"},
		{"--bogus"},
		{"version", "extra"},
	} {
		code, _, errOut := runArgs(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if lines := strings.Count(strings.TrimSpace(errOut), "\n"); errOut == "" || lines != 0 {
			t.Errorf("%v: want one error line, got %q", args, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runArgs(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "qapprove ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestConsoleWithoutProfileSaysWhatToDo(t *testing.T) {
	code, _, errOut := runArgs(t, "--home", t.TempDir(), "--keystore", "file", "pending", "--cached")
	if code != exitUsage || !strings.Contains(errOut, "keys register") {
		t.Fatalf("pending without a profile: %d %q", code, errOut)
	}
}

// TestUnknownFlagIsNamed: every command of this file set names the flag
// it does not know, and where to look.
func TestUnknownFlagIsNamed(t *testing.T) {
	home := t.TempDir()
	for _, name := range []string{"keys register", "keys show", "keys export", "keys import", "keys remove",
		"journal", "journal verify", "journal export", "rules check", "rules test", "selftest", "demo"} {
		args := append([]string{"--home", home, "--keystore", "file"}, strings.Fields(name)...)
		code, out, errs := runArgs(t, append(args, "--bogus")...)
		want := "qapprove: unknown flag --bogus for `qapprove " + name + "` (see qapprove " + name + " --help)\n"
		if code != exitUsage || out != "" || errs != want {
			t.Errorf("%s --bogus: exit %d, stdout %q, stderr %q; want %q", name, code, out, errs, want)
		}
	}
	code, _, errs := runArgs(t, "--bogus", "version")
	if code != exitUsage || !strings.Contains(errs, "unknown flag --bogus for `qapprove` (see qapprove --help)") {
		t.Errorf("global --bogus: %d %q", code, errs)
	}
	code, _, errs = runArgs(t, "--home", home, "journal", "export", "--format")
	if code != exitUsage || !strings.Contains(errs, "flag --format of `qapprove journal export` needs a value") {
		t.Errorf("--format without a value: %d %q", code, errs)
	}
}

// hostile holds what must never reach a terminal raw: ESC (a colour and a
// title sequence), CR, BEL and a right-to-left override.
const hostile = "act-\x1b[31mred\x1b]0;title\a\rover\u202eevil"

// TestTextOutputIsEscaped: a hostile value printed by a text command and
// by an error line shows as escapes.
func TestTextOutputIsEscaped(t *testing.T) {
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "r.toml", rulesGood)
	doc, _ := json.Marshal([]map[string]any{{"action": map[string]string{"id": hostile, "type": "transaction"}, "tx": map[string]string{"amount": "101"}}})
	actions := rulesWriteTemp(t, home, "a.json", string(doc))
	code, out, errs := rulesRun(t, home, "rules", "test", rules, "--actions", actions)
	if code != exitOK || !strings.Contains(out, `act-\x1b[31mred\x1b]0;title\x07\x0dover\u202eevil: reject`) {
		t.Fatalf("rules test: exit %d\n%q\n%q", code, out, errs)
	}
	code, _, errs = rulesRun(t, home, "rules", "check", filepath.Join(home, hostile))
	if code != exitUsage || !strings.Contains(errs, `\x1b[31mred`) {
		t.Fatalf("rules check of a hostile file name: exit %d %q", code, errs)
	}
	for _, s := range []string{out, errs} {
		if strings.ContainsAny(s, "\x1b\a\r\u202e") {
			t.Errorf("raw control or bidi character in %q", s)
		}
	}
}

// TestJSONOutputIsExactAndInert: --json keeps the hostile value exact for
// a JSON reader while its bytes hold no character a terminal acts on.
func TestJSONOutputIsExactAndInert(t *testing.T) {
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "r.toml", rulesGood)
	doc, _ := json.Marshal([]map[string]any{{"action": map[string]string{"id": hostile, "type": "transaction"}, "tx": map[string]string{"amount": "101"}}})
	actions := rulesWriteTemp(t, home, "a.json", string(doc))
	code, out, errs := rulesRun(t, home, "rules", "test", rules, "--actions", actions, "--json")
	if code != exitOK {
		t.Fatalf("exit %d %q", code, errs)
	}
	if strings.ContainsAny(out, "\x1b\a\r\u202e") {
		t.Fatalf("raw control or bidi character in %q", out)
	}
	var res []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || res[0].ID != hostile {
		t.Fatalf("round trip: %v %q", err, res)
	}
}
