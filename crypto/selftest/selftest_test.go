package selftest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/assets"
)

func builtinVectors(t *testing.T) []Vector {
	t.Helper()
	vs, err := ParseVectors(bytes.NewReader(assets.QredoBLSVectors))
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestRunBuiltin(t *testing.T) {
	res := RunBuiltin()
	if res.Failed != 0 || len(res.Failures) != 0 {
		t.Fatalf("built-in self-test failed: %v", res.Failures)
	}
	// All embedded vectors plus the two internal checks.
	if want := len(builtinVectors(t)) + 2; res.Passed != want {
		t.Fatalf("passed %d, want %d", res.Passed, want)
	}
}

func TestCorruptedVectorsAreReported(t *testing.T) {
	vs := builtinVectors(t)
	pos, neg := -1, -1
	for i, v := range vs {
		if v.Valid && pos < 0 {
			pos = i
		}
		if !v.Valid && neg < 0 {
			neg = i
		}
	}
	if pos < 0 || neg < 0 {
		t.Fatal("need a positive and a negative vector")
	}
	flip := func(s string, at int) string {
		b := []byte(s)
		if b[at] == '0' {
			b[at] = '1'
		} else {
			b[at] = '0'
		}
		return string(b)
	}
	cases := []struct {
		name string
		edit func(*Vector)
		want []string
	}{
		{"signature", func(v *Vector) { v.SigHex = flip(v.SigHex, 40) }, []string{"signature differs", "does not verify"}},
		{"public key", func(v *Vector) { v.PkHex = flip(v.PkHex, 50) }, []string{"public key differs", "does not verify"}},
		{"hash", func(v *Vector) { v.HashG1Hex = flip(v.HashG1Hex, 60) }, []string{"hash to G1 differs"}},
		{"message", func(v *Vector) { v.MsgHex += "00" }, []string{"signature differs", "does not verify"}},
		{"secret key", func(v *Vector) { v.SkHex = flip(v.SkHex, 90) }, []string{"public key differs", "signature differs"}},
		{"zero secret", func(v *Vector) { v.SkHex = strings.Repeat("0", 96) }, []string{"invalid BLS secret key"}},
	}
	for _, c := range cases {
		v := vs[pos]
		c.edit(&v)
		res := Run([]Vector{vs[neg], v})
		if res.Passed != 1 || res.Failed != 1 || len(res.Failures) != 1 {
			t.Errorf("%s: got %+v", c.name, res)
			continue
		}
		line := res.Failures[0]
		if !strings.HasPrefix(line, v.Case+": ") {
			t.Errorf("%s: line %q does not name the case", c.name, line)
		}
		for _, w := range c.want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: line %q does not say %q", c.name, line, w)
			}
		}
		if strings.Contains(line, v.SkHex[32:48]) {
			t.Errorf("%s: line %q shows the secret key", c.name, line)
		}
	}

	// A negative vector turned into a "valid" one must fail, and a positive
	// one marked invalid must be reported as verifying.
	n := vs[neg]
	n.Valid = true
	n.SkHex, n.SigHex = vs[pos].SkHex, vs[pos].SigHex
	p := vs[pos]
	p.Valid = false
	res := Run([]Vector{p})
	if res.Failed != 1 || !strings.Contains(res.Failures[0], "invalid signature verified") {
		t.Errorf("positive marked invalid: %+v", res)
	}
	if res := Run([]Vector{n}); res.Failed != 1 || res.Passed != 0 {
		t.Errorf("negative marked valid: %+v", res)
	}
}

func TestParseVectorsErrors(t *testing.T) {
	good, _ := json.Marshal([]Vector{{Case: "x", PkHex: "00", SkHex: "01", SigHex: "02", Valid: true}})
	if _, err := ParseVectors(bytes.NewReader(good)); err != nil {
		t.Fatalf("minimal file rejected: %v", err)
	}
	cases := map[string]struct{ in, want string }{
		"not json":    {"hello", "not valid JSON"},
		"object":      {`{"case":"x"}`, "wrong shape"},
		"empty":       {`[]`, "no vectors"},
		"no case":     {`[{"pk_hex":"00"}]`, "no case label"},
		"bad hex":     {`[{"case":"c1","pk_hex":"zz"}]`, "c1): pk_hex is not valid hex"},
		"odd hex":     {`[{"case":"c2","pk_hex":"00","msg_hex":"abc"}]`, "msg_hex is not valid hex"},
		"no pk":       {`[{"case":"c3"}]`, "pk_hex is missing"},
		"valid no sk": {`[{"case":"c4","pk_hex":"00","valid":true}]`, "needs sk_hex"},
		"truncated":   {`[{"case":"c5"`, "not valid JSON"},
	}
	for name, c := range cases {
		_, err := ParseVectors(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxVectorsSize+1)
	if _, err := ParseVectors(bytes.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}
