package eckey

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// n is the secp256k1 group order, p the field prime.
var (
	orderN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	primeP, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", 16)
)

func TestKnownAnswer(t *testing.T) {
	// k = 1 gives the generator G.
	one := make([]byte, 32)
	one[31] = 1
	k, err := PrivateKeyFromBytes(one)
	if err != nil {
		t.Fatal(err)
	}
	pk := k.Public()
	want := "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" +
		"483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
	if hex.EncodeToString(pk[:]) != want {
		t.Fatalf("1·G = %x", pk)
	}
}

func TestRoundTrip(t *testing.T) {
	seen := map[PrivateKey]bool{}
	for range 10 {
		k, err := Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k] {
			t.Fatal("duplicate key")
		}
		seen[k] = true
		k2, err := PrivateKeyFromBytes(k[:])
		if err != nil || k2 != k {
			t.Fatalf("generated key rejected: %v", err)
		}
		pk := k.Public()
		got, err := ParsePublicKey(pk[:])
		if err != nil || got != pk {
			t.Fatalf("public key rejected: %v", err)
		}
		// Cross-check with dcrd's own derivation.
		ref := secp256k1.PrivKeyFromBytes(k[:]).PubKey().SerializeUncompressed()
		if !bytes.Equal(ref, pk[:]) {
			t.Fatal("public key differs from dcrd's")
		}
		k.Zero()
		if k != (PrivateKey{}) {
			t.Fatal("Zero left bytes")
		}
	}
}

func TestPrivateKeyFromBytesRejects(t *testing.T) {
	enc := func(v *big.Int) []byte { return v.FillBytes(make([]byte, 32)) }
	bad := map[string][]byte{
		"zero":     make([]byte, 32),
		"n":        enc(orderN),
		"n+1":      enc(new(big.Int).Add(orderN, big.NewInt(1))),
		"all ones": bytes.Repeat([]byte{0xff}, 32),
		"short":    make([]byte, 31),
		"long":     append(enc(big.NewInt(5)), 0),
	}
	for name, b := range bad {
		if _, err := PrivateKeyFromBytes(b); !errors.Is(err, ErrInvalidPrivateKey) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := PrivateKeyFromBytes(enc(new(big.Int).Sub(orderN, big.NewInt(1)))); err != nil {
		t.Errorf("n-1 rejected: %v", err)
	}
}

func TestParsePublicKeyRejects(t *testing.T) {
	k, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Zero()
	pk := k.Public()
	offCurve := pk
	offCurve[64] ^= 1
	bigX := pk
	copy(bigX[1:33], primeP.FillBytes(make([]byte, 32)))
	compressed := secp256k1.PrivKeyFromBytes(k[:]).PubKey().SerializeCompressed()
	hybrid := pk
	hybrid[0] = 0x06
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"off curve":  {offCurve[:], "not on the curve"},
		"x = p":      {bigX[:], "field prime"},
		"compressed": {compressed, "length"},
		"hybrid":     {hybrid[:], "prefix"},
		"trailing":   {append(pk[:], 0), "length"},
		"empty":      {nil, "length"},
		"zeros":      {append([]byte{4}, make([]byte, 64)...), "not on the curve"},
	}
	for name, c := range cases {
		_, err := ParsePublicKey(c.b)
		if !errors.Is(err, ErrInvalidPublicKey) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
			continue
		}
		if len(c.b) > 9 && strings.Contains(err.Error(), hex.EncodeToString(c.b[1:9])) {
			t.Errorf("%s: error leaks input bytes", name)
		}
	}
}

func TestGenerateFailingSource(t *testing.T) {
	if _, err := Generate(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("short random source accepted")
	}
}

func TestPublicPanicsOnZeroKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a zero key")
		}
	}()
	var k PrivateKey
	k.Public()
}

func FuzzParsePublicKey(f *testing.F) {
	k, _ := Generate(rand.Reader)
	pk := k.Public()
	f.Add(pk[:])
	f.Add(make([]byte, 65))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(got[:], b) {
			t.Fatal("parsed key differs from input")
		}
		p, err := secp256k1.ParsePubKey(b)
		if err != nil || !p.IsOnCurve() {
			t.Fatal("accepted a key dcrd rejects")
		}
	})
}
