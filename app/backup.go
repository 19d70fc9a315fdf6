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
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists: choose another name (or --force)", path)
		}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write the backup in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
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
		return fmt.Errorf("write the backup: %w", err)
	}
	if !force {
		// Link fails if the name appeared meanwhile; never overwrite.
		if err := os.Link(tmp.Name(), path); err != nil {
			return fmt.Errorf("write the backup to %s: %w", path, err)
		}
		return nil
	}
	return os.Rename(tmp.Name(), path)
}
