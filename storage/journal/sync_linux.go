package journal

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes the file's data (and the size) to stable storage.
func fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
