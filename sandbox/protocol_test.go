package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/qapprove/qapprove/crypto/qbls"
)

var protocols = []Protocol{ProtocolExtended, ProtocolMinimal}

// env is a started sandbox with an operator token and BLS key.
type env struct {
	t    *testing.T
	s    *Server
	base string
	wid  string
	kid  string
	tok  string
	sk   qbls.SecretKey
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	s, base := startT(t, o)
	wid, kid, _ := s.Credentials()
	sk, _ := qbls.Generate(rand.Reader)
	s.SetOperatorBLSKey(sk.Public())
	return &env{t: t, s: s, base: base, wid: wid, kid: kid, tok: s.tok.issue(kid, wid, time.Now(), time.Hour), sk: sk}
}

// do sends a request with the operator's token; it returns the status,
// content type and body.
func (e *env) do(method, path, body string) (int, string, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
	req.Header.Set("x-token", e.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// control posts to a loopback control endpoint.
func (e *env) control(path, body string) (int, []byte) {
	e.t.Helper()
	resp, err := http.Post(strings.TrimSuffix(e.base, "/api/v2")+path, "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// feed connects to the feed and returns the frames of the replay (what
// arrives before a quiet moment after the marker action).
func (e *env) feed() [][]byte {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(e.base, "http", "ws", 1)+"/actions/signrequests",
		&websocket.DialOptions{HTTPHeader: http.Header{"x-token": {e.tok}}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	// A marker action added once connected ends the replay (it is
	// announced, or replayed if it came first).
	go func() {
		if _, err := e.s.AddCustomAction(CustomAction{Description: "end of replay"}); err != nil {
			e.t.Errorf("marker action: %v", err)
		}
	}()
	var frames [][]byte
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			e.t.Fatalf("feed: %v", err)
		}
		if bytes.Contains(b, []byte(`"description":"end of replay"`)) {
			return frames
		}
		frames = append(frames, b)
	}
}

func keys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMessageKnownAnswer(t *testing.T) {
	// Expected bytes computed outside Go (Python hashlib), from the layout
	// in docs/PROTOCOL.md (field 2 hashes the payload's SHA-256).
	got := Message("2WKtGnLJugxtYHOg2KSNYggRf8Y", 25, []byte(`{"policyName":"Treasury"}`))
	want := "08011220f430cf4c2aac3433000273e35e175589ddf8b2c387b5f7c7602651c276504882" +
		"1a1b32574b74476e4c4a7567787459484f67324b534e59676752663859" + "2019" +
		"2a1a71617070726f76652d73616e64626f782d616374696f6e2f7631"
	if hex.EncodeToString(got) != want {
		t.Fatalf("message\n got %x\nwant %s", got, want)
	}
	// Multi-byte varints: a 130-byte ID and type 300.
	long := strings.Repeat("a", 130)
	got = Message(long, 300, []byte(`{}`))
	want = "08011220f7dc5284a6c820c4df4b9825595c2f3590a5059403171b97896ec8e1ce3fb54a" +
		"1a8201" + hex.EncodeToString([]byte(long)) + "20ac02" + "2a1a" + hex.EncodeToString([]byte(MessageMarker))
	if hex.EncodeToString(got) != want {
		t.Fatalf("message\n got %x\nwant %s", got, want)
	}
	var d [32]byte
	d[0], d[31] = 0xaa, 0xbb
	if o := OpaqueMessage(d); hex.EncodeToString(o) != "08011220aa"+strings.Repeat("00", 30)+"bb" {
		t.Fatalf("opaque %x", o)
	}
}

// field is one parsed field of a message in the sandbox layout.
type parsed struct {
	version uint64
	digest  []byte
	id      string
	typ     uint64
	marker  string
}

// parseLayout parses a sandbox-layout message with the test's own code;
// ok is false unless it is exactly fields 1..5.
func parseLayout(m []byte) (p parsed, ok bool) {
	next := func(tag byte) ([]byte, uint64, bool) {
		if len(m) == 0 || m[0] != tag {
			return nil, 0, false
		}
		v, n := binary.Uvarint(m[1:])
		if n <= 0 {
			return nil, 0, false
		}
		m = m[1+n:]
		if tag&7 == 0 {
			return nil, v, true
		}
		if v > uint64(len(m)) {
			return nil, 0, false
		}
		b := m[:v]
		m = m[v:]
		return b, 0, true
	}
	var b []byte
	var ok1, ok2, ok3, ok4, ok5 bool
	_, p.version, ok1 = next(0x08)
	p.digest, _, ok2 = next(0x12)
	b, _, ok3 = next(0x1a)
	p.id = string(b)
	_, p.typ, ok4 = next(0x20)
	b, _, ok5 = next(0x2a)
	p.marker = string(b)
	return p, ok1 && ok2 && ok3 && ok4 && ok5 && len(m) == 0 && len(p.digest) == 32
}

func digestOf(id string, typ int, payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte("qredo-action-v1\x00" + id + "\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(typ)))
	ph := sha256.Sum256(payload)
	h.Write(ph[:])
	return h.Sum(nil)
}

// In minimal mode there is no list endpoint: a plain-text 404.
func TestListEndpoint(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			st, ct, b := e.do("GET", "/workspaces/"+e.wid+"/actions?status=1", "")
			if p == ProtocolMinimal {
				if st != 404 || !strings.HasPrefix(ct, "text/plain") || json.Valid(b) {
					t.Fatalf("minimal list: %d %q %s", st, ct, b)
				}
				return
			}
			var page struct{ Actions []json.RawMessage }
			if st != 200 || json.Unmarshal(b, &page) != nil || len(page.Actions) == 0 {
				t.Fatalf("extended list: %d %s", st, b)
			}
		})
	}
}

// GET /actions/{id}: minimal is exactly id, status, messages (hex);
// extended adds the extensions.
func TestGetActionShape(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			id := AddCustom(t, e.s, CustomAction{})
			st, _, b := e.do("GET", "/actions/"+id, "")
			if st != 200 {
				t.Fatalf("GET: %d %s", st, b)
			}
			var a struct {
				ID       string
				Status   int
				Messages []string
			}
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			info, _ := e.s.Action(id)
			msg, err := hex.DecodeString(a.Messages[0])
			if a.ID != id || a.Status != 1 || err != nil || !bytes.Equal(msg, info.Message) {
				t.Fatalf("GET answer %s", b)
			}
			got := strings.Join(keys(t, b), ",")
			want := "id,messages,status"
			if p == ProtocolExtended {
				want = "actionTime,approvals,approvedBy,approverID,created,description,expireTime,id,messages,metadata,payload,signatures,status,timestamp,type"
			}
			if got != want {
				t.Fatalf("fields %s, want %s", got, want)
			}
		})
	}
}

