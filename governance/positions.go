package governance

import (
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"
)

// loc is where a TOML value starts in the file, with its raw text (string
// delimiters included) so that positions inside it can be mapped back.
type loc struct {
	offset int    // byte offset of the value (or of its key when unknown)
	key    int    // byte offset of the key
	raw    string // raw value text; "" when not a string
}

// ruleLocs are the positions of one [[rule]] table.
type ruleLocs struct {
	header loc            // the [[rule]] header
	keys   map[string]loc // value of each key
}

// fileLocs are the positions of the parts of a rules file.
type fileLocs struct {
	top   map[string]loc // top-level keys and [table] headers
	rules []ruleLocs     // [[rule]] tables in order
}

// scanLocs walks the TOML document and records where things are. It is
// best effort: on a parse error it returns what it found so far.
func scanLocs(data []byte) (fl fileLocs) {
	fl.top = map[string]loc{}
	defer func() { _ = recover() }() // positions are a nicety; never fail on them
	var p unstable.Parser
	p.Reset(data)
	section := "" // "" top level, "rule" inside [[rule]], else another table
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.ArrayTable, unstable.Table:
			name, at := keyName(e.Key()), keyLoc(e)
			if e.Kind == unstable.ArrayTable && name == "rule" {
				fl.rules = append(fl.rules, ruleLocs{header: at, keys: map[string]loc{}})
				section = "rule"
				continue
			}
			if _, ok := fl.top[name]; !ok {
				fl.top[name] = at
			}
			section = name
		case unstable.KeyValue:
			name, at := keyName(e.Key()), keyLoc(e)
			v := e.Value()
			if v.Kind == unstable.String && v.Raw.Length > 0 {
				at.offset, at.raw = int(v.Raw.Offset), string(p.Raw(v.Raw))
			}
			switch {
			case section == "rule" && len(fl.rules) > 0:
				keys := fl.rules[len(fl.rules)-1].keys
				keys[name] = at
				if first, _, dotted := strings.Cut(name, "."); dotted {
					if _, ok := keys[first]; !ok {
						keys[first] = at
					}
				}
			case section == "":
				fl.top[name] = at
			}
		}
	}
	return fl
}

// keyName joins the parts of a (dotted) key.
func keyName(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}

// lineCol turns a byte offset into a 1-based line and a 1-based column
// counted in characters.
func lineCol(data []byte, offset int) (int, int) {
	if offset < 0 || offset > len(data) {
		return 0, 0
	}
	line, start := 1, 0
	for i := 0; i < offset; i++ {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCount(data[start:offset]) + 1
}

// exprOffset maps a position inside a CEL expression (1-based line,
// 0-based column in characters, as cel-go reports it) to a byte offset in
// the file, given where the TOML string holding the expression starts. It
// follows TOML escapes and the newline trimmed after a ”' or """ opener.
func exprOffset(at loc, line, col int) int {
	raw := at.raw
	if raw == "" {
		return at.offset
	}
	delim, literal := 1, raw[0] == '\''
	if strings.HasPrefix(raw, `'''`) || strings.HasPrefix(raw, `"""`) {
		delim = 3
	}
	i := delim
	if delim == 3 {
		if strings.HasPrefix(raw[i:], "\r\n") {
			i += 2
		} else if strings.HasPrefix(raw[i:], "\n") {
			i++
		}
	}
	end := len(raw) - delim
	curLine, curCol := 1, 0
	for i < end {
		if curLine > line || (curLine == line && curCol >= col) {
			break
		}
		c := raw[i]
		n, decoded := 1, rune(c)
		if c >= utf8.RuneSelf {
			decoded, n = utf8.DecodeRuneInString(raw[i:])
		}
		if !literal && c == '\\' && i+1 < end {
			switch raw[i+1] {
			case 'u':
				n = 6
			case 'U':
				n = 10
			case 'x':
				n = 4
			case 'n':
				n, decoded = 2, '\n'
			case ' ', '\t', '\r', '\n':
				// line-ending backslash: skips whitespace, yields nothing
				j := i + 1
				for j < end && strings.IndexByte(" \t\r\n", raw[j]) >= 0 {
					j++
				}
				i = j
				continue
			default:
				n = 2
			}
		}
		if decoded == '\n' {
			curLine, curCol = curLine+1, 0
		} else {
			curCol++
		}
		i += n
	}
	if i > end {
		i = end
	}
	return at.offset + i
}

// keyLoc is where expression e's key starts (its first part when dotted).
func keyLoc(e *unstable.Node) loc {
	at := loc{offset: int(e.Raw.Offset)}
	if k := e.Key(); k.Next() {
		at.offset = int(k.Node().Raw.Offset)
	}
	at.key = at.offset
	return at
}
