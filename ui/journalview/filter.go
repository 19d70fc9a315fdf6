package journalview

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Query is a parsed filter: space-separated terms, all of which must
// match. "kind:K", "action:ID" (substring of the action ID),
// "verdict:V" and "decision:D" match fields; any other term is
// case-insensitive text anywhere in the line.
type Query struct {
	Kind, Action, Verdict, Decision string
	Text                            [][]byte // lower-case terms
}

// ParseQuery parses the filter text.
func ParseQuery(s string) Query {
	var q Query
	for _, t := range strings.Fields(s) {
		k, v, ok := strings.Cut(t, ":")
		if ok && v != "" {
			switch strings.ToLower(k) {
			case "kind":
				q.Kind = strings.ToLower(v)
				continue
			case "action":
				q.Action = v
				continue
			case "verdict":
				q.Verdict = strings.ToLower(v)
				continue
			case "decision":
				q.Decision = strings.ToLower(v)
				continue
			}
		}
		q.Text = append(q.Text, []byte(strings.ToLower(t)))
	}
	return q
}

// Empty reports whether the query matches everything.
func (q Query) Empty() bool {
	return q.Kind == "" && q.Action == "" && q.Verdict == "" && q.Decision == "" && len(q.Text) == 0
}

// needsFields reports whether matching needs the parsed line.
func (q Query) needsFields() bool {
	return q.Kind != "" || q.Action != "" || q.Verdict != "" || q.Decision != ""
}

// Match reports whether line (1-based number n, raw bytes b) matches. low
// is scratch space for the lower-cased line.
func (q Query) Match(n int, b []byte, low *[]byte) bool {
	if len(q.Text) > 0 {
		*low = appendLower((*low)[:0], b)
		for _, t := range q.Text {
			if !bytes.Contains(*low, t) {
				return false
			}
		}
	}
	// Cheap byte tests first; the parse confirms.
	if q.Kind != "" && !bytes.Contains(b, []byte(`"kind":"`+q.Kind+`"`)) {
		return false
	}
	if q.Action != "" && !bytes.Contains(b, []byte(q.Action)) {
		return false
	}
	if q.Verdict != "" && !bytes.Contains(b, []byte(q.Verdict)) {
		return false
	}
	if q.Decision != "" && !bytes.Contains(b, []byte(q.Decision)) {
		return false
	}
	if !q.needsFields() {
		return true
	}
	r := parseRow(n, b)
	if r.Err != nil {
		return false
	}
	return (q.Kind == "" || string(r.Entry.Kind) == q.Kind) &&
		(q.Action == "" || strings.Contains(r.Action, q.Action)) &&
		(q.Verdict == "" || r.Verdict == q.Verdict) &&
		(q.Decision == "" || r.Decision == q.Decision)
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// FilterLines streams the first size bytes of the file at path and
// returns the 0-based indexes of the lines that match q, newest first. It
// stops early when ctx ends.
func FilterLines(ctx context.Context, path string, size int64, q Query) ([]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, size), readChunk)
	var out []int32
	var low []byte
	for i := 0; ; i++ {
		if i&0xffff == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Longer than the reader's buffer: gather it (bounded by the index).
			full := append([]byte(nil), b...)
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				full = append(full, b...)
			}
			b = full
		}
		if len(b) > 0 && b[len(b)-1] == '\n' {
			if q.Match(i+1, b[:len(b)-1], &low) {
				out = append(out, int32(i))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read journal: %w", err)
		}
	}
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out, nil
}
