// Package sandbox is a local Qredo API v2 server for the demo, tests and
// benchmarks: HMAC token auth, JWTs, actions with Transaction Policies and
// thresholds, Qredo-scheme BLS verification, key registration, the
// WebSocket sign-request feed, rate limits and fault injection. In minimal
// mode it serves only what public sources confirm; in extended mode (the
// default) it adds qapprove's extensions (docs/PROTOCOL.md). It shares no
// code with package client, so that it checks the client independently.
// It only listens on loopback.
package sandbox

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/qapprove/qapprove/assets"
	"github.com/qapprove/qapprove/crypto/qbls"
)

// Options configure a sandbox.
type Options struct {
	Scenario        []byte        // TOML; nil = the embedded default
	ExtraActions    int           // generate this many more pending actions (load)
	ArrivalEvery    time.Duration // a new action arrives this often; 0 = off
	CoApproverDelay time.Duration // simulated co-approvers approve this long after the operator; 0 = never on their own
	TokenTTL        time.Duration // JWT lifetime; 0 = 1h
	RateLimit       int           // requests per second per API key; 0 = 50
	Now             func() time.Time
	Seed            int64         // IDs, generated actions and simulated keys; 0 = random
	Protocol        Protocol      // "" = ProtocolExtended
	Messages        MessageLayout // "" = sandbox layout in extended mode, opaque in minimal mode
	// AdminApproval: in extended mode, a key update also needs an admin's
	// approval after the proof of possession (always so in minimal mode).
	AdminApproval bool
	// AdminApproveAfter: an admin approves a proven key update this long
	// after its proof; 0 = only through ApproveKeyUpdate.
	AdminApproveAfter time.Duration
}

// Server is a running (or ready) sandbox.
type Server struct {
	opts   Options
	now    func() time.Time
	ws     *workspace
	secret string // operator API secret as issued (base64)
	tok    *tokens
	lim    *limiter
	faults *Faults
	hub    *hub

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	base   string
	stop   context.CancelFunc
	wg     sync.WaitGroup
	timers []*time.Timer
}

// New builds a sandbox from opts without listening yet.
func New(opts Options) (*Server, error) {
	raw := opts.Scenario
	if raw == nil {
		raw = assets.DefaultScenario
	}
	sc, err := ParseScenario(raw)
	if err != nil {
		return nil, err
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 50
	}
	if opts.Protocol, err = ParseProtocol(string(opts.Protocol)); err != nil {
		return nil, err
	}
	if opts.Messages, err = ParseMessageLayout(string(opts.Messages)); err != nil {
		return nil, err
	}
	if opts.Messages == "" {
		opts.Messages = MessagesSandbox
		if opts.Protocol == ProtocolMinimal {
			opts.Messages = MessagesOpaque
		}
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Int64()
	}
	s := &Server{opts: opts, now: opts.Now, tok: newTokens(), lim: newLimiter(opts.RateLimit), faults: &Faults{}}
	if s.now == nil {
		s.now = time.Now
	}
	s.hub = newHub()
	s.faults.drop = s.hub.dropAll
	if err := s.build(sc); err != nil {
		return nil, err
	}
	return s, nil
}

// operatorSecret makes a secret shaped like Qredo's: base64url (no padding)
// of a 60-character bcrypt-style ASCII string, so that the decoded key can
// be typed into tools such as `openssl dgst -hmac`.
func operatorSecret() (secret string, key []byte) {
	const alpha = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	r := make([]byte, 53)
	crand.Read(r)
	key = []byte("$2a$04$")
	for _, b := range r {
		key = append(key, alpha[int(b)%len(alpha)])
	}
	return base64.RawURLEncoding.EncodeToString(key), key
}

// build fills the workspace from the scenario.
func (s *Server) build(sc *Scenario) error {
	rng := rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x9e3779b97f4a7c15)) //nolint:gosec // G115: the seed's bits, not its value
	w := &workspace{
		id: sc.Workspace.ID, name: sc.Workspace.Name, keys: map[string]*apiKey{}, byName: map[string]string{},
		policies: map[string]*policy{}, wallets: map[string]*wallet{}, assets: map[string]ScenarioAsset{},
		actions: map[string]*action{}, rng: rng, minimal: s.opts.Protocol == ProtocolMinimal, layout: s.opts.Messages,
		needsAdmin: s.opts.AdminApproval || s.opts.Protocol == ProtocolMinimal,
	}
	if w.id == "" {
		w.id = "2" + w.randID(26)
	}
	op := sc.Operator.KeyID
	if op == "" {
		op = "a." + w.randID(22)
	}
	var key []byte
	s.secret, key = operatorSecret()
	w.keys[op] = &apiKey{id: op, name: sc.Operator.Name, hmacKey: key}
	w.operator, w.byName["operator"] = op, op
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(s.opts.Seed)) //nolint:gosec // G115: the seed's bits, not its value
	seedRand := rand.NewChaCha8(seed)
	for _, a := range sc.Approvers {
		sk, err := qbls.Generate(seedRand)
		if err != nil {
			return err
		}
		pk := sk.Public()
		id := "a." + w.randID(22)
		w.keys[id] = &apiKey{id: id, name: a.KeyName, bls: &pk, sim: &sk}
		w.byName[a.Name] = id
	}
	nets := map[string]ScenarioNetwork{}
	for _, n := range sc.Networks {
		nets[n.ID] = n
	}
	for _, a := range sc.Assets {
		w.assets[a.ID] = a
	}
	for _, p := range sc.Policies {
		pol := &policy{id: p.ID, name: p.Name, kind: "transaction", threshold: p.Threshold}
		for _, m := range p.Members {
			pol.members = append(pol.members, w.byName[m])
		}
		w.policies[p.ID] = pol
	}
	for _, sw := range sc.Wallets {
		wal := &wallet{ScenarioWallet: sw, net: nets[sw.Network], pol: w.policies[sw.Policy], whitelist: map[string]string{}}
		for _, e := range sw.Whitelist {
			wal.whitelist[e.Address] = e.Name
		}
		w.wallets[sw.ID] = wal
		w.walletIDs = append(w.walletIDs, sw.ID)
	}
	now := s.now()
	for i, spec := range sc.Actions {
		if _, err := w.txAction(spec, now.Add(-time.Duration(len(sc.Actions)-i)*time.Minute)); err != nil {
			return fmt.Errorf("scenario action %d: %v", i+1, err)
		}
	}
	// created in the past, but expiry counts from now
	for _, a := range w.actions {
		d := a.expires.Sub(a.created)
		a.expires = now.Add(d)
		w.expiryChanged(a.expires)
	}
	s.ws = w
	for range s.opts.ExtraActions {
		w.randomAction(now)
	}
	return nil
}

