package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qapprove/qapprove/app"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/governance/velocity"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/ui/safetext"
)

// maxRulesActionsFile bounds the ACTIONS.json of rules test: it is read whole.
const maxRulesActionsFile = 64 << 20

func rulesCmd(c *cli) *cobra.Command {
	return groupCmd("rules", "governance rules: compile a rules file, replay actions through it",
		`Rules are CEL expressions in a TOML file (the default set is built in); each
rule has a name, a "when" expression, a verdict (approve, review, reject) and
a reason. The verdict of an action is the strongest matching one; no match
gives review. A profile's rules_file in config.toml picks its rules.`,
		`  qapprove rules check my-rules.toml
  qapprove rules test my-rules.toml --actions pending.json --history past.json
  qapprove rules diff old.toml new.toml --actions pending.json
  qapprove rules replay --since 2026-12-01`,
		rulesCheckCmd(c), rulesTestCmd(c), rulesDiffCmd(c), rulesReplayCmd(c))
}

func rulesCheckCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "check [FILE]",
		Short: "compile a rules file; errors with line:column",
		Long: `Check compiles FILE, or without one the active profile's rules_file (the
built-in set when it has none). Exit 0 when valid; 1 with each error at its
line:column; 2 when the file cannot be read.`,
		Example: "  qapprove rules check\n  qapprove rules check my-rules.toml",
		Args:    argsBetween(0, 1),
		RunE:    c.do(func(args []string) int { return runRulesCheck(c.env, args) }),
	}
}

