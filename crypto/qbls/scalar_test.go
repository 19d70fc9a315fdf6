package qbls

import (
	"crypto/rand"
	"math/big"
	"testing"
)

// scalarInRange agrees with big.Int arithmetic at the boundaries and on
// random values spread over all 48 bytes and over [0, 2r).
func TestScalarInRange(t *testing.T) {
	ensureInit()
	r := new(big.Int).SetBytes(groupOrder[:])
	one := big.NewInt(1)
	vals := []*big.Int{
		big.NewInt(0), one, big.NewInt(2),
		new(big.Int).Sub(r, one), r, new(big.Int).Add(r, one),
		new(big.Int).Lsh(one, 255), new(big.Int).Lsh(one, 256), new(big.Int).Lsh(one, 383),
		new(big.Int).Sub(new(big.Int).Lsh(one, 384), one),
	}
	twoR := new(big.Int).Lsh(r, 1)
	for range 2000 {
		v, err := rand.Int(rand.Reader, twoR)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
		var b [SecretKeySize]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		vals = append(vals, new(big.Int).SetBytes(b[:]))
	}
	for _, v := range vals {
		var sk SecretKey
		v.FillBytes(sk[:])
		want := 0
		if v.Sign() > 0 && v.Cmp(r) < 0 {
			want = 1
		}
		if got := scalarInRange(&sk); got != want {
			t.Fatalf("scalarInRange(%x) = %d, want %d", v, got, want)
		}
		_, err := SecretKeyFromBytes(sk[:])
		if (err == nil) != (want == 1) {
			t.Fatalf("SecretKeyFromBytes(%x): err %v, want in range %v", v, err, want == 1)
		}
	}
}
