package journalview

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/qapprove/qapprove/storage/journal"
)

// Row is what the list shows for one journal line.
type Row struct {
	Line     int // 1-based line number in the file
	Entry    journal.Entry
	Action   string // action_id of the body, if any
	Verdict  string // governance verdict of a decision
	Decision string // approve or reject
	Outcome  string // accepted, refused or unknown
	Err      error  // the line could not be parsed
	reading  bool   // not read yet: a placeholder while a command reads it
}

// bodyFields are the body fields the list shows.
type bodyFields struct {
	ActionID string `json:"action_id"`
	Verdict  string `json:"verdict"`
	Decision string `json:"decision"`
	Result   string `json:"result"`
	Reason   string `json:"reason"`
}

// parseRow parses one line; a bad line gives a Row with Err set.
func parseRow(line int, b []byte) Row {
	e, err := journal.ParseLine(b)
	e.Line = line
	r := Row{Line: line, Entry: e, Err: err}
	if err != nil {
		return r
	}
	var f bodyFields
	if json.Unmarshal(e.Body, &f) == nil {
		r.Action, r.Verdict, r.Decision, r.Outcome = clean(f.ActionID), clean(f.Verdict), clean(f.Decision), clean(f.Result)
	}
	return r
}

// SigStatus is the signature column: "signed", "unsigned", "MISSING" (a
// kind that must be signed has no signature) or "corrupt".
func (r Row) SigStatus() string {
	switch {
	case r.reading:
		return ""
	case r.Err != nil:
		return "corrupt"
	case r.Entry.Sig != "":
		return "signed"
	case journal.RequiresSignature(r.Entry.Kind):
		return "MISSING"
	default:
		return "unsigned"
	}
}

// clean keeps printable characters of s, bounded, so hostile bytes in a
// journal cannot move the cursor or paint the terminal.
func clean(s string) string {
	if len(s) > 256 {
		s = s[:256]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// detail renders the whole entry for the detail pane, one field a line,
// the body indented.
func (r Row) detail() []string {
	if r.reading {
		return []string{"line " + itoa(r.Line) + ": reading…"}
	}
	if r.Err != nil {
		return []string{"line " + itoa(r.Line) + " cannot be parsed:", clean(r.Err.Error())}
	}
	e := r.Entry
	out := []string{
		"line     " + itoa(r.Line),
		"seq      " + strconv.FormatUint(e.Seq, 10),
		"time     " + e.TS.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		"kind     " + clean(string(e.Kind)),
		"sig      " + r.SigStatus() + " " + e.Sig,
		"prev     " + e.Prev,
		"hash     " + e.Hash,
		"body",
	}
	var ind bytes.Buffer
	if json.Indent(&ind, e.Body, "  ", "  ") != nil {
		ind.Reset()
		ind.Write(e.Body)
	}
	for _, l := range strings.Split(ind.String(), "\n") {
		out = append(out, "  "+clean(l))
	}
	return out
}
