package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/qapprove/qapprove/storage/secrets"
)

// ExportBundle writes the stored bundle of profile (already encrypted under
// the passphrase) to path as a 0600 file. It refuses to replace an
// existing file unless force is set.
func ExportBundle(be secrets.Backend, profile, path string, force bool) error {
	path = strings.TrimSpace(path)
	if path == "" {
		return errors.New("type a file name for the backup")
	}
	b, err := secrets.LoadBundle(be, profile)
	if err != nil {
		return err
	}
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	return writeNew(path, append(data, '\n'), force, "backup")
}

// writeNew writes data to path as a 0600 file, synced, through a
// temporary file in the same folder. It refuses to replace an existing
// file unless force is set; what names the file in errors.
func writeNew(path string, data []byte, force bool, what string) error {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists: choose another name (or --force)", path)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write the %s in %s: %w", what, dir, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the %s: %w", what, err)
	}
	if !force {
		// Link fails if the name appeared meanwhile; never overwrite.
		if err := os.Link(tmp.Name(), path); err != nil {
			return fmt.Errorf("write the %s to %s: %w", what, path, err)
		}
		return nil
	}
	return os.Rename(tmp.Name(), path)
}
