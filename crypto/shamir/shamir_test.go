package shamir

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
)

// slowMul is the schoolbook product modulo the AES polynomial, as a
// reference for mul.
func slowMul(a, b byte) byte {
	var p uint16
	for i := range 8 {
		if b&(1<<i) != 0 {
			p ^= uint16(a) << i
		}
	}
	for i := 15; i >= 8; i-- {
		if p&(1<<i) != 0 {
			p ^= 0x11b << (i - 8)
		}
	}
	return byte(p)
}

func TestFieldArithmetic(t *testing.T) {
	if got := mul(0x57, 0x83); got != 0xc1 { // FIPS-197 §4.2
		t.Fatalf("0x57·0x83 = %#x, want 0xc1", got)
	}
	for a := range 256 {
		for b := range 256 {
			if got, want := mul(byte(a), byte(b)), slowMul(byte(a), byte(b)); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
		if a != 0 && mul(byte(a), inv(byte(a))) != 1 {
			t.Fatalf("inv(%#x) is not an inverse", a)
		}
	}
}

// subsets calls fn with every k-subset of shares, in every rotation of
// order so the interpolation does not depend on it.
func subsets(shares []Share, k int, fn func([]Share)) {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		sub := make([]Share, k)
		for i, j := range idx {
			sub[i] = shares[j]
		}
		fn(sub)
		rot := append(append([]Share(nil), sub[1:]...), sub[0])
		fn(rot)
		if !nextSubset(idx, len(shares)) {
			return
		}
	}
}

// TestEveryCombination recombines every K-subset (K ≤ size ≤ N) of every
// K-of-N set for N ≤ 5, and refuses every subset smaller than K.
func TestEveryCombination(t *testing.T) {
	secret := []byte("an encrypted backup: {\"crypto\":…}")
	for n := 2; n <= 5; n++ {
		for k := 2; k <= n; k++ {
			shares, err := Split(secret, n, k, rand.Reader)
			if err != nil {
				t.Fatalf("%d-of-%d: %v", k, n, err)
			}
			if len(shares) != n {
				t.Fatalf("%d-of-%d: %d shares", k, n, len(shares))
			}
			for size := 1; size <= n; size++ {
				subsets(shares, size, func(sub []Share) {
					got, err := Combine(sub)
					if size < k {
						if !errors.Is(err, ErrTooFewShares) {
							t.Fatalf("%d-of-%d with %d shares: err %v, want too few", k, n, size, err)
						}
						return
					}
					if err != nil || !bytes.Equal(got, secret) {
						t.Fatalf("%d-of-%d with %s: %q, %v", k, n, ids(sub), got, err)
					}
				})
			}
		}
	}
}

func ids(s []Share) string {
	b := make([]int, len(s))
	for i := range s {
		b[i] = int(s[i].Index)
	}
	return fmt.Sprint(b)
}

// TestFewerThanKRevealNothing: for a 3-of-5 split of a one-byte secret,
// every pair of shares takes each of its 65,536 values exactly once over
// the 65,536 polynomials, whatever the secret: two shares say nothing.
func TestFewerThanKRevealNothing(t *testing.T) {
	for _, s := range []byte{0x00, 0x5a, 0xff} {
		var seen [1 << 16]bool
		coef := make([]byte, 2*(1+TagSize))
		for c := range 1 << 16 {
			coef[0], coef[1] = byte(c), byte(c>>8) // the secret byte's two coefficients
			shares, err := Split([]byte{s}, 5, 3, bytes.NewReader(coef))
			if err != nil {
				t.Fatal(err)
			}
			v := int(shares[1].Value[0]) | int(shares[4].Value[0])<<8
			if seen[v] {
				t.Fatalf("secret %#x: shares 2 and 5 repeat the value %#x", s, v)
			}
			seen[v] = true
		}
	}
}

