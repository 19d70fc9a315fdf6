package qbls

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

func addVectorSeeds(f *testing.F, field func(vector) string) {
	for _, v := range loadVectors(f) {
		b, err := hex.DecodeString(field(v))
		if err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	addVectorSeeds(f, func(v vector) string { return v.SigHex })
	addVectorSeeds(f, func(v vector) string { return v.HashG1 })
	f.Add(append([]byte{2}, make([]byte, 48)...))
	f.Add(append([]byte{3}, bytes.Repeat([]byte{0xff}, 48)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := ParseSignature(b)
		if err != nil {
			if sig != (Signature{}) {
				t.Fatal("error with a non-zero result")
			}
			return
		}
		if !bytes.Equal(sig[:], b) {
			t.Fatal("parsed signature differs from its input")
		}
		var P bls.G1
		if err := decodeG1(&P, sig[:]); err != nil {
			t.Fatalf("accepted then rejected: %v", err)
		}
		var again [SignatureSize]byte
		encodeG1(&again, &P)
		if !bytes.Equal(again[:], b) {
			t.Fatalf("round trip %x -> %x", b, again)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	addVectorSeeds(f, func(v vector) string { return v.PkHex })
	f.Add(make([]byte, PublicKeySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := ParsePublicKey(b)
		if err != nil {
			if pk != (PublicKey{}) {
				t.Fatal("error with a non-zero result")
			}
			return
		}
		if !bytes.Equal(pk[:], b) {
			t.Fatal("parsed public key differs from its input")
		}
		var W bls.G2
		if err := decodeG2(&W, pk[:]); err != nil {
			t.Fatalf("accepted then rejected: %v", err)
		}
		var again [PublicKeySize]byte
		encodeG2(&again, &W)
		if !bytes.Equal(again[:], b) {
			t.Fatalf("round trip differs")
		}
	})
}
