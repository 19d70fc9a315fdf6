package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

var testPass = []byte("correct horse battery staple 42")

// setup starts a sandbox (extended protocol) and registers a key for
// profile "p" in a fresh home with the file keystore, through the real
// registration flow.
func setup(t *testing.T) (*sandbox.Server, storage.Paths) {
	t.Helper()
	srv, paths, _ := setupProtocol(t, sandbox.ProtocolExtended, sandbox.Options{})
	if !srv.OperatorRegistered() {
		t.Fatal("sandbox does not see the key as registered")
	}
	return srv, paths
}

func open(t testing.TB, paths storage.Paths) *Engine {
	t.Helper()
	e, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF()})
	if err != nil {
		t.Fatal(err)
	}
	e.Prepare()
	return e
}

// connect unlocks e, signs in and loads the pending actions.
func connect(t testing.TB, e *Engine) {
	t.Helper()
	ctx := context.Background()
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := e.cl.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}

// pick returns a pending item whose verdict is level.
func pick(t *testing.T, items []Item, level Level) Item {
	t.Helper()
	for _, it := range items {
		if it.Verdict.Level == level && it.Action.Type == client.TypeTransaction {
			return it
		}
	}
	t.Fatalf("no pending action with verdict %s among %d", level, len(items))
	return Item{}
}

