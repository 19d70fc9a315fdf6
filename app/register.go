package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
)

// Registration walks the "Register BLS & EC keys" flow one step at a time,
// so the wizard, the non-interactive command and the demo share it:
// CheckCredentials → GenerateKeys → Store → Register. Abort undoes a
// stored bundle that never got registered. Call Close when done: it wipes
// the secrets it holds.
type Registration struct {
	Paths    storage.Paths
	Profile  string          // profile name
	Settings storage.Profile // API base URL, workspace ID, API key ID
	Backend  secrets.Backend // where the bundle goes
	HTTP     client.Config   // optional overrides (HTTP client, timeouts); URL/IDs come from Settings
	KDF      secrets.KDF     // the key-derivation policy (zero: production)
	// WrapPIN asks for the PKCS#11 token PIN when Settings.WrapKind is
	// "pkcs11" and no pkcs11_pin_file is set.
	WrapPIN PINFunc

	apiSecret []byte
	sec       *secrets.Secrets
	bundle    *secrets.Bundle
	stored    bool
	approved  bool // the API accepted the signed key update
	awaiting  bool // the key update was still pending after our approval
	done      bool
	actionID  string
	name      string
}

// SetAPISecret takes a copy of the API secret (base64 text as issued).
func (r *Registration) SetAPISecret(secret []byte) {
	clear(r.apiSecret)
	r.apiSecret = append([]byte(nil), secret...)
}

func (r *Registration) client() (*client.Client, error) {
	cfg := r.HTTP
	cfg.BaseURL, cfg.WorkspaceID, cfg.APIKeyID = r.Settings.APIBaseURL, r.Settings.WorkspaceID, r.Settings.APIKeyID
	cfg.Credentials = client.StaticSecret(r.apiSecret)
	return client.New(cfg)
}