// Feed frames: minimal ones are shaped like the swagger example, with a
// payload of only policyName and a chainID (a number for EVM).
func TestFeedFrameShape(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			evm := AddCustom(t, e.s, CustomAction{Wallet: "wal-eth-sepolia"})
			btc := AddCustom(t, e.s, CustomAction{Wallet: "wal-btc-cold"})
			frames := map[string][]byte{}
			for _, f := range e.feed() {
				var x struct{ ID string }
				if err := json.Unmarshal(f, &x); err != nil {
					t.Fatal(err)
				}
				frames[x.ID] = f
			}
			for id, chain := range map[string]string{evm: "11155111", btc: `"bitcoin"`} {
				f := frames[id]
				if f == nil {
					t.Fatalf("no frame for %s", id)
				}
				var fr struct {
					Type          int
					Status        int
					Payload       string
					Messages      []string
					Signatures    json.RawMessage
					ActionSubject json.RawMessage
					Metadata      string
					ExpireTime    int64
					Created       int64
				}
				if err := json.Unmarshal(f, &fr); err != nil {
					t.Fatal(err)
				}
				info, _ := e.s.Action(id)
				msg, _ := base64.StdEncoding.DecodeString(fr.Messages[0])
				pl, err := base64.StdEncoding.DecodeString(fr.Payload)
				if err != nil || !bytes.Equal(pl, info.Payload) || !bytes.Equal(msg, info.Message) {
					t.Fatalf("payload or message differ from the server's: %s", f)
				}
				if fr.Type != 25 || fr.Status != 1 || fr.Metadata != "e30=" || fr.ExpireTime != info.Expires.Unix() || fr.Created == 0 {
					t.Fatalf("frame %s", f)
				}
				var pay struct {
					PolicyName        string
					ExternalExtension struct {
						Network struct{ ChainID json.RawMessage }
					}
				}
				if err := json.Unmarshal(pl, &pay); err != nil {
					t.Fatal(err)
				}
				if p == ProtocolExtended {
					if !strings.Contains(string(pl), `"policy":{`) || !strings.HasPrefix(string(pay.ExternalExtension.Network.ChainID), `"`) {
						t.Fatalf("extended payload %s", pl)
					}
					if !slices.Contains(keys(t, f), "approvals") {
						t.Fatalf("extended frame without approvals: %s", f)
					}
					continue
				}
				want := "actionSubject,created,description,expireTime,id,messages,metadata,payload,signatures,status,timestamp,type"
				if got := strings.Join(keys(t, f), ","); got != want {
					t.Fatalf("minimal frame fields %s, want %s", got, want)
				}
				if string(fr.Signatures) != "null" || string(fr.ActionSubject) != "null" {
					t.Fatalf("signatures/actionSubject not null: %s", f)
				}
				if string(pay.ExternalExtension.Network.ChainID) != chain || pay.PolicyName == "" {
					t.Fatalf("minimal payload %s (chainID want %s)", pl, chain)
				}
				if got := strings.Join(keys(t, pl), ","); got != "externalExtension,policyName" {
					t.Fatalf("minimal payload has %s", got)
				}
				if _, ok := parseLayout(msg); ok || len(msg) != 36 {
					t.Fatalf("minimal message is not opaque: %x", msg)
				}
			}
		})
	}
}

