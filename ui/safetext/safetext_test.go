package safetext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLineEscapesEveryHostileCharacter(t *testing.T) {
	cases := map[string]string{
		"a\x1b[31mred":  `a\x1b[31mred`,
		"cr\rover":      `cr\x0dover`,
		"bell\a":        `bell\x07`,
		"del\x7f":       `del\x7f`,
		"c1\u009b2J":    `c1\x9b2J`,
		"rlo\u202eevil": `rlo\u202eevil`,
		"iso\u2066x":    `iso\u2066x`,
		"zw\u200bsp":    `zw\u200bsp`,
		"bom\ufeff":     `bom\ufeff`,
		"nl\nx\ty":      `nl\x0ax\x09y`,
		"bad\xffutf":    `bad\xffutf`,
		"plain é 中文 ok": "plain é 中文 ok",
	}
	for in, want := range cases {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextKeepsNewlinesAndTabs(t *testing.T) {
	if got := Text("a\n\tb\x1bc\r"); got != "a\n\tb\\x1bc\\x0d" {
		t.Fatalf("Text = %q", got)
	}
}

func TestWriterOutputIsInert(t *testing.T) {
	var buf bytes.Buffer
	w := Writer{W: &buf}
	in := "id \x1b]0;title\a \u202eabc\n"
	n, err := w.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	for _, bad := range []string{"\x1b", "\a", "\u202e"} {
		if strings.Contains(buf.String(), bad) {
			t.Fatalf("output %q still holds %q", buf.String(), bad)
		}
	}
	if !strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("newline lost: %q", buf.String())
	}
}

func TestJSONKeepsTheExactValue(t *testing.T) {
	v := map[string]string{"to": "0x\u202e12\u200b\x1b\u0085\x7f"}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	safe := JSON(raw)
	for _, bad := range []string{"\x1b", "\u202e", "\u200b", "\u0085", "\x7f"} {
		if strings.Contains(string(safe), bad) {
			t.Fatalf("JSON output %q still holds %q", safe, bad)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(safe, &back); err != nil {
		t.Fatal(err)
	}
	if back["to"] != v["to"] {
		t.Fatalf("value changed: %q != %q", back["to"], v["to"])
	}
}

func FuzzLine(f *testing.F) {
	f.Add("a\x1b\u202e\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		for _, r := range out {
			if Unsafe(r) || r == '\n' || r == '\t' {
				t.Fatalf("Line(%q) = %q holds %U", s, out, r)
			}
		}
	})
}
