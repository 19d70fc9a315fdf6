package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/qapprove/qapprove/crypto/qbls"
)

func startT(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	o.Seed = 7
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, base
}

// signRule computes a qredo-api-signature by some rule, with only the
// standard library (never the client's or the server's function).
type signRule func(key []byte, secret, ts, method, url string) string

// rightRule is qredo-api.md §3: unpadded base64url of HMAC-SHA256 keyed
// with the decoded secret over ts + METHOD + full URL + body (empty).
func rightRule(key []byte, _, ts, method, url string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + method + url))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenReq asks for a token with headers signed by rule at ts.
func tokenReq(t *testing.T, s *Server, base string, ts time.Time, rule signRule) *http.Response {
	t.Helper()
	wid, kid, secret := s.Credentials()
	key, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	u := base + "/workspaces/" + wid + "/token"
	tss := strconv.FormatInt(ts.Unix(), 10)
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("qredo-api-key", kid)
	req.Header.Set("qredo-api-timestamp", tss)
	req.Header.Set("qredo-api-signature", rule(key, secret, tss, "GET", u))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// The sandbox accepts the confirmed HMAC rule and refuses requests signed
// by a rule that is wrong in any one way.
func TestTokenChecks(t *testing.T) {
	s, base := startT(t, Options{})
	if r := tokenReq(t, s, base, time.Now(), rightRule); r.StatusCode != 200 {
		t.Fatalf("good HMAC: %d", r.StatusCode)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	cases := map[string]struct {
		ts   time.Time
		rule signRule
	}{
		"flipped character": {time.Now(), func(k []byte, sec, ts, m, u string) string { return flipFirst(rightRule(k, sec, ts, m, u)) }},
		"method omitted": {time.Now(), func(k []byte, _, ts, _, u string) string {
			return base64.RawURLEncoding.EncodeToString(mac(k, ts+u))
		}},
		"method lower case": {time.Now(), func(k []byte, _, ts, m, u string) string {
			return base64.RawURLEncoding.EncodeToString(mac(k, ts+strings.ToLower(m)+u))
		}},
		"padded base64url": {time.Now(), func(k []byte, _, ts, m, u string) string {
			return base64.URLEncoding.EncodeToString(mac(k, ts+m+u))
		}},
		"standard base64": {time.Now(), func(k []byte, _, ts, m, u string) string {
			return base64.StdEncoding.EncodeToString(mac(k, ts+m+u))
		}},
		"hex": {time.Now(), func(k []byte, _, ts, m, u string) string { return hex.EncodeToString(mac(k, ts+m+u)) }},
		"path instead of full URL": {time.Now(), func(k []byte, _, ts, m, u string) string {
			return base64.RawURLEncoding.EncodeToString(mac(k, ts+m+u[strings.Index(u, "/api/"):]))
		}},
		"separators": {time.Now(), func(k []byte, _, ts, m, u string) string {
			return base64.RawURLEncoding.EncodeToString(mac(k, ts+"\n"+m+"\n"+u))
		}},
		"secret not decoded": {time.Now(), func(_ []byte, sec, ts, m, u string) string {
			return base64.RawURLEncoding.EncodeToString(mac([]byte(sec), ts+m+u))
		}},
		"other key":     {time.Now(), func(_ []byte, _, ts, m, u string) string { return rightRule([]byte("x"), "", ts, m, u) }},
		"old timestamp": {time.Now().Add(-6 * time.Minute), rightRule},
		"future":        {time.Now().Add(6 * time.Minute), rightRule},
		"empty":         {time.Now(), func([]byte, string, string, string, string) string { return "" }},
	}
	for name, c := range cases {
		if r := tokenReq(t, s, base, c.ts, c.rule); r.StatusCode != 401 {
			t.Errorf("%s: status %d, want 401", name, r.StatusCode)
		}
	}
}

func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("x-token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestJWTChecks(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s, base := startT(t, Options{Now: clock, TokenTTL: time.Minute})
	wid, kid, _ := s.Credentials()
	tok := s.tok.issue(kid, wid, now, time.Minute)
	list := base + "/workspaces/" + wid + "/actions?status=1"
	if r := get(t, list, tok); r.StatusCode != 200 {
		t.Fatalf("valid token: %d", r.StatusCode)
	}
	forged := tok[:len(tok)-2] + flipFirst(tok[len(tok)-2:])
	for name, tk := range map[string]string{"none": "", "forged": forged, "garbage": "a.b.c"} {
		if r := get(t, list, tk); r.StatusCode != 401 {
			t.Errorf("%s token: %d", name, r.StatusCode)
		}
	}
	other := newTokens().issue(kid, wid, now, time.Minute) // another server's key
	if r := get(t, list, other); r.StatusCode != 401 {
		t.Errorf("foreign token: %d", r.StatusCode)
	}
	now = now.Add(2 * time.Minute)
	if r := get(t, list, tok); r.StatusCode != 401 {
		t.Errorf("expired token: %d", r.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	s, base := startT(t, Options{RateLimit: 2})
	wid, kid, _ := s.Credentials()
	tok := s.tok.issue(kid, wid, time.Now(), time.Hour)
	var last *http.Response
	for range 5 {
		last = get(t, base+"/workspaces/"+wid+"/actions", tok)
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

// decideRaw posts a decision as key with a signature.
func (s *Server) decideAs(key, id string, status int, sig []byte) (int, string) {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	_, err := s.ws.decide(key, id, status, []string{hex.EncodeToString(sig)}, s.now())
	if err != nil {
		var de *decideError
		if !errors.As(err, &de) {
			return 0, err.Error()
		}
		return de.status, de.msg
	}
	return 200, ""
}

// Approvals count only with a valid Qredo-scheme BLS signature by the
// registered key of a policy member over messages[0], in both modes.
func TestDecisionChecks(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) { decisionChecks(t, p) })
	}
}

func decisionChecks(t *testing.T, p Protocol) {
	s, _ := startT(t, Options{Protocol: p})
	sk, _ := qbls.Generate(rand.Reader)
	s.SetOperatorBLSKey(sk.Public())
	_, op, _ := s.Credentials()
	var treasury, payroll string
	for _, id := range s.ActionIDs() {
		info, _ := s.Action(id)
		if info.Status != StatusPending {
			continue
		}
		if info.Threshold == 2 && len(info.Members) == 3 && info.Approvals == 0 && treasury == "" {
			treasury = id
		}
		if len(info.Members) == 2 && info.Threshold == 2 {
			payroll = id
		}
	}
	info, _ := s.Action(treasury)
	good := sk.Sign(info.Message)
	alice := s.ws.keys[info.Members[1]]
	aliceSig := alice.sim.Sign(info.Message)
	other, _ := qbls.Generate(rand.Reader)
	bad := other.Sign(info.Message)
	check := func(name string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d, want %d", name, got, want)
		}
	}
	st, _ := s.decideAs(op, treasury, 3, bad[:])
	check("signature by an unregistered key", st, 400)
	st, _ = s.decideAs(op, treasury, 3, aliceSig[:])
	check("signature by another member (wrong signer)", st, 400)
	st, _ = s.decideAs(op, treasury, 3, make([]byte, 49))
	check("garbage signature", st, 400)
	st, _ = s.decideAs(op, treasury, 7, good[:])
	check("bad status", st, 400)
	pinfo, _ := s.Action(payroll)
	ps := sk.Sign(pinfo.Message)
	st, _ = s.decideAs(op, payroll, 3, ps[:])
	check("non-member", st, 403)
	st, _ = s.decideAs(op, "2missing", 3, good[:])
	check("unknown action", st, 404)
	st, _ = s.decideAs(op, treasury, 3, good[:])
	check("valid approval", st, 200)
	if i, _ := s.Action(treasury); i.Status != StatusPending || i.Approvals != 1 {
		t.Fatalf("1 of 2 approvals: %+v", i)
	}
	st, _ = s.decideAs(op, treasury, 4, good[:])
	check("double decision", st, 409)
	if err := s.DecideAsOther(treasury, true); err != nil {
		t.Fatal(err)
	}
	if i, _ := s.Action(treasury); i.Status != StatusApproved {
		t.Fatalf("threshold reached but status %d", i.Status)
	}
	// expired action
	id, err := s.AddAction(ActionSpec{Wallet: "wal-polygon-ops", Asset: "POL", To: "0x1", Amount: "5", ExpiresIn: "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ExpireAction(id); err != nil {
		t.Fatal(err)
	}
	ei, _ := s.Action(id)
	es := sk.Sign(ei.Message)
	st, _ = s.decideAs(op, id, 3, es[:])
	want := 409
	if p == ProtocolMinimal {
		want = 400 // no status 5: the action is still "pending" but expired
	}
	check("expired action", st, want)
}

func TestKeyUpdateNeedsNewKey(t *testing.T) {
	s, base := startT(t, Options{})
	wid, kid, _ := s.Credentials()
	tok := s.tok.issue(kid, wid, time.Now(), time.Hour)
	sk, _ := qbls.Generate(rand.Reader)
	pk := sk.Public()
	ecKey, _ := secp256k1.GeneratePrivateKey()
	ec := base64.StdEncoding.EncodeToString(ecKey.PubKey().SerializeUncompressed())
	body := `{"blsPublicKey":"` + base64.StdEncoding.EncodeToString(pk[:]) + `","ecPublicKey":"` + ec + `"}`
	req, _ := http.NewRequest("PUT", base+"/workspaces/"+wid+"/apikeys/"+kid, strings.NewReader(body))
	req.Header.Set("x-token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct{ ActionID string }
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.ActionID == "" {
		t.Fatalf("PUT apikeys: %d %s", resp.StatusCode, b)
	}
	info, _ := s.Action(out.ActionID)
	old, _ := qbls.Generate(rand.Reader)
	s.SetOperatorBLSKey(old.Public()) // a previously registered key must not do
	wrong := old.Sign(info.Message)
	if st, _ := s.decideAs(kid, out.ActionID, 3, wrong[:]); st != 400 {
		t.Fatalf("update approved by the old key: %d", st)
	}
	right := sk.Sign(info.Message)
	if st, msg := s.decideAs(kid, out.ActionID, 3, right[:]); st != 200 {
		t.Fatalf("update by the new key: %d %s", st, msg)
	}
	s.ws.mu.Lock()
	got := *s.ws.keys[kid].bls
	s.ws.mu.Unlock()
	if got != pk {
		t.Fatal("new key not registered")
	}
	// Another key's registration is forbidden.
	req, _ = http.NewRequest("PUT", base+"/workspaces/"+wid+"/apikeys/a.someoneelse", strings.NewReader(body))
	req.Header.Set("x-token", tok)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("registering another key: %d", resp.StatusCode)
	}
}

func TestScenarioAndStart(t *testing.T) {
	s, err := New(Options{ExtraActions: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ActionIDs()) < 60 {
		t.Fatalf("%d actions", len(s.ActionIDs()))
	}
	if _, err := s.Start("0.0.0.0:0"); err == nil {
		t.Fatal("listened on a non-loopback address")
	}
	for name, sc := range map[string]string{
		"unknown key":    "[workspace]\nid='w'\nbogus=1\n",
		"bad threshold":  "[[policies]]\nid='p'\nname='p'\nthreshold=3\nmembers=['operator']\n",
		"unknown member": "[[policies]]\nid='p'\nname='p'\nthreshold=1\nmembers=['mallory']\n",
		"syntax":         "[[",
	} {
		if _, err := ParseScenario([]byte(sc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAdminEndpoint(t *testing.T) {
	s, base := startT(t, Options{})
	admin := strings.TrimSuffix(base, "/api/v2") + "/_admin/faults"
	resp, err := http.Post(admin, "application/json", strings.NewReader(`{"errorRate":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || s.Faults().Get().ErrorRate != 1 {
		t.Fatalf("admin set: %d %+v", resp.StatusCode, s.Faults().Get())
	}
	if r := get(t, base+"/workspaces/x/token", ""); r.StatusCode != 503 {
		t.Fatalf("injected failure not served: %d", r.StatusCode)
	}
	resp, _ = http.Post(admin, "application/json", strings.NewReader(`{"errorRate":2}`))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad settings accepted: %d", resp.StatusCode)
	}
}

// pendingIDs lists the IDs of the actions pending for key kid, in
// creation order.
func pendingIDs(s *Server, kid string) []string {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	var ids []string
	for _, a := range s.ws.sorted(kid, StatusPending) {
		ids = append(ids, a.id)
	}
	return ids
}

// Paging the action list returns every visible pending action exactly
// once, in creation order, with a page token only while more follow.
func TestListPages(t *testing.T) {
	s, base := startT(t, Options{ExtraActions: 120})
	wid, kid, _ := s.Credentials()
	tok := s.tok.issue(kid, wid, time.Now(), time.Minute)
	want := pendingIDs(s, kid)
	var got []string
	next, pages := "", 0
	for {
		u := base + "/workspaces/" + wid + "/actions?status=1&pageSize=25"
		if next != "" {
			u += "&pageToken=" + next
		}
		r := get(t, u, tok)
		var page struct {
			Actions       []struct{ ID string } `json:"actions"`
			NextPageToken string                `json:"nextPageToken"`
		}
		if r.StatusCode != 200 || json.NewDecoder(r.Body).Decode(&page) != nil {
			t.Fatalf("page %d: status %d", pages, r.StatusCode)
		}
		pages++
		for _, a := range page.Actions {
			got = append(got, a.ID)
		}
		if next = page.NextPageToken; next == "" {
			break
		}
		if len(page.Actions) != 25 {
			t.Fatalf("page %d has %d actions and a next token", pages, len(page.Actions))
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paged %d actions over %d pages, want the %d visible in order", len(got), pages, len(want))
	}
	if wantPages := (len(want) + 24) / 25; pages != wantPages {
		t.Fatalf("%d pages for %d actions, want %d", pages, len(want), wantPages)
	}
}

// flipFirst changes the first character of a base64 signature (to 'A',
// or to 'B' when it already is 'A').
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
