package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

// setupProtocol registers a key for profile "p" against a sandbox that
// speaks p; in minimal mode the key update then waits for an admin.
func setupProtocol(t testing.TB, p sandbox.Protocol, opts sandbox.Options) (*sandbox.Server, storage.Paths, *Registration) {
	t.Helper()
	srv, base := sandboxtest.StartProtocol(t, p, opts)
	paths := storage.ResolvePaths(t.TempDir())
	wid, kid, secret := srv.Credentials()
	prof := storage.Profile{APIBaseURL: base, WorkspaceID: wid, APIKeyID: kid}
	if err := storage.SaveConfig(paths.ConfigFile(), &storage.Config{Profiles: map[string]storage.Profile{"p": prof}}); err != nil {
		t.Fatal(err)
	}
	r := &Registration{Paths: paths, Profile: "p", Settings: prof, Backend: secrets.NewFileBackend(paths), KDF: secretstest.KDF()}
	t.Cleanup(r.Close)
	r.SetAPISecret([]byte(secret))
	ctx := context.Background()
	for _, step := range []func() error{
		func() error { return r.CheckCredentials(ctx) },
		r.GenerateKeys,
		func() error { return r.Store(testPass) },
		func() error { return r.Register(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatalf("registration: %v", err)
		}
	}
	return srv, paths, r
}

// decideShown decides on the copy of id the engine holds, as the console
// does: the verdict and the message hash it showed, a reason when going
// against the verdict, the strong confirmation when one is asked.
func decideShown(t *testing.T, e *Engine, id string, approve bool) (Outcome, error) {
	t.Helper()
	var it *Item
	for _, x := range e.Pending() {
		if x.Action.ID == id {
			it = &x
			break
		}
	}
	if it == nil {
		t.Fatalf("action %s is not in the pending list", id)
	}
	sum := sha256.Sum256(it.Action.Messages[0])
	d := Decision{ActionID: id, Approve: approve, Verdict: it.Verdict.Level, MessageSHA256: hex.EncodeToString(sum[:]), Confirmation: ConfirmTyped}
	if Against(map[bool]string{true: "approve", false: "reject"}[approve], it.Verdict.Level) {
		d.Override = "checked with the desk"
	}
	return e.Decide(context.Background(), d)
}

// Against a server that speaks only the confirmed protocol — no list
// endpoint, GET with only id/status/messages, swagger-shaped frames with a
// numeric chainID, {} answers, no myDecision, key updates that wait for
// an admin — registration, listing and a decision all work, and the
// journal keeps this key from signing the same action twice, also after
// a restart.
func TestMinimalProtocolEndToEnd(t *testing.T) {
	srv, paths, r := setupProtocol(t, sandbox.ProtocolMinimal, sandbox.Options{})
	if !r.AwaitingAdmin() {
		t.Fatal("the key update should await the Admin Policy in minimal mode")
	}
	b, err := secrets.LoadBundle(secrets.NewFileBackend(paths), "p")
	if err != nil || b.AwaitingAdmin == "" || b.Registered != nil {
		t.Fatalf("bundle after registration: %v awaiting=%q registered=%v", err, b.AwaitingAdmin, b.Registered)
	}
	if got := srv.ApproveKeyUpdates(); len(got) != 1 {
		t.Fatalf("admin approved %v", got)
	}

	e := open(t, paths)
	ctx := context.Background()
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := e.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	if e.bundle.AwaitingAdmin != "" || e.bundle.Registered == nil {
		t.Fatalf("registration not settled after the admin approved: %+v", e.bundle.BundlePublic)
	}
	feedOnly, err := e.LoadPending(ctx)
	if err != nil || !feedOnly {
		t.Fatalf("LoadPending = %v, %v; want feed-only", feedOnly, err)
	}
	// An action of a 2-or-more policy stays pending after this key
	// approves: only the journal can tell that this key decided it.
	var it Item
	for _, x := range e.Pending() {
		if info, _ := srv.Action(x.Action.ID); info.Threshold >= 2 {
			it = x
			break
		}
	}
	if it.Action == nil {
		t.Fatalf("no pending action of a 2-or-more policy among %d from the feed", len(e.Pending()))
	}
	a := it.Action
	if a.PayloadUnderstood() || a.Payload == nil || a.Payload.Transaction == nil || a.Payload.Transaction.Network.ChainID == "" {
		t.Fatalf("the swagger payload should give a policy and a chain ID only: %+v", a.Payload)
	}
	if it.Verdict.Level == VerdictApprove {
		t.Fatal("a payload that is not understood was given an approve verdict")
	}
	if a.Binding != client.BindingUnknown {
		t.Fatalf("an opaque message is %v, want unknown (unbound)", a.Binding)
	}
	out, err := decideShown(t, e, a.ID, true)
	if err != nil || out.Result != ResultAccepted {
		t.Fatalf("approve = %+v, %v", out, err)
	}
	info, _ := srv.Action(a.ID)
	if info.Decisions[e.settings.APIKeyID] != client.StatusApproved || info.Status != client.StatusPending {
		t.Fatalf("the sandbox should hold a valid approval on a still-pending action: %+v", info)
	}
	// The action may still be pending for the other members: the API
	// does not say that this key decided, the journal does.
	if _, err := decideShown2(e, a); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("a second decision = %v, want ErrAlreadyDecided", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := open(t, paths)
	defer e2.Close()
	if err := e2.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := e2.SignIn(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.LoadPending(ctx); err != nil {
		t.Fatal(err)
	}
	for _, x := range e2.Pending() {
		if x.Action.ID == a.ID {
			t.Fatal("after a restart the action this key approved is listed as pending again")
		}
	}
	if _, err := decideShown2(e2, a); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("after a restart a second decision = %v, want ErrAlreadyDecided", err)
	}
}

// decideShown2 decides on a copy of a the engine may no longer list.
func decideShown2(e *Engine, a *client.Action) (Outcome, error) {
	sum := sha256.Sum256(a.Messages[0])
	return e.Decide(context.Background(), Decision{ActionID: a.ID, Approve: false, Override: "again", MessageSHA256: hex.EncodeToString(sum[:])})
}

// A server that shows one payload and sends a sandbox-layout message
// committing to another is refused before anything is signed; a
// real-layout (opaque) message is signed and journaled as unbound.
func TestSignOnlyWhatWasShown(t *testing.T) {
	srv, paths, _ := setupProtocol(t, sandbox.ProtocolExtended, sandbox.Options{})
	bad := sandboxtest.AddMismatchedAction(t, srv)
	opaque := sandboxtest.AddOpaqueAction(t, srv)
	e := open(t, paths)
	defer e.Close()
	connect(t, e)

	before, _ := os.ReadFile(paths.JournalFile("p"))
	_, err := decideShown(t, e, bad, true)
	if !errors.Is(err, ErrNotShown) || !strings.Contains(err.Error(), "payload SHA-256") {
		t.Fatalf("deciding a mismatched message = %v, want a refusal naming the payload", err)
	}
	after, _ := os.ReadFile(paths.JournalFile("p"))
	if strings.Count(string(after), `"kind":"decision"`) != strings.Count(string(before), `"kind":"decision"`) {
		t.Fatal("a decision was journaled (so signed) for a mismatched message")
	}
	if info, _ := srv.Action(bad); len(info.Decisions) != 0 {
		t.Fatalf("a decision reached the server: %+v", info.Decisions)
	}

	out, err := decideShown(t, e, opaque, false)
	if err != nil || out.Result != ResultAccepted {
		t.Fatalf("reject of an opaque-message action = %+v, %v", out, err)
	}
	j, _ := os.ReadFile(paths.JournalFile("p"))
	if !strings.Contains(string(j), `"action_id":"`+opaque+`"`) || !strings.Contains(string(j), `"binding":"unbound"`) {
		t.Fatal("the journal does not record the opaque message as unbound")
	}
}

// The message must be the very bytes the operator was shown.
func TestDecideRefusesAnotherMessageThanShown(t *testing.T) {
	_, paths, _ := setupProtocol(t, sandbox.ProtocolExtended, sandbox.Options{})
	e := open(t, paths)
	defer e.Close()
	connect(t, e)
	it := pick(t, e.Pending(), VerdictApprove)
	_, err := e.Decide(context.Background(), Decision{ActionID: it.Action.ID, Approve: false, Verdict: it.Verdict.Level,
		Override: "x", MessageSHA256: strings.Repeat("ab", 32)})
	if !errors.Is(err, ErrNotShown) {
		t.Fatalf("Decide with another message hash = %v, want ErrNotShown", err)
	}
}

// Malformed actions are skipped with a notice naming them; the others
// are listed.
func TestMalformedActionIsSkippedWithANotice(t *testing.T) {
	sandboxtest.EachProtocol(t, func(t *testing.T, p sandbox.Protocol) {
		srv, paths, _ := setupProtocol(t, p, sandbox.Options{AdminApproveAfter: 1})
		bad := sandboxtest.AddMalformedAction(t, srv, sandbox.MalformedMessages)
		e := open(t, paths)
		defer e.Close()
		ctx := context.Background()
		if err := e.Unlock(testPass); err != nil {
			t.Fatal(err)
		}
		if err := e.SignIn(ctx); err != nil {
			t.Fatal(err)
		}
		drainEvents(e)
		if _, err := e.LoadPending(ctx); err != nil {
			t.Fatal(err)
		}
		if len(e.Pending()) == 0 {
			t.Fatal("one malformed action hid the others")
		}
		named := false
		for _, ev := range drainEvents(e) {
			if n, ok := ev.(Notice); ok && strings.Contains(n.Text, "malformed") && strings.Contains(n.Text, bad) {
				named = true
			}
		}
		if !named {
			t.Fatalf("no notice names the malformed action %s", bad)
		}
	})
}

// The journal records a registration awaiting the Admin Policy, then its
// approval, both signed.
func TestRegistrationAwaitingAdminIsJournaled(t *testing.T) {
	srv, paths, _ := setupProtocol(t, sandbox.ProtocolExtended, sandbox.Options{AdminApproval: true})
	srv.ApproveKeyUpdates()
	e := open(t, paths)
	if err := e.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := e.SignIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Close()
	var statuses []string
	j, _, err := journal.Open(paths.JournalFile("p"), journal.Options{OnEntry: func(kind journal.Kind, body []byte) {
		if kind == journal.KindKeyRegistered {
			switch {
			case strings.Contains(string(body), StatusAwaitingAdmin):
				statuses = append(statuses, StatusAwaitingAdmin)
			case strings.Contains(string(body), `"status":"`+StatusRegistered+`"`):
				statuses = append(statuses, StatusRegistered)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if len(statuses) != 2 || statuses[0] != StatusAwaitingAdmin || statuses[1] != StatusRegistered {
		t.Fatalf("key-registered entries = %v, want awaiting then registered", statuses)
	}
}

// A service that asks to sign the digest this key signs for its journal's
// anchor key (which would hand out the anchor's MAC key) is refused before
// anything is signed, for an approve and a reject alike.
func TestReservedJournalMessageIsRefused(t *testing.T) {
	srv, paths, _ := setupProtocol(t, sandbox.ProtocolExtended, sandbox.Options{})
	e := open(t, paths)
	defer e.Close()
	jid, err := hex.DecodeString(e.jr.State().JournalID)
	if err != nil || len(jid) != 16 {
		t.Fatalf("journal ID %q", e.jr.State().JournalID)
	}
	d := sha256.Sum256(append([]byte("qapprove/journal-anchor-key/v1\n"), jid...))
	id := sandboxtest.AddAction(t, srv, sandbox.CustomAction{RawMessage: hex.EncodeToString(d[:])})
	connect(t, e)
	for _, approve := range []bool{true, false} {
		if _, err := decideShown(t, e, id, approve); !errors.Is(err, ErrReservedMessage) {
			t.Fatalf("deciding (approve=%v) the anchor-key digest = %v, want ErrReservedMessage", approve, err)
		}
	}
	if info, _ := srv.Action(id); len(info.Decisions) != 0 {
		t.Fatalf("a decision reached the server: %+v", info.Decisions)
	}
	// Another 32-byte digest is signed as an unbound message.
	other := sandboxtest.AddAction(t, srv, sandbox.CustomAction{RawMessage: strings.Repeat("ab", 32)})
	connect(t, e)
	if out, err := decideShown(t, e, other, false); err != nil || out.Result != ResultAccepted {
		t.Fatalf("reject of another digest = %+v, %v", out, err)
	}
}
