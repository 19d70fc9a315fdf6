// Package app is the application core of qapprove that the console and
// the scripting commands both drive: it loads the profile and the key
// bundle, keeps the unlock session, evaluates the governance rules,
// follows the feed, and performs decisions in the order sign → journal
// (fsync) → send → journal outcome. It never draws and never imports ui.
//
// lifecycle.go: Open, Start's companions, Close, the profile's binding.
package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/crypto/selftest"
	"github.com/qapprove/qapprove/governance"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/sink"
	"github.com/qapprove/qapprove/storage/wrap"
)

// ErrNoProfile is returned by Open when config.toml has no such profile.
var ErrNoProfile = errors.New("no such profile")

// ErrRebindNeeded is returned by Open when config.toml points the profile
// at another API base URL, workspace or API key than the one its key was
// registered with (recorded in the keystore bundle): a config edit must
// not redirect signatures. `qapprove keys rebind` changes it deliberately.
var ErrRebindNeeded = errors.New("the profile's settings differ from the ones its key is bound to")

// Options configure Open.
type Options struct {
	Paths    storage.Paths
	Profile  string
	Keystore string      // "keychain" or "file"
	KDF      secrets.KDF // the key-derivation policy (zero: production)
	Version  string
	Now      func() time.Time // nil = time.Now
	HTTP     client.Config    // optional client overrides (HTTP client, timeouts)
	// SelftestFailure, when set, replaces the built-in crypto self-test
	// with this failure (tests).
	SelftestFailure string
	// Rebinding opens a profile whose settings differ from the ones its
	// key is bound to, for `keys rebind` (Rebind) only.
	Rebinding bool
	// WrapPIN asks for the PKCS#11 token PIN of a bundle wrapped on a
	// token when config.toml names no pkcs11_pin_file (nil: no terminal).
	WrapPIN PINFunc
}

// Engine is the console's backend. Create it with Open, call Start to
// connect, and Close when done (it writes a signed checkpoint if it can,
// locks the key and closes the journal).
type Engine struct {
	opts     Options
	now      func() time.Time
	settings storage.Profile
	backend  secrets.Backend
	warning  string
	bundle   *secrets.Bundle
	pk       qbls.PublicKey
	sess     *secrets.Session
	wrapper  wrap.Wrapper // opens the bundle's wrap (nil when not wrapped)
	rules    *governance.RuleSet
	jr       *journal.Journal
	recovery *journal.Recovery
	cl       *client.Client
	hist     *history // what this key already decided (the journal)
	gov      *govern  // rules hash, calendar, prices

	ship          *sink.Shipper // ships the journal to config.toml's sinks (nil: none)
	settingsSinks storage.Sinks // the [sinks] table
	sinkKick      chan struct{} // wakes the shipper (cap 1)
	sinkErr       string        // guarded by mu: why the last pass could not run
	sinkLast      SinkState     // guarded by mu: the state last reported

	selftestOK  bool   // guarded by mu
	selftestWhy string // guarded by mu

	out *outbox // the events for the subscriber

	mu    sync.Mutex
	items map[string]held // the pending list, by action ID

	// listMu orders the list events that describe the whole list (a
	// snapshot, or a refresh's changes against the last one), so a stale
	// snapshot never follows a newer refresh.
	listMu sync.Mutex

	verdictMu  sync.Mutex
	verdicts   map[string]Verdict // shared verdicts (see item)
	lockReason string
	lockLogged bool      // Lock journaled the lock (signed) before the session locked
	feedOnly   bool      // the API has no list endpoint: the list is the feed's
	asOf       time.Time // when the list was last known complete
	connecting bool
	started    bool
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	cacheDirty bool
	cacheSaved time.Time
	loaded     bool          // a list from the API has arrived
	wasLive    bool          // the feed has been live before
	cacheDone  chan struct{} // closed when the background cache load is over (nil: none started)
}

