package wrap

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// PKCS11Options configure the PKCS#11 wrap: an AES key that never leaves
// the token, found by its label.
type PKCS11Options struct {
	Module string // path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
	Token  string // token label
	Label  string // label of the AES wrapping key on the token
	// PIN returns the token's user PIN (from the terminal or a file); it
	// is called at each login and the result is cleared after use.
	PIN     func() ([]byte, error)
	Timeout time.Duration // per call (0 = DefaultTimeout)
}

// gcmNonceSize is the AES-GCM nonce the token is given.
const gcmNonceSize = 12

// PKCS11 wraps data keys with AES-GCM on a PKCS#11 token. It logs in at
// the first use and keeps the session until Close or a token error.
type PKCS11 struct {
	opts PKCS11Options

	mu  sync.Mutex
	ctx *crypto11.Context
}

// NewPKCS11 returns the wrap; it does not touch the token yet.
func NewPKCS11(o PKCS11Options) (*PKCS11, error) {
	if o.Module == "" || o.Token == "" || o.Label == "" {
		return nil, refused(ReasonConfig, "the PKCS#11 wrap needs the module path, the token label and the key label (pkcs11_module, pkcs11_token, pkcs11_label)")
	}
	if o.PIN == nil {
		return nil, refused(ReasonConfig, "the PKCS#11 wrap needs the token PIN (from the terminal or pkcs11_pin_file)")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &PKCS11{opts: o}, nil
}

// Kind implements Wrapper.
func (p *PKCS11) Kind() string { return KindPKCS11 }

// Close implements Wrapper: it logs out of the token. A call still hung
// in the token (abandoned at its timeout) is not waited for longer than
// the timeout; the session is then dropped when that call returns.
func (p *PKCS11) Close() error {
	done := make(chan struct{})
	go func() {
		p.mu.Lock()
		p.dropLocked()
		p.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(p.opts.Timeout):
	}
	return nil
}

func (p *PKCS11) dropLocked() {
	if p.ctx != nil {
		_ = p.ctx.Close() // logging out: nothing to report
		p.ctx = nil
	}
}

// NewDataKey implements Wrapper: a random data key, encrypted on the
// token with AES-GCM (additional data: c). The record is nonce ‖ ciphertext.
func (p *PKCS11) NewDataKey(ctx context.Context, c Context) ([]byte, Record, Use, error) {
	dk := make([]byte, DataKeySize)
	nonce := make([]byte, gcmNonceSize)
	if _, err := rand.Read(dk); err != nil {
		return nil, Record{}, Use{}, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, Record{}, Use{}, err
	}
	sealed, err := p.op(ctx, func(key *crypto11.SecretKey) (out []byte, err error) {
		g, err := key.NewGCM()
		if err != nil {
			return nil, err
		}
		defer func() { // crypto11's Seal panics on a token error
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("%v", r)
			}
		}()
		return g.Seal(nil, nonce, dk, c.AAD("pkcs11-data-key")), nil
	})
	if err != nil {
		clear(dk)
		return nil, Record{}, Use{}, err
	}
	rec := Record{Kind: KindPKCS11, Token: p.opts.Token, Label: p.opts.Label, DataKey: append(nonce, sealed...)}
	if err := rec.Validate(); err != nil {
		clear(dk)
		return nil, Record{}, Use{}, refused(ReasonConfig, "%v", err)
	}
	return dk, rec, p.use(), nil
}

// Unwrap implements Wrapper: AES-GCM decryption on the token.
func (p *PKCS11) Unwrap(ctx context.Context, rec Record, c Context) ([]byte, Use, error) {
	if rec.Kind != KindPKCS11 {
		return nil, Use{}, refused(ReasonConfig, "the keystore is wrapped by %s, not a PKCS#11 token", clip(rec.Kind))
	}
	if rec.Token != p.opts.Token || rec.Label != p.opts.Label {
		return nil, Use{}, refused(ReasonConfig, "the keystore is wrapped by key %q on token %q, but this machine is set up for key %q on token %q (pkcs11_token, pkcs11_label)",
			rec.Label, rec.Token, p.opts.Label, p.opts.Token)
	}
	if len(rec.DataKey) <= gcmNonceSize {
		return nil, Use{}, refused(ReasonContext, "the wrapped data key is too short: the keystore was altered")
	}
	dk, err := p.op(ctx, func(key *crypto11.SecretKey) ([]byte, error) {
		g, err := key.NewGCM()
		if err != nil {
			return nil, err
		}
		dk, err := g.Open(nil, rec.DataKey[:gcmNonceSize], rec.DataKey[gcmNonceSize:], c.AAD("pkcs11-data-key"))
		if err != nil && decryptRefused(err) {
			return nil, p.notThisKey()
		}
		return dk, err
	})
	if err != nil {
		return nil, Use{}, err
	}
	if len(dk) != DataKeySize {
		clear(dk)
		return nil, Use{}, refused(ReasonContext, "the token returned a data key of an unexpected size")
	}
	return dk, p.use(), nil
}

func (p *PKCS11) use() Use { return Use{Kind: KindPKCS11, Token: p.opts.Token, Label: p.opts.Label} }

