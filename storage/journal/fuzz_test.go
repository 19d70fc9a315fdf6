package journal

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseLine checks that the line parser never panics and is canonical:
// whatever it accepts re-encodes to exactly the same bytes.
func FuzzParseLine(f *testing.F) {
	fx := newFixture(f, 2)
	for _, l := range fx.lines(f) {
		f.Add(l)
	}
	f.Add([]byte(`{"v":1,"seq":01,"ts":"x","kind":"a","prev":"","body":{}}`))
	f.Add([]byte(`{"v":1,"seq":18446744073709551616}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseLine(b)
		if err != nil {
			return
		}
		if again := encodeLine(p.seq, string(p.ts), p.kind, p.prev, p.body, p.signature()); !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical line:\n%q\nre-encodes to\n%q", b, again)
		}
		if _, err := ParseLine(b); err != nil {
			t.Fatalf("ParseLine disagrees with parseLine: %v", err)
		}
	})
}

// FuzzVerify feeds arbitrary files to Verify: it must not panic and may only
// call a file intact when it starts with a valid signed genesis.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, 2)
	b, _ := os.ReadFile(fx.path)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("\n\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "j.jsonl")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(p, VerifyOptions{Workers: 2})
		if err != nil {
			return
		}
		if rep.Intact && rep.Entries > 0 {
			first := data[:bytes.IndexByte(data, '\n')]
			pl, err := parseLine(first)
			if err != nil || pl.kind != KindGenesis || !pl.hasSig {
				t.Fatalf("intact journal without a signed genesis: %q", first)
			}
		}
	})
}

// FuzzValidJSON holds validJSON to json.Valid's answer.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,-2.5e+3,true,false,null,"x\u00e9\n"]}`, `{"a":01}`, `[1,]`, `{"a" : { } , "b":[ ]}`,
		`"\ud800"`, "\"\x01\"", `-`, `1.`, `1e`, `{"a"}`, ` 1 `, `[[[[]]]]`, `{"a":1}}`, `nul`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

func TestValidJSONDepth(t *testing.T) {
	for _, n := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("depth %d: validJSON %v, json.Valid %v", n, got, want)
		}
	}
}