// Open loads everything the console needs; it does not touch the network.
func Open(o Options) (*Engine, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg, err := storage.LoadConfig(o.Paths.ConfigFile())
	if err != nil {
		return nil, err
	}
	prof, ok := cfg.Profiles[o.Profile]
	if !ok {
		return nil, fmt.Errorf("%w %q in %s: run `qapprove keys register` first", ErrNoProfile, o.Profile, o.Paths.ConfigFile())
	}
	if err := prof.Validate(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", o.Profile, err)
	}
	targets, err := sink.FromConfig(cfg.Sinks, o.Paths)
	if err != nil {
		return nil, fmt.Errorf("config.toml [sinks]: %w", err)
	}
	e := &Engine{opts: o, now: o.Now, settings: prof, items: map[string]held{}, verdicts: map[string]Verdict{}, settingsSinks: cfg.Sinks}
	e.out = newOutbox(eventBuffer, e.snapshot)
	e.backend, e.warning, err = secrets.OpenBackend(o.Keystore, o.Paths)
	if err != nil {
		return nil, err
	}
	e.bundle, err = secrets.LoadBundle(e.backend, o.Profile)
	if err != nil {
		return nil, err
	}
	if e.pk, err = e.bundle.BLSPublic(); err != nil {
		return nil, err
	}
	if err := checkBinding(o.Profile, prof, e.bundle); err != nil && !o.Rebinding {
		return nil, err
	}
	if e.wrapper, err = WrapperFor(context.Background(), e.bundle, prof.Wrap, o.WrapPIN); err != nil {
		return nil, err
	}
	if e.rules, e.gov, err = loadGovernance(o.Paths, o.Profile, prof); err != nil {
		return nil, err
	}
	e.hist = newHistory()
	e.jr, e.recovery, err = journal.Open(o.Paths.JournalFile(o.Profile), journal.Options{
		Anchors:           Anchors(e.backend, o.Profile),
		ExpectedPublicKey: &e.pk,
		Profile:           o.Profile,
		Now:               o.Now,
		OnEntryAt:         e.hist.onEntry,
	})
	if err != nil {
		return nil, fmt.Errorf("audit journal: %w", err)
	}
	e.openSinks(targets)
	idle, abs := prof.LockTimeouts()
	e.sess = secrets.NewSession(e.bundle, secrets.SessionOptions{Idle: idle, Absolute: abs, Now: o.Now, OnEvent: e.onSessionEvent, KDF: o.KDF,
		Attempts: secrets.FileAttempts(o.Paths.AttemptsFile(o.Profile)), Wrapper: e.wrapper})
	hc := o.HTTP
	hc.BaseURL, hc.WorkspaceID, hc.APIKeyID = prof.APIBaseURL, prof.WorkspaceID, prof.APIKeyID
	hc.Credentials = sessionCredentials{e.sess}
	hc.Now = o.Now
	if prof.FeedURL != "" {
		hc.FeedURL = prof.FeedURL
	}
	if e.cl, err = client.New(hc); err != nil {
		_ = e.jr.Close() // the client error is the one to report
		return nil, err
	}
	return e, nil
}

// Recovery reports what opening the journal repaired (nil when nothing).
func (e *Engine) Recovery() *journal.Recovery { return e.recovery }

// Info implements the console's Backend.
func (e *Engine) Info() Info {
	return Info{
		Profile: e.opts.Profile, Workspace: e.settings.WorkspaceID, APIBase: e.settings.APIBaseURL,
		Keystore: e.backend.Kind(), Wrap: wrapShort(e.sess.Bundle()), KeystoreWarning: e.warning, Version: e.opts.Version,
		Bell: e.settings.Bell, ExpiryWarning: e.settings.ExpiryWarningBefore(),
	}
}

// Subscribe implements the console's Backend.
func (e *Engine) Subscribe() <-chan Event { return e.out.ch }

// emit reports ev to the subscriber: a state event is always delivered,
// in order; a notice may be dropped while the UI is behind (see outbox).
func (e *Engine) emit(ev Event) { e.out.emit(ev) }

// SelftestOK reports whether signing is allowed by the self-test, and
// why not. Until the self-test has run, signing is refused.
func (e *Engine) SelftestOK() (bool, string) {
	done, ok, why := e.Selftest()
	if !done {
		return false, "the crypto self-test is still running"
	}
	return ok, why
}

// Selftest implements the console's Backend.
func (e *Engine) Selftest() (done, ok bool, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.selftestOK || e.selftestWhy != "", e.selftestOK, e.selftestWhy
}

// Notify implements the console's Backend.
func (e *Engine) Notify(title, body string) {
	if e.notifyOn() {
		notify(title, body)
	}
}

