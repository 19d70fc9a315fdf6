// Package secrets stores qapprove's secret bundle (the encrypted BLS, EC
// and API secrets of a profile) and the journal anchor, in the OS keychain
// or in an encrypted-file keystore, and holds unlocked secrets in locked
// memory for a limited time (Session).
package secrets

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/qapprove/qapprove/storage"
)

// Service is the keychain service name of every qapprove item.
const Service = "qapprove"

// AnchorSuffix is appended to a profile name to form the user of its
// journal-anchor item.
const AnchorSuffix = "/journal-anchor"

// MaxValueSize is the largest value Set accepts: Windows Credential
// Manager's limit, applied on every platform so a keystore stays portable.
const MaxValueSize = 2560

// maxReadSize bounds what Get accepts from a keychain item or a file.
const maxReadSize = 64 << 10

// Backend kinds accepted by OpenBackend.
const (
	KindKeychain = "keychain"
	KindFile     = "file"
)

// Errors of the backends. Returned errors wrap them (use errors.Is) and
// carry a message a human can act on.
var (
	ErrNotFound        = errors.New("no key stored")
	ErrUnavailable     = errors.New("OS keychain unavailable or locked")
	ErrTooBig          = errors.New("value too big for the keychain")
	ErrWrongPassphrase = eip2335.ErrWrongPassphrase
)

// Backend stores raw items under service "qapprove". Users are a profile
// name ("<profile>", the bundle) or "<profile>/journal-anchor".
type Backend interface {
	// Get returns the value of user; an error wrapping ErrNotFound when absent.
	Get(user string) ([]byte, error)
	// Set stores value (at most MaxValueSize bytes) under user, replacing any old value.
	Set(user string, value []byte) error
	// Delete removes user; an error wrapping ErrNotFound when absent.
	Delete(user string) error
	// Kind is KindKeychain or KindFile.
	Kind() string
}

// notFoundError is ErrNotFound with the item it is about.
type notFoundError struct{ user string }

func (e notFoundError) Error() string {
	if p, ok := strings.CutSuffix(e.user, AnchorSuffix); ok {
		return fmt.Sprintf("no journal anchor stored for profile %s", p)
	}
	return fmt.Sprintf("no key stored for profile %s: run `qapprove keys register`", e.user)
}

func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// unavailableError is ErrUnavailable with its cause.
type unavailableError struct{ cause error }

func (e unavailableError) Error() string {
	return fmt.Sprintf("OS keychain unavailable or locked: %s; unlock it or use --keystore file", oneLine(e.cause.Error()))
}

func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e unavailableError) Unwrap() error        { return e.cause }

func tooBig(n int) error {
	return fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrTooBig, n, MaxValueSize)
}

// oneLine keeps the first line of a message, bounded.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// profileOf splits a user into its profile and whether it is the anchor
// item, refusing names that are not valid profile names.
func profileOf(user string) (profile string, anchor bool, err error) {
	profile, anchor = strings.CutSuffix(user, AnchorSuffix)
	if !storage.ValidProfileName(profile) {
		return "", false, fmt.Errorf("invalid profile name %q", oneLine(profile))
	}
	return profile, anchor, nil
}

// probeTimeout bounds the keychain probe of OpenBackend: a hung Secret
// Service provider must not hang the program.
const probeTimeout = 5 * time.Second

// OpenBackend opens the backend of kind ("keychain", "file", or "" for
// keychain). When the OS keychain does not answer it refuses with an error
// wrapping ErrUnavailable that names both ways to consent to the file
// keystore: it never switches keystores on its own. warning is always ""
// (kept for callers that show one).
func OpenBackend(kind string, paths storage.Paths) (b Backend, warning string, err error) {
	switch kind {
	case KindFile:
		return NewFileBackend(paths), "", nil
	case KindKeychain, "":
		kc := keychainBackend{}
		if err := kc.probe(probeTimeout); err != nil {
			return nil, "", noKeychainError{cause: err, dir: NewFileBackend(paths).dir()}
		}
		return kc, "", nil
	default:
		return nil, "", fmt.Errorf("unknown keystore %q: use keychain or file", oneLine(kind))
	}
}

// noKeychainError is ErrUnavailable from OpenBackend: no Secret Service
// answered, and the file keystore needs the operator's consent.
type noKeychainError struct {
	cause error
	dir   string
}

func (e noKeychainError) Error() string {
	return fmt.Sprintf("OS keychain unavailable (%s); qapprove does not switch to the file keystore without your consent: "+
		"pass --keystore file, or set keystore = \"file\" in config.toml, to keep the encrypted key in %s",
		oneLine(e.cause.Error()), e.dir)
}

func (e noKeychainError) Is(target error) bool { return target == ErrUnavailable }
func (e noKeychainError) Unwrap() error        { return e.cause }
