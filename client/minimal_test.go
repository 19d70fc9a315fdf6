package client_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/qbls"
)

// minimal is a test server that speaks only what is confirmed about the
// real Qredo API v2 (docs/PROTOCOL.md, "confirmed"): the HMAC token
// endpoint, GET /actions/{id} with only id, status and hex messages,
// POST /actions/{id} decisions, and the feed frame of the swagger example.
// It has no list endpoint. Extension fields appear only where a test asks.
type minimal struct {
	t        *testing.T
	wid, kid string
	key      []byte // the HMAC key: the API secret base64-decoded
	pk       qbls.PublicKey

	mu      sync.Mutex
	actions map[string]*minAction
	posts   map[string]int // decisions received per action
	frames  []string       // sent on each feed connection
}

type minAction struct {
	status int
	msg    []byte
	// answer to a decision: "{}", "204", "huge", "drop-after" (record,
	// then cut the connection), "drop-before" (cut without recording),
	// "drop-other:N" (cut; the action becomes status N by someone else)
	answer     string
	myDecision *int // our extension; nil = absent
	recorded   int
}

func newMinimal(t *testing.T, pk qbls.PublicKey) (*minimal, *httptest.Server) {
	m := &minimal{t: t, wid: "2VvsjKTf31cnRwM", kid: "a.HLRrw3PSiS45QL",
		key: []byte("$2a$04$" + strings.Repeat("Qx7.zP", 8) + "abcde"), pk: pk,
		actions: map[string]*minAction{}, posts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v2/workspaces/{wid}/token", m.token)
	mux.HandleFunc("GET /api/v2/actions/{id}", m.get)
	mux.HandleFunc("POST /api/v2/actions/{id}", m.decide)
	mux.HandleFunc("GET /api/v2/actions/signrequests", m.feed)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return m, srv
}

// secret is the API secret as issued: unpadded base64url of the key.
func (m *minimal) secret() string { return base64.RawURLEncoding.EncodeToString(m.key) }

// token checks the HMAC signature, computed here byte by byte from the
// confirmed rule (qredo-api.md §3) and not with the client's function:
// base64url_nopad(HMAC-SHA256(key, timestamp + METHOD + full URL + body)).
func (m *minimal) token(w http.ResponseWriter, r *http.Request) {
	ts := r.Header.Get("qredo-api-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || r.Header.Get("qredo-api-key") != m.kid || r.PathValue("wid") != m.wid || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		http.Error(w, "bad key, workspace or timestamp", http.StatusUnauthorized)
		return
	}
	var signed []byte
	signed = append(signed, ts...)
	signed = append(signed, "GET"...)
	signed = append(signed, "http://"+r.Host+r.URL.RequestURI()...)
	mac := hmac.New(sha256.New, m.key)
	mac.Write(signed)
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("qredo-api-signature")), []byte(want)) {
		http.Error(w, "signature mismatch", http.StatusUnauthorized)
		return
	}
	claims := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d}`, time.Now().Add(time.Hour).Unix())))
	_, _ = fmt.Fprintf(w, `{"token":"eyJhbGciOiJIUzI1NiJ9.%s.c2ln"}`, claims)
}

func (m *minimal) authed(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("x-token"), "eyJ") {
		http.Error(w, "no token", http.StatusUnauthorized)
		return false
	}
	return true
}

func (m *minimal) add(id string, a *minAction) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.status == 0 {
		a.status = client.StatusPending
	}
	if a.msg == nil {
		a.msg = realMessage()
	}
	m.actions[id] = a
}

// realMessage looks like a real Qredo message: 08 01 12 20 <32-byte digest>.
func realMessage() []byte {
	d := make([]byte, 32)
	rand.Read(d)
	return append([]byte{0x08, 0x01, 0x12, 0x20}, d...)
}

func (m *minimal) get(w http.ResponseWriter, r *http.Request) {
	if !m.authed(w, r) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.actions[r.PathValue("id")]
	if !ok {
		http.Error(w, "action not found", http.StatusNotFound)
		return
	}
	out := map[string]any{"id": r.PathValue("id"), "status": a.status, "messages": []string{hex.EncodeToString(a.msg)}}
	if a.myDecision != nil {
		out["myDecision"] = *a.myDecision
	}
	_ = json.NewEncoder(w).Encode(out) // a failed answer fails the client side of the test
}

func (m *minimal) decide(w http.ResponseWriter, r *http.Request) {
	if !m.authed(w, r) {
		return
	}
	id := r.PathValue("id")
	var body struct {
		Status     int      `json:"status"`
		Signatures []string `json:"signatures"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	m.mu.Lock()
	a, ok := m.actions[id]
	m.posts[id]++
	m.mu.Unlock()
	if err := dec.Decode(&body); err != nil || len(body.Signatures) != 1 || (body.Status != 3 && body.Status != 4) || !ok {
		http.Error(w, "invalid decision", http.StatusBadRequest)
		return
	}
	raw, err := hex.DecodeString(body.Signatures[0])
	sig, perr := qbls.ParseSignature(raw)
	if err != nil || perr != nil || !qbls.Verify(m.pk, a.msg, sig) {
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	answer := a.answer
	switch {
	case answer == "drop-before":
	case strings.HasPrefix(answer, "drop-other:"):
		a.status, _ = strconv.Atoi(strings.TrimPrefix(answer, "drop-other:"))
	default:
		a.status, a.recorded = body.Status, body.Status
		if a.myDecision != nil {
			a.myDecision = &body.Status
		}
	}
	m.mu.Unlock()
	switch answer {
	case "{}":
		_, _ = io.WriteString(w, "{}") // the test reads what the client makes of it
	case "204":
		w.WriteHeader(http.StatusNoContent)
	case "huge":
		_, _ = io.WriteString(w, strings.Repeat("not json ", 300_000))
	default: // drop-*: the answer is lost
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
}

// feed sends the frames, then holds the connection open.
func (m *minimal) feed(w http.ResponseWriter, r *http.Request) {
	if !m.authed(w, r) {
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	m.mu.Lock()
	frames := m.frames
	m.mu.Unlock()
	for _, f := range frames {
		if c.Write(r.Context(), websocket.MessageText, []byte(f)) != nil {
			return
		}
	}
	c.CloseRead(r.Context())
	<-r.Context().Done()
}

func minimalClient(t *testing.T, m *minimal, srv *httptest.Server, secret string) *client.Client {
	c, err := client.New(client.Config{BaseURL: srv.URL + "/api/v2", WorkspaceID: m.wid, APIKeyID: m.kid,
		Credentials: client.StaticSecret(secret), Timeout: 5 * time.Second, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMinimalProtocol(t *testing.T) {
	sk := mustKey(t)
	m, srv := newMinimal(t, sk.Public())
	c := minimalClient(t, m, srv, m.secret())

	// The token: the server checks the HMAC with its own computation, and
	// refuses a wrong secret (so the check is not vacuous).
	if err := c.Token(ctx(t)); err != nil {
		t.Fatalf("token: %v", err)
	}
	wrong := append([]byte(nil), m.key...)
	wrong[10] ^= 1
	wantKind(t, minimalClient(t, m, srv, base64.RawURLEncoding.EncodeToString(wrong)).Token(ctx(t)), client.KindAuth)

	// No list endpoint: a sentinel, so callers fall back to the feed.
	_, err := c.ListPending(ctx(t))
	if !errors.Is(err, client.ErrNoListEndpoint) || client.KindOf(err) != client.KindNotFound || strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("no list endpoint: %v", err)
	}

	// GET with only id, status and messages; decisions answered {}, 204
	// or a huge non-JSON body are all successes.
	for i, answer := range []string{"{}", "204", "huge"} {
		id := "2Min" + strconv.Itoa(i)
		m.add(id, &minAction{answer: answer})
		a, err := c.GetAction(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Payload != nil || a.ExpiryKnown() || !a.Pending(time.Now()) || a.Binding != client.BindingUnknown || a.MyDecisionKnown {
			t.Fatalf("minimal action: %+v", a)
		}
		if err := c.DecideWith(ctx(t), id, i != 1, signer(sk)); err != nil {
			t.Fatalf("decision answered %s: %v", answer, err)
		}
		m.mu.Lock()
		got := m.actions[id].recorded
		m.mu.Unlock()
		if want := map[bool]int{true: 3, false: 4}[i != 1]; got != want {
			t.Fatalf("recorded %d, want %d", got, want)
		}
	}
}

// After a decision whose answer was lost, the client re-reads the action
// and says honestly what it can tell; it never re-sends.
func TestMinimalLostAnswer(t *testing.T) {
	sk := mustKey(t)
	m, srv := newMinimal(t, sk.Public())
	c := minimalClient(t, m, srv, m.secret())
	zero := func() *int { z := 0; return &z }
	for _, tc := range []struct {
		name    string
		a       *minAction
		approve bool
		kind    client.ErrorKind
		msg     string
	}{
		{"recorded, myDecision known", &minAction{answer: "drop-after", myDecision: zero()}, true, client.KindUnknown, ""},
		{"recorded, no myDecision", &minAction{answer: "drop-after"}, true, client.KindUnknownOutcome, "unknown outcome: sent; the action is now approved — probably by this decision"},
		{"rejected, no myDecision", &minAction{answer: "drop-after"}, false, client.KindUnknownOutcome, "unknown outcome: sent; the action is now rejected — probably by this decision"},
		{"not recorded, myDecision known", &minAction{answer: "drop-before", myDecision: zero()}, true, client.KindNetwork, "not recorded"},
		{"still pending, no myDecision", &minAction{answer: "drop-before"}, true, client.KindUnknownOutcome,
			"unknown outcome: still pending; the API does not say whether this decision was recorded; it was not re-sent"},
		{"rejected by others, no myDecision", &minAction{answer: "drop-other:4"}, true, client.KindConflict, "is now rejected; whether this decision was recorded first is unknown"},
		{"expired, myDecision known", &minAction{answer: "drop-other:5", myDecision: zero()}, true, client.KindConflict, "is now expired, and not approved by this key"},
		{"unknown status", &minAction{answer: "drop-other:7"}, true, client.KindConflict, "is now status 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "2Lost" + strconv.Itoa(len(m.actions))
			m.add(id, tc.a)
			err := c.DecideWith(ctx(t), id, tc.approve, signer(sk))
			if tc.kind == client.KindUnknown {
				if err != nil {
					t.Fatalf("recorded decision reported as %v", err)
				}
			} else {
				wantKind(t, err, tc.kind)
				if !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("message %q does not say %q", err, tc.msg)
				}
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.posts[id] != 1 {
				t.Fatalf("decision sent %d times", m.posts[id])
			}
		})
	}
}

// A feed frame shaped like the signing agent's swagger example.
func TestMinimalFeedFrame(t *testing.T) {
	fk := mustKey(t)
	m, srv := newMinimal(t, fk.Public())
	c := minimalClient(t, m, srv, m.secret())
	payload := []byte(`{"policyName":"Sepolia testnet policy","externalExtension":{"network":{"chainID":11155111}}}`)
	msg := realMessage()
	exp := time.Now().Add(time.Hour).Unix()
	frame := fmt.Sprintf(`{"id":"2WKtGnLJugxtYHOg2KSNYggRf8Y","type":25,"status":1,"description":"","approverID":"a.HLRrw3PSiS45QLf",`+
		`"dataID":"46vbH854RpRAZoWtf","senderID":"46vbH854RpRAZoWxf","payload":"%s","messages":["%s"],"signatures":null,`+
		`"timestamp":1696493005,"actionSubject":null,"actionTime":1696493005,"expireTime":%d,"metadata":"e30=","created":1696493005}`,
		base64.StdEncoding.EncodeToString(payload), base64.StdEncoding.EncodeToString(msg), exp)
	hostile := `{"id":"2Evil\u001b]0;pwn\u0007\r\u202e","status":1,"messages":[]}`
	m.frames = []string{frame, hostile, `not json at all`}
	ev := make(chan client.FeedEvent, 16)
	fctx, cancel := context.WithCancel(ctx(t))
	done := make(chan struct{})
	go func() { c.Feed(fctx, ev); close(done) }()
	defer func() { cancel(); <-done }()
	var skipped []client.Skipped
	collect(t, ev, 10*time.Second, func(fe client.FeedEvent) bool {
		if fe.Skipped != nil {
			skipped = append(skipped, *fe.Skipped)
		}
		if a := fe.Action; a != nil {
			if a.ID != "2WKtGnLJugxtYHOg2KSNYggRf8Y" || a.Type != client.TypeTransaction || a.Payload == nil ||
				a.Payload.PolicyName != "Sepolia testnet policy" || a.Payload.Transaction.Network.ChainID != "11155111" {
				t.Fatalf("swagger frame decoded as %+v", a)
			}
			if a.PayloadUnderstood() || a.PayloadSHA256 != sha256.Sum256(payload) || a.Expires.Unix() != exp ||
				a.Binding != client.BindingUnknown || string(a.Messages[0]) != string(msg) || !a.Created.Equal(time.Unix(1696493005, 0)) {
				t.Fatalf("swagger frame: understood %v, binding %v, expires %v", a.PayloadUnderstood(), a.Binding, a.Expires)
			}
		}
		return len(skipped) == 2
	})
	if skipped[0].ID == "" || !strings.Contains(skipped[0].ID, `2Evil\x1b]0;pwn\x07\x0d\u202e`) || skipped[1].ID != "" {
		t.Fatalf("skipped frames: %+v", skipped)
	}
	for _, s := range skipped {
		assertSafe(t, s.ID+" "+s.Reason)
	}
}

// assertSafe fails when s holds ESC, CR, LF, BEL or a bidi override.
func assertSafe(t *testing.T, s string) {
	t.Helper()
	if strings.ContainsAny(s, "\x1b\r\n\a\u202e\u2066") {
		t.Fatalf("unsafe text reached a message: %q", s)
	}
}

// Hostile strings from the server never appear raw in the client's errors
// or skipped-action reports.
func TestHostileStringsStayEscaped(t *testing.T) {
	const evil = "x\x1b[2J\r\a\u202eZ"
	evilJSON, _ := json.Marshal(evil)
	mux := http.NewServeMux()
	sk := mustKey(t)
	m, _ := newMinimal(t, sk.Public())
	mux.HandleFunc("GET /api/v2/workspaces/{wid}/token", m.token)
	mux.HandleFunc("GET /api/v2/actions/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "2OtherID":
			_, _ = fmt.Fprintf(w, `{"id":%s,"status":1,"messages":[]}`, evilJSON)
		case "2Text":
			http.Error(w, evil, http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"code":400,"detail":%s}`, evilJSON)
		}
	})
	mux.HandleFunc("GET /api/v2/workspaces/{wid}/actions", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, `{"actions":[{"id":"2Good","status":1,"messages":["01"]},{"id":%s,"status":1,"messages":[]},`+
			`{"id":"2BadStatus","status":"x","messages":[]},{"id":"2BadHex","status":1,"messages":["zz"]},7],"nextPageToken":""}`, evilJSON)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := minimalClient(t, m, srv, m.secret())
	for _, id := range []string{"2OtherID", "2Text", "2Detail"} {
		_, err := c.GetAction(ctx(t), id)
		if err == nil {
			t.Fatalf("%s: accepted", id)
		}
		assertSafe(t, err.Error())
	}
	_, err := c.GetAction(ctx(t), evil)
	wantKind(t, err, client.KindRefused)
	assertSafe(t, err.Error())
	_, err = client.New(client.Config{BaseURL: srv.URL, WorkspaceID: evil, APIKeyID: "k"})
	assertSafe(t, err.Error())

	// One malformed action does not fail the listing: it is skipped and
	// reported, naming it safely.
	var listed []*client.Action
	var skipped []client.Skipped
	if err := c.ListPages(ctx(t), func(page []*client.Action, sk []client.Skipped) error {
		listed, skipped = append(listed, page...), append(skipped, sk...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != "2Good" || len(skipped) != 4 {
		t.Fatalf("listed %d, skipped %+v", len(listed), skipped)
	}
	for i, want := range []string{`"x\x1b[2J\x0d\x07\u202eZ"`, "2BadStatus", "2BadHex", ""} {
		if skipped[i].ID != want || skipped[i].Reason == "" {
			t.Errorf("skipped[%d] = %+v, want ID %s", i, skipped[i], want)
		}
		assertSafe(t, skipped[i].ID+skipped[i].Reason)
	}
}
