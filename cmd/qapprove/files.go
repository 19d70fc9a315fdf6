package main

import (
	"encoding/json"
	"fmt"

	"github.com/qapprove/qapprove/storage"
)

// readFileBounded reads a whole file of at most max bytes: files named on
// the command line are outside input, so their size is bounded before
// they are parsed.
func readFileBounded(path string, max int64) ([]byte, error) {
	b, err := storage.ReadFileBounded(path, int(max))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// writeJSON prints v as indented JSON on stdout and returns the exit code.
func writeJSON(env *Env, v any) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return env.Errf(exitFail, "write JSON: %v", err)
	}
	return exitOK
}
