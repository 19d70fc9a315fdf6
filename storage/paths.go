// Package storage holds everything qapprove keeps on disk or in the OS
// keychain: paths and config, the secret bundle, the audit journal and the
// pending-action cache.
package storage

import (
	"os"
	"path/filepath"
	"regexp"
)

// Paths are the folders qapprove uses. With a home folder (--home or
// QAPPROVE_HOME) everything lives under it; otherwise the XDG locations.
type Paths struct {
	Home   string // the --home folder, or "" when XDG defaults are used
	Config string // folder of config.toml
	Data   string // folder holding one sub-folder per profile (journal, cache)
}

// ResolvePaths returns the folders for home ("" selects the XDG defaults).
func ResolvePaths(home string) Paths {
	if home != "" {
		home = filepath.Clean(home)
		return Paths{Home: home, Config: home, Data: filepath.Join(home, "data")}
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" {
		if h, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(h, ".config")
		}
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		if h, err := os.UserHomeDir(); err == nil {
			data = filepath.Join(h, ".local", "share")
		}
	}
	return Paths{Config: filepath.Join(cfg, "qapprove"), Data: filepath.Join(data, "qapprove")}
}

// ConfigFile is the path of config.toml.
func (p Paths) ConfigFile() string { return filepath.Join(p.Config, "config.toml") }

// ProfileDir is the data folder of one profile (journal, lock, cache).
func (p Paths) ProfileDir(profile string) string { return filepath.Join(p.Data, profile) }

// JournalFile is the journal of one profile.
func (p Paths) JournalFile(profile string) string {
	return filepath.Join(p.ProfileDir(profile), "journal.jsonl")
}

// KeystoreFile is the file-backend keystore of one profile:
// <home>/<profile>.keystore.json, or <data>/<profile>.keystore.json without a home.
func (p Paths) KeystoreFile(profile string) string {
	if p.Home != "" {
		return filepath.Join(p.Home, profile+".keystore.json")
	}
	return filepath.Join(p.Data, profile+".keystore.json")
}

// AttemptsFile keeps one profile's wrong-passphrase count and back-off
// across processes.
func (p Paths) AttemptsFile(profile string) string {
	return filepath.Join(p.ProfileDir(profile), "unlock-attempts.json")
}

// CacheFile is the pending-action cache of one profile.
func (p Paths) CacheFile(profile string) string {
	return filepath.Join(p.ProfileDir(profile), "pending-cache.json")
}

var profileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidProfileName reports whether name is safe to use in paths and
// keychain item names.
func ValidProfileName(name string) bool {
	return profileRE.MatchString(name) && name != "." && name != ".."
}
