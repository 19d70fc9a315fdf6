package journalview

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// exportRecord is one exported entry (JSON format).
type exportRecord struct {
	Line     int             `json:"line"`
	Seq      uint64          `json:"seq"`
	TS       string          `json:"ts"`
	Kind     string          `json:"kind"`
	Action   string          `json:"action_id,omitempty"`
	Verdict  string          `json:"verdict,omitempty"`
	Decision string          `json:"decision,omitempty"`
	Outcome  string          `json:"outcome,omitempty"`
	Sig      string          `json:"signature"`
	Hash     string          `json:"hash"`
	Body     json.RawMessage `json:"body"`
}

// FormatFor picks the export format from a file name's extension:
// "json" (.json, a JSON array), "jsonl" (.jsonl, one record a line) or
// "csv" (.csv). Any other name is refused: the format is never guessed.
func FormatFor(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json", ".jsonl", ".csv":
		return ext[1:], nil
	}
	return "", fmt.Errorf("%s: end the file name in .json, .jsonl or .csv to choose the format", filepath.Base(path))
}

// Export writes the lines (0-based indexes, in the given order) of the
// journal at path to out, as a JSON array, JSON lines or CSV by out's
// extension (FormatFor). It refuses to overwrite an existing file. The
// file is written 0600 through a temporary file, so a failure leaves
// nothing behind.
func Export(path string, lines []int32, out string) (int, error) {
	out = strings.TrimSpace(out)
	if out == "" {
		return 0, errors.New("type a file name to export to")
	}
	format, err := FormatFor(out)
	if err != nil {
		return 0, err
	}
	if _, err := os.Lstat(out); err == nil {
		return 0, fmt.Errorf("%s already exists: choose another name", out)
	}
	ix, err := OpenIndex(path)
	if err != nil {
		return 0, err
	}
	defer ix.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("cannot write in %s: %w", filepath.Dir(out), err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close() // the Chmod error is the one to report
		return 0, err
	}
	w := bufio.NewWriterSize(tmp, 1<<16)
	n, err := writeExport(w, ix, lines, format)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	if _, err := os.Lstat(out); err == nil {
		return 0, fmt.Errorf("%s already exists: choose another name", out)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

func writeExport(w *bufio.Writer, ix *Index, lines []int32, format string) (int, error) {
	var cw *csv.Writer
	switch format {
	case "csv":
		cw = csv.NewWriter(w)
		if err := cw.Write([]string{"line", "seq", "ts", "kind", "action_id", "verdict", "decision", "outcome", "signature", "hash", "body"}); err != nil {
			return 0, err
		}
	case "json":
		// A bufio.Writer keeps its first error and returns it from Flush,
		// which the caller checks: the writes below need no check each.
		_, _ = w.WriteString("[\n")
	}
	for k, i := range lines {
		b, err := ix.Line(int(i))
		if err != nil {
			return 0, err
		}
		r := parseRow(int(i)+1, b)
		if r.Err != nil {
			return 0, fmt.Errorf("line %d cannot be parsed: %v", r.Line, r.Err)
		}
		rec := exportRecord{Line: r.Line, Seq: r.Entry.Seq, TS: r.Entry.TS.UTC().Format(time.RFC3339Nano),
			Kind: string(r.Entry.Kind), Action: r.Action, Verdict: r.Verdict, Decision: r.Decision,
			Outcome: r.Outcome, Sig: r.SigStatus(), Hash: r.Entry.Hash, Body: r.Entry.Body}
		if cw != nil {
			if err := cw.Write([]string{strconv.Itoa(rec.Line), strconv.FormatUint(rec.Seq, 10), rec.TS, rec.Kind,
				rec.Action, rec.Verdict, rec.Decision, rec.Outcome, rec.Sig, rec.Hash, string(rec.Body)}); err != nil {
				return 0, err
			}
			continue
		}
		j, err := json.Marshal(rec)
		if err != nil {
			return 0, err
		}
		switch {
		case format == "jsonl":
			j = append(j, '\n')
		case k > 0:
			_, _ = w.WriteString(",\n")
		}
		_, _ = w.Write(j)
	}
	if cw != nil {
		cw.Flush()
		return len(lines), cw.Error()
	}
	if format == "jsonl" {
		return len(lines), nil
	}
	_, err := w.WriteString("\n]\n")
	return len(lines), err
}

func itoa(n int) string { return strconv.Itoa(n) }
