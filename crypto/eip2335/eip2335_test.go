package eip2335

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The two official test vectors of EIP-2335, section "Test Cases", copied
// from https://eips.ethereum.org/EIPS/eip-2335 (ethereum/ERCs,
// ERCS/erc-2335.md at commit 000d8147da236a0025d1082433a7cda9f1adc6f7).
// Only the "crypto" objects are kept.
const (
	vectorPassphrase        = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑"
	vectorEncodedPassphrase = "7465737470617373776f7264f09f9491"
	vectorSecret            = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"

	vectorScrypt = `{
        "kdf": {
            "function": "scrypt",
            "params": {
                "dklen": 32,
                "n": 262144,
                "p": 1,
                "r": 8,
                "salt": "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
            },
            "message": ""
        },
        "checksum": {
            "function": "sha256",
            "params": {},
            "message": "d2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484"
        },
        "cipher": {
            "function": "aes-128-ctr",
            "params": {
                "iv": "264daa3f303d7259501c93d997d84fe6"
            },
            "message": "06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f"
        }
    }`

	vectorPBKDF2 = `{
        "kdf": {
            "function": "pbkdf2",
            "params": {
                "dklen": 32,
                "c": 262144,
                "prf": "hmac-sha256",
                "salt": "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
            },
            "message": ""
        },
        "checksum": {
            "function": "sha256",
            "params": {},
            "message": "8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1"
        },
        "cipher": {
            "function": "aes-128-ctr",
            "params": {
                "iv": "264daa3f303d7259501c93d997d84fe6"
            },
            "message": "cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad"
        }
    }`
)

func TestNormalizePassphraseVector(t *testing.T) {
	got := NormalizePassphrase([]byte(vectorPassphrase))
	if hex.EncodeToString(got) != vectorEncodedPassphrase {
		t.Fatalf("normalised passphrase = %x, want %s", got, vectorEncodedPassphrase)
	}
}

func TestNormalizePassphraseControls(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\x00b\x1fc\x7fd", "abcd"},
		{"x\u0080y\u009fz", "xyz"},
		{"with space", "with space"},
		{"\u00a0é", " e\u0301"}, // NBSP -> space (NFKD), é -> e + combining acute
		{"\tpass\n", "pass"},
		{"", ""},
	}
	for _, c := range cases {
		in := []byte(c.in)
		got := NormalizePassphrase(in)
		if string(got) != c.want {
			t.Errorf("NormalizePassphrase(%q) = %q, want %q", c.in, got, c.want)
		}
		if string(in) != c.in {
			t.Errorf("NormalizePassphrase modified its input %q", c.in)
		}
	}
}

func TestDecryptVectors(t *testing.T) {
	want, _ := hex.DecodeString(vectorSecret)
	for name, js := range map[string]string{"scrypt": vectorScrypt, "pbkdf2": vectorPBKDF2} {
		t.Run(name, func(t *testing.T) {
			m, err := ParseModule([]byte(js))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decrypt(m, []byte(vectorPassphrase), DecryptLimits())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("secret = %x, want %x", got, want)
			}
			if name == "scrypt" {
				return // the checks below cost two more scrypt runs; pbkdf2 is cheaper
			}
			// The already-encoded passphrase gives the same key.
			enc, _ := hex.DecodeString(vectorEncodedPassphrase)
			if got, err := Decrypt(m, enc, DecryptLimits()); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("encoded passphrase: %x, %v", got, err)
			}
			if _, err := Decrypt(m, []byte("testpassword"), DecryptLimits()); !errors.Is(err, ErrWrongPassphrase) {
				t.Fatalf("wrong passphrase: err = %v, want ErrWrongPassphrase", err)
			}
		})
	}
}

