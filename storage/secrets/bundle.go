package secrets

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/qapprove/qapprove/crypto/eckey"
	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/storage"
)

// BundleVersion is the only bundle format version this package reads and writes.
const BundleVersion = 1

// Bounds of the bundle fields; they keep the encoded bundle under
// MaxValueSize.
const (
	MaxAPISecretLen = 256 // bytes of API secret
	maxURLLen       = 200
	maxIDLen        = 100
	blsSecretLen    = qbls.SecretKeySize
	ecSecretLen     = eckey.PrivateKeySize
	fixedSecretLen  = blsSecretLen + ecSecretLen
)

// ErrInconsistent is returned by Open when a decrypted secret does not give
// the public key stored next to it (a swapped or corrupted keystore).
var ErrInconsistent = errors.New("keystore is inconsistent: secret does not match the stored public key")

// Secrets are the unlocked secrets of a profile. Call Zero when done.
type Secrets struct {
	BLS       qbls.SecretKey   // approver BLS key
	EC        eckey.PrivateKey // secp256k1 key registered with the API
	APISecret []byte           // API key secret (as given by Qredo)
}

// GenerateKeys makes fresh BLS and EC keys from crypto/rand, with no API
// secret yet.
func GenerateKeys() (*Secrets, error) {
	bls, err := qbls.Generate(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate BLS key: %w", err)
	}
	ec, err := eckey.Generate(rand.Reader)
	if err != nil {
		bls.Zero()
		return nil, fmt.Errorf("generate EC key: %w", err)
	}
	return &Secrets{BLS: bls, EC: ec}, nil
}

// Zero overwrites every secret.
func (s *Secrets) Zero() {
	if s == nil {
		return
	}
	s.BLS.Zero()
	s.EC.Zero()
	clear(s.APISecret)
	s.APISecret = nil
}

// BundlePublic is the clear part of a bundle.
type BundlePublic struct {
	Profile      string     `json:"profile"`
	APIBaseURL   string     `json:"api_base_url"`
	WorkspaceID  string     `json:"workspace_id"`
	APIKeyID     string     `json:"api_key_id"`
	BLSPublicKey string     `json:"bls_public_key"` // hex of qbls.PublicKey (192 bytes)
	ECPublicKey  string     `json:"ec_public_key"`  // hex of eckey.PublicKey (65 bytes)
	Created      time.Time  `json:"created"`
	Registered   *time.Time `json:"registered,omitempty"` // when the keys were registered with the API
	// AwaitingAdmin is the ID of the key-update action while it is still
	// pending after the proof-of-possession approval: submitted, awaiting
	// approval under the Admin Policy. "" once it was seen approved.
	AwaitingAdmin string `json:"awaiting_admin,omitempty"`
}

// Bundle is the keychain item of a profile: public data in clear and one
// EIP-2335 crypto module that encrypts the BLS secret, the EC secret and
// the API secret together (one KDF run per unlock). A wrapped bundle has
// no Crypto: its module is sealed inside Wrap (see Wrapped).
type Bundle struct {
	Version int `json:"version"`
	BundlePublic
	Crypto *eip2335.Module `json:"crypto,omitempty"`
	Wrap   *Wrapped        `json:"wrap,omitempty"`
}

// Seal encrypts s under passphrase with the production KDF policy
// (KDF{}.Seal); see KDF.Seal.
func Seal(pub BundlePublic, s *Secrets, passphrase []byte) (*Bundle, error) {
	return KDF{}.Seal(pub, s, passphrase)
}

