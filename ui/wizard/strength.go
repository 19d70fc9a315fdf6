package wizard

import (
	"bytes"
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"
)

// The passphrase floor. The bundle is protected by scrypt (n=2^18), so an
// attacker with the keystore pays ~1 s of one core per guess; 60 bits then
// means centuries even with a large farm. 12 characters keeps the floor
// reachable with four random words or a short random string.
const (
	MinLength = 12 // characters
	MinBits   = 60 // estimated bits
)

// Strength is the estimate for one passphrase.
type Strength struct {
	Length   int      // characters
	Bits     float64  // estimated entropy
	OK       bool     // meets MinLength and MinBits
	Feedback []string // what to improve, one short sentence each
}

// commonWords are substrings that add almost nothing to a passphrase.
var commonWords = [][]byte{
	[]byte("password"), []byte("passw0rd"), []byte("qwerty"), []byte("azerty"), []byte("letmein"),
	[]byte("welcome"), []byte("admin"), []byte("qredo"), []byte("qapprove"), []byte("iloveyou"),
	[]byte("monkey"), []byte("dragon"), []byte("secret"), []byte("123456"), []byte("abc123"),
	[]byte("asdfgh"), []byte("zxcvbn"), []byte("changeme"), []byte("default"),
}

// Estimate rates passphrase p: every character is worth log2 of the size
// of the character classes used (lower, upper, digits, symbols, other),
// except repeats and sequences (aaa, abc, 321), worth 1 bit each, and
// common words, worth 10 bits each whole. It never copies p into a string.
func Estimate(p []byte) Strength {
	var lower, upper, digit, symbol, other bool
	runes := make([]rune, 0, len(p))
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		i += n
		runes = append(runes, r)
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < 0x80 && unicode.IsPrint(r):
			symbol = true
		default:
			other = true
		}
	}
	defer clear(runes)
	pool := 0
	for _, c := range []struct {
		on bool
		n  int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {symbol, 33}, {other, 100}} {
		if c.on {
			pool += c.n
		}
	}
	s := Strength{Length: len(runes)}
	if pool == 0 {
		s.Feedback = []string{fmt.Sprintf("type at least %d characters", MinLength)}
		return s
	}
	per := math.Log2(float64(pool))

	// Characters inside a common word are worth nothing; the word 10 bits.
	weak := make([]bool, len(runes))
	low := bytes.ToLower(p)
	defer clear(low)
	words := 0
	for _, w := range commonWords {
		for off := 0; ; {
			i := bytes.Index(low[off:], w)
			if i < 0 {
				break
			}
			// Map byte offsets to rune positions.
			start := utf8.RuneCount(low[:off+i])
			for k := start; k < start+len(w) && k < len(weak); k++ {
				weak[k] = true
			}
			words++
			off += i + len(w)
		}
	}
	repeats, seqs := 0, 0
	bits := float64(words) * 10
	for i, r := range runes {
		switch {
		case weak[i]:
		case i > 0 && r == runes[i-1]:
			repeats++
			bits++
		case i > 0 && (r == runes[i-1]+1 || r == runes[i-1]-1):
			seqs++
			bits++
		default:
			bits += per
		}
	}
	s.Bits = bits
	s.OK = s.Length >= MinLength && bits >= MinBits
	if s.Length < MinLength {
		s.Feedback = append(s.Feedback, fmt.Sprintf("add %d more characters (at least %d)", MinLength-s.Length, MinLength))
	}
	if classes := btoi(lower) + btoi(upper) + btoi(digit) + btoi(symbol) + btoi(other); classes < 2 && bits < MinBits {
		s.Feedback = append(s.Feedback, "mix in upper-case letters, digits or symbols, or add words")
	}
	if repeats > 2 {
		s.Feedback = append(s.Feedback, "avoid repeated characters")
	}
	if seqs > 2 {
		s.Feedback = append(s.Feedback, "avoid sequences like abc or 123")
	}
	if words > 0 {
		s.Feedback = append(s.Feedback, "avoid common words like password or qwerty")
	}
	if !s.OK && s.Length >= MinLength && len(s.Feedback) == 0 {
		s.Feedback = append(s.Feedback, "make it longer: a few random words work well")
	}
	return s
}

// Label is a one-word rating.
func (s Strength) Label() string {
	switch {
	case s.Bits < 40:
		return "weak"
	case !s.OK:
		return "fair"
	case s.Bits < 90:
		return "good"
	default:
		return "strong"
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
