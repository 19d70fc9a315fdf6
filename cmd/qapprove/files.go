package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/ui/safetext"
)

// readFileBounded reads a whole file of at most limit bytes: files named on
// the command line are outside input, so their size is bounded before
// they are parsed.
func readFileBounded(path string, limit int64) ([]byte, error) {
	b, err := storage.ReadFileBounded(path, int(limit))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeJSON prints v with env.WriteJSON and returns the exit code.
func writeJSON(env *Env, v any) int {
	if err := env.WriteJSON(v); err != nil {
		return env.Errf(exitFail, "write JSON: %v", err)
	}
	return exitOK
}

// plural picks one or many by n: "1 entry", "2 entries".
func plural[N int | uint64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// jsonLines passes each complete line written to it through safetext.JSON
// to w, so streamed JSON (or CSV holding JSON) stays exact for a reader
// and inert on a terminal. Flush writes the last, unterminated line.
type jsonLines struct {
	w   io.Writer
	buf []byte
}

func (j *jsonLines) Write(p []byte) (int, error) {
	j.buf = append(j.buf, p...)
	if i := bytes.LastIndexByte(j.buf, '\n'); i >= 0 {
		if _, err := j.w.Write(safetext.JSON(j.buf[:i+1])); err != nil {
			return 0, err
		}
		j.buf = append(j.buf[:0], j.buf[i+1:]...)
	}
	return len(p), nil
}

// Flush writes what is left after the last newline.
func (j *jsonLines) Flush() error {
	if len(j.buf) == 0 {
		return nil
	}
	_, err := j.w.Write(safetext.JSON(j.buf))
	j.buf = j.buf[:0]
	return err
}
