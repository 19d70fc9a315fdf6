package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
	"github.com/qapprove/qapprove/storage/wrap"
	"github.com/qapprove/qapprove/storage/wrap/wraptest"
)

// awsTestEnv gives the AWS chain the test credentials and no instance
// metadata service to wait for.
func awsTestEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCALKMSTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-kms-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// registerWrapped registers profile "p" with the wrap settings w.
func registerWrapped(t *testing.T, w storage.Wrap) (*sandbox.Server, storage.Paths) {
	t.Helper()
	srv, base := sandboxtest.StartProtocol(t, sandbox.ProtocolExtended, sandbox.Options{})
	paths := storage.ResolvePaths(t.TempDir())
	wid, kid, secret := srv.Credentials()
	prof := storage.Profile{APIBaseURL: base, WorkspaceID: wid, APIKeyID: kid, Wrap: w}
	if err := storage.SaveConfig(paths.ConfigFile(), &storage.Config{Profiles: map[string]storage.Profile{"p": prof}}); err != nil {
		t.Fatal(err)
	}
	r := &Registration{Paths: paths, Profile: "p", Settings: prof, Backend: secrets.NewFileBackend(paths), KDF: secretstest.KDF()}
	defer r.Close()
	r.SetAPISecret([]byte(secret))
	ctx := context.Background()
	for _, step := range []func() error{
		func() error { return r.CheckCredentials(ctx) }, r.GenerateKeys,
		func() error { return r.Store(testPass) }, func() error { return r.Register(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatalf("registration: %v", err)
		}
	}
	return srv, paths
}

func setWrap(t *testing.T, paths storage.Paths, w storage.Wrap) {
	t.Helper()
	cfg, err := storage.LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Profiles["p"]
	p.Wrap = w
	cfg.Profiles["p"] = p
	if err := storage.SaveConfig(paths.ConfigFile(), cfg); err != nil {
		t.Fatal(err)
	}
}

// lastEntry returns the body of the newest journal entry of kind.
func lastEntry(t *testing.T, paths storage.Paths, kind journal.Kind) []byte {
	t.Helper()
	data, err := os.ReadFile(paths.JournalFile("p"))
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if e, err := journal.ParseLine(line); err == nil && e.Kind == kind {
			body = e.Body
		}
	}
	if body == nil {
		t.Fatalf("no %s entry in the journal", kind)
	}
	return body
}