// randomAction adds a generated pending action (load, arrivals). Caller
// holds mu or is single-threaded.
func (w *workspace) randomAction(now time.Time) *action {
	wal := w.wallets[w.walletIDs[w.rng.IntN(len(w.walletIDs))]]
	var assetIDs []string
	for id, a := range w.assets {
		if a.Network == wal.Network {
			assetIDs = append(assetIDs, id)
		}
	}
	sort.Strings(assetIDs)
	assetID := assetIDs[w.rng.IntN(len(assetIDs))]
	as := w.assets[assetID]
	to := ""
	if len(wal.whitelist) > 0 && w.rng.IntN(3) > 0 {
		var wl []string
		for a := range wal.whitelist {
			wl = append(wl, a)
		}
		sort.Strings(wl)
		to = wl[w.rng.IntN(len(wl))]
	} else if wal.net.Family == "bitcoin" {
		to = segwitAddress(w.rng, "bc")
		if wal.net.Testnet {
			to = segwitAddress(w.rng, "tb")
		}
	} else {
		to = "0x" + hexID(w.rng, 40)
	}
	amount := fmt.Sprintf("%d", 1+w.rng.IntN(9999)) + zeros(max(0, as.Decimals-w.rng.IntN(4)))
	spec := ActionSpec{Wallet: wal.ID, Asset: assetID, To: to, Amount: amount,
		ExpiresIn: (time.Duration(5+w.rng.IntN(180)) * time.Minute).String(), Note: "generated load", Initiator: "Load generator"}
	a, _ := w.txAction(spec, now)
	return a
}

// Start listens on addr (a loopback address; "127.0.0.1:0" picks a free
// port) and returns the base URL, e.g. http://127.0.0.1:PORT/api/v2.
func (s *Server) Start(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %v", addr, err)
	}
	if !isLoopback(host) {
		return "", fmt.Errorf("the sandbox only listens on loopback, not %q", host)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	ctx, stop := context.WithCancel(context.Background())
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	s.mu.Lock()
	s.srv, s.ln, s.stop = srv, ln, stop
	s.base = "http://" + ln.Addr().String() + "/api/v2"
	s.mu.Unlock()
	s.wg.Add(2)
	go func() { defer s.wg.Done(); _ = srv.Serve(ln) }() // ends with ErrServerClosed on Close
	go func() { defer s.wg.Done(); s.background(ctx) }()
	return s.base, nil
}

// BaseURL returns the base URL ("" before Start).
func (s *Server) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// background expires actions and adds arrivals.
func (s *Server) background(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var arrivals <-chan time.Time
	if s.opts.ArrivalEvery > 0 {
		t := time.NewTicker(s.opts.ArrivalEvery)
		defer t.Stop()
		arrivals = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.ws.mu.Lock()
			changed := s.ws.expire(s.now())
			s.ws.mu.Unlock()
			for _, a := range changed {
				s.publish(a)
			}
		case <-arrivals:
			s.ws.mu.Lock()
			a := s.ws.randomAction(s.now())
			s.ws.mu.Unlock()
			s.announce(a)
		}
	}
}

// Close stops the server and every feed connection.
func (s *Server) Close() error {
	s.mu.Lock()
	srv, stop := s.srv, s.stop
	for _, t := range s.timers {
		t.Stop()
	}
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	stop()
	s.hub.dropAll()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	s.wg.Wait()
	return err
}

// Credentials returns the operator's workspace ID, API key ID and API
// secret (as issued: base64url). The operator has no BLS key until it
// registers one through PUT apikeys and signs the update action.
func (s *Server) Credentials() (workspaceID, apiKeyID, secretB64 string) {
	return s.ws.id, s.ws.operator, s.secret
}

// Faults returns the fault injection controls.
func (s *Server) Faults() *Faults { return s.faults }

// Protocol returns the protocol the server speaks.
func (s *Server) Protocol() Protocol { return s.opts.Protocol }