// prepareSeal checks s and pub, fills in the public keys and times of pub,
// and returns the plaintext BLS ‖ EC ‖ API secret (the caller clears it).
func prepareSeal(pub BundlePublic, s *Secrets) ([]byte, BundlePublic, error) {
	if s == nil {
		return nil, pub, errors.New("no secrets to seal")
	}
	if len(s.APISecret) == 0 || len(s.APISecret) > MaxAPISecretLen {
		return nil, pub, fmt.Errorf("API secret must be 1 to %d bytes, not %d", MaxAPISecretLen, len(s.APISecret))
	}
	bp, ep, err := publicKeys(s.BLS[:], s.EC[:])
	if err != nil {
		return nil, pub, err
	}
	blsHex, ecHex := hex.EncodeToString(bp[:]), hex.EncodeToString(ep[:])
	if pub.BLSPublicKey != "" && pub.BLSPublicKey != blsHex {
		return nil, pub, errors.New("the BLS public key given does not match the BLS secret")
	}
	if pub.ECPublicKey != "" && pub.ECPublicKey != ecHex {
		return nil, pub, errors.New("the EC public key given does not match the EC secret")
	}
	pub.BLSPublicKey, pub.ECPublicKey = blsHex, ecHex
	if pub.Created.IsZero() {
		pub.Created = time.Now()
	}
	pub.Created = pub.Created.UTC().Truncate(time.Second)
	if pub.Registered != nil {
		r := pub.Registered.UTC().Truncate(time.Second)
		pub.Registered = &r
	}
	if err := pub.validate(); err != nil {
		return nil, pub, err
	}
	plain := make([]byte, 0, fixedSecretLen+len(s.APISecret))
	plain = append(plain, s.BLS[:]...)
	plain = append(plain, s.EC[:]...)
	plain = append(plain, s.APISecret...)
	return plain, pub, nil
}

// Open decrypts the bundle with the production KDF policy (KDF{}.Open);
// see KDF.Open.
func (b *Bundle) Open(passphrase []byte) (*Secrets, error) {
	return KDF{}.Open(b, passphrase)
}

// secretsFromRaw copies BLS ‖ EC ‖ API secret into a new Secrets.
func secretsFromRaw(raw []byte) *Secrets {
	s := &Secrets{APISecret: bytes.Clone(raw[fixedSecretLen:])}
	copy(s.BLS[:], raw[:blsSecretLen])
	copy(s.EC[:], raw[blsSecretLen:fixedSecretLen])
	return s
}

// checkSecrets verifies that raw holds secrets matching the public keys.
func (b *Bundle) checkSecrets(raw []byte) error {
	if len(raw) <= fixedSecretLen || len(raw) > fixedSecretLen+MaxAPISecretLen {
		return ErrInconsistent
	}
	bp, ep, err := publicKeys(raw[:blsSecretLen], raw[blsSecretLen:fixedSecretLen])
	if err != nil {
		return ErrInconsistent
	}
	wantB, errB := b.BLSPublic()
	wantE, errE := b.ECPublic()
	if errB != nil || errE != nil ||
		subtle.ConstantTimeCompare(bp[:], wantB[:]) != 1 || subtle.ConstantTimeCompare(ep[:], wantE[:]) != 1 {
		return ErrInconsistent
	}
	return nil
}

// publicKeys derives the public keys of the raw BLS and EC secrets; the
// parsed copies of the secrets are wiped.
func publicKeys(blsRaw, ecRaw []byte) (qbls.PublicKey, eckey.PublicKey, error) {
	bk, err := qbls.SecretKeyFromBytes(blsRaw)
	if err != nil {
		return qbls.PublicKey{}, eckey.PublicKey{}, errors.New("the BLS secret key is invalid (zero or out of range)")
	}
	bp := bk.Public()
	bk.Zero()
	ek, err := eckey.PrivateKeyFromBytes(ecRaw)
	if err != nil {
		return qbls.PublicKey{}, eckey.PublicKey{}, errors.New("the EC secret key is invalid (zero or out of range)")
	}
	ep := ek.Public()
	ek.Zero()
	return bp, ep, nil
}

// BLSPublic decodes the stored BLS public key.
func (b *BundlePublic) BLSPublic() (qbls.PublicKey, error) {
	var pk qbls.PublicKey
	if err := decodeFixedHex("bls_public_key", b.BLSPublicKey, pk[:]); err != nil {
		return pk, err
	}
	return pk, nil
}

