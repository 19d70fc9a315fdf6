package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// runArgs runs the command line args and returns the exit code and output.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	return run(env, args), out.String(), errb.String()
}

func TestHelpListsTheWholeContract(t *testing.T) {
	code, out, _ := runArgs(t, "--help")
	if code != exitOK {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range contract {
		if !strings.Contains(out, strings.TrimSpace("qapprove "+c.name)) {
			t.Errorf("--help does not list %q", c.name)
		}
		if r, ok := commands[c.name]; !ok || r.run == nil {
			t.Errorf("contract command %q is not built", c.name)
		}
	}
	if strings.Contains(out, "not built yet") {
		t.Error("--help still says something is not built")
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
