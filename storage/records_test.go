package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type recHeader struct {
	Version int `json:"version"`
}

func TestRecordsRoundTripAndBounds(t *testing.T) {
	dir := t.TempDir()
	r := Records{Path: filepath.Join(dir, "c.jsonl"), MaxSize: 1 << 20, MaxRecord: 64, MaxRecords: 3}
	recs := []string{"a", "b", "c", "d"}
	i := 0
	if err := r.Write(recHeader{Version: 7}, func() (any, bool) {
		if i == len(recs) {
			return nil, false
		}
		i++
		return recs[i-1], true
	}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(r.Path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("record file: %v %v", st, err)
	}
	var h recHeader
	var got []string
	if err := r.Read(&h, func(rec []byte) bool { got = append(got, string(rec)); return true }); err != nil {
		t.Fatal(err)
	}
	if h.Version != 7 || strings.Join(got, ",") != `"a","b","c"` {
		t.Fatalf("read header %+v and %v: want version 7 and the first MaxRecords records", h, got)
	}

	// Over the size bound: not read at all.
	small := r
	small.MaxSize = 4
	if err := small.Read(&h, func([]byte) bool { t.Fatal("a record of an oversized file was read"); return true }); !errors.Is(err, ErrRecordsTooLarge) {
		t.Fatalf("oversized file: %v", err)
	}
	// A line over its bound stops the read with an error.
	if err := os.WriteFile(r.Path, []byte("{}\n\""+strings.Repeat("x", 100)+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Read(&h, func([]byte) bool { t.Fatal("an overlong record was read"); return true }); err == nil {
		t.Fatal("an overlong record gave no error")
	}
	// Missing file.
	missing := Records{Path: filepath.Join(dir, "none"), MaxSize: 1, MaxRecord: 1, MaxRecords: 1}
	if err := missing.Read(&h, func([]byte) bool { return true }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
