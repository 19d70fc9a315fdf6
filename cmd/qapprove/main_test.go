package main

import (
	"bytes"
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