// ECPublic decodes the stored EC public key.
func (b *BundlePublic) ECPublic() (eckey.PublicKey, error) {
	var pk eckey.PublicKey
	if err := decodeFixedHex("ec_public_key", b.ECPublicKey, pk[:]); err != nil {
		return pk, err
	}
	return pk, nil
}

func decodeFixedHex(field, s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("keystore field %s must be %d bytes of hex", field, len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("keystore field %s is not valid hex", field)
	}
	return nil
}

// Marshal encodes the bundle as compact JSON; it refuses a bundle that
// would not fit in a keychain item.
func (b *Bundle) Marshal() ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxValueSize {
		return nil, tooBig(len(data))
	}
	return data, nil
}

// ParseBundle decodes and validates a bundle: strict JSON (no unknown or
// trailing fields), bounded sizes, known version, valid hex of the right
// sizes, and a crypto module within eip2335's absolute bounds (the
// caller's KDF policy is checked by Open, before the KDF runs).
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxValueSize {
		return nil, fmt.Errorf("keystore is %d bytes, over the %d-byte limit", len(data), MaxValueSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("keystore is not a valid qapprove bundle: %s", oneLine(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("keystore is not a valid qapprove bundle: trailing data")
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return &b, nil
}

func (b *Bundle) validate() error {
	if b == nil {
		return errors.New("no keystore bundle")
	}
	if b.Version != BundleVersion {
		return fmt.Errorf("keystore version %d is not supported (this qapprove reads version %d)", b.Version, BundleVersion)
	}
	if err := b.BundlePublic.validate(); err != nil {
		return err
	}
	switch {
	case b.Crypto != nil && b.Wrap != nil:
		return errors.New("keystore has both a crypto module and a wrap")
	case b.Wrap != nil:
		return b.Wrap.Validate()
	case b.Crypto == nil:
		return errors.New("keystore has no crypto module")
	}
	if err := b.Crypto.Validate(); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	if n := b.Crypto.SecretLen(); n <= fixedSecretLen || n > fixedSecretLen+MaxAPISecretLen {
		return fmt.Errorf("keystore: encrypted secret has %d bytes, want %d to %d", n, fixedSecretLen+1, fixedSecretLen+MaxAPISecretLen)
	}
	return nil
}

func (b *BundlePublic) validate() error {
	if !storage.ValidProfileName(b.Profile) {
		return fmt.Errorf("keystore: invalid profile name %q", oneLine(b.Profile))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"api_base_url", b.APIBaseURL, maxURLLen}, {"workspace_id", b.WorkspaceID, maxIDLen}, {"api_key_id", b.APIKeyID, maxIDLen}} {
		if len(f.v) > f.max {
			return fmt.Errorf("keystore field %s is longer than %d characters", f.name, f.max)
		}
		for _, c := range []byte(f.v) {
			if c < 0x20 || c > 0x7e {
				return fmt.Errorf("keystore field %s must be printable ASCII", f.name)
			}
		}
	}
	if _, err := b.BLSPublic(); err != nil {
		return err
	}
	if _, err := b.ECPublic(); err != nil {
		return err
	}
	if b.Created.IsZero() {
		return errors.New("keystore field created is missing")
	}
	return nil
}

// LoadBundle reads and parses the bundle of profile from be. It refuses a
// bundle that names another profile.
func LoadBundle(be Backend, profile string) (*Bundle, error) {
	data, err := be.Get(profile)
	if err != nil {
		return nil, err
	}
	b, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	if b.Profile != profile {
		return nil, fmt.Errorf("keystore item of profile %s holds the keys of profile %s", profile, b.Profile)
	}
	return b, nil
}

// SaveBundle stores b as the bundle of profile in be, replacing any old one.
func SaveBundle(be Backend, profile string, b *Bundle) error {
	if b != nil && b.Profile != profile {
		return fmt.Errorf("bundle of profile %s cannot be saved as profile %s", b.Profile, profile)
	}
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	return be.Set(profile, data)
}
