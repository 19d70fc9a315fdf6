package eip2335

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecryptModule feeds arbitrary module JSON to ParseModule and Decrypt.
// The caller's limits are tight (scrypt N ≤ 2^10, PBKDF2 c ≤ 2^10) so no
// input can make one iteration slow: the checks run before the KDF.
func FuzzDecryptModule(f *testing.F) {
	lim := Limits{MinScryptN: 16, MaxScryptN: 1 << 10, MinPBKDF2C: 16, MaxPBKDF2C: 1 << 10}
	m, err := Encrypt([]byte("fuzz seed secret"), []byte("pw"), Params{ScryptN: 16, ScryptR: 8, ScryptP: 1}, lim, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := json.Marshal(m)
	f.Add(seed, []byte("pw"))
	f.Add(seed, []byte("wrong"))
	f.Add([]byte(vectorScrypt), []byte(vectorPassphrase))
	f.Add([]byte(vectorPBKDF2), []byte(vectorPassphrase))
	f.Add([]byte(`{"kdf":{"function":"pbkdf2","params":{"dklen":32,"c":16,"prf":"hmac-sha256","salt":"00000000000000000000000000000000"},"message":""},"checksum":{"function":"sha256","params":{},"message":"0000000000000000000000000000000000000000000000000000000000000000"},"cipher":{"function":"aes-128-ctr","params":{"iv":"00000000000000000000000000000000"},"message":"00"}}`), []byte("x"))
	f.Fuzz(func(t *testing.T, data, pass []byte) {
		m, err := ParseModule(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("ParseModule error does not wrap ErrInvalidModule: %v", err)
			}
			return
		}
		out, err := Decrypt(m, pass, lim)
		if err == nil && len(out) != m.SecretLen() {
			t.Fatalf("plaintext length %d, ciphertext %d", len(out), m.SecretLen())
		}
		if err != nil && !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrInvalidModule) {
			t.Fatalf("Decrypt of a validated module: %v", err)
		}
	})
}