func TestTamperedShareIsDetected(t *testing.T) {
	secret := bytes.Repeat([]byte("backup"), 400)
	shares, err := Split(secret, 5, 3, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for victim := range 3 {
		for _, pos := range []int{0, len(secret) / 2, len(secret), len(secret) + TagSize - 1} {
			bad := cloneShares(shares[:3])
			bad[victim].Value[pos] ^= 0x01
			if got, err := Combine(bad); !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("share %d altered at %d: got %d bytes, err %v", victim+1, pos, len(got), err)
			}
		}
	}
	// With more than K, the altered share is named.
	bad := cloneShares(shares)
	bad[1].Value[7] ^= 0x80
	_, err = Combine(bad)
	var ce *CorruptError
	if !errors.As(err, &ce) || !bytes.Equal(ce.Bad, []byte{2}) {
		t.Fatalf("err %v, want share 2 named", err)
	}
	bad = cloneShares(shares[:4])
	bad[3].Value[0] ^= 1 // an extra share beyond the first K
	if _, err := Combine(bad); !errors.As(err, &ce) || !bytes.Equal(ce.Bad, []byte{4}) {
		t.Fatalf("err %v, want share 4 named", err)
	}
}

func TestSharesOfAnotherSet(t *testing.T) {
	a, _ := Split([]byte("first secret"), 3, 2, rand.Reader)
	b, _ := Split([]byte("other secret"), 3, 2, rand.Reader)
	if _, err := Combine([]Share{a[0], b[1]}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("mixed sets: %v", err)
	}
	c, _ := Split([]byte("first secret"), 3, 3, rand.Reader)
	if _, err := Combine([]Share{a[0], c[1]}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("mixed thresholds: %v", err)
	}
	d, _ := Split([]byte("a longer secret"), 3, 2, rand.Reader)
	if _, err := Combine([]Share{a[0], d[1]}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("mixed lengths: %v", err)
	}
}

func TestCombineRefusals(t *testing.T) {
	shares, _ := Split([]byte("secret"), 4, 3, rand.Reader)
	dup := []Share{shares[0], shares[1], shares[0]}
	if _, err := Combine(dup); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate index: %v", err)
	}
	if _, err := Combine(nil); !errors.Is(err, ErrTooFewShares) {
		t.Fatalf("no shares: %v", err)
	}
	zero := cloneShares(shares[:3])
	zero[2].Index = 0
	if _, err := Combine(zero); !errors.Is(err, ErrMismatch) {
		t.Fatalf("index 0: %v", err)
	}
}

func TestSplitRefusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		secret []byte
		n, k   int
	}{
		{"K>N", []byte("s"), 3, 4},
		{"N>255", []byte("s"), 256, 3},
		{"K=1", []byte("s"), 3, 1},
		{"K=0", []byte("s"), 3, 0},
		{"empty secret", nil, 3, 2},
	} {
		if _, err := Split(c.secret, c.n, c.k, rand.Reader); !errors.Is(err, ErrParams) {
			t.Errorf("%s: err %v, want ErrParams", c.name, err)
		}
	}
	if s, err := Split([]byte("s"), 255, 255, rand.Reader); err != nil || len(s) != 255 || s[254].Index != 255 {
		t.Fatalf("255-of-255: %v", err)
	}
}

func TestShortRandomSource(t *testing.T) {
	if _, err := Split([]byte("secret"), 3, 2, bytes.NewReader(nil)); err == nil {
		t.Fatal("Split succeeded without randomness")
	}
}

func cloneShares(s []Share) []Share {
	out := make([]Share, len(s))
	for i := range s {
		out[i] = Share{Index: s[i].Index, Threshold: s[i].Threshold, Value: bytes.Clone(s[i].Value)}
	}
	return out
}

func FuzzCombine(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, byte(2))
	f.Fuzz(func(_ *testing.T, a, b []byte, k byte) {
		_, _ = Combine([]Share{{Index: 1, Threshold: k, Value: a}, {Index: 2, Threshold: k, Value: b}})
	})
}