// sign returns the decision body for action id signed by sk.
func (e *env) decisionBody(id string, status int, sk qbls.SecretKey) string {
	info, _ := e.s.Action(id)
	sig := sk.Sign(info.Message)
	b, _ := json.Marshal(map[string]any{"status": status, "signatures": []string{hex.EncodeToString(sig[:])}})
	return string(b)
}

// Decisions answer {} in minimal mode and plain-text errors; extended
// keeps {"actionID","status"} and {code,detail}. Either way the signature
// must be the registered key's over messages[0], whatever its layout.
func TestDecisionAnswers(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			for _, kind := range []MessageKind{MessageDefault, MessageSandbox, MessageOpaque, MessageMismatchPayload} {
				id := AddCustom(t, e.s, CustomAction{Message: kind})
				other, _ := qbls.Generate(rand.Reader)
				st, ct, b := e.do("POST", "/actions/"+id, e.decisionBody(id, 3, other))
				if st != 400 {
					t.Fatalf("%s: a signature by another key: %d %s", kind, st, b)
				}
				if p == ProtocolMinimal && (!strings.HasPrefix(ct, "text/plain") || json.Valid(b)) {
					t.Fatalf("minimal error body %q %s", ct, b)
				}
				var eb struct {
					Code   int
					Detail string
				}
				if p == ProtocolExtended && (json.Unmarshal(b, &eb) != nil || eb.Code != 400 || eb.Detail == "") {
					t.Fatalf("extended error body %s", b)
				}
				st, _, b = e.do("POST", "/actions/"+id, e.decisionBody(id, 3, e.sk))
				want := `{}`
				if p == ProtocolExtended {
					want = `{"actionID":"` + id + `","status":"approved"}`
				}
				if st != 200 || string(b) != want {
					t.Fatalf("%s: approval: %d %s, want %s", kind, st, b, want)
				}
				if info, _ := e.s.Action(id); info.Decisions[e.kid] != StatusApproved {
					t.Fatalf("%s: decision not recorded", kind)
				}
			}
		})
	}
}

