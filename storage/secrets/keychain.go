package secrets

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// probeUser is the keychain user read by the availability probe. It starts
// with a dot, so it can never be a profile name.
const probeUser = ".probe"

// keychainBackend keeps items in the OS keychain through go-keyring: the
// Secret Service on Linux, Keychain on macOS, Credential Manager on Windows.
type keychainBackend struct{}

// NewKeychainBackend returns the OS keychain backend without probing it.
func NewKeychainBackend() Backend { return keychainBackend{} }

func (keychainBackend) Kind() string { return KindKeychain }

// probe reads an item that does not exist: ErrNotFound (or a value) means
// the keychain answers; anything else, or no answer in time, means it is
// unavailable. The error returned is the raw cause.
func (keychainBackend) probe(timeout time.Duration) error {
	return probeWith(func() error {
		_, err := keyring.Get(Service, probeUser)
		return err
	}, timeout)
}

// probeWith runs get with a time limit and classifies its answer.
func probeWith(get func() error, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- get() }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, keyring.ErrNotFound) {
			return nil
		}
		return err
	case <-t.C:
		return fmt.Errorf("no answer within %s", timeout)
	}
}

func (keychainBackend) Get(user string) ([]byte, error) {
	if _, _, err := profileOf(user); err != nil {
		return nil, err
	}
	v, err := keyring.Get(Service, user)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, notFoundError{user}
	}
	if err != nil {
		return nil, unavailableError{err}
	}
	if len(v) > maxReadSize {
		return nil, fmt.Errorf("keychain item %s/%s is %d bytes, over the %d-byte limit", Service, user, len(v), maxReadSize)
	}
	return []byte(v), nil
}

func (keychainBackend) Set(user string, value []byte) error {
	if _, _, err := profileOf(user); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return tooBig(len(value))
	}
	err := keyring.Set(Service, user, string(value))
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return tooBig(len(value))
	}
	if err != nil {
		return unavailableError{err}
	}
	return nil
}

func (keychainBackend) Delete(user string) error {
	if _, _, err := profileOf(user); err != nil {
		return err
	}
	err := keyring.Delete(Service, user)
	if errors.Is(err, keyring.ErrNotFound) {
		return notFoundError{user}
	}
	if err != nil {
		return unavailableError{err}
	}
	return nil
}
