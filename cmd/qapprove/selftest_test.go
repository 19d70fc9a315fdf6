package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/assets"
)

// sharedVectors finds ../shared/vectors/qredo-bls-milagro.json relative to
// the repository root (where CI's fresh clone has it).
func sharedVectors(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Skip("skipping: cannot locate the source file to find ../shared")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	p := filepath.Join(root, "..", "shared", "vectors", "qredo-bls-milagro.json")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: shared vectors not found at %s (%v)", p, err)
	}
	return p
}

func runSelftestCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runArgs(t, append([]string{"--home", t.TempDir(), "selftest"}, args...)...)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestSelftestBuiltin(t *testing.T) {
	code, out, errs := runSelftestCmd(t)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errs, out)
	}
	var passed, failed int
	if _, err := fmt.Sscanf(lastLine(out), "%d passed, %d failed", &passed, &failed); err != nil || failed != 0 || passed < 10 {
		t.Fatalf("last line %q", lastLine(out))
	}
}

func TestSelftestSharedVectors(t *testing.T) {
	p := sharedVectors(t)
	code, out, errs := runSelftestCmd(t, "--vectors", p)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, errs, out)
	}
	_, base, _ := runSelftestCmd(t)
	var n0, n1, f int
	if _, err := fmt.Sscanf(lastLine(base), "%d passed", &n0); err != nil {
		t.Fatalf("last line without the file %q: %v", lastLine(base), err)
	}
	if _, err := fmt.Sscanf(lastLine(out), "%d passed, %d failed", &n1, &f); err != nil {
		t.Fatalf("last line with the file %q: %v", lastLine(out), err)
	}
	data, _ := os.ReadFile(p)
	var vs []json.RawMessage
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if n1 != n0+len(vs) || f != 0 {
		t.Fatalf("with the file: %q, without: %q, file has %d vectors", lastLine(out), lastLine(base), len(vs))
	}
}

func TestSelftestCorruptedVector(t *testing.T) {
	vs := []map[string]any{}
	if err := json.Unmarshal(assets.QredoBLSVectors, &vs); err != nil {
		t.Fatal(err)
	}
	v := vs[0]
	sigHex, ok1 := v["sig_hex"].(string)
	name, ok2 := v["case"].(string)
	if !ok1 || !ok2 {
		t.Fatalf("first vector lacks a string sig_hex or case: %v", v)
	}
	sig := []byte(sigHex)
	if sig[10] == 'a' {
		sig[10] = 'b'
	} else {
		sig[10] = 'a'
	}
	v["sig_hex"] = string(sig)
	data, _ := json.Marshal([]map[string]any{v})
	p := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runSelftestCmd(t, "--vectors", p)
	if code != exitFail {
		t.Fatalf("exit %d, want %d; out %q", code, exitFail, out)
	}
	if !strings.Contains(out, "FAIL "+name+": ") || !strings.HasSuffix(lastLine(out), " 1 failed") {
		t.Fatalf("output does not report the corrupted vector: %q", out)
	}
}

func TestSelftestBadInput(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "x.json")
	if err := os.WriteFile(notJSON, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"missing file": {"--vectors", filepath.Join(dir, "absent.json")},
		"not json":     {"--vectors", notJSON},
		"bad flag":     {"--bogus"},
		"extra arg":    {"extra"},
	}
	for name, args := range cases {
		code, out, errs := runSelftestCmd(t, args...)
		if code != exitUsage || !strings.HasPrefix(errs, "qapprove: ") || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q, stdout %q", name, code, errs, out)
		}
	}
}
