package secrets

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/crypto/eip2335"
	"github.com/zalando/go-keyring"
)

func TestSealOpenRoundTrip(t *testing.T) {
	s := newSecrets(t, 80)
	reg := time.Date(2026, 3, 2, 8, 30, 15, 123, time.UTC)
	pub := testPublic("default")
	pub.Registered = &reg
	b, err := testKDF().Seal(pub, s, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	bp, ep := blsPub(s.BLS), ecPub(s.EC)
	if b.BLSPublicKey != hex.EncodeToString(bp[:]) || b.ECPublicKey != hex.EncodeToString(ep[:]) {
		t.Fatal("public keys not taken from the secrets")
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b2, err := ParseBundle(data)
	if err != nil {
		t.Fatalf("ParseBundle(own output): %v\n%s", err, data)
	}
	if b2.APIKeyID != "key-456" || b2.WorkspaceID != "ws-123" || !b2.Created.Equal(pub.Created) ||
		b2.Registered == nil || !b2.Registered.Equal(reg.Truncate(time.Second)) || b2.Version != BundleVersion {
		t.Fatalf("public data lost: %+v", b2.BundlePublic)
	}
	got, err := testKDF().Open(b2, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Zero()
	if got.BLS != s.BLS || got.EC != s.EC || !bytes.Equal(got.APISecret, s.APISecret) {
		t.Fatal("opened secrets differ from the sealed ones")
	}
	got.Zero()
	if got.BLS != [48]byte{} || got.EC != [32]byte{} || got.APISecret != nil {
		t.Fatal("Zero left secret bytes")
	}
	// The JSON carries the documented public fields in clear.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "profile", "api_base_url", "workspace_id", "api_key_id", "bls_public_key", "ec_public_key", "created", "registered", "crypto"} {
		if _, ok := m[k]; !ok {
			t.Errorf("bundle JSON lacks %q", k)
		}
	}
	if bytes.Contains(data, s.APISecret) || bytes.Contains(data, []byte(hex.EncodeToString(s.BLS[:]))) {
		t.Fatal("bundle JSON holds a secret in clear")
	}
}

// TestSealOpenDefaultParams runs the production KDF (scrypt N=2^18) once.
func TestSealOpenDefaultParams(t *testing.T) {
	s := newSecrets(t, 80)
	b, err := KDF{}.Seal(testPublic("default"), s, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	var kp struct{ N, R, P int }
	if err := json.Unmarshal(b.Crypto.KDF.Params, &kp); err != nil {
		t.Fatal(err)
	}
	if b.Crypto.KDF.Function != "scrypt" || kp.N != 1<<18 || kp.R != 8 || kp.P != 1 {
		t.Fatalf("kdf = %s %s", b.Crypto.KDF.Function, b.Crypto.KDF.Params)
	}
	got, err := KDF{}.Open(b, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Zero()
	if got.BLS != s.BLS {
		t.Fatal("wrong BLS key")
	}
}

// The KDF policy is the caller's value: the production policy refuses to
// write weak parameters, and refuses a weak bundle before running the KDF
// (which ParseBundle alone accepts); the test policy opens it.
func TestKDFPolicyIsAValue(t *testing.T) {
	s := newSecrets(t, 80)
	if _, err := (KDF{Params: testKDF().Params}).Seal(testPublic("default"), s, []byte(testPass)); !errors.Is(err, eip2335.ErrInvalidModule) {
		t.Fatalf("weak params without AllowWeak: err = %v, want ErrInvalidModule", err)
	}
	b, err := testKDF().Seal(testPublic("default"), s, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseBundle(data)
	if err != nil {
		t.Fatalf("ParseBundle of a weak bundle: %v", err)
	}
	_, err = KDF{}.Open(parsed, []byte(testPass))
	if !errors.Is(err, eip2335.ErrInvalidModule) || !strings.HasPrefix(err.Error(), "keystore: ") {
		t.Fatalf("production Open of a weak bundle: err = %v, want keystore: …ErrInvalidModule", err)
	}
	sess := NewSession(parsed, SessionOptions{})
	if err := sess.Unlock([]byte(testPass)); !errors.Is(err, eip2335.ErrInvalidModule) {
		t.Fatalf("production Unlock of a weak bundle: err = %v", err)
	}
	if sess.Backoff() != 0 {
		t.Fatal("a refused bundle counted as a wrong passphrase")
	}
	got, err := testKDF().Open(parsed, []byte(testPass))
	if err != nil || got.BLS != s.BLS {
		t.Fatalf("test Open: %v", err)
	}
	got.Zero()
	// A bundle asking for more than 2^20 is refused at parse, whatever the policy.
	huge := strings.Replace(string(data), `"n":1024`, `"n":2097152`, 1)
	if huge == string(data) {
		t.Fatal("test bundle does not hold n=1024")
	}
	if _, err := ParseBundle([]byte(huge)); !errors.Is(err, eip2335.ErrInvalidModule) {
		t.Fatalf("n=2^21 bundle: err = %v, want ErrInvalidModule", err)
	}
}

func TestOpenWrongPassphrase(t *testing.T) {
	b, _ := newBundle(t, "default")
	_, err := testKDF().Open(b, []byte("Correct horse battery staple"))
	if !errors.Is(err, ErrWrongPassphrase) || err.Error() != "wrong passphrase" {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenInconsistent(t *testing.T) {
	b, _ := newBundle(t, "default")
	other, _ := newBundle(t, "default")
	for name, f := range map[string]func(x *Bundle){
		"bls": func(x *Bundle) { x.BLSPublicKey = other.BLSPublicKey },
		"ec":  func(x *Bundle) { x.ECPublicKey = other.ECPublicKey },
	} {
		x := *b
		f(&x)
		_, err := testKDF().Open(&x, []byte(testPass))
		if !errors.Is(err, ErrInconsistent) || err.Error() != "keystore is inconsistent: secret does not match the stored public key" {
			t.Errorf("%s swapped: err = %v", name, err)
		}
	}
	// A whole crypto module swapped from another bundle (same passphrase).
	x := *b
	x.Crypto = other.Crypto
	if _, err := testKDF().Open(&x, []byte(testPass)); !errors.Is(err, ErrInconsistent) {
		t.Errorf("module swapped: err = %v", err)
	}
}

func TestSealRefuses(t *testing.T) {
	s := newSecrets(t, 80)
	other := newSecrets(t, 80)
	op := blsPub(other.BLS)
	pub := testPublic("default")
	pub.BLSPublicKey = hex.EncodeToString(op[:])
	if _, err := testKDF().Seal(pub, s, []byte(testPass)); err == nil {
		t.Error("mismatching BLS public key accepted")
	}
	for name, f := range map[string]func(p *BundlePublic, s *Secrets){
		"empty api secret": func(_ *BundlePublic, s *Secrets) { s.APISecret = nil },
		"long api secret":  func(_ *BundlePublic, s *Secrets) { s.APISecret = make([]byte, MaxAPISecretLen+1) },
		"zero bls":         func(_ *BundlePublic, s *Secrets) { s.BLS = [48]byte{} },
		"zero ec":          func(_ *BundlePublic, s *Secrets) { s.EC = [32]byte{} },
		"bad profile":      func(p *BundlePublic, _ *Secrets) { p.Profile = "../etc" },
		"long url":         func(p *BundlePublic, _ *Secrets) { p.APIBaseURL = "https://" + strings.Repeat("a", maxURLLen) },
		"control char id":  func(p *BundlePublic, _ *Secrets) { p.APIKeyID = "a\nb" },
	} {
		s := newSecrets(t, 80)
		p := testPublic("default")
		f(&p, s)
		if _, err := testKDF().Seal(p, s, []byte(testPass)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := testKDF().Seal(testPublic("default"), nil, []byte(testPass)); err == nil {
		t.Error("nil secrets accepted")
	}
}

// maxBundlePublic has every public field at its longest.
func maxBundlePublic() BundlePublic {
	pub := BundlePublic{
		Profile:     strings.Repeat("p", 64),
		APIBaseURL:  "https://" + strings.Repeat("u", maxURLLen-len("https://")),
		WorkspaceID: strings.Repeat("w", maxIDLen),
		APIKeyID:    strings.Repeat("k", maxIDLen),
		Created:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 3600)),
	}
	reg := pub.Created
	pub.Registered = &reg
	return pub
}

// TestBundleMaxSize checks that a bundle with every field at its maximum
// still fits the 2,560-byte keychain limit.
func TestBundleMaxSize(t *testing.T) {
	s := newSecrets(t, MaxAPISecretLen)
	pub := maxBundlePublic()
	b, err := testKDF().Seal(pub, s, []byte(testPass))
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatalf("maximal bundle refused: %v", err)
	}
	// Encrypt writes n=2^18 in production: six digits against four for the
	// test parameters.
	size := len(data) + len("262144") - len("1024")
	t.Logf("maximal bundle: %d bytes (limit %d)", size, MaxValueSize)
	if size > MaxValueSize {
		t.Fatalf("maximal bundle is %d bytes, over %d", size, MaxValueSize)
	}
}

func TestParseBundleRefuses(t *testing.T) {
	b, _ := newBundle(t, "default")
	good, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, _ := json.Marshal(m)
		return out
	}
	obj := func(m map[string]any, k string) map[string]any {
		o, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("bundle JSON: %q is not an object", k)
		}
		return o
	}
	cases := map[string][]byte{
		"unknown field":  edit(func(m map[string]any) { m["extra"] = 1 }),
		"version 2":      edit(func(m map[string]any) { m["version"] = 2 }),
		"no version":     edit(func(m map[string]any) { delete(m, "version") }),
		"bls short":      edit(func(m map[string]any) { m["bls_public_key"] = "abcd" }),
		"bls bad hex":    edit(func(m map[string]any) { m["bls_public_key"] = strings.Repeat("zz", 192) }),
		"ec short":       edit(func(m map[string]any) { m["ec_public_key"] = strings.Repeat("04", 33) }),
		"no crypto":      edit(func(m map[string]any) { delete(m, "crypto") }),
		"no created":     edit(func(m map[string]any) { delete(m, "created") }),
		"bad profile":    edit(func(m map[string]any) { m["profile"] = "a/b" }),
		"bad kdf":        edit(func(m map[string]any) { obj(obj(m, "crypto"), "kdf")["function"] = "none" }),
		"short secret":   edit(func(m map[string]any) { obj(obj(m, "crypto"), "cipher")["message"] = "00" }),
		"trailing":       append(bytes.Clone(good), []byte(" {}")...),
		"not json":       []byte("qapprove"),
		"oversized":      append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxValueSize)...),
		"empty":          nil,
		"array":          []byte("[]"),
		"created string": edit(func(m map[string]any) { m["created"] = "yesterday" }),
	}
	for name, data := range cases {
		if _, err := ParseBundle(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSaveLoadBundle(t *testing.T) {
	keyring.MockInit()
	for _, be := range []Backend{NewKeychainBackend(), NewFileBackend(tempPaths(t))} {
		t.Run(be.Kind(), func(t *testing.T) {
			if _, err := LoadBundle(be, "work"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("load absent: %v", err)
			}
			b, s := newBundle(t, "work")
			if err := SaveBundle(be, "work", b); err != nil {
				t.Fatal(err)
			}
			got, err := LoadBundle(be, "work")
			if err != nil {
				t.Fatal(err)
			}
			o, err := testKDF().Open(got, []byte(testPass))
			if err != nil || o.BLS != s.BLS {
				t.Fatalf("open loaded bundle: %v", err)
			}
			o.Zero()
			// Overwrite with new keys.
			b2, s2 := newBundle(t, "work")
			if err := SaveBundle(be, "work", b2); err != nil {
				t.Fatal(err)
			}
			got, _ = LoadBundle(be, "work")
			if o, err := testKDF().Open(got, []byte(testPass)); err != nil || o.BLS != s2.BLS {
				t.Fatalf("overwrite not visible: %v", err)
			}
			if err := SaveBundle(be, "other", b2); err == nil {
				t.Fatal("bundle saved under another profile")
			}
			// A bundle of profile "work" planted under "other" is refused.
			data, _ := b2.Marshal()
			if err := be.Set("other", data); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadBundle(be, "other"); err == nil || !strings.Contains(err.Error(), "holds the keys of profile work") {
				t.Fatalf("planted bundle: %v", err)
			}
			be.Delete("other")
			if err := be.Delete("work"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
