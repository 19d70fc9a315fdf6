package secrets

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/qapprove/qapprove/storage"
)

// FileBackend keeps items in files: the bundle of profile P in
// paths.KeystoreFile(P) and its journal anchor in the sibling file
// P.journal-anchor.json. Files are 0600 in a 0700 folder, written
// atomically with fsync. The bundle is encrypted by its own crypto module,
// so the file keystore is as strong as the passphrase.
type FileBackend struct {
	paths storage.Paths
}

// NewFileBackend returns the file backend rooted at paths.
func NewFileBackend(paths storage.Paths) *FileBackend { return &FileBackend{paths: paths} }

// Kind returns KindFile.
func (*FileBackend) Kind() string { return KindFile }

// dir is the folder holding the keystore files.
func (f *FileBackend) dir() string { return filepath.Dir(f.paths.KeystoreFile("default")) }

// Path returns the file that holds user.
func (f *FileBackend) Path(user string) (string, error) {
	profile, anchor, err := profileOf(user)
	if err != nil {
		return "", err
	}
	if anchor {
		return filepath.Join(f.dir(), profile+".journal-anchor.json"), nil
	}
	return f.paths.KeystoreFile(profile), nil
}

// Get reads the file of user. It refuses symlinks, files over 64 KiB and
// (outside Windows) files readable or writable by group or others.
func (f *FileBackend) Get(user string) ([]byte, error) {
	path, err := f.Path(user)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFoundError{user}
	}
	if err != nil {
		return nil, fmt.Errorf("keystore file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keystore file %s is not a regular file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keystore file: %w", err)
	}
	defer fh.Close()
	fi, err = fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("keystore file: %w", err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("keystore file %s has permissions %#o, which let other users read or change it: run `chmod 600 %s`", path, perm, path)
	}
	if fi.Size() > maxReadSize {
		return nil, fmt.Errorf("keystore file %s is %d bytes, over the %d-byte limit", path, fi.Size(), maxReadSize)
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxReadSize+1))
	if err != nil {
		return nil, fmt.Errorf("keystore file: %w", err)
	}
	if len(b) > maxReadSize {
		return nil, fmt.Errorf("keystore file %s is over the %d-byte limit", path, maxReadSize)
	}
	return b, nil
}

// Set writes value to the file of user atomically (0600, fsync).
func (f *FileBackend) Set(user string, value []byte) error {
	path, err := f.Path(user)
	if err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return tooBig(len(value))
	}
	if err := storage.WriteFileAtomic(path, value, 0o600); err != nil {
		return fmt.Errorf("write keystore file: %w", err)
	}
	return nil
}

// Delete removes the file of user.
func (f *FileBackend) Delete(user string) error {
	path, err := f.Path(user)
	if err != nil {
		return err
	}
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return notFoundError{user}
	}
	if err != nil {
		return fmt.Errorf("delete keystore file: %w", err)
	}
	return nil
}
