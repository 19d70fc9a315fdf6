package sink

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qapprove/qapprove/storage/journal"
)

// An SD-PARAM value from outside (an action ID from the API) can never
// end the parameter or the element early, and reads back as the text
// sent with only the unsafe runes replaced.
func FuzzSDParam(f *testing.F) {
	for _, s := range []string{"act-1", `a"b`, `a\b`, "a]b", "\x00\x1b[31m", "\xff\xfe", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b := sdParam(nil, "action", v)
		inner, ok := bytes.CutPrefix(b, []byte(` action="`))
		if !ok || !bytes.HasSuffix(inner, []byte(`"`)) || !utf8.Valid(b) {
			t.Fatalf("sdParam(%q) = %q", v, b)
		}
		inner = inner[:len(inner)-1]
		var out []byte
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if c == '\\' {
				i++
				if i == len(inner) || (inner[i] != '"' && inner[i] != '\\' && inner[i] != ']') {
					t.Fatalf("sdParam(%q) = %q: a lone backslash", v, b)
				}
				c = inner[i]
			} else if c == '"' || c == ']' {
				t.Fatalf("sdParam(%q) = %q: an unescaped %q", v, b, c)
			} else if c < 0x20 || c == 0x7f {
				t.Fatalf("sdParam(%q) = %q: a control byte", v, b)
			}
			out = append(out, c)
		}
		if len(out) > 256+4 {
			t.Fatalf("sdParam(%q) is %d bytes long", v, len(out))
		}
		if utf8.ValidString(v) && !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }) &&
			len(v) <= 256 && string(out) != v {
			t.Fatalf("sdParam(%q) reads back as %q", v, out)
		}
	})
}

// A cursor file is checked before it is used: whatever decodes is
// self-consistent.
func FuzzDecodeCursor(f *testing.F) {
	jid := strings.Repeat("ab", 16)
	f.Add([]byte(`{"journal_id":"` + jid + `","next":0,"offset":0}`))
	f.Add([]byte(`{"journal_id":"` + jid + `","next":3,"prev":"` + strings.Repeat("0", 64) + `","offset":900,"prev_len":300}`))
	f.Add([]byte(`{"journal_id":"` + jid + `","next":3,"prev":"x","offset":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := decodeCursor(b, jid)
		if !ok {
			return
		}
		if c.JournalID != jid || c.Offset < 0 || (c.Next == 0 && (c.Prev != "" || c.Offset != 0)) ||
			(c.Next > 0 && (!hashRE.MatchString(c.Prev) || c.PrevLen <= 0 || c.PrevLen >= c.Offset)) {
			t.Fatalf("decodeCursor(%q) accepted %+v", b, c)
		}
	})
}

// A stored row must hold one line, of its own seq, under its own hash.
func TestStoredProblem(t *testing.T) {
	fx := newFixture(t, "desk")
	fx.decideN(t, 1, 1)
	recs := fx.records(t)
	r := recs[1]
	e, err := journal.ParseLine(r.Line)
	if err != nil {
		t.Fatal(err)
	}
	if p := storedProblem(2, 1, r.Hash, r.Line, e, nil); p != nil {
		t.Fatalf("a good row: %+v", p)
	}
	if p := storedProblem(2, 2, r.Hash, r.Line, e, nil); p == nil || p.Reason != journal.Modified {
		t.Fatalf("a row of another seq: %+v", p)
	}
	if p := storedProblem(2, 1, recs[0].Hash, r.Line, e, nil); p == nil || p.Reason != journal.Modified {
		t.Fatalf("a row with another hash: %+v", p)
	}
	two := append(append(bytes.Clone(recs[1].Line), '\n'), recs[2].Line...)
	if p := storedProblem(2, 1, r.Hash, two, journal.Entry{}, errBad); p == nil || p.Reason != journal.Corrupt {
		t.Fatalf("a row holding two lines: %+v", p)
	}
}

var errBad = errors.New("the line did not parse")
