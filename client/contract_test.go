package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
)

// clock is a settable time source shared by a sandbox and a client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lockable is a Credentials whose secret can be locked.
type lockable struct {
	mu     sync.Mutex
	secret []byte
	locked bool
}

func (l *lockable) WithSecret(fn func([]byte) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked {
		return client.ErrLocked
	}
	return client.StaticSecret(l.secret).WithSecret(fn)
}

func (l *lockable) lock() { l.mu.Lock(); l.locked = true; l.mu.Unlock() }

type env struct {
	srv   *sandbox.Server
	c     *client.Client
	creds *lockable
	base  string
}

func start(t testing.TB, opts sandbox.Options, tweak func(*client.Config)) *env {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	srv, base := sandboxtest.Start(t, opts)
	wid, kid, secret := srv.Credentials()
	creds := &lockable{secret: []byte(secret)}
	cfg := client.Config{BaseURL: base, WorkspaceID: wid, APIKeyID: kid, Credentials: creds, Now: opts.Now, Timeout: 5 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, c: c, creds: creds, base: base}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// register runs the real key registration and returns the operator's key.
func register(t testing.TB, e *env) qbls.SecretKey {
	t.Helper()
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	pk := sk.Public()
	id, err := e.c.RegisterKeys(ctx(t), pk[:], ec.PubKey().SerializeUncompressed())
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.c.GetAction(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != client.TypeAPIKeyUpdate || a.Payload == nil || a.Payload.KeyUpdate == nil {
		t.Fatalf("key update action = %+v", a)
	}
	if err := e.c.DecideWith(ctx(t), id, true, signer(sk)); err != nil {
		t.Fatal(err)
	}
	if !e.srv.OperatorRegistered() {
		t.Fatal("operator key not registered after approving the update action")
	}
	return sk
}

func signer(sk qbls.SecretKey) func([]byte) ([]byte, error) {
	return func(m []byte) ([]byte, error) { s := sk.Sign(m); return s[:], nil }
}

// pendingWhere returns the first pending action whose policy matches.
func pendingWhere(t testing.TB, e *env, pred func(*client.Action) bool) *client.Action {
	t.Helper()
	list, err := e.c.ListPending(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Payload != nil && pred(a) {
			return a
		}
	}
	t.Fatal("no matching pending action in the scenario")
	return nil
}

func policy(name string) func(*client.Action) bool {
	return func(a *client.Action) bool { return a.Payload.Policy.ID == name }
}

func wantKind(t *testing.T, err error, k client.ErrorKind) {
	t.Helper()
	if client.KindOf(err) != k {
		t.Fatalf("error = %v (kind %v), want kind %v", err, client.KindOf(err), k)
	}
	if !errors.Is(err, &client.Error{Kind: k}) {
		t.Fatalf("errors.Is does not match kind %v", k)
	}
}

func TestListGetAndKeyName(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	list, err := e.c.ListPending(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Fatal("no pending actions")
	}
	_, kid, _ := e.srv.Credentials()
	for _, a := range list {
		if a.Status != client.StatusPending || a.Payload == nil || a.PayloadErr() != "" {
			t.Fatalf("bad listed action %+v", a)
		}
		if a.Payload.Policy.ID == "pol-payroll" {
			t.Fatal("listed an action of a policy the operator is not a member of")
		}
		member := false
		for _, m := range a.Payload.Policy.Members {
			member = member || m == kid
		}
		if !member {
			t.Fatalf("action %s listed but operator not a member", a.ID)
		}
		info, _ := e.srv.Action(a.ID)
		if string(info.Message) != string(a.Messages[0]) {
			t.Fatal("listed message differs from the sandbox's")
		}
	}
	a, err := e.c.GetAction(ctx(t), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != list[0].ID || string(a.RawPayload()) != string(list[0].RawPayload()) {
		t.Fatal("GetAction differs from ListPending")
	}
	name, err := e.c.APIKeyName(ctx(t))
	if err != nil || name != "qapprove console" {
		t.Fatalf("APIKeyName = %q, %v", name, err)
	}
	_, err = e.c.GetAction(ctx(t), "2NoSuchAction")
	wantKind(t, err, client.KindNotFound)
	_, err = e.c.GetAction(ctx(t), "../etc/passwd")
	wantKind(t, err, client.KindRefused)
}

func TestListPaginates(t *testing.T) {
	e := start(t, sandbox.Options{ExtraActions: 450}, nil)
	list, err := e.c.ListPending(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 150 {
		t.Fatalf("only %d actions listed; pagination likely stopped after one page", len(list))
	}
	seen := map[string]bool{}
	for _, a := range list {
		if seen[a.ID] {
			t.Fatal("duplicate", a.ID)
		}
		seen[a.ID] = true
	}
}

func TestRegisterApproveReject(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	one := pendingWhere(t, e, policy("pol-ops"))
	// Before registration, a decision cannot count.
	err := e.c.DecideWith(ctx(t), one.ID, true, signer(mustKey(t)))
	wantKind(t, err, client.KindForbidden)

	sk := register(t, e)
	if err := e.c.DecideWith(ctx(t), one.ID, true, signer(sk)); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.srv.Action(one.ID); info.Status != client.StatusApproved {
		t.Fatalf("1-of-1 action status %d after approval", info.Status)
	}
	// 2-of-3 with alice already approved: ours completes it.
	two := pendingWhere(t, e, func(a *client.Action) bool {
		return a.Payload.Policy.ID == "pol-treasury" && a.Payload.Approvals == 1
	})
	if err := e.c.DecideWith(ctx(t), two.ID, true, signer(sk)); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.srv.Action(two.ID); info.Status != client.StatusApproved || info.Approvals != 2 {
		t.Fatalf("2-of-3 action: %+v", info)
	}
	// 3-of-3: our approval alone leaves it pending; a reject ends it.
	cold := pendingWhere(t, e, policy("pol-cold"))
	a, _ := e.c.GetAction(ctx(t), cold.ID)
	if a.Payload.Approvals != 2 || a.Payload.Policy.Threshold != 3 {
		t.Fatalf("cold action policy %+v", a.Payload.Policy)
	}
	rej := pendingWhere(t, e, policy("pol-dev"))
	if err := e.c.DecideWith(ctx(t), rej.ID, false, signer(sk)); err != nil {
		t.Fatal(err)
	}
	info, _ := e.srv.Action(rej.ID)
	if info.Status != client.StatusRejected {
		t.Fatalf("rejected action status %d", info.Status)
	}
	// Double decision and decisions on decided actions are conflicts.
	sig := sk.Sign(info.Message)
	wantKind(t, e.c.Decide(ctx(t), rej.ID, true, sig[:]), client.KindConflict)
	got, _ := e.c.GetAction(ctx(t), rej.ID)
	if got.MyDecision != client.StatusRejected {
		t.Fatalf("MyDecision = %d", got.MyDecision)
	}
	_, err = got.MessageToSign(time.Now())
	wantKind(t, err, client.KindConflict)
}

func mustKey(t testing.TB) qbls.SecretKey {
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestDecisionRefusals(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	sk := register(t, e)
	a := pendingWhere(t, e, policy("pol-treasury"))
	// forged: signed by another key
	fk := mustKey(t)
	forged := fk.Sign(a.Messages[0])
	wantKind(t, e.c.Decide(ctx(t), a.ID, true, forged[:]), client.KindBadRequest)
	// signature over another message
	other := sk.Sign([]byte("something else"))
	wantKind(t, e.c.Decide(ctx(t), a.ID, true, other[:]), client.KindBadRequest)
	// garbage bytes
	wantKind(t, e.c.Decide(ctx(t), a.ID, true, make([]byte, 49)), client.KindBadRequest)
	if info, _ := e.srv.Action(a.ID); len(info.Signers) != 1 {
		t.Fatalf("refused signatures were counted: %+v", info.Signers)
	}
	// not found, non-member
	good := sk.Sign(a.Messages[0])
	wantKind(t, e.c.Decide(ctx(t), "2Nope", true, good[:]), client.KindNotFound)
	var payroll string
	for _, id := range e.srv.ActionIDs() {
		if info, _ := e.srv.Action(id); info.Threshold == 2 && len(info.Members) == 2 {
			payroll = id
		}
	}
	if payroll == "" {
		t.Fatal("payroll action missing from scenario")
	}
	pinfo, _ := e.srv.Action(payroll)
	ps := sk.Sign(pinfo.Message)
	wantKind(t, e.c.Decide(ctx(t), payroll, true, ps[:]), client.KindForbidden)
	_, err := e.c.GetAction(ctx(t), payroll)
	wantKind(t, err, client.KindForbidden)
	// expired
	if err := e.srv.ExpireAction(a.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.c.Decide(ctx(t), a.ID, true, good[:]), client.KindConflict)
	err = e.c.DecideWith(ctx(t), a.ID, true, func([]byte) ([]byte, error) { t.Fatal("signed an expired action"); return nil, nil })
	wantKind(t, err, client.KindConflict)
	exp, _ := e.c.GetAction(ctx(t), a.ID)
	if exp.Status != client.StatusExpired {
		t.Fatalf("status %d, want expired", exp.Status)
	}
}

func TestDecidedElsewhere(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	sk := register(t, e)
	a := pendingWhere(t, e, policy("pol-dev"))
	if err := e.srv.DecideAsOther(a.ID, true); err != nil {
		t.Fatal(err)
	}
	err := e.c.DecideWith(ctx(t), a.ID, true, signer(sk))
	wantKind(t, err, client.KindConflict)
}

func TestLostInTransit(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	sk := register(t, e)
	// Recorded, answer lost: Decide re-reads and reports success.
	a := pendingWhere(t, e, policy("pol-treasury"))
	e.srv.Faults().Set(sandbox.FaultSettings{DropDecisions: 1})
	if err := e.c.DecideWith(ctx(t), a.ID, true, signer(sk)); err != nil {
		t.Fatalf("lost answer of a recorded decision: %v", err)
	}
	info, _ := e.srv.Action(a.ID)
	if len(info.Signers) != 2 { // alice + us, exactly once
		t.Fatalf("signers %v", info.Signers)
	}
	// Lost before it landed: reported, and not re-sent. "Not recorded"
	// only when the API says which decision this key recorded
	// (myDecision); without it the outcome is unknown.
	b := pendingWhere(t, e, policy("pol-dev"))
	want := client.KindUnknownOutcome
	if b.MyDecisionKnown {
		want = client.KindNetwork
	}
	e.srv.Faults().Set(sandbox.FaultSettings{DropBeforeDecisions: 1})
	err := e.c.DecideWith(ctx(t), b.ID, true, signer(sk))
	wantKind(t, err, want)
	if info, _ := e.srv.Action(b.ID); len(info.Signers) != 0 || info.Status != client.StatusPending {
		t.Fatalf("decision landed or was re-sent: %+v", info)
	}
}

func TestRetriesAndLimits(t *testing.T) {
	e := start(t, sandbox.Options{RateLimit: 2}, func(c *client.Config) { c.MaxRetries = -1 })
	if err := e.c.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var err error
	for range 10 {
		if _, err = e.c.ListPending(ctx(t)); err != nil {
			break
		}
	}
	wantKind(t, err, client.KindRateLimited)
	var ce *client.Error
	errors.As(err, &ce)
	if ce.RetryAfter <= 0 {
		t.Fatal("no Retry-After from a 429")
	}

	// With retries, a GET survives the rate limit by honouring Retry-After.
	e2 := start(t, sandbox.Options{RateLimit: 3}, nil)
	for i := range 8 {
		if _, err := e2.c.ListPending(ctx(t)); err != nil {
			t.Fatalf("call %d with retries: %v", i, err)
		}
	}

	e3 := start(t, sandbox.Options{}, func(c *client.Config) { c.MaxRetries = 2 })
	if err := e3.c.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	e3.srv.Faults().Set(sandbox.FaultSettings{ErrorRate: 1})
	_, err = e3.c.ListPending(ctx(t))
	wantKind(t, err, client.KindServer)
	e3.srv.Faults().Set(sandbox.FaultSettings{OversizedBodies: true})
	_, err = e3.c.ListPending(ctx(t))
	wantKind(t, err, client.KindBadResponse)
	e3.srv.Faults().Set(sandbox.FaultSettings{Latency: 2 * time.Second})
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = e3.c.ListPending(short)
	wantKind(t, err, client.KindNetwork)
}

func TestTokenLifecycle(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := start(t, sandbox.Options{Now: clk.Now, TokenTTL: 10 * time.Minute}, nil)
	if err := e.c.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	e.creds.lock()
	// Before half-life: the token is reused.
	clk.Add(4 * time.Minute)
	if _, err := e.c.ListPending(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// After half-life: refreshed without the secret.
	clk.Add(3 * time.Minute)
	if _, err := e.c.ListPending(ctx(t)); err != nil {
		t.Fatalf("refresh while locked: %v", err)
	}
	// The refreshed token lives 10 more minutes from 7m; at 16m it still works.
	clk.Add(9 * time.Minute)
	if _, err := e.c.ListPending(ctx(t)); err != nil {
		t.Fatalf("second refresh while locked: %v", err)
	}
	// Long after expiry: refresh impossible, secret locked.
	clk.Add(time.Hour)
	_, err := e.c.ListPending(ctx(t))
	if !errors.Is(err, client.ErrUnlockNeeded) {
		t.Fatalf("err = %v, want unlock needed", err)
	}
}

func TestBadSecretAndWorkspace(t *testing.T) {
	e := start(t, sandbox.Options{}, nil)
	wid, kid, secret := e.srv.Credentials()
	wrong := []byte(secret)
	wrong[3] ^= 1
	c, _ := client.New(client.Config{BaseURL: e.base, WorkspaceID: wid, APIKeyID: kid, Credentials: client.StaticSecret(wrong)})
	wantKind(t, c.Token(ctx(t)), client.KindAuth)
	c, _ = client.New(client.Config{BaseURL: e.base, WorkspaceID: "2Other", APIKeyID: kid, Credentials: client.StaticSecret(secret)})
	wantKind(t, c.Token(ctx(t)), client.KindNotFound)
	c, _ = client.New(client.Config{BaseURL: e.base, WorkspaceID: wid, APIKeyID: kid, Credentials: client.StaticSecret("%%%")})
	wantKind(t, c.Token(ctx(t)), client.KindAuth)
}

func TestNewRequiresHTTPS(t *testing.T) {
	ok := []string{"https://api-v2.qredo.network/api/v2", "http://127.0.0.1:8080/api/v2", "http://localhost/api/v2", "http://[::1]:9/api/v2"}
	bad := []string{"http://api-v2.qredo.network/api/v2", "ftp://x/", "http://10.0.0.1/api", "https://user:pw@host/api", "not a url"}
	for _, u := range ok {
		if _, err := client.New(client.Config{BaseURL: u, WorkspaceID: "w", APIKeyID: "k"}); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range bad {
		if _, err := client.New(client.Config{BaseURL: u, WorkspaceID: "w", APIKeyID: "k"}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if _, err := client.New(client.Config{BaseURL: ok[0], WorkspaceID: "w/../x", APIKeyID: "k"}); err == nil {
		t.Error("workspace ID with a slash accepted")
	}
	if _, err := client.New(client.Config{BaseURL: ok[0], WorkspaceID: "w", APIKeyID: "k", FeedURL: "ws://evil.example/feed"}); err == nil {
		t.Error("plain ws:// to a remote host accepted")
	}
}

// BenchmarkApproveRoundTrip measures sign + POST + BLS verify on the
// sandbox over loopback, for a 1-of-1 policy.
func BenchmarkApproveRoundTrip(b *testing.B) {
	e := start(b, sandbox.Options{RateLimit: 1 << 20}, nil)
	sk := register(b, e)
	ids := make([]string, b.N)
	msgs := make([][]byte, b.N)
	for i := range ids {
		id, err := e.srv.AddAction(sandbox.ActionSpec{Wallet: "wal-polygon-ops", Asset: "POL", To: "0x7F9b1D3f5A6c8E0b2D4f6A8c1E3b5D7f9A0c2E47", Amount: "1000", ExpiresIn: "1h"})
		if err != nil {
			b.Fatal(err)
		}
		info, _ := e.srv.Action(id)
		ids[i], msgs[i] = id, info.Message
	}
	c := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sig := sk.Sign(msgs[i])
		if err := e.c.Decide(c, ids[i], true, sig[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
}