// The payload bytes never change: approvals so far are a top-level field
// (extended mode), and the sandbox-layout message stays bound to them.
func TestPayloadNeverChanges(t *testing.T) {
	e := newEnv(t, Options{})
	id := AddCustom(t, e.s, CustomAction{Wallet: "wal-eth-treasury"})
	read := func() (payload []byte, approvals int) {
		_, _, b := e.do("GET", "/actions/"+id, "")
		var a struct {
			Payload   string
			Approvals int
			Messages  []string
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		pl, _ := base64.StdEncoding.DecodeString(a.Payload)
		msg, _ := hex.DecodeString(a.Messages[0])
		f, ok := parseLayout(msg)
		if !ok || f.marker != MessageMarker || f.id != id || f.typ != 25 || !bytes.Equal(f.digest, digestOf(id, 25, pl)) {
			t.Fatalf("message %x not bound to payload %s", msg, pl)
		}
		return pl, a.Approvals
	}
	p0, n0 := read()
	if st, _, b := e.do("POST", "/actions/"+id, e.decisionBody(id, 3, e.sk)); st != 200 {
		t.Fatalf("approve: %d %s", st, b)
	}
	p1, n1 := read()
	if err := e.s.DecideAsOther(id, true); err != nil {
		t.Fatal(err)
	}
	p2, n2 := read()
	if !bytes.Equal(p0, p1) || !bytes.Equal(p1, p2) || n0 != 0 || n1 != 1 || n2 != 2 {
		t.Fatalf("payload changed or approvals wrong: %d %d %d\n%s\n%s\n%s", n0, n1, n2, p0, p1, p2)
	}
	if bytes.Contains(p0, []byte("approvals")) {
		t.Fatalf("payload carries approvals: %s", p0)
	}
}

// Expiry: extended mode answers status 5; minimal mode has no status 5:
// GET keeps answering 1, the feed stops replaying it, and a decision is
// refused.
func TestExpiry(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			id := AddCustom(t, e.s, CustomAction{})
			if err := e.s.ExpireAction(id); err != nil {
				t.Fatal(err)
			}
			_, _, b := e.do("GET", "/actions/"+id, "")
			var a struct{ Status int }
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			want := StatusExpired
			if p == ProtocolMinimal {
				want = StatusPending
			}
			if a.Status != want {
				t.Fatalf("status %d, want %d", a.Status, want)
			}
			for _, f := range e.feed() {
				if bytes.Contains(f, []byte(id)) {
					t.Fatalf("expired action replayed: %s", f)
				}
			}
			if st, _, b := e.do("POST", "/actions/"+id, e.decisionBody(id, 3, e.sk)); st < 400 || st >= 500 {
				t.Fatalf("decision on an expired action: %d %s", st, b)
			}
		})
	}
}

// putKeys starts a registration of a new BLS key for the operator.
func (e *env) putKeys(sk qbls.SecretKey) string {
	e.t.Helper()
	pk := sk.Public()
	ecKey, _ := secp256k1.GeneratePrivateKey()
	body := `{"blsPublicKey":"` + base64.StdEncoding.EncodeToString(pk[:]) + `","ecPublicKey":"` +
		base64.StdEncoding.EncodeToString(ecKey.PubKey().SerializeUncompressed()) + `"}`
	st, _, b := e.do("PUT", "/workspaces/"+e.wid+"/apikeys/"+e.kid, body)
	if st != 200 || strings.Join(keys(e.t, b), ",") != "actionID" {
		e.t.Fatalf("PUT apikeys: %d %s", st, b)
	}
	var out struct{ ActionID string }
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatal(err)
	}
	return out.ActionID
}

