// Package wrap is the envelope layer around a key bundle: a 256-bit data
// key that an outside party holds the key to (AWS KMS, or an AES key that
// never leaves a PKCS#11 token), and AES-256-GCM under that data key. An
// unlock then needs the passphrase and that party's permission, which can
// be revoked centrally. No KMS or HSM signs for us: they only wrap.
package wrap

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of wrap. KindNone is a bundle under its passphrase alone.
const (
	KindNone   = "none"
	KindKMS    = "kms"
	KindPKCS11 = "pkcs11"
)

// DataKeySize is the size of a data key (AES-256).
const DataKeySize = 32

// DefaultTimeout bounds one call to the KMS or the token.
const DefaultTimeout = 10 * time.Second

// Bounds of a Record, which comes from the keychain (hostile input).
const (
	maxKeyIDLen    = 256 // a KMS key ARN or alias ARN
	maxLabelLen    = 64  // a PKCS#11 token or key label
	maxWrappedSize = 1024
)

// Context binds a data key to one profile's key: the KMS encryption
// context, and the additional data of the token's AES-GCM.
type Context struct {
	Profile        string
	APIKeyID       string
	BLSFingerprint string // qbls.Fingerprint of the BLS public key
}

// kmsContext is the KMS encryption context of c.
func (c Context) kmsContext() map[string]string {
	return map[string]string{
		"qapprove:profile":         c.Profile,
		"qapprove:api_key_id":      c.APIKeyID,
		"qapprove:bls_fingerprint": c.BLSFingerprint,
	}
}

// AAD is c as additional authenticated data, domain-separated by what.
func (c Context) AAD(what string) []byte {
	return fmt.Appendf(nil, "qapprove/wrap/v1\n%s\n%d:%s\n%d:%s\n%d:%s", what,
		len(c.Profile), c.Profile, len(c.APIKeyID), c.APIKeyID, len(c.BLSFingerprint), c.BLSFingerprint)
}

// Record is what a bundle keeps about its wrap: public, no secret.
type Record struct {
	Kind    string `json:"kind"`              // KindKMS or KindPKCS11
	KeyARN  string `json:"key_arn,omitempty"` // KMS key ARN
	Token   string `json:"token,omitempty"`   // PKCS#11 token label
	Label   string `json:"label,omitempty"`   // PKCS#11 key label
	DataKey []byte `json:"data_key"`          // the wrapped data key (base64 in JSON)
}

// Validate checks a record read from outside.
func (r *Record) Validate() error {
	switch r.Kind {
	case KindKMS:
		if err := printable("key_arn", r.KeyARN, maxKeyIDLen); err != nil {
			return err
		}
		if r.Token != "" || r.Label != "" {
			return errors.New("wrap: a KMS wrap names no token or label")
		}
	case KindPKCS11:
		if err := printable("token", r.Token, maxLabelLen); err != nil {
			return err
		}
		if err := printable("label", r.Label, maxLabelLen); err != nil {
			return err
		}
		if r.KeyARN != "" {
			return errors.New("wrap: a PKCS#11 wrap names no KMS key")
		}
	default:
		return fmt.Errorf("wrap: unknown kind %q (this qapprove knows kms and pkcs11)", clip(r.Kind))
	}
	if len(r.DataKey) == 0 || len(r.DataKey) > maxWrappedSize {
		return fmt.Errorf("wrap: the wrapped data key must be 1 to %d bytes", maxWrappedSize)
	}
	return nil
}

// Describe says in one line how a bundle with this record is wrapped.
func (r *Record) Describe() string {
	if r == nil {
		return "passphrase only (no KMS or HSM wrap)"
	}
	switch r.Kind {
	case KindKMS:
		return "AWS KMS key " + r.KeyARN + " + passphrase"
	case KindPKCS11:
		return fmt.Sprintf("PKCS#11 token %q, key %q + passphrase", r.Token, r.Label)
	}
	return r.Kind
}

func printable(field, v string, maxLen int) error {
	if v == "" || len(v) > maxLen {
		return fmt.Errorf("wrap: %s must be 1 to %d characters", field, maxLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Errorf("wrap: %s must be printable ASCII", field)
		}
	}
	return nil
}

// Use is what one call to the wrap reports for the journal.
type Use struct {
	Kind      string // KindKMS or KindPKCS11
	KeyARN    string // KMS key ARN
	RequestID string // the KMS request ID ("" when the server sent none)
	Token     string // PKCS#11 token label
	Label     string // PKCS#11 key label
}