// TestDefaultParamsRoundTrip runs the real production parameters once.
func TestDefaultParamsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: scrypt N=2^18 takes about a second and 256 MiB")
	}
	secret := []byte("a secret that is 32 bytes long!!")
	m, err := Encrypt(secret, []byte("correct horse"), DefaultParams(), EncryptLimits(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var sp scryptParams
	if err := json.Unmarshal(m.KDF.Params, &sp); err != nil || sp.N != 1<<18 || sp.R != 8 || sp.P != 1 || sp.DKLen != 32 || len(sp.Salt) != 64 {
		t.Fatalf("kdf params = %s (%v)", m.KDF.Params, err)
	}
	got, err := Decrypt(m, []byte("correct horse"), DecryptLimits())
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
}

// weakParams are tiny scrypt parameters for fast tests; only
// AbsoluteLimits admit them.
func weakParams() Params { return Params{ScryptN: 1 << 10, ScryptR: 8, ScryptP: 1} }

func TestEncryptRefusesWeakParams(t *testing.T) {
	secret := []byte("s")
	for _, p := range []Params{
		weakParams(),
		{ScryptN: 1 << 17, ScryptR: 8, ScryptP: 1},
		{ScryptN: 1 << 21, ScryptR: 8, ScryptP: 1},
		{ScryptN: 3 << 17, ScryptR: 8, ScryptP: 1},
		{ScryptN: 1 << 18, ScryptR: 1, ScryptP: 1},
		{ScryptN: 1 << 18, ScryptR: 8, ScryptP: 2},
	} {
		if _, err := Encrypt(secret, []byte("pw"), p, EncryptLimits(), rand.Reader); !errors.Is(err, ErrInvalidModule) {
			t.Errorf("Encrypt with %+v: err = %v, want ErrInvalidModule", p, err)
		}
	}
	// Even limits wider than the absolute bounds do not admit N > 2^20 or N < 16.
	wide := Limits{MinScryptN: 1, MaxScryptN: 1 << 30, MinPBKDF2C: 1, MaxPBKDF2C: 1 << 30}
	for _, n := range []int{8, 1 << 21} {
		if _, err := Encrypt(secret, []byte("pw"), Params{ScryptN: n, ScryptR: 8, ScryptP: 1}, wide, rand.Reader); !errors.Is(err, ErrInvalidModule) {
			t.Errorf("Encrypt with N=%d under wide limits: err = %v, want ErrInvalidModule", n, err)
		}
	}
}

// The limits are the caller's values: a weak module is written and read
// only under limits that admit it, and refused (before the KDF) otherwise.
func TestLimitsAreValues(t *testing.T) {
	m, err := Encrypt([]byte("s"), []byte("pw"), weakParams(), AbsoluteLimits(), rand.Reader)
	if err != nil {
		t.Fatalf("weak params refused under AbsoluteLimits: %v", err)
	}
	if _, err := Decrypt(m, []byte("pw"), DecryptLimits()); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("weak module under DecryptLimits: err = %v, want ErrInvalidModule", err)
	}
	if _, err := Decrypt(m, []byte("pw"), Limits{}); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("zero Limits admitted a module: err = %v", err)
	}
	if got, err := Decrypt(m, []byte("pw"), AbsoluteLimits()); err != nil || string(got) != "s" {
		t.Fatalf("weak module under AbsoluteLimits: %q, %v", got, err)
	}
	if _, err := Encrypt([]byte("s"), []byte("pw"), weakParams(), EncryptLimits(), rand.Reader); err == nil {
		t.Fatal("weak params accepted under EncryptLimits")
	}
}

func TestRoundTripAndTamper(t *testing.T) {
	secret := bytes.Repeat([]byte{0xab}, 336)
	pass := []byte("pässwörd 🔑")
	m, err := Encrypt(secret, pass, weakParams(), AbsoluteLimits(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := ParseModule(js)
	if err != nil {
		t.Fatalf("ParseModule(own output): %v\n%s", err, js)
	}
	got, err := Decrypt(m2, pass, AbsoluteLimits())
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("round trip: %v", err)
	}
	if m2.SecretLen() != len(secret) {
		t.Fatalf("SecretLen = %d", m2.SecretLen())
	}
	// Two encryptions differ (fresh salt and IV).
	m3, _ := Encrypt(secret, pass, weakParams(), AbsoluteLimits(), rand.Reader)
	if m3.Cipher.Message == m.Cipher.Message || string(m3.KDF.Params) == string(m.KDF.Params) {
		t.Fatal("two encryptions share salt/IV/ciphertext")
	}
	// Flipping one ciphertext nibble is caught by the checksum.
	bad := *m2
	ct := []byte(bad.Cipher.Message)
	if ct[0] == '0' {
		ct[0] = '1'
	} else {
		ct[0] = '0'
	}
	bad.Cipher.Message = string(ct)
	if _, err := Decrypt(&bad, pass, AbsoluteLimits()); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("tampered ciphertext: err = %v", err)
	}
}