// op logs in if needed, finds the key and runs fn, bounded by the
// timeout. A token error drops the session, so the next call logs in
// again. The work runs under p.mu in its own goroutine: a call abandoned
// at the deadline still finishes before the next one starts.
func (p *PKCS11) op(ctx context.Context, fn func(*crypto11.SecretKey) ([]byte, error)) ([]byte, error) {
	out, err := withTimeout(ctx, p.opts.Timeout, func(context.Context) ([]byte, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		out, err := p.opLocked(fn)
		if r := ReasonOf(err); r != "" && r != ReasonKeyDeleted {
			p.dropLocked()
		}
		return out, err
	}, func(b []byte) { clear(b) })
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil, refused(ReasonUnreachable, "PKCS#11 token %q did not answer within %s: unlock refused, nothing was signed. Check the token and its reader", p.opts.Token, p.opts.Timeout)
	}
	return out, err
}

func (p *PKCS11) opLocked(fn func(*crypto11.SecretKey) ([]byte, error)) ([]byte, error) {
	if err := p.loginLocked(); err != nil {
		return nil, err
	}
	keys, err := p.ctx.FindKeys(nil, []byte(p.opts.Label))
	if err != nil {
		return nil, p.explain(err)
	}
	if len(keys) > 1 {
		return nil, refused(ReasonConfig, "PKCS#11 token %q holds %d keys labelled %q: the wrapping key must be unique; ask the HSM administrators", p.opts.Token, len(keys), p.opts.Label)
	}
	if len(keys) == 0 {
		return nil, refused(ReasonKeyDeleted, "there is no AES key labelled %q on PKCS#11 token %q (deleted, or never created): unlock refused, nothing was signed. The HSM administrators can restore it from the HSM's backup; otherwise restore the keystore from a backup made under another wrap", p.opts.Label, p.opts.Token)
	}
	out, err := fn(keys[0])
	if err != nil {
		return nil, p.explain(err)
	}
	return out, nil
}

// loginLocked opens the token and logs in with the PIN (p.mu held).
func (p *PKCS11) loginLocked() error {
	if p.ctx != nil {
		return nil
	}
	pin, err := p.opts.PIN()
	if err != nil {
		return refused(ReasonConfig, "the PIN of PKCS#11 token %q could not be read: %s", p.opts.Token, clip(err.Error()))
	}
	// crypto11 takes the PIN as a string, which cannot be wiped; the
	// byte copy is.
	cfg := &crypto11.Config{Path: p.opts.Module, TokenLabel: p.opts.Token, Pin: string(pin), GCMIVLength: gcmNonceSize}
	clear(pin)
	c, err := crypto11.Configure(cfg)
	if err != nil {
		return p.explain(err)
	}
	p.ctx = c
	return nil
}

// explain turns a token error into an *Error that says who can restore
// access.
func (p *PKCS11) explain(err error) error {
	if ReasonOf(err) != "" {
		return err
	}
	nothing := "unlock refused, nothing was signed"
	if code, ok := ckr(err); ok {
		switch code {
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID:
			return refused(ReasonWrongPIN, "PKCS#11 token %q refused the PIN: %s. Try again with the right PIN; the token's security officer can reset it", p.opts.Token, nothing)
		case pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED:
			return refused(ReasonWrongPIN, "the PIN of PKCS#11 token %q is locked or expired: %s. The token's security officer can unlock it", p.opts.Token, nothing)
		case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_DEVICE_ERROR:
			return p.absent(nothing)
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "could not find PKCS#11 token"):
		return p.absent(nothing)
	case strings.Contains(msg, "failed to create module context") || strings.Contains(msg, "failed to open module"):
		return refused(ReasonConfig, "the PKCS#11 module %s could not be loaded: %s. Check pkcs11_module", p.opts.Module, nothing)
	}
	return refused(ReasonTokenAbsent, "PKCS#11 token %q failed (%s): %s. Check the token, or ask the HSM administrators", p.opts.Token, clip(msg), nothing)
}

func (p *PKCS11) absent(nothing string) error {
	return refused(ReasonTokenAbsent, "PKCS#11 token %q is not present (module %s): %s. Insert or connect the token; the HSM administrators can restore access", p.opts.Token, p.opts.Module, nothing)
}

// decryptRefused reports whether a C_Decrypt error means the data did
// not authenticate (SoftHSM2 says CKR_GENERAL_ERROR for a GCM tag mismatch).
func decryptRefused(err error) bool {
	code, ok := ckr(err)
	if !ok {
		return false
	}
	switch code {
	case pkcs11.CKR_ENCRYPTED_DATA_INVALID, pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11.CKR_GENERAL_ERROR, pkcs11.CKR_FUNCTION_FAILED:
		return true
	}
	return false
}

func (p *PKCS11) notThisKey() error {
	return refused(ReasonContext, "PKCS#11 token %q could not decrypt the data key with key %q: the key was replaced, or the keystore was altered or belongs to another profile; unlock refused, nothing was signed. Restore the keystore from its backup, or ask the HSM administrators", p.opts.Token, p.opts.Label)
}

// ckr finds the PKCS#11 return code in err: crypto11 keeps it as a value
// for login errors and formats it into the text ("pkcs11: 0x5: …") for
// operations.
func ckr(err error) (pkcs11.Error, bool) {
	var code pkcs11.Error
	if errors.As(err, &code) {
		return code, true
	}
	_, rest, ok := strings.Cut(err.Error(), "pkcs11: 0x")
	if !ok {
		return 0, false
	}
	hexCode, _, _ := strings.Cut(rest, ":")
	v, perr := strconv.ParseUint(hexCode, 16, 32)
	if perr != nil {
		return 0, false
	}
	return pkcs11.Error(v), true
}
