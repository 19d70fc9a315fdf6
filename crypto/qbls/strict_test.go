package qbls

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/herumi/bls-eth-go-binary/bls"
)

// fixture returns a fresh key, its public key, a message and its signature.
func fixture(t testing.TB) (SecretKey, PublicKey, []byte, Signature) {
	t.Helper()
	sk, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("approve transfer 42")
	return sk, sk.Public(), msg, sk.Sign(msg)
}

// laxVerify is the pairing check alone, with no subgroup check: what a
// naive port of Milagro does. Tests use it to show the strict checks matter.
func laxVerify(pk PublicKey, msg, sig []byte) bool {
	var W bls.G2
	if decodeG2(&W, pk[:]) != nil || len(sig) != SignatureSize {
		return false
	}
	var ps [2]bls.G1
	var x bls.Fp
	if !fpFromCanonical(&x, sig[1:]) || !liftX(&ps[0], &x, sig[0] == 3) {
		return false
	}
	hashToG1(&ps[1], msg)
	return pairingCheck(&ps[0], &ps[1], &W)
}

func mustReject(t *testing.T, name string, pk PublicKey, msg, sig []byte) {
	t.Helper()
	if _, err := ParseSignature(sig); err == nil {
		t.Errorf("%s: ParseSignature accepted it", name)
	} else {
		if !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: error %v is not ErrInvalidSignature", name, err)
		}
		if len(sig) > 4 && strings.Contains(strings.ToLower(err.Error()), hex.EncodeToString(sig[1:5])) {
			t.Errorf("%s: error leaks input bytes: %v", name, err)
		}
	}
	if len(sig) == SignatureSize && Verify(pk, msg, Signature(sig)) {
		t.Errorf("%s: Verify accepted it", name)
	}
}

func TestSignatureStrictness(t *testing.T) {
	sk, pk, msg, sig := fixture(t)
	defer sk.Zero()
	if !Verify(pk, msg, sig) || !laxVerify(pk, msg, sig[:]) {
		t.Fatal("honest signature does not verify")
	}

	// σ + T with T = (0, 2), a point of order 3: the pairing ignores it.
	var S, T, ST bls.G1
	if err := decodeG1(&S, sig[:]); err != nil {
		t.Fatal(err)
	}
	var zero bls.Fp
	if !liftX(&T, &zero, false) {
		t.Fatal("(0, 2) not on curve")
	}
	bls.G1Add(&ST, &S, &T)
	var torsion [SignatureSize]byte
	encodeG1(&torsion, &ST)
	if !laxVerify(pk, msg, torsion[:]) {
		t.Fatal("σ+T should pass the bare pairing check (test premise)")
	}
	mustReject(t, "σ+T", pk, msg, torsion[:])

	// The order-3 point itself: 0x02 ‖ 0…0.
	var tEnc [SignatureSize]byte
	encodeG1(&tEnc, &T)
	mustReject(t, "torsion point", pk, msg, tEnc[:])

	// x + p (Milagro reduces it silently).
	x := new(big.Int).SetBytes(sig[1:])
	x.Add(x, new(big.Int).SetBytes(fieldOrder[:]))
	big1 := append([]byte{sig[0]}, x.FillBytes(make([]byte, fpSize))...)
	mustReject(t, "x+p", pk, msg, big1)
	// x = p exactly and all-ones.
	mustReject(t, "x=p", pk, msg, append([]byte{2}, fieldOrder[:]...))
	mustReject(t, "x=ff..ff", pk, msg, append([]byte{2}, bytes.Repeat([]byte{0xff}, fpSize)...))

	// Lengths and prefixes.
	mustReject(t, "truncated", pk, msg, sig[:SignatureSize-1])
	mustReject(t, "trailing byte", pk, msg, append(sig[:], 0))
	mustReject(t, "empty", pk, msg, nil)
	for _, p := range []byte{0x00, 0x01, 0x04, 0x80, 0xc0, 0x22} {
		bad := sig
		bad[0] = p
		mustReject(t, "prefix", pk, msg, bad[:])
	}
	// 97-byte uncompressed 0x04 ‖ x ‖ y.
	var A bls.G1
	bls.G1Normalize(&A, &S)
	unc := make([]byte, 97)
	unc[0] = 4
	fpPut(unc[1:49], &A.X)
	fpPut(unc[49:97], &A.Y)
	mustReject(t, "uncompressed", pk, msg, unc)
	// ZCash point at infinity encoding, padded to 49 bytes.
	inf := make([]byte, SignatureSize)
	inf[0] = 0xc0
	mustReject(t, "infinity", pk, msg, inf)

	// Wrong parity: the negated signature.
	neg := sig
	neg[0] ^= 1
	if _, err := ParseSignature(neg[:]); err != nil {
		t.Errorf("-σ is a valid point and should parse: %v", err)
	}
	if Verify(pk, msg, neg) {
		t.Error("-σ verified")
	}
	// Different message and different key.
	if Verify(pk, append(msg, '!'), sig) {
		t.Error("signature verified for another message")
	}
	sk2, pk2, _, _ := fixture(t)
	defer sk2.Zero()
	if Verify(pk2, msg, sig) {
		t.Error("signature verified under another key")
	}
}

