package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage"
)

// rulesRun runs qapprove with a fresh home and returns the exit code and
// both streams.
func rulesRun(t *testing.T, home string, args ...string) (int, string, string) {
	t.Helper()
	return runArgs(t, append([]string{"--home", home}, args...)...)
}

func rulesWriteTemp(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const rulesGood = `
[[rule]]
name = "big"
when = 'tx.amount_number > 100.0'
verdict = "reject"
reason = "too big"
`

func TestRulesCheck(t *testing.T) {
	home := t.TempDir()
	code, out, _ := rulesRun(t, home, "rules", "check")
	if code != exitOK || !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, "embedded") {
		t.Fatalf("default set: code %d out %q", code, out)
	}
	want := governance.Default().Len()
	if !strings.Contains(out, "ok: "+strconv.Itoa(want)+" rules") {
		t.Fatalf("default set: %q does not count %d rules", out, want)
	}

	good := rulesWriteTemp(t, home, "good.toml", rulesGood)
	if code, out, _ := rulesRun(t, home, "rules", "check", good); code != exitOK || !strings.HasPrefix(out, "ok: 1 rules") {
		t.Fatalf("good file: code %d out %q", code, out)
	}

	bad := rulesWriteTemp(t, home, "bad.toml", "[[rule]]\nname = \"x\"\nwhen = 'tx.amout > 1.0'\nverdict = \"allow\"\nreason = \"r\"\n")
	code, out, errs := rulesRun(t, home, "rules", "check", bad)
	if code != exitFail || out != "" {
		t.Fatalf("bad file: code %d out %q", code, out)
	}
	for _, w := range []string{bad + ":3:11: rule \"x\": undefined field 'amout'", bad + ":4:11: rule \"x\": verdict must be"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr %q lacks %q", errs, w)
		}
	}

	if code, _, errs := rulesRun(t, home, "rules", "check", filepath.Join(home, "missing.toml")); code != exitUsage || !strings.Contains(errs, "cannot read") {
		t.Fatalf("missing file: code %d err %q", code, errs)
	}
	if code, _, _ := rulesRun(t, home, "rules", "check", "a", "b"); code != exitUsage {
		t.Fatalf("two files: code %d", code)
	}
}

func TestRulesCheckUsesProfileRulesFile(t *testing.T) {
	home := t.TempDir()
	rulesWriteTemp(t, home, "mine.toml", "[[rule]]\nname = \"x\"\nwhen = 'nope'\nverdict = \"review\"\nreason = \"r\"\n")
	cfg := &storage.Config{Profiles: map[string]storage.Profile{"ops": {RulesFile: "mine.toml"}}}
	if err := storage.SaveConfig(storage.ResolvePaths(home).ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
	code, _, errs := rulesRun(t, home, "--profile", "ops", "rules", "check")
	if code != exitFail || !strings.Contains(errs, filepath.Join(home, "mine.toml")+":3:9") {
		t.Fatalf("profile rules file: code %d err %q", code, errs)
	}
	// Another profile without rules_file gets the embedded default.
	if code, out, _ := rulesRun(t, home, "rules", "check"); code != exitOK || !strings.Contains(out, "embedded") {
		t.Fatalf("default profile: code %d out %q", code, out)
	}
}

func TestRulesTestExample(t *testing.T) {
	home := t.TempDir()
	rules := filepath.Join("..", "..", "assets", "rules", "default.toml")
	actions := filepath.Join("..", "..", "docs", "examples", "actions.json")
	code, out, errs := rulesRun(t, home, "rules", "test", rules, "--actions", actions)
	if code != exitOK {
		t.Fatalf("code %d err %q", code, errs)
	}
	for _, w := range []string{
		"act-sepolia-ok: approve\n  approve testnet-whitelisted:",
		"act-mainnet: reject\n  reject  production-network:",
		"act-btc-testnet-big: review",
		"warning: " + governance.Warn1of1,
		"act-key-update: review\n  review  key-update:",
		"act-undecodable: review\n  review  payload: payload could not be decoded: payload is not valid base64",
		"5 actions: 1 approve, 3 review, 1 reject",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}

	// --json before FILE gives the same verdicts, machine-readable.
	code, out, errs = rulesRun(t, home, "rules", "test", "--json", rules, "--actions", actions)
	if code != exitOK {
		t.Fatalf("json: code %d err %q", code, errs)
	}
	var res []struct {
		ID      string             `json:"id"`
		Verdict governance.Level   `json:"verdict"`
		Matched []governance.Match `json:"matched"`
		Default bool               `json:"default"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	want := map[string]governance.Level{"act-sepolia-ok": governance.Approve, "act-mainnet": governance.Reject,
		"act-btc-testnet-big": governance.Review, "act-key-update": governance.Review, "act-undecodable": governance.Review}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d", len(res), len(want))
	}
	for _, r := range res {
		if want[r.ID] != r.Verdict || len(r.Matched) == 0 {
			t.Errorf("%s: %s with %d matches, want %s", r.ID, r.Verdict, len(r.Matched), want[r.ID])
		}
	}
}

func TestRulesTestErrors(t *testing.T) {
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "r.toml", rulesGood)
	cases := []struct {
		name    string
		actions string
		args    []string
		code    int
		msg     string
	}{
		{"no --actions", "", []string{rules}, exitUsage, "usage"},
		{"no file", "[]", nil, exitUsage, "usage"},
		{"not JSON", "{", []string{rules}, exitFail, "not a JSON array"},
		{"unknown field", `[{"action":{"idd":"x"}}]`, []string{rules}, exitFail, "idd"},
		{"bad amount", `[{"action":{"id":"x"},"tx":{"amount_base":"1e9"}}]`, []string{rules}, exitFail, `action 1 (id "x")`},
		{"bad rules", "[]", []string{rulesWriteTemp(t, home, "bad.toml", "[[rule]]\n")}, exitFail, "error(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"rules", "test"}, c.args...)
			if c.actions != "" {
				args = append(args, "--actions", rulesWriteTemp(t, home, "a.json", c.actions))
			}
			code, _, errs := rulesRun(t, home, args...)
			if code != c.code || !strings.Contains(errs, c.msg) {
				t.Fatalf("code %d err %q, want %d with %q", code, errs, c.code, c.msg)
			}
		})
	}
	// A control character in an ID does not reach the terminal.
	a := rulesWriteTemp(t, home, "esc.json", `[{"action":{"id":"x\u001b[2J","type":"transaction"},"tx":{"amount":"101"}}]`)
	code, out, _ := rulesRun(t, home, "rules", "test", rules, "--actions", a)
	if code != exitOK || strings.Contains(out, "\x1b") || !strings.Contains(out, "reject  big: too big") {
		t.Fatalf("code %d out %q", code, out)
	}
}