// Rebind binds the profile's key to the API base URL config.toml now
// gives (Options.Rebinding): the key must be unlocked, so only its owner
// can do it, and the change is journaled, signed. A changed workspace or
// API key ID is not rebound: the key is registered for one API key.
func (e *Engine) Rebind() (from, to string, err error) {
	if e.sess.Locked() {
		return "", "", secrets.ErrLocked
	}
	p := e.settings
	if p.WorkspaceID != e.bundle.WorkspaceID || p.APIKeyID != e.bundle.APIKeyID {
		return "", "", fmt.Errorf("config.toml names another workspace or API key than the one profile %s's key is registered for: register a key for it (qapprove keys register) instead of rebinding", e.opts.Profile)
	}
	from, to = e.bundle.APIBaseURL, p.APIBaseURL
	if strings.TrimRight(from, "/") == strings.TrimRight(to, "/") {
		return from, to, fmt.Errorf("profile %s is already bound to %s: nothing to rebind", e.opts.Profile, to)
	}
	if _, err := e.jr.AppendSigned(journal.KindRebound, journal.ReboundBody{From: from, To: to}, e.signer()); err != nil {
		return from, to, fmt.Errorf("the rebinding could not be journaled, so it was not made: %w", err)
	}
	b := *e.bundle
	b.APIBaseURL = to
	if err := secrets.SaveBundle(e.backend, e.opts.Profile, &b); err != nil {
		return from, to, fmt.Errorf("journaled, but the keystore could not be updated: %w", err)
	}
	e.bundle.APIBaseURL = to
	return from, to, nil
}

// runSelftest runs the built-in known-answer tests; signing stays
// refused when one fails.
func (e *Engine) runSelftest() {
	ok, why := true, ""
	if e.opts.SelftestFailure != "" {
		ok, why = false, e.opts.SelftestFailure
	} else if r := selftest.RunBuiltin(); r.Failed > 0 {
		ok, why = false, fmt.Sprintf("crypto self-test failed (%d of %d checks): signing is disabled", r.Failed, r.Failed+r.Passed)
	}
	e.mu.Lock()
	e.selftestOK, e.selftestWhy = ok, why
	e.mu.Unlock()
	if !ok {
		e.emit(Notice{Text: why})
	}
}

// Prepare runs the start-up work that Start otherwise does in the
// background (self-test, cache, one read of the prices), for the
// scripting commands.
func (e *Engine) Prepare() {
	e.runSelftest()
	e.loadCache()
	if _, err := e.RefreshPrices(context.Background()); err != nil {
		e.emit(Notice{Text: "prices: " + clipErr(err)})
	}
}

// Close writes a signed checkpoint (when unlocked), locks the key, stops
// the background work, saves the cache and closes the journal.
func (e *Engine) Close() error {
	e.Lock("exit")
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.wg.Wait()
	e.out.close()
	e.saveCacheIfDirty(true)
	if e.wrapper != nil {
		_ = e.wrapper.Close() // logging out of the token: nothing to report
	}
	e.closeSinks()
	return e.jr.Close()
}

// checkBinding refuses a profile whose config.toml settings differ from
// the ones its key was registered with (kept in the keystore bundle).
func checkBinding(profile string, prof storage.Profile, b *secrets.Bundle) error {
	for _, f := range []struct{ what, config, bound string }{
		{"API base URL", prof.APIBaseURL, b.APIBaseURL},
		{"workspace ID", prof.WorkspaceID, b.WorkspaceID},
		{"API key ID", prof.APIKeyID, b.APIKeyID},
	} {
		if f.bound == "" || strings.TrimRight(f.config, "/") == strings.TrimRight(f.bound, "/") {
			continue
		}
		return fmt.Errorf("%w: config.toml gives profile %s the %s %q, but its key is bound to %q; refusing to use it. If the change is deliberate, run: qapprove --profile %s keys rebind",
			ErrRebindNeeded, profile, f.what, f.config, f.bound, profile)
	}
	return nil
}

// BoundURL is the API base URL the profile's key is bound to (recorded in
// the keystore at registration; the config's when none was recorded).
func (e *Engine) BoundURL() string {
	if e.bundle.APIBaseURL == "" {
		return e.settings.APIBaseURL
	}
	return e.bundle.APIBaseURL
}
