package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSandboxHelperProcess is not a test: it is the `qapprove sandbox`
// process that TestSandboxScript starts (the test binary re-executed).
func TestSandboxHelperProcess(t *testing.T) {
	if os.Getenv("QAPPROVE_SANDBOX_HELPER") != "1" {
		t.Skip("helper process for TestSandboxScript; runs only when started by it")
	}
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(run(env, []string{"sandbox", "--actions", "3"}))
}

// TestSandboxScript does what a script would: start `qapprove sandbox`,
// read the printed credentials, compute the HMAC headers with nothing but
// the standard library, get a token, read an action, and be refused a
// forged approval.
func TestSandboxScript(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSandboxHelperProcess$")
	cmd.Env = append(os.Environ(), "QAPPROVE_SANDBOX_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	vals := map[string]string{}
	sc := bufio.NewScanner(out)
	for len(vals) < 4 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			vals[k] = v
		}
	}
	for _, k := range []string{"base_url", "workspace_id", "api_key_id", "api_secret"} {
		if vals[k] == "" {
			t.Fatalf("sandbox did not print %s (got %v)", k, vals)
		}
	}
	go io.Copy(io.Discard, out)

	// HMAC headers, computed independently of package client.
	key, err := base64.RawURLEncoding.DecodeString(vals["api_secret"])
	if err != nil {
		t.Fatalf("secret is not base64url: %v", err)
	}
	url := vals["base_url"] + "/workspaces/" + vals["workspace_id"] + "/token"
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "GET" + url))
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("qredo-api-key", vals["api_key_id"])
	req.Header.Set("qredo-api-timestamp", ts)
	req.Header.Set("qredo-api-signature", base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
	var tok struct{ Token string }
	if code := sandboxDo(t, req, &tok); code != 200 || tok.Token == "" {
		t.Fatalf("token: status %d", code)
	}

	req, _ = http.NewRequest("GET", vals["base_url"]+"/workspaces/"+vals["workspace_id"]+"/actions?status=1", nil)
	req.Header.Set("x-token", tok.Token)
	var list struct {
		Actions []struct {
			ID       string
			Status   int
			Messages []string
		}
	}
	if code := sandboxDo(t, req, &list); code != 200 || len(list.Actions) == 0 {
		t.Fatalf("list: status %d, %d actions", code, len(list.Actions))
	}
	a := list.Actions[0]
	req, _ = http.NewRequest("GET", vals["base_url"]+"/actions/"+a.ID, nil)
	req.Header.Set("x-token", tok.Token)
	var one struct {
		ID       string
		Status   int
		Messages []string
	}
	if code := sandboxDo(t, req, &one); code != 200 || one.ID != a.ID || one.Status != 1 || len(one.Messages) == 0 {
		t.Fatalf("get action: status %d %+v", code, one)
	}

	forged := `{"status":3,"signatures":["02` + strings.Repeat("ab", 48) + `"]}`
	req, _ = http.NewRequest("POST", vals["base_url"]+"/actions/"+a.ID, strings.NewReader(forged))
	req.Header.Set("x-token", tok.Token)
	if code := sandboxDo(t, req, nil); code != 400 && code != 403 {
		t.Fatalf("forged approval answered %d, want 400 or 403", code)
	}
	req, _ = http.NewRequest("GET", vals["base_url"]+"/actions/"+a.ID, nil)
	req.Header.Set("x-token", tok.Token)
	if sandboxDo(t, req, &one); one.Status != 1 {
		t.Fatalf("action status %d after a forged approval", one.Status)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sandbox did not exit cleanly on SIGTERM: %v", err)
	}
}

func sandboxDo(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestSandboxUsage(t *testing.T) {
	var so, se strings.Builder
	env := &Env{Stdout: &so, Stderr: &se}
	if code := runSandbox(env, []string{"--addr", "0.0.0.0:0"}); code != exitUsage || !strings.Contains(se.String(), "loopback") {
		t.Fatalf("non-loopback: code %d, %q", code, se.String())
	}
	se.Reset()
	if code := runSandbox(env, []string{"--scenario", "/nonexistent/x.toml"}); code != exitUsage {
		t.Fatalf("missing scenario: code %d", code)
	}
	if code := runSandbox(env, []string{"--actions", "-1"}); code != exitUsage {
		t.Fatalf("negative actions: code %d", code)
	}
}
