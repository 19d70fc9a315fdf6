// Package shamir splits a secret into shares by Shamir's secret sharing
// over GF(2^8) (the AES field, polynomial x^8+x^4+x^3+x+1), one random
// polynomial per byte. Any Threshold shares recombine the secret; fewer
// reveal nothing about it.
//
// A SHA-256 tag of the secret is shared with it (it is part of the shared
// bytes, so fewer than Threshold shares reveal nothing about it either):
// Combine checks it and every share given, so an altered share or a share
// of another set is an error, never a wrong secret.
//
// Field arithmetic on share values runs in constant time (no tables
// indexed by secret bytes).
package shamir

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// Bounds of Split.
const (
	MaxShares = 255 // share indexes are the non-zero bytes
	MinThresh = 2   // a threshold of 1 would give each holder the whole secret
	// TagSize is the number of bytes each share holds beyond the secret.
	TagSize = sha256.Size
)

// tagDomain separates the tag from any other SHA-256 of the same bytes.
const tagDomain = "qapprove/shamir/v1\n"

// Errors of Split and Combine; match them with errors.Is.
var (
	ErrParams       = errors.New("shamir: invalid parameters")
	ErrTooFewShares = errors.New("shamir: too few shares")
	ErrMismatch     = errors.New("shamir: shares are not of one set")
	ErrDuplicate    = errors.New("shamir: two shares have the same index")
	ErrCorrupt      = errors.New("shamir: shares do not recombine (altered or of another set)")
)

// Share is one share: its index (the x coordinate, 1 to 255), the
// threshold of its set and the share bytes (the secret's length plus
// TagSize).
type Share struct {
	Index     byte
	Threshold byte
	Value     []byte
}

// CorruptError is returned (wrapping ErrCorrupt) when the shares given do
// not recombine; Bad lists the indexes of the shares found inconsistent
// with the others, when that could be told.
type CorruptError struct{ Bad []byte }

