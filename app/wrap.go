// wrap.go: the envelope wrap of the key bundle (AWS KMS or a PKCS#11
// token): building the wrapper from config.toml, the check before each
// decision (wrap_check = "decision"), and `keys rewrap`.

package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/wrap"
)

// ErrWrapRefused is wrapped by a decision refused because the bundle's
// KMS key or token no longer gives its data key (wrap_check = "decision").
var ErrWrapRefused = errors.New("the key's wrap refused")

// PINFunc supplies a PKCS#11 token PIN (from the terminal); the wrap
// clears what it returns.
type PINFunc func() ([]byte, error)

// maxPINFile bounds a PIN file.
const maxPINFile = 256

// pinSource is the PIN of w: pkcs11_pin_file when set, else ask.
func pinSource(w storage.Wrap, ask PINFunc) func() ([]byte, error) {
	if w.PKCS11PIN != "" {
		return func() ([]byte, error) {
			b, err := storage.ReadFileBounded(w.PKCS11PIN, maxPINFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read pkcs11_pin_file %s: %v", w.PKCS11PIN, errors.Unwrap(err))
			}
			if len(b) > maxPINFile {
				clear(b)
				return nil, fmt.Errorf("pkcs11_pin_file %s is larger than %d bytes", w.PKCS11PIN, maxPINFile)
			}
			pin := bytes.Clone(bytes.TrimRight(b, "\r\n"))
			clear(b)
			return pin, nil
		}
	}
	if ask != nil {
		return ask
	}
	return func() ([]byte, error) {
		return nil, errors.New("no token PIN: set pkcs11_pin_file in config.toml, or start the console from a terminal so it can ask")
	}
}

// regionOf is the region of a KMS key ARN (arn:aws:kms:REGION:…), or "".
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "kms" {
		return parts[3]
	}
	return ""
}

// NewWrapper returns the wrap of kind ("kms", "pkcs11"; nil for "" or
// "none") that makes new data keys, from the profile's settings. It does
// not touch the network or the token yet.
func NewWrapper(ctx context.Context, kind string, w storage.Wrap, pin PINFunc) (wrap.Wrapper, error) {
	switch kind {
	case "", wrap.KindNone:
		return nil, nil
	case wrap.KindKMS:
		region := w.KMSRegion
		if region == "" {
			region = regionOf(w.KMSKey)
		}
		k, err := wrap.NewKMS(ctx, wrap.KMSOptions{KeyARN: w.KMSKey, Region: region, Endpoint: w.KMSEndpoint, Timeout: w.Timeout()})
		if err != nil {
			return nil, err
		}
		return k, nil
	case wrap.KindPKCS11:
		p, err := wrap.NewPKCS11(wrap.PKCS11Options{Module: w.PKCS11Module, Token: w.PKCS11Token, Label: w.PKCS11Label,
			PIN: pinSource(w, pin), Timeout: w.Timeout()})
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("unknown wrap %q: use none, kms or pkcs11", kind)
}

// WrapperFor returns the wrap that opens bundle b on this machine: the
// key the bundle names, reached with the profile's settings (endpoint,
// region, PKCS#11 module, PIN). Nil when b is not wrapped.
func WrapperFor(ctx context.Context, b *secrets.Bundle, w storage.Wrap, pin PINFunc) (wrap.Wrapper, error) {
	if !b.Wrapped() {
		return nil, nil
	}
	switch b.Wrap.Kind {
	case wrap.KindKMS:
		w.KMSKey = b.Wrap.KeyARN
	case wrap.KindPKCS11:
		w.PKCS11Token, w.PKCS11Label = b.Wrap.Token, b.Wrap.Label
		if w.PKCS11Module == "" {
			return nil, fmt.Errorf("the key of profile %s is wrapped by %s: set pkcs11_module in config.toml to the token's PKCS#11 library", b.Profile, b.DescribeWrap())
		}
	}
	return NewWrapper(ctx, b.Wrap.Kind, w, pin)
}

// useBody is the journal's record of a wrap call.
func useBody(u *wrap.Use) journal.WrapUse {
	if u == nil {
		return journal.WrapUse{}
	}
	return journal.WrapUse{Wrap: u.Kind, KMSKeyARN: u.KeyARN, KMSRequestID: u.RequestID, Token: u.Token, KeyLabel: u.Label}
}

// checkWrapBeforeDecision re-asks the wrap when wrap_check = "decision".
// A revocation (disabled or denied key, deleted key, other context) also
// locks the session: the next unlock would be refused anyway.
func (e *Engine) checkWrapBeforeDecision(ctx context.Context) error {
	if !e.settings.CheckEachDecision() {
		return nil
	}
	err := e.sess.CheckWrap(ctx)
	if err == nil {
		return nil
	}
	if wrap.ReasonOf(err).Revoked() {
		e.mu.Lock()
		e.lockReason = "wrap revoked"
		e.mu.Unlock()
		e.sess.Lock()
	}
	return err
}

// WrapDescription says how the profile's bundle is protected.
func (e *Engine) WrapDescription() string { return e.sess.Bundle().DescribeWrap() }

// Rewrap moves the unlocked profile's bundle under another wrap (to is
// nil for none; the caller keeps ownership of to until it succeeds, then
// the engine closes it at Close). The keys and the passphrase stay: the
// EIP-2335 module is moved as it is. It checks that the new bundle opens
// through to, journals the move (signed), then saves it.
func (e *Engine) Rewrap(ctx context.Context, to wrap.Wrapper) (from, into string, err error) {
	if e.sess.Locked() {
		return "", "", secrets.ErrLocked
	}
	old := e.sess.Bundle()
	from = old.DescribeWrap()
	if !old.Wrapped() && to == nil {
		return from, from, errors.New("the key is not wrapped: nothing to rewrap")
	}
	inner, _, err := secrets.UnwrapBundle(ctx, old, e.wrapper)
	if err != nil {
		return from, "", err
	}
	nb, use := inner, wrap.Use{}
	if to != nil {
		if nb, use, err = secrets.WrapBundle(ctx, inner, to); err != nil {
			return from, "", err
		}
		back, _, err := secrets.UnwrapBundle(ctx, nb, to)
		if err != nil {
			return from, "", fmt.Errorf("the new wrap does not open again, nothing was changed: %w", err)
		}
		if back.Crypto.Cipher.Message != inner.Crypto.Cipher.Message {
			return from, "", errors.New("the new wrap gave back another module, nothing was changed")
		}
	}
	into = nb.DescribeWrap()
	body := journal.RewrappedBody{FromKind: old.WrapKind(), From: from, ToKind: nb.WrapKind(), To: into}
	if to != nil {
		body.WrapUse = useBody(&use)
	}
	if _, err := e.jr.AppendSigned(journal.KindRewrapped, body, e.signer()); err != nil {
		return from, into, fmt.Errorf("the rewrap could not be journaled, so it was not made: %w", err)
	}
	if err := secrets.SaveBundle(e.backend, e.opts.Profile, nb); err != nil {
		return from, into, fmt.Errorf("journaled, but the keystore could not be updated: %w", err)
	}
	if err := e.sess.Rewrap(nb, to); err != nil {
		return from, into, err
	}
	if e.wrapper != nil {
		_ = e.wrapper.Close() // the old token session: nothing to report
	}
	e.wrapper, e.bundle = to, nb
	return from, into, nil
}

// wrapShort names b's wrap for the header: "", "KMS" or "HSM".
func wrapShort(b *secrets.Bundle) string {
	switch b.WrapKind() {
	case wrap.KindKMS:
		return "KMS"
	case wrap.KindPKCS11:
		return "HSM"
	}
	return ""
}
