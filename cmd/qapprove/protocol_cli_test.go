package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
)

// cliSandbox is a sandbox speaking p with a key registered for profile
// "p" through `keys register --non-interactive`.
func cliSandbox(t *testing.T, p sandbox.Protocol) (*sandbox.Server, string, string) {
	t.Helper()
	srv, u := sandboxtest.StartProtocol(t, p, sandbox.Options{})
	ws, kid, sec := srv.Credentials()
	dir := t.TempDir()
	passFile, secFile := filepath.Join(dir, "pass"), filepath.Join(dir, "secret")
	if err := os.WriteFile(passFile, []byte(keysPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secFile, []byte(sec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	code, out, errs := qa(t, home, "p", "keys", "register", "--non-interactive", "--passphrase-file", passFile,
		"--api-url", u, "--workspace", ws, "--api-key-id", kid, "--api-secret-file", secFile)
	if code != exitOK {
		t.Fatalf("register: exit %d\n%s\n%s", code, out, errs)
	}
	awaiting := strings.Contains(out+errs, "awaiting approval under the Admin Policy")
	if awaiting != (p == sandbox.ProtocolMinimal) {
		t.Fatalf("register in %s mode: awaiting=%v\n%s%s", p, awaiting, out, errs)
	}
	if p == sandbox.ProtocolMinimal {
		_, shown, _ := qa(t, home, "p", "keys", "show")
		if !strings.Contains(shown, "awaiting approval under the Admin Policy") {
			t.Fatalf("keys show does not say the key awaits the Admin Policy:\n%s", shown)
		}
		srv.ApproveKeyUpdates()
	}
	return srv, home, passFile
}

// pending --json, approve and reject work against both protocols; in the
// minimal one the list comes from the feed and says so, never a bare 404.
func TestCLIBothProtocols(t *testing.T) {
	sandboxtest.EachProtocol(t, func(t *testing.T, p sandbox.Protocol) {
		srv, home, passFile := cliSandbox(t, p)
		code, out, errs := qa(t, home, "p", "pending", "--json", "--passphrase-file", passFile)
		if code != exitOK {
			t.Fatalf("pending --json: exit %d\n%s", code, errs)
		}
		if feed := strings.Contains(errs, "from the feed (no list endpoint)"); feed != (p == sandbox.ProtocolMinimal) {
			t.Fatalf("pending in %s mode: feed note %v, stderr %q", p, feed, errs)
		}
		var list []pendingJSON
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) < 2 {
			t.Fatalf("pending --json: %v, %d actions\n%s", err, len(list), out)
		}
		if p == sandbox.ProtocolMinimal && list[0].Verdict.Level.String() == "approve" {
			t.Fatalf("a payload that is not understood got approve: %+v", list[0])
		}
		var approveID, rejectID string
		_, kid, _ := srv.Credentials()
		for _, a := range list {
			if info, _ := srv.Action(a.ID); info.Type != 25 || info.Status != client.StatusPending {
				continue
			}
			if approveID == "" && !strings.Contains(a.Verdict.StrongConfirm, "rule") && a.Verdict.Level.String() != "reject" {
				approveID = a.ID
			} else if rejectID == "" && a.ID != approveID {
				rejectID = a.ID
			}
		}
		if approveID == "" || rejectID == "" {
			t.Fatalf("no actions to decide among %d", len(list))
		}
		args := []string{"approve", approveID, "--yes", "--passphrase-file", passFile, "--reason", "checked with the desk"}
		code, out, errs = qa(t, home, "p", args...)
		if code != exitOK && strings.Contains(errs, "strong confirmation") {
			// A mainnet action: the last 4 characters of the destination
			// (of the ID when there is none) confirm it.
			to := approveID
			for _, a := range list {
				if a.ID == approveID && a.To != "" {
					to = a.To
				}
			}
			code, out, errs = qa(t, home, "p", append(args, "--confirm", to[len(to)-4:])...)
		}
		if code != exitOK || !strings.Contains(out, "approved "+approveID) {
			t.Fatalf("approve: exit %d\n%s\n%s", code, out, errs)
		}
		if info, _ := srv.Action(approveID); info.Decisions[kid] != client.StatusApproved {
			t.Fatalf("the sandbox has no valid approval on %s", approveID)
		}
		// Approving again is refused from the journal, whatever the API says.
		code, _, errs = qa(t, home, "p", args...)
		if code != exitFail || !strings.Contains(errs, "already") {
			t.Fatalf("a second approve: exit %d %s", code, errs)
		}
		code, out, errs = qa(t, home, "p", "reject", rejectID, "--yes", "--passphrase-file", passFile, "--reason", "not ours")
		if code != exitOK || !strings.Contains(out, "rejected "+rejectID) || strings.Contains(out, "rejectd") {
			t.Fatalf("reject: exit %d\n%s\n%s", code, out, errs)
		}
		code, out, errs = qa(t, home, "p", "journal", "verify")
		if code != exitOK || strings.Contains(out+errs, "not sealed") {
			t.Fatalf("journal verify after the CLI runs: exit %d\n%s\n%s", code, out, errs)
		}
	})
}

// A decision the CLI refuses before signing (no reason against the
// verdict, no strong confirmation) is journaled as an attempt.
func TestCLIRefusalsAreJournaled(t *testing.T) {
	srv, home, passFile := cliSandbox(t, sandbox.ProtocolExtended)
	code, out, _ := qa(t, home, "p", "pending", "--json", "--passphrase-file", passFile)
	if code != exitOK {
		t.Fatal("pending failed")
	}
	var list []pendingJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	var rejectVerdict, strong string
	for _, a := range list {
		switch {
		case rejectVerdict == "" && a.Verdict.Level.String() == "reject":
			rejectVerdict = a.ID
		case strong == "" && a.Verdict.Level.String() == "review" && a.To != "" && !a.Whitelisted:
			strong = a.ID
		}
	}
	if rejectVerdict == "" || strong == "" {
		t.Fatalf("the scenario lacks a reject verdict or an unwhitelisted review: %d actions", len(list))
	}
	code, _, errs := qa(t, home, "p", "approve", rejectVerdict, "--yes", "--passphrase-file", passFile)
	if code != exitFail || !strings.Contains(errs, "--reason") {
		t.Fatalf("approve against the verdict without a reason: exit %d %s", code, errs)
	}
	code, _, errs = qa(t, home, "p", "approve", strong, "--yes", "--passphrase-file", passFile, "--reason", "checked")
	if code != exitFail || !strings.Contains(errs, "strong confirmation") {
		t.Fatalf("approve without the strong confirmation: exit %d %s", code, errs)
	}
	_, kid, _ := srv.Credentials()
	for _, id := range []string{rejectVerdict, strong} {
		if info, _ := srv.Action(id); info.Decisions[kid] != 0 {
			t.Fatalf("a refused decision on %s reached the sandbox", id)
		}
	}
	j, err := os.ReadFile(storage.ResolvePaths(home).JournalFile("p"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{rejectVerdict, strong} {
		if !strings.Contains(string(j), `"kind":"abandoned"`) || !strings.Contains(string(j), `"action_id":"`+id+`"`) {
			t.Fatalf("the refused attempt on %s is not in the journal", id)
		}
	}
}

// Text from the server never reaches the terminal raw through the CLI:
// pending and the confirmation summary show escapes; pending --cached
// says how old the list is.
func TestCLIHostileTextAndCachedAge(t *testing.T) {
	srv, home, passFile := cliSandbox(t, sandbox.ProtocolExtended)
	id := sandboxtest.AddHostileAction(t, srv)
	code, out, errs := qa(t, home, "p", "pending", "--passphrase-file", passFile)
	if code != exitOK {
		t.Fatalf("pending: exit %d %s", code, errs)
	}
	_, show, _ := qa(t, home, "p", "reject", id, "--yes", "--passphrase-file", passFile, "--reason", "hostile")
	for _, text := range []string{out, show} {
		for _, raw := range []string{"\x1b", "\r", "\a", "\u202e"} {
			if strings.Contains(text, raw) {
				t.Fatalf("raw %q reached the output:\n%s", raw, text)
			}
		}
	}
	if !strings.Contains(out, `\x1b`) || !strings.Contains(show, `\u202e`) {
		t.Fatalf("the hostile text is not shown escaped:\n%s\n%s", out, show)
	}
	code, out, _ = qa(t, home, "p", "pending", "--cached")
	if code != exitOK || !strings.Contains(out, "from the cache, as of ") || !strings.Contains(out, " ago)") {
		t.Fatalf("pending --cached: exit %d\n%s", code, out)
	}
}

// The wrong-passphrase back-off survives across command-line runs, and
// the journal numbers the failed attempts across them.
func TestCLIBackoffAcrossRuns(t *testing.T) {
	_, home, _ := cliSandbox(t, sandbox.ProtocolExtended)
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("not the passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := qa(t, home, "p", "pending", "--passphrase-file", wrong)
	if code != exitFail || !strings.Contains(errs, "wrong passphrase") {
		t.Fatalf("first wrong passphrase: exit %d %s", code, errs)
	}
	code, _, errs = qa(t, home, "p", "pending", "--passphrase-file", wrong)
	if code != exitFail || !strings.Contains(errs, "wait") {
		t.Fatalf("a second run right away is not held back: exit %d %s", code, errs)
	}
	j, err := os.ReadFile(storage.ResolvePaths(home).JournalFile("p"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `"kind":"unlock-failed"`) || !strings.Contains(string(j), `"attempt":1`) {
		t.Fatalf("the failed unlock is not journaled with its attempt number")
	}
}

// pending --json gives each transfer's fiat value when a price source is
// configured: a priced asset with its source, an unpriced one with why.
func TestPendingJSONValue(t *testing.T) {
	_, home, passFile := cliSandbox(t, sandbox.ProtocolExtended)
	paths := storage.ResolvePaths(home)
	table := "currency = \"USD\"\nas_of = " + time.Now().UTC().Format(time.RFC3339) + "\n[prices]\nETH = \"2000\"\n"
	if err := os.WriteFile(filepath.Join(paths.Config, "prices.toml"), []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles["p"]
	p.Prices = &storage.PriceSettings{Table: "prices.toml", MaxAge: "1h"}
	cfg.Profiles["p"] = p
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
	code, out, errs := qa(t, home, "p", "pending", "--json", "--passphrase-file", passFile)
	var items []pendingJSON
	if code != exitOK || json.Unmarshal([]byte(out), &items) != nil {
		t.Fatalf("pending --json: exit %d\n%s\n%s", code, out, errs)
	}
	var priced, unpriced bool
	for _, it := range items {
		switch {
		case it.Value == nil:
		case it.Asset == "ETH" && it.Value.Amount != "" && it.Value.Currency == "USD" && strings.HasPrefix(it.Value.Source, "table "):
			priced = true
		case it.Asset == "USDC" && it.Value.Amount == "" && strings.HasPrefix(it.Value.Problem, "no price for"):
			unpriced = true
		}
	}
	if !priced || !unpriced {
		t.Fatalf("pending --json lacks a priced ETH or an unpriced USDC value:\n%s", out)
	}
}