func TestDecideEndToEnd(t *testing.T) {
	srv, paths := setup(t)
	e := open(t, paths)
	ctx := context.Background()

	// Locked: nothing can be decided, and nothing is signed.
	if _, err := e.Decide(ctx, Decision{ActionID: "x", Approve: true}); err == nil {
		t.Fatal("Decide while locked succeeded")
	}
	if err := e.Unlock([]byte("wrong passphrase!")); !errors.Is(err, secrets.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if e.UnlockBackoff() <= 0 {
		t.Fatal("no back-off after a wrong passphrase")
	}
	// The back-off survives a restart (a new process must not reset it):
	// reopen, see it still holds, and wait it out.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = open(t, paths)
	defer e.Close()
	wait := e.UnlockBackoff()
	if wait <= 0 {
		t.Fatal("a reopened engine forgot the back-off")
	}
	time.Sleep(wait)
	connect(t, e)
	items := e.Pending()
	if len(items) == 0 {
		t.Fatal("no pending actions from the sandbox")
	}

	ok := pick(t, items, "approve")
	out, err := e.Decide(ctx, Decision{ActionID: ok.Action.ID, Approve: true})
	if err != nil || out.Result != ResultAccepted {
		t.Fatalf("approve: %+v %v", out, err)
	}
	info, _ := srv.Action(ok.Action.ID)
	if info.Decisions[mustKey(t, srv)] != client.StatusApproved {
		t.Fatalf("sandbox did not record the approval: %+v", info.Decisions)
	}

	// Going against the verdict needs a reason.
	rev := pick(t, items, "review")
	if _, err := e.Decide(ctx, Decision{ActionID: rev.Action.ID, Approve: true}); err == nil {
		t.Fatal("approving a review verdict without a reason was accepted")
	}
	if info, _ := srv.Action(rev.Action.ID); len(info.Decisions) != 0 && info.Decisions[mustKey(t, srv)] != 0 {
		t.Fatal("an unjustified override reached the sandbox")
	}
	out, err = e.Decide(ctx, Decision{ActionID: rev.Action.ID, Approve: false})
	if err != nil || out.Result != ResultAccepted {
		t.Fatalf("reject: %+v %v", out, err)
	}

	// Deciding again is refused before anything is signed.
	if _, err := e.Decide(ctx, Decision{ActionID: ok.Action.ID, Approve: true}); err == nil {
		t.Fatal("second decision on the same action accepted")
	}
	// An action decided elsewhere or expired is refused too.
	other := pick(t, e.Pending(), "reject")
	if err := srv.ExpireAction(other.Action.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Decide(ctx, Decision{ActionID: other.Action.ID, Approve: false}); err == nil {
		t.Fatal("decision on an expired action accepted")
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	pk, _ := e.bundle.BLSPublic()
	rep, err := journal.Verify(paths.JournalFile("p"), journal.VerifyOptions{ExpectedPublicKey: &pk})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact {
		t.Fatalf("journal not intact: %+v", rep.Problem)
	}
	if rep.Decisions != 2 {
		t.Fatalf("journal has %d decisions, want 2", rep.Decisions)
	}
}

func mustKey(_ *testing.T, srv *sandbox.Server) string {
	_, kid, _ := srv.Credentials()
	return kid
}

func TestGovernanceInputUndecodable(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := &client.Action{ID: "a1", Type: client.TypeTransaction, Status: client.StatusPending, Expires: now.Add(time.Hour), Detail: &client.ActionDetail{PayloadErr: "payload is not valid base64"}}
	in := GovernanceInput(a, now)
	if in.DecodeError == "" {
		t.Fatal("undecodable payload not flagged")
	}
	gv := Evaluate(governance.Default(), a, now)
	v := UIVerdict(gv)
	if gv.Level == governance.Approve || v.Level == "approve" {
		t.Fatalf("undecodable action got %s", v.Level)
	}
}

func TestAgainst(t *testing.T) {
	for _, c := range []struct {
		d, v string
		want bool
	}{{"approve", "approve", false}, {"approve", "review", true}, {"approve", "reject", true}, {"reject", "approve", true}, {"reject", "review", false}, {"reject", "reject", false}} {
		if got := Against(c.d, Level(c.v)); got != c.want {
			t.Errorf("Against(%s, %s) = %v", c.d, c.v, got)
		}
	}
}

func TestSelftestFailureRefusesToSign(t *testing.T) {
	_, paths := setup(t)
	e, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF(), SelftestFailure: "injected failure"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if ok, _ := e.SelftestOK(); ok {
		t.Fatal("self-test reported ok before it ran")
	}
	e.Prepare()
	if ok, why := e.SelftestOK(); ok || why != "injected failure" {
		t.Fatalf("SelftestOK = %v, %q", ok, why)
	}
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	out, err := e.Decide(context.Background(), Decision{ActionID: "anything", Approve: true})
	if err == nil || out.Result != ResultRefused || out.Err != "injected failure" {
		t.Fatalf("Decide with a failed self-test: %+v %v", out, err)
	}
}

func TestPendingCacheSurvivesRestart(t *testing.T) {
	_, paths := setup(t)
	e := open(t, paths)
	connect(t, e)
	want := len(e.Pending())
	if want == 0 {
		t.Fatal("nothing pending")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := open(t, paths) // Prepare loads the cache; no network, still locked
	defer e2.Close()
	if got := len(e2.Pending()); got != want {
		t.Fatalf("after restart %d cached actions, want %d", got, want)
	}
}

func TestRawPayloadOnDemand(t *testing.T) {
	_, paths := setup(t)
	e := open(t, paths)
	defer e.Close()
	ctx := context.Background()
	connect(t, e)
	it := e.Pending()[0]
	if it.Action.RawPayload() != nil {
		t.Fatal("the engine keeps raw payload bytes of a decodable action in memory")
	}
	raw, err := e.RawPayload(ctx, it.Action.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.DecodePayload(raw)
	if err != nil || p.PolicyName != it.Action.Payload.PolicyName {
		t.Fatalf("raw payload does not decode to the held payload: %v", err)
	}
}

func TestDecideRefusesWhenTheVerdictChanged(t *testing.T) {
	srv, paths := setup(t)
	e := open(t, paths)
	defer e.Close()
	ctx := context.Background()
	connect(t, e)
	ok := pick(t, e.Pending(), "approve")
	// The operator saw "review", but the rules now say "approve".
	out, err := e.Decide(ctx, Decision{ActionID: ok.Action.ID, Approve: true, Verdict: "review", Override: "x"})
	if err == nil || out.Result != ResultRefused || !strings.Contains(out.Err, "verdict") {
		t.Fatalf("decision on a changed verdict: %+v %v", out, err)
	}
	if info, _ := srv.Action(ok.Action.ID); len(info.Decisions) != 0 {
		for k, v := range info.Decisions {
			if _, kid, _ := srv.Credentials(); k == kid && v != 0 {
				t.Fatal("a refused decision reached the sandbox")
			}
		}
	}
}

func TestFeedDropsActionsDecidedElsewhereOrExpired(t *testing.T) {
	_, paths := setup(t)
	e := open(t, paths)
	defer e.Close()
	connect(t, e)
	items := e.Pending()
	if len(items) < 2 {
		t.Fatal("need two pending actions")
	}
	drain := func() []Event { return drainEvents(e) }
	drain()
	ctx := context.Background()

	// Unchanged replay: nothing reaches the UI.
	same := *items[0].Action
	raw, err := e.RawPayload(ctx, same.ID)
	if err != nil {
		t.Fatal(err)
	}
	same.Detail = &client.ActionDetail{RawPayload: raw}
	e.onFeed(ctx, feedFrame(&same))
	if evs := drain(); len(evs) != 0 {
		t.Fatalf("an unchanged feed frame produced %d events", len(evs))
	}

	decided := *items[0].Action
	decided.Status = client.StatusApproved
	e.onFeed(ctx, feedFrame(&decided))
	expired := *items[1].Action
	expired.Status = client.StatusExpired
	e.onFeed(ctx, feedFrame(&expired))
	why := map[string]Removal{}
	for _, ev := range drain() {
		if r, ok := ev.(ActionRemoved); ok {
			why[r.ID] = r.Why
		}
	}
	if why[decided.ID] != RemovedElsewhere || why[expired.ID] != RemovedExpired {
		t.Fatalf("removals: %v", why)
	}
	if got := len(e.Pending()); got != len(items)-2 {
		t.Fatalf("%d pending after two removals, want %d", got, len(items)-2)
	}
}

// Expiry drops actions without scheduling a cache rewrite: loading the
// cache skips expired actions anyway.
func TestExpiryDoesNotRewriteCache(t *testing.T) {
	_, paths := setup(t)
	e := open(t, paths)
	defer e.Close()
	connect(t, e)
	n := len(e.Pending())
	if n == 0 {
		t.Fatal("nothing pending")
	}
	e.mu.Lock()
	e.cacheDirty = false
	e.mu.Unlock()
	gone := e.expireDue(time.Now().Add(1000 * time.Hour))
	if len(gone) != n || len(e.Pending()) != 0 {
		t.Fatalf("expired %d of %d, %d left", len(gone), n, len(e.Pending()))
	}
	e.mu.Lock()
	dirty := e.cacheDirty
	e.mu.Unlock()
	if dirty {
		t.Fatal("expiry marked the cache for rewriting")
	}
}

// After a restart the list comes from the cache; when the API then sends
// the same actions, the engine keeps the cached copies (no second copy of
// a long list, no spurious updates).
func TestRefreshKeepsUnchangedCachedActions(t *testing.T) {
	paths := cachedHome(t)
	e2 := open(t, paths)
	defer e2.Close()
	cached := map[string]*client.Action{}
	for _, it := range e2.Pending() {
		cached[it.Action.ID] = it.Action
	}
	if len(cached) == 0 {
		t.Fatal("nothing cached")
	}
	connect(t, e2)
	kept := 0
	for _, it := range e2.Pending() {
		if cached[it.Action.ID] == it.Action {
			kept++
		}
	}
	if kept != len(cached) {
		t.Fatalf("kept %d of %d cached actions across the refresh", kept, len(cached))
	}
}

// A refresh of a list already shown sends only what changed: an action
// decided elsewhere goes, a new one comes, the rest stay as they are.
func TestRefreshSendsOnlyChanges(t *testing.T) {
	srv, paths := setup(t)
	e := open(t, paths)
	defer e.Close()
	connect(t, e)
	before := e.Pending()
	drain := func() []Event { return drainEvents(e) }
	drain()
	var other string
	for _, it := range before {
		if info, ok := srv.Action(it.Action.ID); ok && info.Type == client.TypeTransaction && srv.DecideAsOther(it.Action.ID, false) == nil {
			other = it.Action.ID
			break
		}
	}
	if other == "" {
		t.Fatal("no action another member could reject")
	}
	added, err := srv.AddAction(sandbox.ActionSpec{Wallet: "wal-eth-sepolia", Asset: "SepoliaETH", To: "0x2C4e6A8b0D1f3A5c7E9b2D4f6A8c0E1b3D5f7A65", Amount: "1", ExpiresIn: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	var upserted, removed []string
	for _, ev := range drain() {
		switch ev := ev.(type) {
		case ActionsLoaded:
			t.Fatalf("the whole list (%d) was sent again", len(ev.Items))
		case ActionUpserted:
			upserted = append(upserted, ev.Item.Action.ID)
		case ActionRemoved:
			if ev.Why != RemovedElsewhere {
				t.Fatalf("removed %s as %s", ev.ID, ev.Why)
			}
			removed = append(removed, ev.ID)
		}
	}
	if len(upserted) != 1 || upserted[0] != added || len(removed) != 1 || removed[0] != other {
		t.Fatalf("upserted %v (want %s), removed %v (want %s)", upserted, added, removed, other)
	}
	if len(e.Pending()) != len(before) {
		t.Fatalf("%d pending after the refresh, want %d", len(e.Pending()), len(before))
	}
}

// A refresh right after start waits for the cache load running in the
// background, so it finds the cached actions and keeps them (a long list
// is not held twice, nor sent to the UI twice).
func TestRefreshWaitsForTheCacheLoad(t *testing.T) {
	paths := cachedHome(t)
	e2, err := Open(Options{Paths: paths, Profile: "p", Keystore: secrets.KindFile, KDF: secretstest.KDF()})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e2.Start(ctx)
	if err := e2.cl.Token(ctx); err == nil {
		t.Fatal("signed in while locked")
	}
	if err := e2.sess.Unlock(testPass); err != nil { // unlock without connecting
		t.Fatal(err)
	}
	if err := e2.cl.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e2.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e2.cacheDone:
	default:
		t.Fatal("the refresh finished before the cache load")
	}
	var cached []Item
	for len(cached) == 0 {
		select {
		case ev := <-e2.Subscribe():
			if l, ok := ev.(ActionsLoaded); ok {
				cached = l.Items
			}
		default:
			t.Fatal("the cached list never reached the UI")
		}
	}
	now := map[string]*client.Action{}
	for _, it := range e2.Pending() {
		now[it.Action.ID] = it.Action
	}
	for _, it := range cached {
		if now[it.Action.ID] != it.Action {
			t.Fatalf("cached action %s was replaced by an identical copy", it.Action.ID)
		}
	}
}

// drainEvents returns the events waiting on e's channel.
func drainEvents(e *Engine) []Event {
	var evs []Event
	for {
		select {
		case ev := <-e.Subscribe():
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

// cachedHome is a profile whose pending cache holds the sandbox's list.
func cachedHome(t *testing.T) storage.Paths {
	t.Helper()
	_, paths := setup(t)
	e := open(t, paths)
	connect(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return paths
}

// feedFrame is a as the client's feed reports it.
func feedFrame(a *client.Action) client.FeedEvent {
	return client.FeedEvent{Action: a, Fingerprint: a.Fingerprint(), State: client.StateLive}
}

// A relative rules_file is taken from the config folder, as `rules check`
// takes it (docs/RULES.md), whatever the working directory.
func TestRelativeRulesFileIsInTheConfigFolder(t *testing.T) {
	_, paths := setup(t)
	rules := "[[rule]]\nname = \"only\"\nwhen = 'true'\nverdict = \"review\"\nreason = \"one rule\"\n"
	if err := os.WriteFile(filepath.Join(paths.Config, "mine.toml"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	prof := cfg.Profiles["p"]
	prof.RulesFile = "mine.toml"
	cfg.Profiles["p"] = prof
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
	e := open(t, paths)
	defer e.Close()
	if n := e.rules.Len(); n != 1 {
		t.Fatalf("the engine loaded %d rules, not the 1 of config/mine.toml", n)
	}
}
