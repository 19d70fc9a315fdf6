// Package safetext makes text from the network, a file or the keychain
// safe to put on a terminal: control characters (C0 but newline and tab,
// DEL, C1), bidi controls and zero-width characters become a visible
// escape such as \x1b or \u202e, so they can neither drive the terminal
// nor reorder or hide what the operator reads. Invalid UTF-8 becomes \xNN.
package safetext

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal as it is (newline and
// tab excluded: Line treats those too).
func Unsafe(r rune) bool {
	switch {
	case r < 0x20 && r != '\n' && r != '\t':
		return true
	case r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi embeddings, overrides, isolates and marks
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == 0x00ad, r == 0x180e:
		return true // zero-width and invisible characters
	case r == 0x2028 || r == 0x2029:
		return true // line and paragraph separators
	}
	return false
}

// escape writes the visible escape of r.
func escape(b *strings.Builder, r rune) {
	if r < 0x100 {
		fmt.Fprintf(b, `\x%02x`, r)
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

// Text returns s with every unsafe character escaped; newlines and tabs
// are kept (for multi-line output such as a pretty-printed payload).
func Text(s string) string { return clean(s, false) }

// Line returns s with every unsafe character escaped, newlines, carriage
// returns and tabs included: for one-line fields (an ID, an address, a
// name, an error message).
func Line(s string) string { return clean(s, true) }

func clean(s string, oneLine bool) string {
	if isSafe(s, oneLine) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Unsafe(r) || (oneLine && (r == '\n' || r == '\t')):
			escape(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// isSafe is the fast path: most text needs no change.
func isSafe(s string, oneLine bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c < 0x20 || c == 0x7f {
			if c >= 0x80 {
				// Leave multi-byte text to the slow path only when it
				// holds something unsafe.
				r, n := utf8.DecodeRuneInString(s[i:])
				if (r == utf8.RuneError && n <= 1) || Unsafe(r) {
					return false
				}
				i += n - 1
				continue
			}
			if oneLine || (c != '\n' && c != '\t') {
				return false
			}
		}
	}
	return true
}

// Writer escapes everything written through it with Text (newlines and
// tabs pass), for a command's plain-text output. A multi-byte character
// split across two writes is escaped byte by byte; callers write whole
// lines.
type Writer struct{ W io.Writer }

// Write implements io.Writer; it reports len(p) on success.
func (w Writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.W, Text(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// JSON escapes, inside encoded JSON, the characters that encoding/json
// leaves raw but a terminal would act on (bidi controls, zero-width
// characters, C1 controls, DEL), as \uXXXX: the value stays exact for a
// JSON reader, and the bytes on the terminal are inert. encoding/json
// already escapes C0 controls and U+2028/U+2029. Outside strings JSON
// holds only ASCII, so escaping every such rune is always valid.
func JSON(b []byte) []byte {
	s := string(b)
	if isSafe(s, false) {
		return b
	}
	var out strings.Builder
	out.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r != utf8.RuneError || n > 1) && Unsafe(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.WriteString(s[i : i+n])
		}
		i += n
	}
	return []byte(out.String())
}
