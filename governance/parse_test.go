package governance

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// posOf is the 1-based line and character column of the first occurrence
// of marker in text, plus delta characters.
func posOf(t *testing.T, text, marker string, delta int) (int, int) {
	t.Helper()
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("marker %q not in text", marker)
	}
	before := text[:i]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndex(before, "\n")+1:]) + 1
	return line, col + delta
}

func TestBadRulesArePositioned(t *testing.T) {
	cases := []struct {
		name   string
		text   string
		marker string // where the error must point
		delta  int
		rule   string
		msg    string
	}{
		{"syntax error", "[[rule]]\nname = \"s\"\nwhen = 'tx.to == '\nverdict = \"review\"\nreason = \"r\"\n",
			"'\nverdict", 0, "s", "Syntax error"},
		{"type error", "[[rule]]\nname = \"t\"\nverdict = \"review\"\nreason = \"r\"\nwhen = 'tx.whitelisted && tx.asset + 1 == 2'\n",
			"+ 1", 0, "t", "no matching overload"},
		{"unknown field in a multi-line expression", "[[rule]]\nname = \"u\"\nverdict = \"review\"\nreason = \"r\"\nwhen = '''\naction.type == \"transaction\" &&\n  tx.amout > 5.0\n'''\n",
			".amout", 0, "u", "undefined field 'amout'"},
		{"unknown field after escapes in a basic string", "[[rule]]\nname = \"e\"\nverdict = \"review\"\nreason = \"r\"\nwhen = \"tx.to == \\\"\\u00e9\\\" && action.polcy.name == \\\"x\\\"\"\n",
			".polcy", 0, "e", "undefined field 'polcy'"},
		{"undeclared list", "[[rule]]\nname = \"l\"\nverdict = \"review\"\nreason = \"r\"\nwhen = 'tx.network.chain_id_int in mainnets'\n",
			"mainnets'", 0, "l", "undeclared reference to 'mainnets'"},
		{"list of the wrong type", "testnets = [1, 2]\n[[rule]]\nname = \"w\"\nverdict = \"review\"\nreason = \"r\"\nwhen = 'tx.network.chain_id in testnets'\n",
			"in testnets", 0, "w", "no matching overload"},
		{"wrong verdict word", "[[rule]]\nname = \"v\"\nwhen = 'true'\nverdict = \"allow\"\nreason = \"r\"\n",
			"\"allow\"", 0, "v", `not "allow"`},
		{"verdict not a string", "[[rule]]\nname = \"v\"\nwhen = 'true'\nverdict = 3\nreason = \"r\"\n",
			"verdict", 0, "v", "verdict must be a string"},
		{"unknown key", "[[rule]]\nname = \"k\"\nwhn = 'true'\nwhen = 'true'\nverdict = \"review\"\nreason = \"r\"\n",
			"whn", 0, "k", `unknown key "whn"`},
		{"missing reason", "[[rule]]\nname = \"m\"\nwhen = 'true'\nverdict = \"review\"\n",
			"[[rule]]", 2, "m", "missing reason"},
		{"duplicate name", "[[rule]]\nname = \"d\"\nwhen = 'true'\nverdict = \"review\"\nreason = \"r\"\n[[rule]]\nname = \"d\"\nwhen = 'false'\nverdict = \"review\"\nreason = \"r\"\n",
			"\"d\"\nwhen = 'false'", 0, "d", "duplicate rule name"},
		{"not a boolean", "[[rule]]\nname = \"b\"\nwhen = 'tx.amount_number + 1.0'\nverdict = \"review\"\nreason = \"r\"\n",
			"'tx.amount", 0, "b", "true/false expression"},
		{"mixed list", "nets = [1, \"two\"]\n[[rule]]\nname = \"x\"\nwhen = 'true'\nverdict = \"review\"\nreason = \"r\"\n",
			"nets =", 0, "", "mix int and string"},
		{"reserved value name", "tx = [1]\n[[rule]]\nname = \"x\"\nwhen = 'true'\nverdict = \"review\"\nreason = \"r\"\n",
			"tx =", 0, "", `named value "tx"`},
		{"TOML syntax", "[[rule]]\nname = \"x\nwhen = 'true'\n",
			"\"x\n", 0, "", "TOML"},
		{"no rules", "testnets = [1]\n", "", 0, "", "no rules"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("r.toml", []byte(c.text))
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("want Errors, got %v", err)
			}
			e := es[0]
			if !strings.Contains(e.Msg, c.msg) || e.Rule != c.rule || e.File != "r.toml" {
				t.Fatalf("got %q (rule %q), want message with %q for rule %q", e.Error(), e.Rule, c.msg, c.rule)
			}
			if c.marker == "" {
				return
			}
			line, col := posOf(t, c.text, c.marker, c.delta)
			if e.Line != line || (c.name != "TOML syntax" && e.Col != col) {
				t.Fatalf("%s: at %d:%d, want %d:%d", e.Error(), e.Line, e.Col, line, col)
			}
			prefix := "r.toml:"
			if !strings.HasPrefix(e.Error(), prefix) || (c.rule != "" && !strings.Contains(e.Error(), `rule "`+c.rule+`": `)) {
				t.Fatalf("bad format: %s", e.Error())
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	text := "[[rule]]\nname = \"a\"\nwhen = 'tx.nope'\nverdict = \"review\"\nreason = \"r\"\n[[rule]]\nname = \"b\"\nwhen = 'true'\nverdict = \"maybe\"\nreason = \"r\"\n"
	_, err := Parse("r.toml", []byte(text))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Rule != "a" || es[1].Rule != "b" || es[0].Line >= es[1].Line {
		t.Fatalf("want two ordered errors, got %v", err)
	}
}

func TestNamedValueTypes(t *testing.T) {
	text := `
ints = [1, 2]
nums = [1, 2.5]
names = ["a"]
flags = [true]
empty = []
limit = 3
ratio = 0.5
word = "x"
on = true
limits = { A = 1, B = 2.5 }
[[rule]]
name = "all"
when = '''
2 in ints && 2.5 in nums && "a" in names && true in flags && size(empty) == 0 &&
limit == 3 && ratio == 0.5 && word == "x" && on && limits["B"] == 2.5 && limits["A"] == 1.0
'''
verdict = "reject"
reason = "every named value has the expected type and value"
`
	rs, err := Parse("v.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if v := rs.Evaluate(mkInput(t, nil)); v.Level != Reject {
		t.Fatalf("got %s %v %v", v.Level, ruleNames(v), v.Warnings)
	}
}

func TestDefaultCompilesAndIsCheap(t *testing.T) {
	rs := Default()
	if rs.Len() < 8 {
		t.Fatalf("default set has %d rules", rs.Len())
	}
	for _, r := range rs.rules {
		if r.tracked {
			t.Errorf("default rule %s needs runtime cost tracking: its worst case is above CostLimit", r.Name)
		}
	}
	loopy, err := Parse("l.toml", []byte("[[rule]]\nname='l'\nwhen='action.policy.members.exists(m, m == \"x\")'\nverdict='review'\nreason='r'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !loopy.rules[0].tracked || !loopy.rules[0].loops {
		t.Error("a rule with a comprehension runs without cost tracking")
	}
}

// TestDocExamples compiles the examples of docs/RULES.md.
func TestDocExamples(t *testing.T) {
	exprs := []string{
		`action.type == "transaction" && !tx.whitelisted`,
		`tx.amount_number > (tx.asset in amount_limits ? amount_limits[tx.asset] : review_amount_above)`,
		`action.expires_in_seconds < 300`,
		`now - action.created > duration("24h")`,
		`tx.to.lowerAscii() in blocked_addresses`,
		`action.policy.approvals + 1 >= action.policy.threshold`,
		`tx.amount_number > 100`,
		`!message.bound`,
		`!action.expiry_known`,
		`!payload.understood`,
		`tx.network.family == "evm" && tx.to == tx.to.lowerAscii()`,
		`action.type == "transaction" && !(tx.to.lowerAscii() in blocked_addresses)`,
	}
	var b strings.Builder
	b.WriteString("amount_limits = { ETH = 10.0, USDC = 50000 }\nreview_amount_above = 10000.0\nblocked_addresses = [\"0xbad\"]\n")
	for i, e := range exprs {
		b.WriteString("[[rule]]\nname = \"r" + string(rune('a'+i)) + "\"\nwhen = '" + e + "'\nverdict = \"review\"\nreason = \"r\"\n")
	}
	rs, err := Parse("doc.toml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	v := rs.Evaluate(mkInput(t, func(in *Input) { in.Tx.To = "0xBAD" }))
	if len(v.Warnings) != 0 || !slices.Contains(ruleNames(v), "re") {
		t.Fatalf("got %v %v", ruleNames(v), v.Warnings)
	}
}