func (e *CorruptError) Error() string {
	if len(e.Bad) == 0 {
		return ErrCorrupt.Error()
	}
	return fmt.Sprintf("%v: share %s", ErrCorrupt, indexList(e.Bad))
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func indexList(b []byte) string {
	s := ""
	for i, x := range b {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(x)
	}
	return s
}

// Split returns n shares of secret (indexes 1 to n), any k of which
// recombine it. It needs 2 ≤ k ≤ n ≤ 255 and a non-empty secret; rnd is
// the source of the polynomials' coefficients (crypto/rand.Reader).
func Split(secret []byte, n, k int, rnd io.Reader) ([]Share, error) {
	switch {
	case len(secret) == 0:
		return nil, fmt.Errorf("%w: empty secret", ErrParams)
	case n > MaxShares:
		return nil, fmt.Errorf("%w: at most %d shares, not %d", ErrParams, MaxShares, n)
	case k < MinThresh:
		return nil, fmt.Errorf("%w: the threshold must be at least %d, not %d", ErrParams, MinThresh, k)
	case k > n:
		return nil, fmt.Errorf("%w: the threshold %d is larger than the number of shares %d", ErrParams, k, n)
	}
	data := withTag(secret)
	defer clear(data)
	// coef[p*(k-1)+d] is the coefficient of x^(d+1) for byte p.
	coef := make([]byte, len(data)*(k-1))
	defer clear(coef)
	if _, err := io.ReadFull(rnd, coef); err != nil {
		return nil, fmt.Errorf("shamir: random source: %w", err)
	}
	shares := make([]Share, n)
	for i := range shares {
		x := byte(i + 1)
		v := make([]byte, len(data))
		for p, s := range data {
			c := coef[p*(k-1) : (p+1)*(k-1)]
			var y byte // Horner: ((c[k-2]·x + c[k-3])·x + …)·x + s
			for d := len(c) - 1; d >= 0; d-- {
				y = mul(y, x) ^ c[d]
			}
			v[p] = mul(y, x) ^ s
		}
		shares[i] = Share{Index: x, Threshold: byte(k), Value: v} //nolint:gosec // G115: 2 ≤ k ≤ n ≤ 255 checked above
	}
	return shares, nil
}

// withTag returns secret ‖ SHA-256(tagDomain ‖ secret).
func withTag(secret []byte) []byte {
	h := sha256.New()
	h.Write([]byte(tagDomain))
	h.Write(secret)
	return h.Sum(append(make([]byte, 0, len(secret)+TagSize), secret...))
}

// Combine recombines the secret from at least Threshold shares of one set.
// Every share given must lie on the set's polynomials: an altered share,
// or one from another set, gives a *CorruptError, never a wrong secret.
func Combine(shares []Share) ([]byte, error) {
	if err := checkSet(shares); err != nil {
		return nil, err
	}
	k := int(shares[0].Threshold)
	if out, err := combineFirst(shares, k); err == nil {
		return out, nil
	}
	// The first k do not recombine: look for k that do, to name the bad
	// shares (bounded: the number of k-subsets grows fast).
	if good := findConsistent(shares, k, 2000); good != nil {
		bad := make([]byte, 0, len(shares))
		for _, s := range shares {
			if !onCurve(good, s) {
				bad = append(bad, s.Index)
			}
		}
		return nil, &CorruptError{Bad: bad}
	}
	return nil, &CorruptError{}
}

// combineFirst interpolates the first k shares, checks the tag and that
// every other share lies on the same polynomials.
func combineFirst(shares []Share, k int) ([]byte, error) {
	data := interpolate(shares[:k], 0)
	if !tagOK(data) {
		clear(data)
		return nil, &CorruptError{}
	}
	var bad []byte
	for _, s := range shares[k:] {
		if !onCurve(shares[:k], s) {
			bad = append(bad, s.Index)
		}
	}
	if bad != nil {
		clear(data)
		return nil, &CorruptError{Bad: bad}
	}
	out := append([]byte(nil), data[:len(data)-TagSize]...)
	clear(data)
	return out, nil
}

// checkSet checks what can be told without arithmetic: one threshold, one
// length, distinct non-zero indexes, enough shares.
func checkSet(shares []Share) error {
	if len(shares) == 0 {
		return fmt.Errorf("%w: none given", ErrTooFewShares)
	}
	k, size := shares[0].Threshold, len(shares[0].Value)
	if k < MinThresh || size <= TagSize {
		return fmt.Errorf("%w: share %d is malformed", ErrMismatch, shares[0].Index)
	}
	var seen [256]bool
	for _, s := range shares {
		switch {
		case s.Threshold != k || len(s.Value) != size:
			return fmt.Errorf("%w: share %d has threshold %d and %d bytes, share %d has %d and %d bytes",
				ErrMismatch, shares[0].Index, k, size, s.Index, s.Threshold, len(s.Value))
		case s.Index == 0:
			return fmt.Errorf("%w: index 0 is not a share", ErrMismatch)
		case seen[s.Index]:
			return fmt.Errorf("%w: index %d", ErrDuplicate, s.Index)
		}
		seen[s.Index] = true
	}
	if len(shares) < int(k) {
		return fmt.Errorf("%w: %d given, %d needed", ErrTooFewShares, len(shares), k)
	}
	return nil
}

// findConsistent returns k shares whose interpolation carries a valid
// tag, trying at most limit subsets; nil when none is found.
func findConsistent(shares []Share, k, limit int) []Share {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	sub := make([]Share, k)
	for tries := 0; tries < limit; tries++ {
		for i, j := range idx {
			sub[i] = shares[j]
		}
		data := interpolate(sub, 0)
		ok := tagOK(data)
		clear(data)
		if ok {
			return sub
		}
		if !nextSubset(idx, len(shares)) {
			return nil
		}
	}
	return nil
}

// nextSubset advances idx to the next k-subset of 0..n-1 in lexical order.
func nextSubset(idx []int, n int) bool {
	k := len(idx)
	i := k - 1
	for i >= 0 && idx[i] == n-k+i {
		i--
	}
	if i < 0 {
		return false
	}
	idx[i]++
	for j := i + 1; j < k; j++ {
		idx[j] = idx[j-1] + 1
	}
	return true
}

// onCurve reports whether s lies on the polynomials through base.
func onCurve(base []Share, s Share) bool {
	for _, b := range base {
		if b.Index == s.Index {
			return subtle.ConstantTimeCompare(b.Value, s.Value) == 1
		}
	}
	y := interpolate(base, s.Index)
	defer clear(y)
	return subtle.ConstantTimeCompare(y, s.Value) == 1
}

// tagOK checks the trailing SHA-256 tag of data in constant time.
func tagOK(data []byte) bool {
	want := withTag(data[:len(data)-TagSize])
	defer clear(want)
	return subtle.ConstantTimeCompare(want[len(want)-TagSize:], data[len(data)-TagSize:]) == 1
}

// interpolate evaluates at x the polynomials through the shares (distinct
// indexes) by Lagrange's formula.
func interpolate(shares []Share, x byte) []byte {
	out := make([]byte, len(shares[0].Value))
	for i, si := range shares {
		// basis_i(x) = Π_{j≠i} (x - x_j) / (x_i - x_j); minus is xor.
		num, den := byte(1), byte(1)
		for j, sj := range shares {
			if j != i {
				num = mul(num, x^sj.Index)
				den = mul(den, si.Index^sj.Index)
			}
		}
		l := mul(num, inv(den))
		for p, y := range si.Value {
			out[p] ^= mul(l, y)
		}
	}
	return out
}

// mul multiplies in GF(2^8) modulo x^8+x^4+x^3+x+1, in constant time.
func mul(a, b byte) byte {
	var p byte
	for range 8 {
		p ^= a & -(b & 1)
		a = a<<1 ^ 0x1b&-(a>>7)
		b >>= 1
	}
	return p
}

// inv is the multiplicative inverse a^254 (0 for 0), in constant time.
func inv(a byte) byte {
	r, s := byte(1), a
	for range 7 {
		s = mul(s, s)
		r = mul(r, s)
	}
	return r
}
