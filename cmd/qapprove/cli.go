package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cli is one invocation of the command tree: the environment the commands
// run in, the global options as parsed, and the exit code the command chose.
type cli struct {
	env        *Env
	globals    struct{ profile, home, keystore string }
	code       int
	completing bool // a shell asks for completions (cobra's __complete)
}

// noSetUp marks the commands that run without resolving the global options
// (help and completion need no profile or config).
const noSetUp = "qapprove/no-set-up"

// groupOnly marks a command that only groups others (keys, rules): the
// root's help lists its sub-commands, not the group.
const groupOnly = "qapprove/group-only"

func init() {
	cobra.EnableCommandSorting = false // help lists commands in the contract's order
}

// do adapts a command implementation, which returns its exit code, to
// cobra: the code is kept for run.
func (c *cli) do(f func(args []string) int) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		c.code = f(args)
		return nil
	}
}

// completeFlag offers values for a flag in shell completion (no file
// names when values is empty). It registers only while completing: cobra
// keeps the registrations in a process-wide table.
func (c *cli) completeFlag(cmd *cobra.Command, flag string, values ...string) {
	if !c.completing {
		return
	}
	if err := cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err) // a flag name typo: caught by the completion tests
	}
}

// see is the pointer every usage error ends with.
func see(cmd *cobra.Command) string {
	return fmt.Sprintf("(see %s --help)", cmd.CommandPath())
}

// flagError names the bad flag and the command it was given to.
func flagError(cmd *cobra.Command, err error) error {
	path := cmd.CommandPath()
	var unknown *pflag.NotExistError
	var noValue *pflag.ValueRequiredError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &unknown):
		if s := unknown.GetSpecifiedShortnames(); len(s) > 1 {
			return fmt.Errorf("unknown flag -%s for `%s` (long flags take two dashes: --%s) %s", s, path, s, see(cmd))
		} else if s != "" {
			return fmt.Errorf("unknown flag -%s for `%s` %s", s, path, see(cmd))
		}
		return fmt.Errorf("unknown flag --%s for `%s` %s", unknown.GetSpecifiedName(), path, see(cmd))
	case errors.As(err, &noValue):
		return fmt.Errorf("flag --%s of `%s` needs a value %s", noValue.GetFlag().Name, path, see(cmd))
	case errors.As(err, &invalid):
		return fmt.Errorf("invalid value %q for flag --%s of `%s`: %v %s", invalid.GetValue(), invalid.GetFlag().Name, path, errors.Unwrap(invalid), see(cmd))
	}
	return fmt.Errorf("%v (%s; see %s --help)", err, path, path)
}

// positional names the positional arguments of cmd's Use line ("ID",
// "FILE"; "[FILE]" for an optional one).
func positional(cmd *cobra.Command) []string {
	return strings.Fields(cmd.Use)[1:]
}

// usageLine is cmd's synopsis: path, positional arguments, and [flags].
func usageLine(cmd *cobra.Command) string {
	return strings.TrimSpace(cmd.CommandPath() + " " + strings.Join(positional(cmd), " ") + " [flags]")
}

// argsBetween accepts lo to hi positional arguments.
func argsBetween(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > hi {
			return fmt.Errorf("unexpected argument %q for `%s` %s", args[hi], cmd.CommandPath(), see(cmd))
		}
		if len(args) < lo {
			return fmt.Errorf("missing %s: usage: %s %s", strings.Join(positional(cmd)[len(args):lo], " "), usageLine(cmd), see(cmd))
		}
		return nil
	}
}

// noArgs refuses any positional argument.
var noArgs = argsBetween(0, 0)

// commandArgs is for a command with sub-commands: any argument is an
// unknown sub-command.
func commandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := ""
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf("; did you mean %s %s?", cmd.CommandPath(), s[0])
	}
	return fmt.Errorf("unknown command %q for `%s`%s %s", args[0], cmd.CommandPath(), hint, see(cmd))
}

// groupCmd is a command that only groups sub-commands: alone, it is a
// usage error naming them (exit 2); --help prints its help.
func groupCmd(use, short, long, example string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Long: long, Example: example, Args: commandArgs,
		ValidArgsFunction: cobra.NoFileCompletions, Annotations: map[string]string{groupOnly: "true"}}
	g.AddCommand(subs...)
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name()
	}
	g.RunE = func(cmd *cobra.Command, _ []string) error {
		return fmt.Errorf("usage: %s %s %s", cmd.CommandPath(), strings.Join(names, "|"), see(cmd))
	}
	return g
}

// auditCmd groups the audits: the access review of the journal (report)
// and the check of the team store (verify).
func auditCmd(c *cli) *cobra.Command {
	return groupCmd("audit", "access review and audits: report, verify the team store",
		`Audit groups the reviews for auditors: "audit report" is the access review of
the profile's journal; "audit verify" verifies every approver's journal in the
team store and flags split views.`,
		"  qapprove audit report --since 90d\n  qapprove audit verify --store postgres://auditor@db.example/qapprove",
		newAuditReportCmd(c), newAuditVerifyCmd(c))
}