func rulesTestCmd(c *cli) *cobra.Command {
	var actions, history string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test FILE --actions ACTIONS",
		Short: "replay actions through rules and print the verdicts",
		Long: `Test compiles the rules FILE and evaluates each action of --actions (a JSON
array of rule input documents, or the output of "qapprove pending --json"),
printing each verdict with the rules that fired and a summary. --history
gives the velocity functions (approved_sum, approved_count…) past decisions:
a JSON array of {"time", "asset", "amount", "to", "network", "decision",
"outcome"}, where only approvals with the outcome "accepted" count.`,
		Example: "  qapprove pending --json > pending.json\n  qapprove rules test my-rules.toml --actions pending.json",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := argsBetween(1, 1)(cmd, args); err != nil {
				return err
			}
			if actions == "" {
				return fmt.Errorf("missing --actions: usage: %s %s", usageLine(cmd), see(cmd))
			}
			return nil
		},
		RunE: c.do(func(args []string) int { return runRulesTest(c.env, args[0], actions, history, asJSON) }),
	}
	cmd.Flags().StringVar(&actions, "actions", "", "`ACTIONS` file: a JSON array of rule input documents, or the output of pending --json")
	cmd.Flags().StringVar(&history, "history", "", "`HISTORY` file: past decisions for the velocity functions (JSON array)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// runRulesCheck compiles FILE, or the active profile's rules_file, or the
// embedded default set; exit 0 when valid, 1 with positioned errors, 2 when
// the file cannot be read.
func runRulesCheck(env *Env, args []string) int {
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
func runRulesTest(env *Env, file, actions, history string, asJSON bool) int {
	rs, code := rulesLoad(env, file)
	if rs == nil {
		return code
	}
	ins, code := rulesInputs(env, actions, history)
	if ins == nil {
		return code
	}
	results := make([]rulesTestResult, len(ins))
	count := map[governance.Level]int{}
	for i, in := range ins {
		v := rs.Evaluate(in)
		results[i] = rulesTestResult{ID: in.Action.ID, Verdict: v}
		count[v.Level]++
	}
	if asJSON {
		return writeJSON(env, results)
	}
	for _, r := range results {
		rulesPrintVerdict(env.Stdout, r)
	}
	fmt.Fprintf(env.Stdout, "%d actions: %d approve, %d review, %d reject\n", len(results),
		count[governance.Approve], count[governance.Review], count[governance.Reject])
	return exitOK
}

// rulesInputs reads the --actions documents and gives them the --history
// fixture ("" for none); nil and the exit code on failure.
func rulesInputs(env *Env, actions, history string) ([]governance.Input, int) {
	data, err := readFileBounded(actions, maxRulesActionsFile)
	if err != nil {
		return nil, env.Errf(exitUsage, "cannot read actions: %v", err)
	}
	ins, rebuilt, err := rulesDecodeActions(data, time.Now())
	if err != nil {
		return nil, env.Errf(exitFail, "%s: %v", actions, err)
	}
	if rebuilt > 0 {
		env.Errf(exitOK, "note: %d %s rebuilt from `qapprove pending --json` rows (they carry no testnet flag or asset decimals)", rebuilt, plural(rebuilt, "action", "actions"))
	}
	if history != "" {
		data, err := readFileBounded(history, maxRulesActionsFile)
		if err != nil {
			return nil, env.Errf(exitUsage, "cannot read history: %v", err)
		}
		idx, err := velocity.LoadFixture(data)
		if err != nil {
			return nil, env.Errf(exitFail, "%s: %v", history, err)
		}
		for i := range ins {
			ins[i].History = idx
		}
	}
	if ins == nil {
		ins = []governance.Input{}
	}
	return ins, exitOK
}

func rulesDiffCmd(c *cli) *cobra.Command {
	var actions, history string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW --actions ACTIONS",
		Short: "list the verdicts a rules change would alter",
		Long: `Diff evaluates each action of --actions (rule input documents, or the output
of "qapprove pending --json") with the rules OLD and NEW and lists every
action whose verdict or matching rules differ. --history gives the velocity
functions past decisions, as for rules test. Exit 0 when nothing changes, 1
when some verdict does, 2 when a file cannot be read.`,
		Example: "  qapprove pending --json > pending.json\n  qapprove rules diff rules.toml rules-new.toml --actions pending.json",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := argsBetween(2, 2)(cmd, args); err != nil {
				return err
			}
			if actions == "" {
				return fmt.Errorf("missing --actions: usage: %s %s", usageLine(cmd), see(cmd))
			}
			return nil
		},
		RunE: c.do(func(args []string) int { return runRulesDiff(c.env, args[0], args[1], actions, history, asJSON) }),
	}
	cmd.Flags().StringVar(&actions, "actions", "", "`ACTIONS` file: a JSON array of rule input documents, or the output of pending --json")
	cmd.Flags().StringVar(&history, "history", "", "`HISTORY` file: past decisions for the velocity functions (JSON array)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// rulesDiffResult is one action whose verdict a rules change alters.
type rulesDiffResult struct {
	ID  string             `json:"id"`
	Old governance.Verdict `json:"old"`
	New governance.Verdict `json:"new"`
}

func runRulesDiff(env *Env, oldFile, newFile, actions, history string, asJSON bool) int {
	oldRS, code := rulesLoad(env, oldFile)
	if oldRS == nil {
		return code
	}
	newRS, code := rulesLoad(env, newFile)
	if newRS == nil {
		return code
	}
	ins, code := rulesInputs(env, actions, history)
	if ins == nil {
		return code
	}
	diffs := []rulesDiffResult{}
	for _, in := range ins {
		a, b := oldRS.Evaluate(in), newRS.Evaluate(in)
		if a.Level != b.Level || !slices.Equal(matchNames(a), matchNames(b)) {
			diffs = append(diffs, rulesDiffResult{ID: in.Action.ID, Old: a, New: b})
		}
	}
	if asJSON {
		writeJSON(env, diffs)
	} else {
		for _, d := range diffs {
			fmt.Fprintf(env.Stdout, "%s: %s → %s\n", orNoID(d.ID), d.Old.Level, d.New.Level)
			fmt.Fprintf(env.Stdout, "  old: %s\n", safetext.Line(strings.Join(matchNames(d.Old), ", ")))
			fmt.Fprintf(env.Stdout, "  new: %s\n", safetext.Line(strings.Join(matchNames(d.New), ", ")))
		}
		fmt.Fprintf(env.Stdout, "%d of %d %s would change\n", len(diffs), len(ins), plural(len(ins), "verdict", "verdicts"))
	}
	if len(diffs) > 0 {
		return exitFail
	}
	return exitOK
}

func matchNames(v governance.Verdict) []string {
	out := make([]string, 0, len(v.Matched))
	for _, m := range v.Matched {
		out = append(out, m.Rule)
	}
	return out
}

func orNoID(id string) string {
	if id = safetext.Line(id); id == "" {
		return "(no id)"
	}
	return id
}

func rulesReplayCmd(c *cli) *cobra.Command {
	var since string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay [--since D]",
		Short: "re-derive past verdicts from the journal and report every difference",
		Long: `Replay reads the active profile's journal and, for every decision since D (a
date 2026-12-01, a time in RFC 3339, or a duration back from now like 72h),
evaluates the rules file recorded with it (kept by SHA-256 in the data
folder) on the input recorded with it, with the velocity history as the
journal stood then. It lists every decision whose verdict or matching rules
differ, and those it could not replay (journaled before replayable
verdicts, rules file no longer kept or altered). It does not check the
journal's signatures: run "qapprove journal verify" for that. Exit 0 when
nothing differs, 1 when something does, 2 when the journal cannot be read.`,
		Example: "  qapprove rules replay\n  qapprove rules replay --since 2026-12-01 --json",
		Args:    argsBetween(0, 0),
		RunE:    c.do(func([]string) int { return runRulesReplay(c.env, since, asJSON) }),
	}
	cmd.Flags().StringVar(&since, "since", "", "replay decisions from `D` on (date, RFC 3339 time or duration back from now)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runRulesReplay(env *Env, sinceArg string, asJSON bool) int {
	since, err := parseSince(sinceArg, time.Now())
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	rep, err := app.Replay(env.Paths(), env.Profile, since)
	if err != nil {
		return env.Errf(exitUsage, "%v", err)
	}
	if asJSON {
		writeJSON(env, rep)
	} else {
		for _, r := range rep.Entries {
			fmt.Fprintf(env.Stdout, "line %d %s %s (%s): ", r.Line, r.TS.UTC().Format(time.RFC3339), orNoID(r.ActionID), safetext.Line(r.Decision))
			if r.Problem != "" {
				fmt.Fprintf(env.Stdout, "not replayed: %s\n", safetext.Line(r.Problem))
				continue
			}
			fmt.Fprintf(env.Stdout, "journaled %s, now %s\n", safetext.Line(r.Journaled), r.Now)
			fmt.Fprintf(env.Stdout, "  journaled rules: %s\n", safetext.Line(strings.Join(r.JournaledRules, ", ")))
			fmt.Fprintf(env.Stdout, "  replayed rules:  %s\n", safetext.Line(strings.Join(r.NowRules, ", ")))
			if r.Engine != "" && r.Engine != governance.EngineVersion {
				fmt.Fprintf(env.Stdout, "  engine: %s\n", safetext.Line(r.Engine))
			}
		}
		fmt.Fprintf(env.Stdout, "%d %s replayed: %d same, %d differ, %d not replayable\n", rep.Decisions,
			plural(rep.Decisions, "decision", "decisions"), rep.Same, rep.Differ, rep.Unreplayed)
	}
	if rep.Differ > 0 {
		return exitFail
	}
	return exitOK
}

// rulesDecodeActions reads a JSON array of governance.Input documents
// (strictly), or the output of `qapprove pending --json`: each of its rows
// gives its "input" document when it has one, else an input rebuilt from
// the row's fields. rebuilt counts the rows rebuilt.
func rulesDecodeActions(data []byte, now time.Time) (ins []governance.Input, rebuilt int, err error) {
	var elems []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&elems); err != nil {
		return nil, 0, fmt.Errorf("not a JSON array of action documents or of `qapprove pending --json` rows: %v", err)
	}
	if dec.More() {
		return nil, 0, errors.New("extra data after the JSON array")
	}
	ins = make([]governance.Input, len(elems))
	for i, el := range elems {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(el, &keys); err != nil {
			return nil, 0, fmt.Errorf("action %d: not a JSON object", i+1)
		}
		_, isInput := keys["action"]
		doc, hasInput := keys["input"]
		switch {
		case isInput:
			err = decodeInput(el, &ins[i])
		case hasInput:
			err = decodeInput(doc, &ins[i])
		default:
			var row pendingRow
			if err = json.Unmarshal(el, &row); err == nil {
				ins[i], err = row.input(now)
				rebuilt++
			}
		}
		if err == nil {
			err = ins[i].Normalize()
		}
		if err != nil {
			return nil, 0, fmt.Errorf("action %d (id %q): %v", i+1, ins[i].Action.ID, err)
		}
	}
	return ins, rebuilt, nil
}

// decodeInput decodes one governance.Input, refusing unknown fields.
func decodeInput(b []byte, in *governance.Input) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(in)
}