// TestKMSWrapDecisions: a key registered under a KMS wrap with
// wrap_check = "decision"; disabling the KMS key refuses the very next
// decision (nothing reaches the API) and the next unlock; re-enabling
// restores both. Then the bundle moves to a PKCS#11 token and back to
// none, keeping its keys.
func TestKMSWrapDecisions(t *testing.T) {
	kms := wraptest.StartKMS(t)
	awsTestEnv(t)
	arn := kms.CreateKey(t)
	kw := storage.Wrap{WrapKind: wrap.KindKMS, KMSKey: arn, KMSEndpoint: kms.Endpoint, WrapCheck: storage.WrapCheckDecision, WrapTimeout: "5s"}
	srv, paths := registerWrapped(t, kw)
	b, err := secrets.LoadBundle(secrets.NewFileBackend(paths), "p")
	if err != nil || b.WrapKind() != wrap.KindKMS || b.Wrap.KeyARN != arn {
		t.Fatalf("stored bundle: %v %+v", err, b)
	}

	e := open(t, paths)
	defer func() { _ = e.Close() }()
	connect(t, e)
	if u := lastEntry(t, paths, journal.KindUnlock); !bytes.Contains(u, []byte(`"wrap":"kms"`)) || !bytes.Contains(u, []byte(arn)) {
		t.Fatalf("unlock entry %s does not name the KMS key", u)
	}
	ctx := context.Background()
	first := pick(t, e.Pending(), "approve")
	if out, err := decideShown(t, e, first.Action.ID, true); err != nil || out.Result != ResultAccepted {
		t.Fatalf("approve: %+v %v", out, err)
	}

	kms.Disable(t, arn)
	second := pick(t, e.Pending(), "reject")
	_, err = decideShown(t, e, second.Action.ID, false)
	if !errors.Is(err, ErrWrapRefused) || !bytes.Contains([]byte(err.Error()), []byte("disabled")) {
		t.Fatalf("decision after disabling the key: %v", err)
	}
	if info, _ := srv.Action(second.Action.ID); len(info.Decisions) != 0 {
		t.Fatalf("a decision reached the API after the revocation: %+v", info.Decisions)
	}
	if locked, _ := e.Locked(); !locked {
		t.Fatal("the session stayed unlocked after the revocation")
	}
	if err := e.Unlock(testPass); wrap.ReasonOf(err) != wrap.ReasonDisabled {
		t.Fatalf("unlock with the key disabled: %v", err)
	}
	if f := lastEntry(t, paths, journal.KindUnlockFailed); !bytes.Contains(f, []byte(`"wrap_refused":"disabled"`)) {
		t.Fatalf("unlock-failed entry %s", f)
	}

	kms.Enable(t, arn)
	if err := e.Unlock(testPass); err != nil {
		t.Fatalf("unlock after re-enabling: %v", err)
	}
	if out, err := decideShown(t, e, second.Action.ID, false); err != nil || out.Result != ResultAccepted {
		t.Fatalf("reject after re-enabling: %+v %v", out, err)
	}

	// KMS → PKCS#11 token.
	h := wraptest.StartSoftHSM(t)
	h.GenerateKey(t, "qapprove")
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(h.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := storage.Wrap{PKCS11Module: h.Module, PKCS11Token: h.Token, PKCS11Label: "qapprove", PKCS11PIN: pinFile, WrapCheck: storage.WrapCheckDecision}
	to, err := NewWrapper(ctx, wrap.KindPKCS11, pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	from, into, err := e.Rewrap(ctx, to)
	if err != nil || from == into {
		t.Fatalf("rewrap to PKCS#11: %q → %q: %v", from, into, err)
	}
	if r := lastEntry(t, paths, journal.KindRewrapped); !bytes.Contains(r, []byte(`"from_kind":"kms","from"`)) || !bytes.Contains(r, []byte(`"to_kind":"pkcs11"`)) {
		t.Fatalf("rewrapped entry %s", r)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	kms.Stop() // the KMS is no longer needed
	setWrap(t, paths, pw)
	e = open(t, paths)
	if err := e.Unlock(testPass); err != nil {
		t.Fatalf("unlock through the token: %v", err)
	}
	if u := lastEntry(t, paths, journal.KindUnlock); !bytes.Contains(u, []byte(`"key_label":"qapprove"`)) {
		t.Fatalf("unlock entry %s does not name the token key", u)
	}
	if w := e.Info().Wrap; w != "HSM" {
		t.Fatalf("Info().Wrap = %q under a token, want HSM", w)
	}
	// PKCS#11 → none.
	if _, _, err := e.Rewrap(ctx, nil); err != nil {
		t.Fatalf("rewrap to none: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	setWrap(t, paths, storage.Wrap{})
	e = open(t, paths)
	if err := e.Unlock(testPass); err != nil {
		t.Fatalf("unlock without a wrap: %v", err)
	}
	if e.WrapDescription() != (*wrap.Record)(nil).Describe() || e.Info().Wrap != "" {
		t.Fatalf("still wrapped: %s (%q)", e.WrapDescription(), e.Info().Wrap)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	pk, _ := e.bundle.BLSPublic()
	rep, err := journal.Verify(paths.JournalFile("p"), journal.VerifyOptions{ExpectedPublicKey: &pk})
	if err != nil || !rep.Intact || rep.Decisions != 2 {
		t.Fatalf("journal: %v %+v", err, rep)
	}
}

// TestKMSDownTimesOut: with the KMS gone, the unlock fails with a clear
// error, bounded by the wrap timeout.
func TestKMSDownTimesOut(t *testing.T) {
	kms := wraptest.StartKMS(t)
	awsTestEnv(t)
	arn := kms.CreateKey(t)
	_, paths := registerWrapped(t, storage.Wrap{WrapKind: wrap.KindKMS, KMSKey: arn, KMSEndpoint: kms.Endpoint, WrapTimeout: "2s"})
	kms.Stop()
	e := open(t, paths)
	defer func() { _ = e.Close() }()
	err := e.Unlock(testPass)
	if wrap.ReasonOf(err) != wrap.ReasonUnreachable || !bytes.Contains([]byte(err.Error()), []byte(kms.Endpoint)) {
		t.Fatalf("unlock with the KMS down: %v", err)
	}
}
