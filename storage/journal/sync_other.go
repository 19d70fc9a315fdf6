//go:build !linux

package journal

import "os"

// fdatasync flushes the file to stable storage (F_FULLFSYNC on macOS,
// FlushFileBuffers on Windows).
func fdatasync(f *os.File) error { return f.Sync() }