// pendingRow is what rules test reads of a `qapprove pending --json` row
// (other fields are ignored).
type pendingRow struct {
	ID          string    `json:"id"`
	Type        int       `json:"type"`
	Expires     time.Time `json:"expires"`
	Network     string    `json:"network"`
	ChainID     string    `json:"chain_id"`
	Asset       string    `json:"asset"`
	Amount      string    `json:"amount"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Whitelisted bool      `json:"whitelisted"`
	Policy      string    `json:"policy"`
	Threshold   int64     `json:"threshold"`
	Approvals   int64     `json:"approvals"`
	Members     int       `json:"members"`
	PayloadErr  string    `json:"payload_error"`
}

// input rebuilds the rule input of a pending row. The row has no testnet
// flag and no asset decimals: the network counts as not a testnet, and the
// decimals are those the amount is written with.
func (r pendingRow) input(now time.Time) (governance.Input, error) {
	if r.ID == "" {
		return governance.Input{}, errors.New(`a pending row without "id"`)
	}
	if r.Members < 0 || r.Members > 10_000 {
		return governance.Input{}, fmt.Errorf("members %d out of range", r.Members)
	}
	in := governance.Input{Now: now, DecodeError: r.PayloadErr}
	in.Action = governance.Action{ID: r.ID, Type: governance.TypeUnknown, Status: governance.StatusPending,
		ExpiresInSeconds: int64(r.Expires.Sub(now) / time.Second),
		Policy:           governance.Policy{Name: r.Policy, Threshold: r.Threshold, Approvals: r.Approvals, Members: make([]string, r.Members)}}
	for i := range in.Action.Policy.Members {
		in.Action.Policy.Members[i] = fmt.Sprintf("member-%d", i+1)
	}
	switch r.Type {
	case client.TypeAPIKeyUpdate:
		in.Action.Type = governance.TypeKeyUpdate
	case client.TypeTransaction:
		in.Action.Type = governance.TypeTransaction
		if r.Amount == "" {
			if in.DecodeError == "" {
				in.DecodeError = "the transaction payload has no transaction details"
			}
			return in, nil
		}
		whole, frac, _ := strings.Cut(r.Amount, ".")
		tx, err := governance.NewTx(governance.NewNetwork(r.Network, r.ChainID, false), r.From, r.To, r.Whitelisted, r.Asset, len(frac), whole+frac)
		if err != nil {
			return in, err
		}
		in.Tx = tx
	}
	return in, nil
}

// rulesPrintVerdict writes one action's verdict and the rules that fired.
func rulesPrintVerdict(w io.Writer, r rulesTestResult) {
	id := safetext.Line(r.ID)
	if id == "" {
		id = "(no id)"
	}
	suffix := ""
	if r.Default {
		suffix = " (no rule matched)"
	}
	fmt.Fprintf(w, "%s: %s%s\n", id, r.Level, suffix)
	for _, m := range r.Matched {
		fmt.Fprintf(w, "  %-7s %s: %s\n", m.Verdict, m.Rule, safetext.Line(m.Reason))
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", safetext.Line(warn))
	}
}
