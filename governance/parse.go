package governance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/pelletier/go-toml/v2"
)

// Rule is one compiled rule.
type Rule struct {
	Name    string // unique within the file
	When    string // the CEL expression
	Verdict Level  // what the rule says when When is true
	Reason  string // shown to the operator
	Strong  bool   // confirm = "strong": a decision needs the strong confirmation

	prg     cel.Program
	loops   bool // has comprehensions: evaluated under a deadline
	tracked bool // runtime cost tracking with CostLimit
	history bool // calls a velocity function
}

// RuleSet is a compiled rules file, safe for concurrent use.
type RuleSet struct {
	name    string
	rules   []Rule
	vars    map[string]ref.Val // named values from the file
	timeout time.Duration
}

// Name is the file name the set was parsed from.
func (rs *RuleSet) Name() string { return rs.name }

// Len is the number of rules.
func (rs *RuleSet) Len() int { return len(rs.rules) }

// UsesHistory reports whether a rule calls a velocity function
// (approved_sum, approved_count…), so verdicts change with new approvals.
func (rs *RuleSet) UsesHistory() bool {
	for i := range rs.rules {
		if rs.rules[i].history {
			return true
		}
	}
	return false
}

// Rules returns the rules in file order (without their programs' state).
func (rs *RuleSet) Rules() []Rule {
	out := make([]Rule, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = Rule{Name: r.Name, When: r.When, Verdict: r.Verdict, Reason: r.Reason, Strong: r.Strong}
	}
	return out
}

// EvalTimeout bounds the evaluation of the rules with comprehensions for one action.
const EvalTimeout = 50 * time.Millisecond

