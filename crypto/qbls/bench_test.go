package qbls

import (
	"crypto/rand"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// benchMsg is 76 bytes, the size of a typical approval digest message.
var benchMsg = make([]byte, 76)

func benchKey(b *testing.B) (SecretKey, PublicKey) {
	b.Helper()
	sk, err := Generate(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return sk, sk.Public()
}

func BenchmarkSign(b *testing.B) {
	sk, _ := benchKey(b)
	defer sk.Zero()
	for b.Loop() {
		sk.Sign(benchMsg)
	}
}

func BenchmarkVerify(b *testing.B) {
	sk, pk := benchKey(b)
	defer sk.Zero()
	sig := sk.Sign(benchMsg)
	for b.Loop() {
		if !Verify(pk, benchMsg, sig) {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkHashToG1(b *testing.B) {
	ensureInit()
	for b.Loop() {
		HashToG1(benchMsg)
	}
}

func BenchmarkPublic(b *testing.B) {
	sk, _ := benchKey(b)
	defer sk.Zero()
	for b.Loop() {
		sk.Public()
	}
}

func BenchmarkGenerate(b *testing.B) {
	ensureInit()
	for b.Loop() {
		sk, err := Generate(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		sk.Zero()
	}
}

func BenchmarkParseSignature(b *testing.B) {
	sk, _ := benchKey(b)
	defer sk.Zero()
	sig := sk.Sign(benchMsg)
	for b.Loop() {
		if _, err := ParseSignature(sig[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePublicKey(b *testing.B) {
	sk, pk := benchKey(b)
	defer sk.Zero()
	for b.Loop() {
		if _, err := ParsePublicKey(pk[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// herumi's own ETH-mode scheme, for comparison in the same run.
func herumiKey(b *testing.B) (*bls.SecretKey, *bls.PublicKey) {
	b.Helper()
	ensureInit()
	var sk bls.SecretKey
	sk.SetByCSPRNG()
	return &sk, sk.GetPublicKey()
}

func BenchmarkHerumiSignByte(b *testing.B) {
	sk, _ := herumiKey(b)
	for b.Loop() {
		sk.SignByte(benchMsg)
	}
}

func BenchmarkHerumiVerifyByte(b *testing.B) {
	sk, pk := herumiKey(b)
	sig := sk.SignByte(benchMsg)
	for b.Loop() {
		if !sig.VerifyByte(pk, benchMsg) {
			b.Fatal("herumi verify failed")
		}
	}
}