// Wrapper makes and opens data keys. Implementations bound every call by
// their timeout and return *Error on failure.
type Wrapper interface {
	// Kind is KindKMS or KindPKCS11.
	Kind() string
	// NewDataKey returns a fresh data key (the caller clears it) and the
	// record that lets Unwrap recover it under the same context.
	NewDataKey(ctx context.Context, c Context) (dk []byte, rec Record, use Use, err error)
	// Unwrap returns the data key of rec (the caller clears it).
	Unwrap(ctx context.Context, rec Record, c Context) (dk []byte, use Use, err error)
	// Close releases the connection (the token session).
	Close() error
}

// ErrRefused is wrapped by every error of a wrap: the data key could not
// be had, so nothing can be unlocked or signed.
var ErrRefused = errors.New("the key's wrap refused to open")

// Reason says why a wrap refused, so callers and tests can tell cases apart.
type Reason string

// Reasons of Error.
const (
	ReasonDisabled    Reason = "disabled"     // the KMS key is disabled
	ReasonDenied      Reason = "denied"       // the KMS refused this identity
	ReasonContext     Reason = "context"      // wrong encryption context, or the wrapped key was altered
	ReasonKeyDeleted  Reason = "key-deleted"  // the KMS key or the token key is gone (or pending deletion)
	ReasonUnreachable Reason = "unreachable"  // the KMS did not answer in time, or no credentials
	ReasonTokenAbsent Reason = "token-absent" // the PKCS#11 token is not present
	ReasonWrongPIN    Reason = "wrong-pin"    // the token refused the PIN (or it is locked)
	ReasonConfig      Reason = "config"       // the wrap is not configured on this machine
)

// Revoked reports whether r means that someone took access away (as
// opposed to a network or configuration problem).
func (r Reason) Revoked() bool {
	switch r {
	case ReasonDisabled, ReasonDenied, ReasonKeyDeleted, ReasonContext:
		return true
	}
	return false
}

// Error is a refusal of the wrap, with a message that says who can
// restore access. It never holds a secret.
type Error struct {
	Reason Reason
	Msg    string
}

// Error implements error.
func (e *Error) Error() string { return e.Msg }

// Is makes every *Error match ErrRefused.
func (e *Error) Is(target error) bool { return target == ErrRefused }

// ReasonOf returns the Reason of a wrap error ("" when err is not one).
func ReasonOf(err error) Reason {
	var we *Error
	if errors.As(err, &we) {
		return we.Reason
	}
	return ""
}

func refused(r Reason, format string, a ...any) *Error {
	return &Error{Reason: r, Msg: fmt.Sprintf(format, a...)}
}

// SealBox encrypts plain under dk with AES-256-GCM and a random nonce:
// nonce ‖ ciphertext ‖ tag.
func SealBox(dk, plain, aad []byte) ([]byte, error) {
	g, err := newGCM(dk)
	if err != nil {
		return nil, err
	}
	out := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return g.Seal(out, out, plain, aad), nil
}

// ErrBoxAltered is returned by OpenBox when the box does not authenticate.
var ErrBoxAltered = errors.New("the wrapped keystore does not authenticate under its data key (altered, or bound to another profile or key)")

// OpenBox decrypts a SealBox output.
func OpenBox(dk, box, aad []byte) ([]byte, error) {
	g, err := newGCM(dk)
	if err != nil {
		return nil, err
	}
	if len(box) < g.NonceSize()+g.Overhead() {
		return nil, ErrBoxAltered
	}
	plain, err := g.Open(nil, box[:g.NonceSize()], box[g.NonceSize():], aad)
	if err != nil {
		return nil, ErrBoxAltered
	}
	return plain, nil
}

// BoxOverhead is what SealBox adds to the plaintext.
const BoxOverhead = 12 + 16

func newGCM(dk []byte) (cipher.AEAD, error) {
	if len(dk) != DataKeySize {
		return nil, fmt.Errorf("wrap: data key must be %d bytes", DataKeySize)
	}
	b, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// withTimeout runs fn bounded by d (DefaultTimeout when 0). fn that does
// not honour ctx (a blocking C call) is abandoned at the deadline; a result
// it returns later is passed to drop.
func withTimeout[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error), drop func(T)) (T, error) {
	if d <= 0 {
		d = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		cancel()
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			r := <-ch
			cancel()
			if r.err == nil && drop != nil {
				drop(r.v)
			}
		}()
		var zero T
		return zero, ctx.Err()
	}
}

// clip bounds a value quoted in a message and keeps it on one line.
func clip(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