var (
	identRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	ruleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,79}$`)
	// CEL reserved words cannot be variable names.
	celReserved = map[string]bool{
		"true": true, "false": true, "null": true, "in": true, "as": true, "break": true,
		"const": true, "continue": true, "else": true, "for": true, "function": true,
		"if": true, "import": true, "let": true, "loop": true, "package": true,
		"namespace": true, "return": true, "var": true, "void": true, "while": true,
	}
	ruleKeys = []string{"name", "when", "verdict", "reason", "confirm"}
)

// LoadFile reads and compiles a rules file of at most MaxRulesFileSize bytes.
func LoadFile(path string) (*RuleSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRulesFileSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse compiles a rules file. name is used in error positions. Every
// problem found is returned as Errors, each positioned file:line:col.
func Parse(name string, data []byte) (*RuleSet, error) {
	p := &parser{name: name, data: data, hints: sizeHints{vars: map[string]uint64{}}}
	if len(data) > MaxRulesFileSize {
		p.errAt(nil, "", "file is larger than %d bytes", MaxRulesFileSize)
		return nil, p.errs
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		e := &Error{File: name, Msg: "TOML: " + err.Error()}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			e.Line, e.Col = de.Position()
			e.Msg = "TOML: " + de.Error()
		}
		return nil, Errors{e}
	}
	p.locs = scanLocs(data)
	rs := &RuleSet{name: name, vars: map[string]ref.Val{}, timeout: EvalTimeout}
	env, err := base()
	if err != nil {
		return nil, fmt.Errorf("governance: CEL environment: %w", err)
	}
	env = p.namedValues(doc, env, rs)
	rawRules := p.ruleTables(doc)
	seen := map[string]bool{}
	for i, rt := range rawRules {
		if r, ok := p.rule(env, i, rt, seen); ok {
			rs.rules = append(rs.rules, r)
		}
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col)
		})
		return nil, p.errs
	}
	return rs, nil
}

// parser collects the problems of one file.
type parser struct {
	name  string
	data  []byte
	locs  fileLocs
	errs  Errors
	hints sizeHints
}

// errAt records a problem at a location (nil: unknown).
func (p *parser) errAt(at *loc, rule, format string, a ...any) {
	e := &Error{File: p.name, Rule: rule, Msg: fmt.Sprintf(format, a...)}
	if at != nil {
		e.Line, e.Col = lineCol(p.data, at.offset)
	}
	p.errs = append(p.errs, e)
}

// topLoc is the position of a top-level key, if known.
func (p *parser) topLoc(key string) *loc {
	if l, ok := p.locs.top[key]; ok {
		return &l
	}
	return nil
}

// ruleLoc is the position of a key of rule i (or of its header).
func (p *parser) ruleLoc(i int, key string) *loc {
	if i >= len(p.locs.rules) {
		return p.topLoc("rule")
	}
	if l, ok := p.locs.rules[i].keys[key]; ok {
		return &l
	}
	l := p.locs.rules[i].header
	return &l
}

// ruleTables returns the [[rule]] tables.
func (p *parser) ruleTables(doc map[string]any) []map[string]any {
	v, ok := doc["rule"]
	if !ok {
		p.errAt(nil, "", "no rules: add at least one [[rule]] table")
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.errAt(p.topLoc("rule"), "", "rule must be an array of tables ([[rule]])")
		return nil
	}
	if len(arr) > MaxRules {
		p.errAt(p.topLoc("rule"), "", "too many rules: %d (at most %d)", len(arr), MaxRules)
		return nil
	}
	out := make([]map[string]any, 0, len(arr))
	for i, it := range arr {
		m, ok := it.(map[string]any)
		if !ok {
			p.errAt(p.ruleLoc(i, ""), "", "rule %d is not a table", i+1)
			continue
		}
		out = append(out, m)
	}
	return out
}

// rule validates and compiles rule i.
func (p *parser) rule(env *cel.Env, i int, rt map[string]any, seen map[string]bool) (Rule, bool) {
	nerr := len(p.errs)
	str := func(key string) string {
		v, ok := rt[key]
		if !ok {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			p.errAt(p.ruleLoc(i, key), "", "rule %d: %s must be a string", i+1, key)
		}
		return s
	}
	name := str("name")
	label := name
	switch {
	case name == "":
		label = fmt.Sprintf("#%d", i+1)
		p.errAt(p.ruleLoc(i, "name"), label, "missing name")
	case !ruleNameRE.MatchString(name):
		label = fmt.Sprintf("#%d", i+1)
		p.errAt(p.ruleLoc(i, "name"), label, "name %q: use letters, digits, space and . _ : / - (at most 80)", clip(name))
	case seen[name]:
		p.errAt(p.ruleLoc(i, "name"), label, "duplicate rule name")
	}
	seen[name] = true
	for _, k := range sortedKeys(rt) {
		if !slices.Contains(ruleKeys, k) {
			at := *p.ruleLoc(i, k)
			at.offset = at.key
			p.errAt(&at, label, "unknown key %q (a rule has name, when, verdict, reason and optionally confirm)", clip(k))
		}
	}
	r := Rule{Name: name, When: str("when"), Reason: str("reason")}
	if c, ok := rt["confirm"]; ok {
		if s, _ := c.(string); s == "strong" {
			r.Strong = true
		} else {
			p.errAt(p.ruleLoc(i, "confirm"), label, `confirm must be "strong" (or left out)`)
		}
	}
	if vs, ok := rt["verdict"]; !ok {
		p.errAt(p.ruleLoc(i, "verdict"), label, "missing verdict (approve, review or reject)")
	} else if s, ok := vs.(string); ok {
		lv, err := ParseLevel(s)
		if err != nil {
			p.errAt(p.ruleLoc(i, "verdict"), label, "%v", err)
		}
		r.Verdict = lv
	} else {
		p.errAt(p.ruleLoc(i, "verdict"), label, "verdict must be a string: approve, review or reject")
	}
	if strings.TrimSpace(r.Reason) == "" {
		p.errAt(p.ruleLoc(i, "reason"), label, "missing reason (the operator is shown why)")
	}
	if strings.TrimSpace(r.When) == "" {
		p.errAt(p.ruleLoc(i, "when"), label, "missing when (a CEL expression)")
		return r, false
	}
	whenLoc := p.ruleLoc(i, "when")
	checked, iss := env.Compile(r.When)
	if iss != nil && iss.Err() != nil {
		for _, ce := range iss.Errors() {
			at := *whenLoc
			if whenLoc.raw != "" {
				at.offset = exprOffset(*whenLoc, ce.Location.Line(), ce.Location.Column())
			}
			p.errAt(&at, label, "%s", ce.Message)
		}
		return r, false
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		p.errAt(whenLoc, label, "when must be a true/false expression, not %s", t)
		return r, false
	}
	// Loop-free rules whose worst case is under the limit run without
	// runtime cost tracking (it costs a third of the evaluation time).
	r.loops = hasComprehension(checked)
	r.history = callsAny(checked, "__sum", "__count")
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est, err := env.EstimateCost(checked, p.hints); r.loops || err != nil || est.Max > CostLimit {
		opts = append(opts, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(64))
		r.tracked = true
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		p.errAt(whenLoc, label, "%v", err)
		return r, false
	}
	r.prg = prg
	return r, len(p.errs) == nerr
}

// hasComprehension reports whether the expression loops (all, exists, map, filter…).
func hasComprehension(a *cel.Ast) bool {
	nav := ast.NavigateAST(a.NativeRep())
	return len(ast.MatchDescendants(nav, ast.KindMatcher(ast.ComprehensionKind))) > 0
}

// callsAny reports whether the expression calls one of the functions.
func callsAny(a *cel.Ast, names ...string) bool {
	nav := ast.NavigateAST(a.NativeRep())
	return len(ast.MatchDescendants(nav, func(e ast.NavigableExpr) bool {
		return e.Kind() == ast.CallKind && slices.Contains(names, e.AsCall().FunctionName())
	})) > 0
}

// namedValues declares the file's top-level values (lists, maps and
// scalars) as CEL variables and returns the extended environment.
func (p *parser) namedValues(doc map[string]any, env *cel.Env, rs *RuleSet) *cel.Env {
	var opts []cel.EnvOption
	for _, k := range sortedKeys(doc) {
		if k == "rule" {
			continue
		}
		at := p.topLoc(k)
		if !identRE.MatchString(k) || celReserved[k] || inputVars[k] {
			p.errAt(at, "", "named value %q: use a name made of letters, digits and _ that is not a reserved word or an input name (action, tx, now, decode_error, payload, message, call, time_zone, today, weekday, local_time, holiday)", clip(k))
			continue
		}
		t, v, err := celValue(doc[k])
		if err != nil {
			p.errAt(at, "", "named value %q: %v", k, err)
			continue
		}
		opts = append(opts, cel.Variable(k, t))
		rs.vars[k] = types.DefaultTypeAdapter.NativeToValue(v)
		p.hints.vars[k] = valueSize(rs.vars[k])
	}
	if len(opts) == 0 {
		return env
	}
	ext, err := env.Extend(opts...)
	if err != nil {
		p.errAt(nil, "", "named values: %v", err)
		return env
	}
	return ext
}

// celValue converts a TOML value into a CEL type and a Go value of a
// single element type: lists and tables of one scalar type (integers mixed
// with floats become doubles; an empty list is list(dyn)), or a scalar.
func celValue(v any) (*cel.Type, any, error) {
	switch x := v.(type) {
	case int64:
		return cel.IntType, x, nil
	case float64:
		return cel.DoubleType, x, nil
	case string:
		return cel.StringType, x, nil
	case bool:
		return cel.BoolType, x, nil
	case []any:
		kind, err := scalarKind(x)
		if err != nil {
			return nil, nil, err
		}
		switch kind {
		case "":
			return cel.ListType(cel.DynType), []any{}, nil
		case "int":
			v, err := convertAll[int64](x)
			return cel.ListType(cel.IntType), v, err
		case "double":
			return cel.ListType(cel.DoubleType), toDoubles(x), nil
		case "string":
			v, err := convertAll[string](x)
			return cel.ListType(cel.StringType), v, err
		default:
			v, err := convertAll[bool](x)
			return cel.ListType(cel.BoolType), v, err
		}
	case map[string]any:
		keys := sortedKeys(x)
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = x[k]
		}
		kind, err := scalarKind(vals)
		if err != nil {
			return nil, nil, err
		}
		out := map[string]any{}
		var vt *cel.Type
		switch kind {
		case "":
			vt = cel.DynType
		case "int":
			vt = cel.IntType
		case "double":
			vt = cel.DoubleType
			for i, f := range toDoubles(vals) {
				vals[i] = f
			}
		case "string":
			vt = cel.StringType
		default:
			vt = cel.BoolType
		}
		for i, k := range keys {
			out[k] = vals[i]
		}
		return cel.MapType(cel.StringType, vt), out, nil
	}
	return nil, nil, fmt.Errorf("unsupported value of type %T: use a number, string, boolean, or a list or table of one of them", v)
}

// scalarKind returns the common element kind of vals: "", "int",
// "double", "string" or "bool".
func scalarKind(vals []any) (string, error) {
	kind := ""
	for _, e := range vals {
		var k string
		switch e.(type) {
		case int64:
			k = "int"
		case float64:
			k = "double"
		case string:
			k = "string"
		case bool:
			k = "bool"
		default:
			return "", fmt.Errorf("elements must be numbers, strings or booleans, not %T", e)
		}
		switch {
		case kind == "" || kind == k:
			kind = k
		case (kind == "int" && k == "double") || (kind == "double" && k == "int"):
			kind = "double"
		default:
			return "", fmt.Errorf("elements mix %s and %s: use one type", kind, k)
		}
	}
	return kind, nil
}

// convertAll converts the elements that scalarKind found to be all of type T.
func convertAll[T any](vals []any) ([]T, error) {
	out := make([]T, len(vals))
	for i, v := range vals {
		t, ok := v.(T)
		if !ok {
			return nil, fmt.Errorf("element %d is %T, not %T", i, v, t)
		}
		out[i] = t
	}
	return out, nil
}

func toDoubles(vals []any) []float64 {
	out := make([]float64, len(vals))
	for i, v := range vals {
		switch n := v.(type) {
		case int64:
			out[i] = float64(n)
		case float64:
			out[i] = n
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