func TestSignatureNotOnCurve(t *testing.T) {
	// Find x with x³+4 a non-residue.
	var b [SignatureSize]byte
	b[0] = 2
	for i := byte(1); ; i++ {
		b[SignatureSize-1] = i
		var x bls.Fp
		var P bls.G1
		if !fpFromCanonical(&x, b[1:]) {
			t.Fatal("small x rejected")
		}
		if !liftX(&P, &x, false) {
			break
		}
	}
	_, err := ParseSignature(b[:])
	if err == nil || !strings.Contains(err.Error(), "not on the curve") {
		t.Fatalf("want a not-on-curve error, got %v", err)
	}
}

// mustRejectPK checks that b is refused as a public key, with an error
// naming want, and that sig over msg does not verify under it.
func mustRejectPK(t *testing.T, name string, b []byte, want string, msg []byte, sig Signature) {
	t.Helper()
	_, err := ParsePublicKey(b)
	if err == nil {
		t.Errorf("%s: ParsePublicKey accepted it", name)
		return
	}
	if !errors.Is(err, ErrInvalidPublicKey) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q, want it to mention %q", name, err, want)
	}
	if len(b) >= 8 && strings.Contains(err.Error(), hex.EncodeToString(b[:8])) {
		t.Errorf("%s: error leaks input bytes", name)
	}
	if len(b) == PublicKeySize {
		if Verify(PublicKey(b), msg, sig) {
			t.Errorf("%s: Verify accepted it", name)
		}
	}
}

func TestPublicKeyStrictness(t *testing.T) {
	sk, pk, msg, sig := fixture(t)
	defer sk.Zero()
	if got, err := ParsePublicKey(pk[:]); err != nil || got != pk {
		t.Fatalf("honest public key rejected: %v", err)
	}
	mustRejectPK(t, "short", pk[:PublicKeySize-1], "length", msg, sig)
	mustRejectPK(t, "trailing", append(pk[:], 0), "length", msg, sig)
	mustRejectPK(t, "empty", nil, "length", msg, sig)
	mustRejectPK(t, "identity/zeros", make([]byte, PublicKeySize), "not on the curve", msg, sig)

	for i := range 4 {
		// coordinate i + p
		bad := pk
		c := new(big.Int).SetBytes(bad[i*48 : (i+1)*48])
		c.Add(c, new(big.Int).SetBytes(fieldOrder[:]))
		c.FillBytes(bad[i*48 : (i+1)*48])
		mustRejectPK(t, "coordinate+p", bad[:], "field modulus", msg, sig)
	}
	flipped := pk
	flipped[PublicKeySize-1] ^= 1
	mustRejectPK(t, "not on curve", flipped[:], "not on the curve", msg, sig)

	// A point on the twist outside the order-r subgroup.
	var P bls.G2
	for i := int64(1); ; i++ {
		P.X.D[0].SetInt64(i)
		P.X.D[1].SetInt64(1)
		var t2 bls.Fp2
		bls.Fp2Sqr(&t2, &P.X)
		bls.Fp2Mul(&t2, &t2, &P.X)
		bls.Fp2Add(&t2, &t2, &fp2B)
		if bls.Fp2SquareRoot(&P.Y, &t2) {
			break
		}
	}
	P.Z.D[0].SetInt64(1)
	P.Z.D[1].Clear()
	var outside PublicKey
	encodeG2((*[PublicKeySize]byte)(&outside), &P)
	mustRejectPK(t, "outside subgroup", outside[:], "subgroup", msg, sig)
}

