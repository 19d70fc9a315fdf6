package governance

import (
	"fmt"
	"strings"
)

// Error is one problem in a rules file, positioned when the position is
// known (Line and Col start at 1; 0 means unknown).
type Error struct {
	File string // the name given to Parse
	Line int
	Col  int
	Rule string // the rule's name, "" when the problem is not in a rule
	Msg  string
}

// Error formats as file:line:col: rule "name": message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a rules file, in file order.
type Errors []*Error

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