// Key registration: after the proof of possession the key-update action
// stays pending until an admin approves it — always in minimal mode, by
// option in extended mode.
func TestKeyRegistration(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		admin bool
	}{
		{"extended", Options{}, false},
		{"extended admin", Options{AdminApproval: true}, true},
		{"minimal", Options{Protocol: ProtocolMinimal}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts)
			e.s.ws.keys[e.kid].bls = nil
			sk, _ := qbls.Generate(rand.Reader)
			id := e.putKeys(sk)
			_, _, b := e.do("GET", "/actions/"+id, "")
			var a struct {
				Status   int
				Messages []string
			}
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatal(err)
			}
			msg, _ := hex.DecodeString(a.Messages[0])
			_, layout := parseLayout(msg)
			if a.Status != 1 || layout == (c.opts.Protocol == ProtocolMinimal) {
				t.Fatalf("key-update action %s (sandbox layout: %v)", b, layout)
			}
			replayed := false
			for _, f := range e.feed() {
				replayed = replayed || bytes.Contains(f, []byte(id))
			}
			if replayed != (c.opts.Protocol != ProtocolMinimal) {
				t.Fatalf("key update on the feed: %v", replayed)
			}
			if st, _, b := e.do("POST", "/actions/"+id, e.decisionBody(id, 3, sk)); st != 200 {
				t.Fatalf("proof of possession: %d %s", st, b)
			}
			info, _ := e.s.Action(id)
			if !c.admin {
				if info.Status != StatusApproved || !e.s.OperatorRegistered() {
					t.Fatalf("no admin needed but %+v", info)
				}
				return
			}
			if info.Status != StatusPending || !info.AwaitingAdmin || e.s.OperatorRegistered() {
				t.Fatalf("registered without the admin: %+v", info)
			}
			if st, b := e.control("/_admin/key-updates/approve", ""); st != 200 || !strings.Contains(string(b), id) {
				t.Fatalf("admin approve: %d %s", st, b)
			}
			if info, _ := e.s.Action(id); info.Status != StatusApproved || !e.s.OperatorRegistered() {
				t.Fatalf("admin approved but %+v", info)
			}
			// An admin may reject the next one.
			id2 := e.putKeys(sk)
			if st, b := e.control("/_admin/key-updates/"+id2+"/reject", ""); st != 204 {
				t.Fatalf("admin reject: %d %s", st, b)
			}
			if info, _ := e.s.Action(id2); info.Status != StatusRejected {
				t.Fatalf("admin rejected but %+v", info)
			}
		})
	}
}

// AdminApproveAfter lets the admin approve on its own after the proof.
func TestAdminApprovesAfter(t *testing.T) {
	e := newEnv(t, Options{Protocol: ProtocolMinimal, AdminApproveAfter: time.Millisecond})
	sk, _ := qbls.Generate(rand.Reader)
	id := e.putKeys(sk)
	if st, _, b := e.do("POST", "/actions/"+id, e.decisionBody(id, 3, sk)); st != 200 {
		t.Fatalf("proof of possession: %d %s", st, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if info, _ := e.s.Action(id); info.Status == StatusApproved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the admin never approved")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, _, b := e.do("GET", "/actions/"+id, ""); !strings.Contains(string(b), `"status":3`) {
		t.Fatalf("GET after the admin: %s", b)
	}
}

// A hostile action carries its strings exactly, through the control
// endpoint too.
func TestHostileAction(t *testing.T) {
	const h = "ok\x1b[31mRED\rCR\aBEL\u202eEVIL"
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			e := newEnv(t, Options{Protocol: p})
			body, _ := json.Marshal(CustomAction{ID: "2hostile.ID_ok-1", Description: h, PolicyName: h, NetworkName: h, ChainID: h,
				WalletID: h, From: h, To: h, ToName: h, AssetSymbol: h, Contract: h, Amount: h, Note: h, Initiator: h})
			st, b := e.control("/_admin/actions", string(body))
			if st != 200 || !strings.Contains(string(b), "2hostile.ID_ok-1") {
				t.Fatalf("control: %d %s", st, b)
			}
			var f struct {
				Description string
				Payload     string
			}
			for _, fr := range e.feed() {
				if bytes.Contains(fr, []byte("2hostile.ID_ok-1")) {
					if err := json.Unmarshal(fr, &f); err != nil {
						t.Fatal(err)
					}
				}
			}
			pl, _ := base64.StdEncoding.DecodeString(f.Payload)
			var pay struct {
				PolicyName        string
				ExternalExtension struct {
					Network                                  struct{ Name, ChainID string }
					WalletID, From, To, ToName, Amount, Note string
					InitiatorName                            string
					Asset                                    struct{ Symbol, Contract string }
				}
			}
			if err := json.Unmarshal(pl, &pay); err != nil || f.Description != h || pay.PolicyName != h || pay.ExternalExtension.Network.ChainID != h {
				t.Fatalf("hostile strings not carried exactly: %q %s", f.Description, pl)
			}
			x := pay.ExternalExtension
			if p == ProtocolExtended {
				for _, v := range []string{x.Network.Name, x.WalletID, x.From, x.To, x.ToName, x.Amount, x.Note, x.InitiatorName, x.Asset.Symbol, x.Asset.Contract} {
					if v != h {
						t.Fatalf("payload field %q, want the hostile text: %s", v, pl)
					}
				}
			}
			if st, _ := e.control("/_admin/actions", `{"id":"../x"}`); st != 400 {
				t.Fatalf("an invalid ID was accepted: %d", st)
			}
		})
	}
}

