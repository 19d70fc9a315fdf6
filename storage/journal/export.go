package journal

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"strconv"
	"strings"
	"time"
)

// ExportEntry is one line as exported for auditors.
type ExportEntry struct {
	Line   int             `json:"line"`
	Seq    uint64          `json:"seq"`
	TS     string          `json:"ts"`
	Kind   Kind            `json:"kind"`
	Signed bool            `json:"signed"`
	Prev   string          `json:"prev"`
	Hash   string          `json:"hash"`
	Body   json.RawMessage `json:"body"`
}

// csvHeader lists the CSV columns: the envelope, the common body fields,
// then the whole body as JSON.
var csvHeader = []string{"line", "seq", "ts", "kind", "signed", "action_id", "decision", "verdict",
	"rules", "override", "result", "error", "hash", "body"}

// Export writes every complete line of the journal at path to w as a JSON
// array ("json") or CSV with a header ("csv"). It stops at the first line
// that cannot be parsed; run Verify for integrity.
func Export(path string, w io.Writer, format string) error {
	if format != "json" && format != "csv" {
		return fmt.Errorf("export format must be json or csv, not %q", format)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w at %s", ErrNoJournal, path)
	}
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes+1)
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(bw)
		_ = cw.Write(csvHeader) // write errors stick in cw and bw: checked at the end
	} else {
		_, _ = bw.WriteString("[")
	}
	n := 0
	for sc.Scan() {
		n++
		e, err := ParseLine(sc.Bytes())
		if err != nil {
			return fmt.Errorf("journal line %d: %v", n, err)
		}
		e.Line = n
		if cw != nil {
			_ = cw.Write(csvRow(e))
			continue
		}
		x := ExportEntry{Line: n, Seq: e.Seq, TS: e.TS.Format(time.RFC3339Nano), Kind: e.Kind,
			Signed: e.Sig != "", Prev: e.Prev, Hash: e.Hash, Body: e.Body}
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		if n > 1 {
			_, _ = bw.WriteString(",")
		}
		_, _ = bw.WriteString("\n")
		_, _ = bw.Write(b)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("journal line %d is longer than %d bytes", n+1, MaxLineBytes)
		}
		return fmt.Errorf("read journal: %w", err)
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	} else {
		_, _ = bw.WriteString("\n]\n")
	}
	return bw.Flush()
}

// ReadEntries yields every complete line of the journal at path as an
// Entry (Line set, Body a copy), oldest first. It stops after the first
// error (a line that cannot be parsed, a read error); it does not check
// the chain or signatures: run Verify for integrity.
func ReadEntries(path string) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			yield(Entry{}, fmt.Errorf("%w at %s", ErrNoJournal, path))
			return
		}
		if err != nil {
			yield(Entry{}, fmt.Errorf("open journal: %w", err))
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), MaxLineBytes+1)
		sc.Split(completeLines)
		n := 0
		for sc.Scan() {
			n++
			e, err := ParseLine(sc.Bytes())
			if err != nil {
				yield(Entry{}, fmt.Errorf("journal line %d: %v", n, err))
				return
			}
			e.Line = n
			if !yield(e, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("read journal: %w", err))
		}
	}
}

// completeLines splits at newlines and drops a torn last line.
func completeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return 0, nil, nil
}

// commonBody holds the body fields that get their own CSV columns.
type commonBody struct {
	ActionID string   `json:"action_id"`
	Decision string   `json:"decision"`
	Verdict  string   `json:"verdict"`
	Rules    []string `json:"rules"`
	Override string   `json:"override"`
	Result   string   `json:"result"`
	Error    string   `json:"error"`
}

func csvRow(e Entry) []string {
	var c commonBody
	_ = json.Unmarshal(e.Body, &c) // a body of another shape leaves the columns empty
	return []string{strconv.Itoa(e.Line), strconv.FormatUint(e.Seq, 10), e.TS.Format(time.RFC3339Nano), string(e.Kind),
		strconv.FormatBool(e.Sig != ""), csvSafe(c.ActionID), csvSafe(c.Decision), csvSafe(c.Verdict),
		csvSafe(strings.Join(c.Rules, ";")), csvSafe(c.Override), csvSafe(c.Result), csvSafe(c.Error), e.Hash, csvSafe(string(e.Body))}
}

// csvSafe defuses spreadsheet formulas in text that came from outside.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
