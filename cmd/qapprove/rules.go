package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage"
)

// maxRulesActionsFile bounds the ACTIONS.json of rules test: it is read whole.
const maxRulesActionsFile = 64 << 20

func init() {
	register(command{name: "rules check", usage: "[FILE]",
		summary: "compile a rules file; errors with line:column", run: runRulesCheck})
	register(command{name: "rules test", usage: "FILE --actions A [--json]",
		summary: "replay actions through rules and print the verdicts", run: runRulesTest})
}

// runRulesCheck compiles FILE, or the active profile's rules_file, or the
// embedded default set; exit 0 when valid, 1 with positioned errors, 2 when
// the file cannot be read.
func runRulesCheck(env *Env, args []string) int {
	if len(args) > 1 || (len(args) == 1 && len(args[0]) > 1 && args[0][0] == '-') {
		return env.Errf(exitUsage, "usage: qapprove rules check [FILE]")
	}
	path := ""
	if len(args) == 1 {
		path = args[0]
	} else {
		p, err := rulesActiveFile(env)
		if err != nil {
			return env.Errf(exitUsage, "%v", err)
		}
		path = p
	}
	var rs *governance.RuleSet
	if path == "" {
		rs = governance.Default()
	} else {
		var code int
		if rs, code = rulesLoad(env, path); rs == nil {
			return code
		}
	}
	fmt.Fprintf(env.Stdout, "ok: %d rules (%s)\n", rs.Len(), rs.Name())
	return exitOK
}

// rulesActiveFile is the profile's rules_file ("" for the embedded
// default); a relative path is taken from the config folder.
func rulesActiveFile(env *Env) (string, error) {
	paths := env.Paths()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		return "", err
	}
	return cfg.Profiles[env.Profile].RulesPath(paths), nil
}

// rulesLoad reads and compiles path, printing positioned errors on
// stderr. It returns nil and the exit code on failure.
func rulesLoad(env *Env, path string) (*governance.RuleSet, int) {
	data, err := readFileBounded(path, governance.MaxRulesFileSize)
	if err != nil {
		return nil, env.Errf(exitUsage, "cannot read rules file: %v", err)
	}
	rs, err := governance.Parse(path, data)
	if err != nil {
		var es governance.Errors
		if !errors.As(err, &es) {
			return nil, env.Errf(exitFail, "%v", err)
		}
		for _, e := range es {
			fmt.Fprintln(env.Stderr, e.Error())
		}
		return nil, env.Errf(exitFail, "%s: %d error(s)", path, len(es))
	}
	return rs, exitOK
}

// rulesTestResult is one line of rules test --json.
type rulesTestResult struct {
	ID string `json:"id"`
	governance.Verdict
}

// runRulesTest replays the actions of --actions through FILE.
func runRulesTest(env *Env, args []string) int {
	fs := newFlags("rules test")
	actions := fs.String("actions", "", "JSON array of input documents")
	asJSON := fs.Bool("json", false, "print JSON")
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return env.Errf(exitUsage, "%v (usage: qapprove rules test FILE --actions A [--json])", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 || *actions == "" {
		return env.Errf(exitUsage, "usage: qapprove rules test FILE --actions A [--json]")
	}
	rs, code := rulesLoad(env, files[0])
	if rs == nil {
		return code
	}
	data, err := readFileBounded(*actions, maxRulesActionsFile)
	if err != nil {
		return env.Errf(exitUsage, "cannot read actions: %v", err)
	}
	ins, err := rulesDecodeActions(data)
	if err != nil {
		return env.Errf(exitFail, "%s: %v", *actions, err)
	}
	results := make([]rulesTestResult, len(ins))
	count := map[governance.Level]int{}
	for i, in := range ins {
		v := rs.Evaluate(in)
		results[i] = rulesTestResult{ID: in.Action.ID, Verdict: v}
		count[v.Level]++
	}
	if *asJSON {
		return writeJSON(env, results)
	}
	for _, r := range results {
		rulesPrintVerdict(env.Stdout, r)
	}
	fmt.Fprintf(env.Stdout, "%d actions: %d approve, %d review, %d reject\n", len(results),
		count[governance.Approve], count[governance.Review], count[governance.Reject])
	return exitOK
}

// rulesDecodeActions reads a JSON array of governance.Input documents, strictly.
func rulesDecodeActions(data []byte) ([]governance.Input, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ins []governance.Input
	if err := dec.Decode(&ins); err != nil {
		return nil, fmt.Errorf("not a JSON array of action documents: %v", err)
	}
	if dec.More() {
		return nil, errors.New("extra data after the JSON array")
	}
	for i := range ins {
		if err := ins[i].Normalize(); err != nil {
			return nil, fmt.Errorf("action %d (id %q): %v", i+1, ins[i].Action.ID, err)
		}
	}
	return ins, nil
}

// rulesPrintVerdict writes one action's verdict and the rules that fired.
func rulesPrintVerdict(w io.Writer, r rulesTestResult) {
	id := rulesPrintable(r.ID)
	if id == "" {
		id = "(no id)"
	}
	suffix := ""
	if r.Default {
		suffix = " (no rule matched)"
	}
	fmt.Fprintf(w, "%s: %s%s\n", id, r.Level, suffix)
	for _, m := range r.Matched {
		fmt.Fprintf(w, "  %-7s %s: %s\n", m.Verdict, m.Rule, rulesPrintable(m.Reason))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", rulesPrintable(warn))
	}
}

// rulesPrintable replaces control characters (terminal escapes in hostile
// input) with U+FFFD.
func rulesPrintable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}