func TestSecretKeyFromBytes(t *testing.T) {
	r := new(big.Int).SetBytes(groupOrder[:])
	enc := func(v *big.Int) []byte { return v.FillBytes(make([]byte, SecretKeySize)) }
	one := big.NewInt(1)
	ok := [][]byte{enc(one), enc(new(big.Int).Sub(r, one))}
	bad := [][]byte{
		make([]byte, SecretKeySize),     // zero
		enc(r),                          // r
		enc(new(big.Int).Add(r, one)),   // r+1
		enc(new(big.Int).Lsh(one, 300)), // in the leading 16 bytes
		make([]byte, 32),                // short
		append(enc(one), 0),             // trailing
		bytes.Repeat([]byte{0xff}, 48),  // all ones
	}
	for _, b := range ok {
		sk, err := SecretKeyFromBytes(b)
		if err != nil || !bytes.Equal(sk[:], b) {
			t.Errorf("valid key rejected: %v", err)
		}
	}
	for i, b := range bad {
		_, err := SecretKeyFromBytes(b)
		if err == nil || !errors.Is(err, ErrInvalidSecretKey) {
			t.Errorf("bad key %d accepted (err %v)", i, err)
		}
	}
	// r-1 is -1 mod r: its public key is -G2.
	skm1, _ := SecretKeyFromBytes(ok[1])
	pkm1 := skm1.Public()
	var W, negG bls.G2
	if err := decodeG2(&W, pkm1[:]); err != nil {
		t.Fatal(err)
	}
	bls.G2Neg(&negG, &g2Gen)
	if !W.IsEqual(&negG) {
		t.Error("(r-1)·G2 != -G2")
	}
}

type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestGenerate(t *testing.T) {
	seen := map[SecretKey]bool{}
	for range 20 {
		sk, err := Generate(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := SecretKeyFromBytes(sk[:]); err != nil {
			t.Fatalf("generated key out of range: %v", err)
		}
		if seen[sk] {
			t.Fatal("duplicate key")
		}
		seen[sk] = true
	}
	// A source that only gives out-of-range values (all 0xff → ≥ r after
	// masking, all zero → 0) must fail rather than loop or return garbage.
	for _, c := range []constReader{0xff, 0x00} {
		if _, err := Generate(c); err == nil {
			t.Errorf("Generate accepted a constant %#x source", byte(c))
		}
	}
	if _, err := Generate(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("Generate accepted a short source")
	}
}

func TestZeroAndZeroKeyPanics(t *testing.T) {
	sk, _, _, _ := fixture(t)
	sk.Zero()
	if sk != (SecretKey{}) {
		t.Fatal("Zero left bytes")
	}
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("signing with a wiped key did not panic")
		}
		if s, _ := r.(string); !strings.Contains(s, "zero") {
			t.Fatalf("unexpected panic %v", r)
		}
	}()
	sk.Sign([]byte("x"))
}

