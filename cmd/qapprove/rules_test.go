package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestRulesTestAcceptsPendingJSON feeds the output format of `qapprove
// pending --json` to rules test: a row with an "input" document is taken
// as it is, the others are rebuilt from their fields.
func TestRulesTestAcceptsPendingJSON(t *testing.T) {
	// The fields rules test reads are those pending --json writes.
	tags := map[string]bool{}
	pt := reflect.TypeOf(pendingJSON{})
	for i := range pt.NumField() {
		tags[strings.Split(pt.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	rt := reflect.TypeOf(pendingRow{})
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("json"); !tags[tag] {
			t.Errorf("rules test reads %q, which pending --json does not write", tag)
		}
	}
	home := t.TempDir()
	rules := rulesWriteTemp(t, home, "r.toml", rulesGood)
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rows := `[
 {"id":"big","type":25,"expires":"` + exp + `","network":"Ethereum","chain_id":"1","asset":"ETH","amount":"150.5",
  "from":"0xa","to":"0xb","whitelisted":true,"policy":"p","threshold":2,"approvals":0,"members":3,
  "verdict":{"verdict":"review","matched":[],"default":true}},
 {"id":"small","type":25,"expires":"` + exp + `","network":"Ethereum","chain_id":"1","asset":"ETH","amount":"1.5",
  "whitelisted":true,"policy":"p","threshold":2,"approvals":0,"members":3,"verdict":{"verdict":"approve"}},
 {"id":"key","type":40,"expires":"` + exp + `","threshold":1,"members":1,"verdict":{"verdict":"review"}},
 {"id":"exact","type":25,"verdict":{"verdict":"review"},
  "input":{"action":{"id":"exact","type":"transaction"},"tx":{"amount":"101","decimals":18}}}
]`
	code, out, errs := rulesRun(t, home, "rules", "test", rules, "--actions", rulesWriteTemp(t, home, "pending.json", rows), "--json")
	if code != exitOK {
		t.Fatalf("code %d err %q", code, errs)
	}
	if !strings.Contains(errs, "3 actions rebuilt from `qapprove pending --json` rows") {
		t.Errorf("no note about rebuilt rows: %q", errs)
	}
	var res []struct {
		ID      string           `json:"id"`
		Verdict governance.Level `json:"verdict"`
		Default bool             `json:"default"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]governance.Level{}
	for _, r := range res {
		got[r.ID] = r.Verdict
	}
	if len(res) != 4 || got["big"] != governance.Reject || got["exact"] != governance.Reject ||
		got["small"] == governance.Reject || got["key"] == governance.Reject {
		t.Fatalf("verdicts %v", got)
	}
}