// CheckCredentials validates the profile values and fetches a token with
// the API key and secret (step 1), so a wrong key or secret is caught
// before any key is generated.
func (r *Registration) CheckCredentials(ctx context.Context) error {
	if err := r.Settings.Validate(); err != nil {
		return err
	}
	if len(r.apiSecret) == 0 {
		return errors.New("the API secret is empty")
	}
	if _, err := client.DecodeSecret(r.apiSecret); err != nil {
		return errors.New("the API secret is not valid base64 text as issued by Qredo")
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	if err := c.Token(ctx); err != nil {
		return fmt.Errorf("could not sign in with this API key and secret: %w", err)
	}
	return nil
}

// GenerateKeys makes a fresh BLS and EC key pair locally (step 2).
func (r *Registration) GenerateKeys() error {
	sec, err := secrets.GenerateKeys()
	if err != nil {
		return err
	}
	r.sec.Zero()
	r.sec = sec
	return nil
}

// PublicKeys returns the generated public keys (after GenerateKeys).
func (r *Registration) PublicKeys() (qbls.PublicKey, eckey.PublicKey, bool) {
	if r.sec == nil {
		return qbls.PublicKey{}, eckey.PublicKey{}, false
	}
	return r.sec.BLS.Public(), r.sec.EC.Public(), true
}

// Store seals the secrets under passphrase, wraps the bundle when
// Settings.WrapKind asks for a KMS or PKCS#11 wrap, saves it and reads it
// back and decrypts it (through the wrap) to prove the round trip (step 4).
func (r *Registration) Store(passphrase []byte) error {
	if r.sec == nil {
		return errors.New("no keys generated yet")
	}
	// Two scrypt runs (seal, then the read-back) leave 512 MiB of garbage.
	defer debug.FreeOSMemory()
	r.sec.APISecret = append(r.sec.APISecret[:0], r.apiSecret...)
	pub := secrets.BundlePublic{
		Profile: r.Profile, APIBaseURL: r.Settings.APIBaseURL,
		WorkspaceID: r.Settings.WorkspaceID, APIKeyID: r.Settings.APIKeyID,
	}
	b, err := r.KDF.Seal(pub, r.sec, passphrase)
	if err != nil {
		return err
	}
	ctx := context.Background()
	w, err := NewWrapper(ctx, r.Settings.WrapKind, r.Settings.Wrap, r.WrapPIN)
	if err != nil {
		return err
	}
	if w != nil {
		defer w.Close()
		if b, _, err = secrets.WrapBundle(ctx, b, w); err != nil {
			return err
		}
	}
	if err := secrets.SaveBundle(r.Backend, r.Profile, b); err != nil {
		return err
	}
	r.stored = true
	back, err := secrets.LoadBundle(r.Backend, r.Profile)
	if err != nil {
		return fmt.Errorf("the key was saved but could not be read back: %w", err)
	}
	inner, _, err := secrets.UnwrapBundle(ctx, back, w)
	if err != nil {
		return fmt.Errorf("the key was saved but its wrap does not open again: %w", err)
	}
	s, err := r.KDF.Open(inner, passphrase)
	if err != nil {
		return fmt.Errorf("the key was saved but could not be decrypted again: %w", err)
	}
	same := s.BLS == r.sec.BLS && s.EC == r.sec.EC
	s.Zero()
	if !same {
		return errors.New("the key read back differs from the one saved")
	}
	r.bundle = back
	return nil
}

// Register sends the public keys to the API, signs the returned update
// action with the new BLS key, approves it, marks the bundle registered,
// creates the journal (signed genesis) and records key-registered (step 5).
func (r *Registration) Register(ctx context.Context) error {
	if !r.stored || r.bundle == nil {
		return errors.New("store the key first")
	}
	// After the API accepted the key, a retry only redoes the local part:
	// sending the keys again would create another key update.
	if !r.approved {
		if err := r.registerWithAPI(ctx); err != nil {
			return err
		}
	}
	id := r.actionID
	if r.awaiting {
		r.bundle.AwaitingAdmin = id
	} else if r.bundle.Registered == nil {
		now := time.Now().UTC()
		r.bundle.Registered = &now
	}
	if err := secrets.SaveBundle(r.Backend, r.Profile, r.bundle); err != nil {
		return fmt.Errorf("keys registered (action %s) but the keystore could not be updated: %w", id, err)
	}
	if err := r.createJournal(id); err != nil {
		return fmt.Errorf("keys registered (action %s) but the journal could not be created: %w", id, err)
	}
	r.done = true
	return nil
}

// registerWithAPI sends the public keys, then signs and approves the key
// update the API returns.
func (r *Registration) registerWithAPI(ctx context.Context) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	blsPub, ecPub := r.sec.BLS.Public(), r.sec.EC.Public()
	id, err := c.RegisterKeys(ctx, blsPub[:], ecPub[:])
	if err != nil {
		return fmt.Errorf("could not send the public keys to the API: %w", err)
	}
	r.actionID = id
	a, err := c.GetAction(ctx, id)
	if err != nil {
		return fmt.Errorf("could not read the key update action %s: %w", id, err)
	}
	msg, err := a.MessageToSign(time.Now())
	if err != nil {
		return fmt.Errorf("key update action %s: %w", id, err)
	}
	sig := r.sec.BLS.Sign(msg)
	if err := c.Decide(ctx, id, true, sig[:]); err != nil {
		return fmt.Errorf("the API did not accept the signed key update %s: %w", id, err)
	}
	r.approved = true
	// Whether an Admin Policy approval is needed too is not documented:
	// read the update back and say "submitted" while it is still pending.
	if back, err := c.GetAction(ctx, id); err == nil && back.Status == client.StatusPending {
		r.awaiting = true
	}
	if name, err := c.APIKeyName(ctx); err == nil {
		r.name = name
	}
	return nil
}

func (r *Registration) createJournal(actionID string) error {
	signer := &KeySigner{Key: &r.sec.BLS}
	j, err := journal.Create(r.Paths.JournalFile(r.Profile), signer, journal.Options{
		Profile: r.Profile,
		Anchors: Anchors(r.Backend, r.Profile),
	})
	if err != nil {
		return err
	}
	defer j.Close()
	blsPub, ecPub := r.sec.BLS.Public(), r.sec.EC.Public()
	_, err = j.AppendSigned(journal.KindKeyRegistered, journal.KeyRegisteredBody{
		APIKeyID:     r.Settings.APIKeyID,
		BLSPublicKey: hex.EncodeToString(blsPub[:]),
		ECPublicKey:  hex.EncodeToString(ecPub[:]),
		ActionID:     actionID,
		Status:       registrationStatus(r.awaiting),
	}, signer)
	if err != nil {
		return err
	}
	_, err = j.Checkpoint(signer, "registered")
	return err
}

// Validate checks profile values before anything goes on the network
// (ValidateSettings).
func (r *Registration) Validate(p storage.Profile) error { return ValidateSettings(p) }