func TestFingerprint(t *testing.T) {
	_, pk, _, _ := fixture(t)
	f := Fingerprint(pk)
	if len(f) != 19 || strings.Count(f, ":") != 3 {
		t.Fatalf("fingerprint %q has the wrong shape", f)
	}
	other := pk
	other[0] ^= 1
	if Fingerprint(other) == f {
		t.Fatal("different keys give the same fingerprint")
	}
	if Fingerprint(pk) != f {
		t.Fatal("fingerprint not deterministic")
	}
}

// cofactor is h, the full G1 cofactor.
var cofactor, _ = new(big.Int).SetString("396c8c005555e1568c00aaab0000aaab", 16)

// mulCofactorRef is h·P by plain double-and-add over the bits of the full
// cofactor h: the reference for mulCofactor.
func mulCofactorRef(Q, P *bls.G1) {
	acc := *P
	for i := cofactor.BitLen() - 2; i >= 0; i-- {
		bls.G1Dbl(&acc, &acc)
		if cofactor.Bit(i) == 1 {
			bls.G1Add(&acc, &acc, P)
		}
	}
	*Q = acc
}

// TestCofactorClearing checks the factored h·P against plain
// double-and-add by h on points outside the subgroup (as the hash makes
// them), and that the result is in the subgroup.
func TestCofactorClearing(t *testing.T) {
	ensureInit()
	if new(big.Int).Mul(new(big.Int).SetUint64(cofactorEff), new(big.Int).SetUint64(cofactorRest)).Cmp(cofactor) != 0 {
		t.Fatal("cofactor factors do not multiply to h")
	}
	tested := 0
	for i := int64(1); tested < 20; i++ {
		var x bls.Fp
		x.SetInt64(i * 7919)
		var P, a, b bls.G1
		if !liftX(&P, &x, i%2 == 0) {
			continue
		}
		tested++
		if P.IsValidOrder() {
			t.Fatalf("lifted point %d unexpectedly in the subgroup", i)
		}
		mulCofactor(&a, &P)
		mulCofactorRef(&b, &P)
		if !a.IsEqual(&b) {
			t.Fatalf("factored h·P differs from double-and-add for x=%d", i*7919)
		}
		if !a.IsValidOrder() || a.IsZero() {
			t.Fatalf("h·P not in the subgroup for x=%d", i*7919)
		}
	}
}

func TestFpEncodingRoundTrip(t *testing.T) {
	ensureInit()
	for _, s := range []string{"0", "1", "ff", fieldOrderHex} {
		var want [fpSize]byte
		v, _ := new(big.Int).SetString(s, 16)
		if s == fieldOrderHex {
			v.Sub(v, big.NewInt(1))
		}
		v.FillBytes(want[:])
		var x bls.Fp
		if !fpFromCanonical(&x, want[:]) {
			t.Fatalf("%s rejected", s)
		}
		var got [fpSize]byte
		fpPut(got[:], &x)
		if got != want {
			t.Fatalf("round trip %x -> %x", want, got)
		}
	}
	// Independent of herumi's serialization mode.
	bls.SetETHserialization(false)
	defer bls.SetETHserialization(true)
	_, pk, msg, sig := fixture(t)
	if !Verify(pk, msg, sig) {
		t.Fatal("verify depends on the serialization mode")
	}
}

// TestKeyInsideStructWithPointers checks that a key stored next to Go
// pointers can be used: cgo must never see a pointer into such a struct.
func TestKeyInsideStructWithPointers(t *testing.T) {
	type holder struct {
		Key  SecretKey
		Next *holder
		Buf  []byte
	}
	sk, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &holder{Key: sk, Buf: []byte("x")}
	h.Next = h
	pk := h.Key.Public()
	sig := h.Key.Sign([]byte("msg"))
	if !Verify(pk, []byte("msg"), sig) {
		t.Fatal("signature by a key inside a struct does not verify")
	}
}