// Mismatched messages are in the sandbox layout with the marker, and one
// field disagrees with the action shown; opaque ones have no marker.
func TestMessageKinds(t *testing.T) {
	e := newEnv(t, Options{})
	for _, kind := range []MessageKind{MessageSandbox, MessageMismatchPayload, MessageMismatchID, MessageMismatchType, MessageMismatchVersion, MessageOpaque} {
		id := AddCustom(t, e.s, CustomAction{Message: kind})
		info, _ := e.s.Action(id)
		f, ok := parseLayout(info.Message)
		if kind == MessageOpaque {
			if ok || len(info.Message) != 36 || !bytes.HasPrefix(info.Message, []byte{8, 1, 0x12, 0x20}) {
				t.Fatalf("opaque message %x", info.Message)
			}
			continue
		}
		if !ok || f.marker != MessageMarker {
			t.Fatalf("%s: not in the sandbox layout: %x", kind, info.Message)
		}
		bad := map[string]bool{
			"version": f.version != 1, "id": f.id != id, "type": f.typ != 25,
			"payload": !bytes.Equal(f.digest, digestOf(f.id, int(f.typ), info.Payload)),
		}
		var wrong []string
		for k, v := range bad {
			if v {
				wrong = append(wrong, k)
			}
		}
		sort.Strings(wrong)
		want := map[MessageKind]string{MessageSandbox: "", MessageMismatchPayload: "payload", MessageMismatchID: "id",
			MessageMismatchType: "type", MessageMismatchVersion: "version"}[kind]
		if strings.Join(wrong, ",") != want {
			t.Fatalf("%s: fields that disagree: %v, want %q", kind, wrong, want)
		}
	}
}

// A malformed action sits among good ones in the list and on the feed.
func TestMalformedAmongGood(t *testing.T) {
	for _, p := range protocols {
		for _, kind := range []MalformedKind{MalformedID, MalformedMessages, MalformedPayload, MalformedStatus} {
			t.Run(string(p)+"/"+string(kind), func(t *testing.T) {
				e := newEnv(t, Options{Protocol: p})
				st, b := e.control("/_admin/actions/malformed", `{"kind":"`+string(kind)+`"}`)
				var out struct{ ID string }
				if st != 200 || json.Unmarshal(b, &out) != nil || out.ID == "" {
					t.Fatalf("control: %d %s", st, b)
				}
				check := func(where string, items [][]byte) {
					bad, good := 0, 0
					for _, it := range items {
						var a struct {
							ID       string
							Status   int
							Messages []string
							Payload  string
						}
						err := json.Unmarshal(it, &a)
						_, herr := hex.DecodeString(a.Messages[0])
						_, berr := base64.StdEncoding.DecodeString(a.Messages[0])
						_, perr := base64.StdEncoding.DecodeString(a.Payload)
						if err != nil || !validID(a.ID) || (herr != nil && berr != nil) || perr != nil {
							bad++
						} else {
							good++
						}
					}
					if bad != 1 || good == 0 {
						t.Fatalf("%s: %d malformed and %d good items", where, bad, good)
					}
				}
				check("feed", e.feed())
				if p == ProtocolExtended {
					_, _, b := e.do("GET", "/workspaces/"+e.wid+"/actions?status=1", "")
					var page struct{ Actions []json.RawMessage }
					if err := json.Unmarshal(b, &page); err != nil {
						t.Fatal(err)
					}
					var items [][]byte
					for _, a := range page.Actions {
						items = append(items, a)
					}
					check("list", items)
				}
			})
		}
	}
}

// AddCustom adds c or fails the test.
func AddCustom(t *testing.T, s *Server, c CustomAction) string {
	t.Helper()
	id, err := s.AddCustomAction(c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