// helpCmd is `qapprove help [command]`: the help of any command, exit 0;
// an unknown topic is a usage error.
func helpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "help about any command",
		Long: `Help prints the help of any command: what it does, its arguments and flags,
and examples. "qapprove help X" is the same as "qapprove X --help".`,
		Example:     "  qapprove help\n  qapprove help keys export",
		Annotations: map[string]string{noSetUp: "true"},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return fmt.Errorf("unknown help topic %q (see qapprove --help)", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// completionCmd prints cobra's completion script for bash, zsh or fish.
// The script goes out byte for byte (it is our own program text, not
// outside input).
func completionCmd(c *cli, root *cobra.Command) *cobra.Command {
	shells := map[string]func(io.Writer) error{
		"bash": func(w io.Writer) error { return root.GenBashCompletionV2(w, true) },
		"zsh":  root.GenZshCompletion,
		"fish": func(w io.Writer) error { return root.GenFishCompletion(w, true) },
	}
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "print the shell completion script: bash, zsh or fish",
		Long: `Completion prints a script that teaches your shell (bash, zsh or fish) to complete
qapprove's commands, flags and flag values. Load it in the current shell, or
install it once as the examples show. Bash needs the bash-completion package.`,
		Example: `  source <(qapprove completion bash)                                 # this bash session
  qapprove completion bash > ~/.local/share/bash-completion/completions/qapprove
  qapprove completion zsh > "${fpath[1]}/_qapprove"                  # then start a new zsh
  qapprove completion fish > ~/.config/fish/completions/qapprove.fish`,
		Annotations: map[string]string{noSetUp: "true"},
		ValidArgs:   []string{"bash", "zsh", "fish"},
		Args: func(cmd *cobra.Command, args []string) error {
			if err := argsBetween(1, 1)(cmd, args); err != nil {
				return err
			}
			if shells[args[0]] == nil {
				return fmt.Errorf("no completion for shell %q: use bash, zsh or fish %s", args[0], see(cmd))
			}
			return nil
		},
		RunE: c.do(func(args []string) int {
			if err := shells[args[0]](c.env.rawStdout); err != nil {
				return c.env.Errf(exitFail, "completion: %v", err)
			}
			return exitOK
		}),
	}
}

// usageFunc lists every command of the contract in the root's help (cobra
// lists only the first level) and gives a group such as keys a usage
// without a runnable form of its own; other commands keep cobra's usage.
func usageFunc(root *cobra.Command) func(*cobra.Command) error {
	def := root.UsageFunc()
	return func(cmd *cobra.Command) error {
		var forms, lines [][2]string
		switch {
		case cmd == root:
			forms = [][2]string{{"qapprove [flags]"}, {"qapprove COMMAND [flags]"}}
			lines = commandLines(root, root)
		case cmd.Annotations[groupOnly] != "":
			forms = [][2]string{{cmd.CommandPath() + " COMMAND [flags]"}}
			lines = commandLines(root, cmd)[1:]
		default:
			return def(cmd)
		}
		w := cmd.OutOrStderr()
		fmt.Fprint(w, "Usage:\n")
		writeColumns(w, forms)
		fmt.Fprintf(w, "\nExamples:\n%s\n\nCommands:\n", cmd.Example)
		writeColumns(w, lines)
		if cmd == root {
			fmt.Fprintf(w, "\nFlags (the global ones work before or after the command):\n%s", root.LocalFlags().FlagUsages())
			fmt.Fprint(w, "\nExit codes: 0 ok, 1 refused or failed, 2 bad usage or unusable environment.\nNO_COLOR is honoured.\n")
		} else {
			fmt.Fprintf(w, "\nFlags:\n%s\nGlobal Flags:\n%s", cmd.LocalFlags().FlagUsages(), cmd.InheritedFlags().FlagUsages())
		}
		fmt.Fprintf(w, "\nUse \"%s COMMAND --help\" (or \"qapprove help %sCOMMAND\") for more about a command.\n",
			cmd.CommandPath(), strings.TrimPrefix(cmd.CommandPath()+" ", "qapprove "))
		return nil
	}
}

// commandLines are the synopsis and summary of cmd and every command
// under it (groups that only group are left out; help is in).
func commandLines(root, cmd *cobra.Command) [][2]string {
	var lines [][2]string
	if cmd == root || cmd.IsAvailableCommand() || cmd.Name() == "help" && cmd.Parent() == root {
		lines = append(lines, [2]string{strings.TrimSpace(cmd.CommandPath() + " " + strings.Join(positional(cmd), " ")), cmd.Short})
	}
	for _, s := range cmd.Commands() {
		if s.Annotations[groupOnly] != "" {
			lines = append(lines, commandLines(root, s)[1:]...)
			continue
		}
		lines = append(lines, commandLines(root, s)...)
	}
	return lines
}

// writeColumns writes two-column lines; a long first column gets a line
// of its own.
func writeColumns(w io.Writer, lines [][2]string) {
	for _, l := range lines {
		if l[1] == "" {
			fmt.Fprintf(w, "  %s\n", l[0])
		} else if len(l[0]) > 36 {
			fmt.Fprintf(w, "  %s\n  %-36s %s\n", l[0], "", l[1])
		} else {
			fmt.Fprintf(w, "  %-36s %s\n", l[0], l[1])
		}
	}
}
