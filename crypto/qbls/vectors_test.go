package qbls

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vectorsFile is the copy of the shared vectors that assets embeds; read
// directly so this package's tests do not depend on the rest of assets.
const vectorsFile = "../../assets/vectors/qredo-bls-milagro.json"

type vector struct {
	Case   string `json:"case"`
	SkHex  string `json:"sk_hex"`
	PkHex  string `json:"pk_hex"`
	MsgHex string `json:"msg_hex"`
	HashG1 string `json:"hash_g1_hex"`
	SigHex string `json:"sig_hex"`
	Valid  bool   `json:"valid"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatalf("parse embedded vectors: %v", err)
	}
	if len(vs) < 10 {
		t.Fatalf("only %d vectors", len(vs))
	}
	return vs
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}

// verifyBytes is what callers holding raw bytes do: strict parse, then verify.
func verifyBytes(pkb, msg, sigb []byte) bool {
	pk, err := ParsePublicKey(pkb)
	if err != nil {
		return false
	}
	sig, err := ParseSignature(sigb)
	if err != nil {
		return false
	}
	return Verify(pk, msg, sig)
}

func TestVectors(t *testing.T) {
	var pos, neg int
	for _, v := range loadVectors(t) {
		t.Run(v.Case, func(t *testing.T) {
			pkb, msg, sigb := unhex(t, v.PkHex), unhex(t, v.MsgHex), unhex(t, v.SigHex)
			if !v.Valid {
				neg++
				if verifyBytes(pkb, msg, sigb) {
					t.Fatal("negative vector verified")
				}
				return
			}
			pos++
			sk, err := SecretKeyFromBytes(unhex(t, v.SkHex))
			if err != nil {
				t.Fatalf("secret key: %v", err)
			}
			defer sk.Zero()
			if pk := sk.Public(); !bytes.Equal(pk[:], pkb) {
				t.Errorf("pk = %x\nwant %x", pk, pkb)
			}
			if h := HashToG1(msg); !bytes.Equal(h[:], unhex(t, v.HashG1)) {
				t.Errorf("H(m) = %x\nwant %s", h, v.HashG1)
			}
			if sig := sk.Sign(msg); !bytes.Equal(sig[:], sigb) {
				t.Errorf("sig = %x\nwant %x", sig, sigb)
			}
			if !verifyBytes(pkb, msg, sigb) {
				t.Error("valid vector does not verify")
			}
		})
	}
	if pos == 0 || neg == 0 {
		t.Fatalf("need both positive and negative vectors, got %d/%d", pos, neg)
	}
}