func TestEncryptRefusesBadSecretAndRand(t *testing.T) {
	if _, err := Encrypt(nil, []byte("pw"), weakParams(), AbsoluteLimits(), rand.Reader); err == nil {
		t.Error("empty secret accepted")
	}
	if _, err := Encrypt(make([]byte, MaxSecretLen+1), []byte("pw"), weakParams(), AbsoluteLimits(), rand.Reader); err == nil {
		t.Error("oversized secret accepted")
	}
	if _, err := Encrypt([]byte("s"), []byte("pw"), weakParams(), AbsoluteLimits(), bytes.NewReader(nil)); err == nil {
		t.Error("failing random source accepted")
	}
}

// mutate parses the scrypt vector into a generic map, applies f, and
// returns the JSON.
func mutate(t *testing.T, base string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sec returns the object m[name] of a test vector (a vector without it is
// a broken fixture: the panic fails the test).
func sec(m map[string]any, name string) map[string]any {
	o, ok := m[name].(map[string]any)
	if !ok {
		panic(fmt.Sprintf("test vector: %q is not an object", name))
	}
	return o
}

func params(m map[string]any, name string) map[string]any { return sec(sec(m, name), "params") }

func TestParseModuleRefuses(t *testing.T) {
	cases := map[string]struct {
		base string
		f    func(m map[string]any)
	}{
		"unknown kdf":       {vectorScrypt, func(m map[string]any) { sec(m, "kdf")["function"] = "argon2id" }},
		"unknown checksum":  {vectorScrypt, func(m map[string]any) { sec(m, "checksum")["function"] = "keccak256" }},
		"unknown cipher":    {vectorScrypt, func(m map[string]any) { sec(m, "cipher")["function"] = "aes-256-gcm" }},
		"n tiny":            {vectorScrypt, func(m map[string]any) { params(m, "kdf")["n"] = 8 }},
		"n too large":       {vectorScrypt, func(m map[string]any) { params(m, "kdf")["n"] = 1 << 21 }},
		"n not pow2":        {vectorScrypt, func(m map[string]any) { params(m, "kdf")["n"] = 262143 }},
		"n negative":        {vectorScrypt, func(m map[string]any) { params(m, "kdf")["n"] = -262144 }},
		"n huge":            {vectorScrypt, func(m map[string]any) { params(m, "kdf")["n"] = 1e30 }},
		"r not 8":           {vectorScrypt, func(m map[string]any) { params(m, "kdf")["r"] = 16 }},
		"p not 1":           {vectorScrypt, func(m map[string]any) { params(m, "kdf")["p"] = 64 }},
		"dklen 64":          {vectorScrypt, func(m map[string]any) { params(m, "kdf")["dklen"] = 64 }},
		"extra kdf param":   {vectorScrypt, func(m map[string]any) { params(m, "kdf")["x"] = 1 }},
		"missing kdf param": {vectorScrypt, func(m map[string]any) { delete(params(m, "kdf"), "n") }},
		"kdf message":       {vectorScrypt, func(m map[string]any) { sec(m, "kdf")["message"] = "00" }},
		"salt short":        {vectorScrypt, func(m map[string]any) { params(m, "kdf")["salt"] = "00112233" }},
		"salt long":         {vectorScrypt, func(m map[string]any) { params(m, "kdf")["salt"] = strings.Repeat("00", 65) }},
		"salt bad hex":      {vectorScrypt, func(m map[string]any) { params(m, "kdf")["salt"] = strings.Repeat("zz", 32) }},
		"pbkdf2 prf":        {vectorPBKDF2, func(m map[string]any) { params(m, "kdf")["prf"] = "hmac-sha512" }},
		"pbkdf2 c tiny":     {vectorPBKDF2, func(m map[string]any) { params(m, "kdf")["c"] = 8 }},
		"pbkdf2 c large":    {vectorPBKDF2, func(m map[string]any) { params(m, "kdf")["c"] = 1 << 30 }},
		"checksum short":    {vectorScrypt, func(m map[string]any) { sec(m, "checksum")["message"] = "d2217f" }},
		"checksum params":   {vectorScrypt, func(m map[string]any) { sec(m, "checksum")["params"] = map[string]any{"a": 1} }},
		"iv 12 bytes":       {vectorScrypt, func(m map[string]any) { params(m, "cipher")["iv"] = strings.Repeat("00", 12) }},
		"iv bad hex":        {vectorScrypt, func(m map[string]any) { params(m, "cipher")["iv"] = "x" + strings.Repeat("0", 31) }},
		"ciphertext empty":  {vectorScrypt, func(m map[string]any) { sec(m, "cipher")["message"] = "" }},
		"ciphertext huge":   {vectorScrypt, func(m map[string]any) { sec(m, "cipher")["message"] = strings.Repeat("00", MaxSecretLen+1) }},
		"ciphertext odd":    {vectorScrypt, func(m map[string]any) { sec(m, "cipher")["message"] = "abc" }},
		"unknown section":   {vectorScrypt, func(m map[string]any) { m["mac"] = map[string]any{} }},
		"missing cipher":    {vectorScrypt, func(m map[string]any) { delete(m, "cipher") }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			js := mutate(t, c.base, c.f)
			if _, err := ParseModule(js); !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("err = %v, want ErrInvalidModule", err)
			}
			// Decrypt validates too, before running any KDF.
			var m Module
			if strictUnmarshal(js, &m) == nil {
				if _, err := Decrypt(&m, []byte("pw"), AbsoluteLimits()); !errors.Is(err, ErrInvalidModule) {
					t.Fatalf("Decrypt err = %v, want ErrInvalidModule", err)
				}
			}
		})
	}
	// Within the absolute bounds but below production policy: the module
	// parses, and Decrypt under DecryptLimits refuses it before the KDF.
	for name, js := range map[string][]byte{
		"n too small":    mutate(t, vectorScrypt, func(m map[string]any) { params(m, "kdf")["n"] = 1 << 14 }),
		"pbkdf2 c small": mutate(t, vectorPBKDF2, func(m map[string]any) { params(m, "kdf")["c"] = 1000 }),
	} {
		m, err := ParseModule(js)
		if err != nil {
			t.Fatalf("%s: ParseModule: %v", name, err)
		}
		if _, err := Decrypt(m, []byte("pw"), DecryptLimits()); !errors.Is(err, ErrInvalidModule) {
			t.Errorf("%s: Decrypt under DecryptLimits: err = %v, want ErrInvalidModule", name, err)
		}
	}
	if _, err := ParseModule([]byte(vectorScrypt + "{}")); err == nil {
		t.Error("trailing data accepted")
	}
	if _, err := ParseModule(bytes.Repeat([]byte(" "), MaxModuleSize+1)); err == nil {
		t.Error("oversized module accepted")
	}
	if _, err := Decrypt(nil, []byte("pw"), AbsoluteLimits()); !errors.Is(err, ErrInvalidModule) {
		t.Error("nil module accepted")
	}
}

func TestErrorsDoNotLeakPassphrase(t *testing.T) {
	pass := []byte("hunter2-very-secret")
	m, err := Encrypt([]byte("topsecretvalue"), pass, weakParams(), AbsoluteLimits(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decrypt(m, []byte("hunter3-very-secret"), AbsoluteLimits())
	if err == nil || strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("error %v", err)
	}
	if err.Error() != "wrong passphrase" {
		t.Fatalf("error message %q", err)
	}
}

func BenchmarkDecryptDefault(b *testing.B) {
	m, err := Encrypt(make([]byte, 336), []byte("pw"), DefaultParams(), EncryptLimits(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decrypt(m, []byte("pw"), DecryptLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