// UseSettings sets the profile values to register with (step 1).
func (r *Registration) UseSettings(p storage.Profile) { r.Settings = p }

// CurrentSettings are the profile values the registration uses.
func (r *Registration) CurrentSettings() storage.Profile { return r.Settings }

// SecretLimit is the longest API secret accepted, in bytes.
func (r *Registration) SecretLimit() int { return secrets.MaxAPISecretLen }

// ExportBackup writes the stored (encrypted) bundle to path, never over
// an existing file.
func (r *Registration) ExportBackup(path string) error {
	return ExportBundle(r.Backend, r.Profile, path, false)
}

// CheckHint says what to do after CheckCredentials failed with err.
func (r *Registration) CheckHint(err error) string {
	switch client.KindOf(err) {
	case client.KindAuth, client.KindForbidden:
		return "Check the API key ID and secret in the Qredo web app, then try again."
	case client.KindNetwork, client.KindServer, client.KindRateLimited:
		return "The API could not be reached or is failing: check the URL and your network, then press enter to try again."
	case client.KindNotFound, client.KindBadResponse, client.KindBadRequest:
		return "Check the API base URL and the workspace ID, then try again."
	}
	return "Check the values above, then try again."
}

// ActionID is the key update action (after Register).
func (r *Registration) ActionID() string { return r.actionID }

// AwaitingAdmin reports whether the key update was still pending after
// the proof-of-possession approval: submitted, awaiting approval under the
// Admin Policy (the bundle records it until it is seen approved).
func (r *Registration) AwaitingAdmin() bool { return r.awaiting }

// Registration states of the journal's key-registered entries.
const (
	StatusRegistered    = "registered"
	StatusAwaitingAdmin = "awaiting-admin"
)

func registrationStatus(awaiting bool) string {
	if awaiting {
		return StatusAwaitingAdmin
	}
	return StatusRegistered
}

// KeyName is the API key's name as the API reports it ("" if unknown).
func (r *Registration) KeyName() string { return r.name }

// Approved reports whether the API accepted the signed key update: from
// then on the stored bundle holds the only copy of a registered key.
func (r *Registration) Approved() bool { return r.approved }

// Abort removes a stored bundle that was never registered, so a failed
// registration leaves no half-done keychain item. keep=true leaves it. A
// bundle whose key the API already accepted is always kept: deleting it
// would lose a registered key.
func (r *Registration) Abort(keep bool) error {
	if r.done || r.approved || !r.stored || keep {
		return nil
	}
	err := r.Backend.Delete(r.Profile)
	if errors.Is(err, secrets.ErrNotFound) {
		err = nil
	}
	if err == nil {
		r.stored = false
	}
	return err
}

// Close wipes every secret the registration holds.
func (r *Registration) Close() {
	clear(r.apiSecret)
	r.apiSecret = nil
	if r.sec != nil {
		r.sec.Zero()
		r.sec = nil
	}
}

// KeySigner signs journal digests with a BLS key held by the caller.
type KeySigner struct{ Key *qbls.SecretKey }

// PublicKey is the key's public key.
func (s *KeySigner) PublicKey() qbls.PublicKey { return s.Key.Public() }

// Sign signs msg.
func (s *KeySigner) Sign(msg []byte) (qbls.Signature, error) { return s.Key.Sign(msg), nil }

// Anchors is the journal anchor store of a profile in a secrets backend.
// In the file keystore it is the two-slot file beside the keystore
// (<profile>.journal-anchor.slots: one fdatasync per append), which
// replaces the older JSON item on its first save.
func Anchors(be secrets.Backend, profile string) journal.AnchorStore {
	user := profile + secrets.AnchorSuffix
	item := journal.BackendAnchors(
		func() ([]byte, error) { return be.Get(user) },
		func(b []byte) error { return be.Set(user, b) },
		func(err error) bool { return errors.Is(err, secrets.ErrNotFound) },
	)
	fb, ok := be.(*secrets.FileBackend)
	if !ok {
		return item
	}
	p, err := fb.Path(user)
	if err != nil {
		return item
	}
	return journal.SlotAnchors(strings.TrimSuffix(p, ".json")+".slots", item, func() error {
		if err := be.Delete(user); err != nil && !errors.Is(err, secrets.ErrNotFound) {
			return err
		}
		return nil
	})
}
