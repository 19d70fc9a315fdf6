package main

import (
	"bufio"
	"context"
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

	"github.com/coder/websocket"
)

// TestSandboxHelperProcess is not a test: it is the `qapprove sandbox`
// process that TestSandboxScript starts (the test binary re-executed).
func TestSandboxHelperProcess(t *testing.T) {
	if os.Getenv("QAPPROVE_SANDBOX_HELPER") != "1" {
		t.Skip("helper process for TestSandboxScript; runs only when started by it")
	}
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(run(env, []string{"sandbox", "--actions", "3", "--protocol", os.Getenv("QAPPROVE_SANDBOX_PROTOCOL")}))
}

// TestSandboxScript does what a script would, in both protocols: start
// `qapprove sandbox`, read the printed credentials, compute the HMAC
// headers with nothing but the standard library, get a token, find an
// action (the list, or in minimal mode the feed), read it, and be refused
// a forged approval.
func TestSandboxScript(t *testing.T) {
	for _, p := range []string{"extended", "minimal"} {
		t.Run(p, func(t *testing.T) { sandboxScript(t, p) })
	}
}

func sandboxScript(t *testing.T, protocol string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSandboxHelperProcess$")
	cmd.Env = append(os.Environ(), "QAPPROVE_SANDBOX_HELPER=1", "QAPPROVE_SANDBOX_PROTOCOL="+protocol)
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
	for len(vals) < 5 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			vals[k] = v
		}
	}
	for _, k := range []string{"base_url", "workspace_id", "api_key_id", "api_secret", "protocol"} {
		if vals[k] == "" {
			t.Fatalf("sandbox did not print %s (got %v)", k, vals)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // drain until the sandbox is killed

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

	if vals["protocol"] != protocol {
		t.Fatalf("sandbox says protocol %q, want %q", vals["protocol"], protocol)
	}
	req, _ = http.NewRequest("GET", vals["base_url"]+"/workspaces/"+vals["workspace_id"]+"/actions?status=1", nil)
	req.Header.Set("x-token", tok.Token)
	var list struct {
		Actions []struct{ ID string }
	}
	code := sandboxDo(t, req, &list)
	var id string
	switch {
	case protocol == "minimal" && code == 404:
		id = firstFeedAction(t, vals["base_url"], tok.Token)
	case protocol == "extended" && code == 200 && len(list.Actions) > 0:
		id = list.Actions[0].ID
	default:
		t.Fatalf("list: status %d, %d actions", code, len(list.Actions))
	}
	req, _ = http.NewRequest("GET", vals["base_url"]+"/actions/"+id, nil)
	req.Header.Set("x-token", tok.Token)
	var one map[string]any
	if code := sandboxDo(t, req, &one); code != 200 || one["id"] != id || one["status"] != 1.0 || one["messages"] == nil {
		t.Fatalf("get action: status %d %v", code, one)
	}
	if protocol == "minimal" && len(one) != 3 {
		t.Fatalf("minimal GET /actions/{id} has %d fields, want id, status, messages: %v", len(one), one)
	}
	a := struct{ ID string }{id}

	forged := `{"status":3,"signatures":["02` + strings.Repeat("ab", 48) + `"]}`
	req, _ = http.NewRequest("POST", vals["base_url"]+"/actions/"+a.ID, strings.NewReader(forged))
	req.Header.Set("x-token", tok.Token)
	if code := sandboxDo(t, req, nil); code != 400 && code != 403 {
		t.Fatalf("forged approval answered %d, want 400 or 403", code)
	}
	req, _ = http.NewRequest("GET", vals["base_url"]+"/actions/"+a.ID, nil)
	req.Header.Set("x-token", tok.Token)
	if sandboxDo(t, req, &one); one["status"] != 1.0 {
		t.Fatalf("action status %v after a forged approval", one["status"])
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sandbox did not exit cleanly on SIGTERM: %v", err)
	}
}

// firstFeedAction reads the first frame of the feed, connected the way
// the Qredo example client does (a one-time ?token=).
func firstFeedAction(t *testing.T, base, token string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/websocket/token", nil)
	req.Header.Set("x-token", token)
	var ws struct{ WsToken string }
	if code := sandboxDo(t, req, &ws); code != 200 || ws.WsToken == "" {
		t.Fatalf("websocket token: status %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/actions/signrequests?token="+ws.WsToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	var frame struct{ ID string }
	if err != nil || json.Unmarshal(b, &frame) != nil || frame.ID == "" {
		t.Fatalf("feed frame: %v %s", err, b)
	}
	return frame.ID
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
	home := t.TempDir()
	runSandbox := func(env *Env, args []string) int {
		return run(env, append([]string{"--home", home, "sandbox"}, args...))
	}
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
	for flag, want := range map[string]string{
		"--protocol": "sandbox: --protocol must be minimal or extended, not \"strict\"\n",
		"--messages": "sandbox: --messages must be sandbox or opaque, not \"strict\"\n",
	} {
		se.Reset()
		if code := runSandbox(env, []string{flag, "strict"}); code != exitUsage || !strings.HasSuffix(se.String(), want) {
			t.Fatalf("%s strict: code %d, stderr %q, want a line %q", flag, code, se.String(), want)
		}
	}
}
