package qbls

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestPreparedPublicKey(t *testing.T) {
	for _, v := range loadVectors(t) {
		pkb, _ := hex.DecodeString(v.PkHex)
		msg, _ := hex.DecodeString(v.MsgHex)
		sigb, _ := hex.DecodeString(v.SigHex)
		p, err := Prepare(PublicKey(pkb))
		if err != nil {
			t.Fatalf("%s: %v", v.Case, err)
		}
		if p.PublicKey() != PublicKey(pkb) {
			t.Fatalf("%s: PublicKey() differs", v.Case)
		}
		got := len(sigb) == SignatureSize && p.Verify(msg, Signature(sigb))
		if got != v.Valid {
			t.Errorf("%s: prepared verify = %v, want %v", v.Case, got, v.Valid)
		}
	}
	sk, pk, msg, sig := fixture(t)
	defer sk.Zero()
	p, err := Prepare(pk)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify(msg, sig) || p.Verify(append(msg, 1), sig) {
		t.Error("prepared verify wrong on a fresh key")
	}
	neg := sig
	neg[0] ^= 1
	if p.Verify(msg, neg) {
		t.Error("prepared verify accepted -σ")
	}
	bad := pk
	bad[7] ^= 1
	if _, err := Prepare(bad); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("Prepare accepted a bad key: %v", err)
	}
}

func BenchmarkPreparedVerify(b *testing.B) {
	sk, pk := benchKey(b)
	defer sk.Zero()
	sig := sk.Sign(benchMsg)
	p, err := Prepare(pk)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !p.Verify(benchMsg, sig) {
			b.Fatal("verify failed")
		}
	}
}
