package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"testing"
)

// blsRequired is the BLS library version go.mod requires.
func blsRequired(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(blsModule) + `\s+(v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatalf("go.mod does not require %s", blsModule)
	}
	return string(m[1])
}

func decodeBuild(t *testing.T, out []byte) buildInfo {
	t.Helper()
	var b buildInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("version --json is not the expected JSON object: %v\n%s", err, out)
	}
	return b
}

// TestVersionJSON: version --json names the version, the commit, the Go
// toolchain, the BLS library version go.mod requires and the platform.
func TestVersionJSON(t *testing.T) {
	old := commit
	commit = "0123abc"
	t.Cleanup(func() { commit = old })
	code, out, errs := runArgs(t, "version", "--json")
	if code != exitOK || errs != "" {
		t.Fatalf("version --json: exit %d, stderr %q", code, errs)
	}
	want := buildInfo{Version: version, Commit: "0123abc", GoVersion: runtime.Version(),
		BLSVersion: blsRequired(t), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got := decodeBuild(t, []byte(out)); got != want {
		t.Errorf("version --json = %+v, want %+v", got, want)
	}
}

// TestVersionJSONOfBuiltBinary: a binary stamped by the linker reports
// the version and commit it was given, and the BLS library it links.
func TestVersionJSONOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not in -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH to build the binary")
	}
	bin := filepath.Join(t.TempDir(), "qapprove")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", bin,
		"-ldflags", "-X main.version=v9.8.7 -X main.commit=feedface", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("version --json: %v", err)
	}
	got := decodeBuild(t, out)
	want := buildInfo{Version: "v9.8.7", Commit: "feedface", GoVersion: runtime.Version(),
		BLSVersion: blsRequired(t), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got != want {
		t.Errorf("version --json = %+v, want %+v", got, want)
	}
}

// TestModuleVersion: a replaced module reports its replacement's version;
// a missing one, "unknown".
func TestModuleVersion(t *testing.T) {
	info := &debug.BuildInfo{Deps: []*debug.Module{
		{Path: "example.com/a", Version: "v1.0.0"},
		{Path: blsModule, Version: "v1.37.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.37.1"}},
	}}
	if v := moduleVersion(info, blsModule); v != "v1.37.1" {
		t.Errorf("replaced: %q, want v1.37.1", v)
	}
	if v := moduleVersion(info, "example.com/a"); v != "v1.0.0" {
		t.Errorf("plain: %q, want v1.0.0", v)
	}
	if v := moduleVersion(info, "example.com/none"); v != "unknown" {
		t.Errorf("missing: %q, want unknown", v)
	}
}
