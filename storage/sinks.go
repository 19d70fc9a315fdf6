package storage

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Sinks is the [sinks] table of config.toml: where every profile's
// journal entries are shipped. Secrets never live here: the PostgreSQL
// password comes from an environment variable or a file.
type Sinks struct {
	// RequireSink makes every configured sink required: no decision is
	// signed while one is more than MaxLag entries behind the journal.
	RequireSink bool          `toml:"require_sink,omitempty"`
	MaxLag      int           `toml:"max_lag,omitempty"` // entries a required sink may lag (default 0)
	Syslog      *SyslogSink   `toml:"syslog,omitempty"`
	Postgres    *PostgresSink `toml:"postgres,omitempty"`
}

// SyslogSink is [sinks.syslog]: an RFC 5425 (syslog over TLS) receiver.
type SyslogSink struct {
	Address    string `toml:"address"`               // host:port, e.g. siem.example:6514
	CAFile     string `toml:"ca_file,omitempty"`     // PEM CA of the receiver ("" = system roots)
	CertFile   string `toml:"cert_file,omitempty"`   // optional client certificate (PEM)
	KeyFile    string `toml:"key_file,omitempty"`    // its key (PEM)
	ServerName string `toml:"server_name,omitempty"` // name in the receiver's certificate ("" = the host)
}

// PostgresSink is [sinks.postgres]: the team store.
type PostgresSink struct {
	DSN          string `toml:"dsn"`                     // postgres://user@host/db?sslmode=verify-full, without a password
	PasswordEnv  string `toml:"password_env,omitempty"`  // environment variable holding the password
	PasswordFile string `toml:"password_file,omitempty"` // file holding the password (0600)
}

// Configured reports whether any sink is set up.
func (s Sinks) Configured() bool { return s.Syslog != nil || s.Postgres != nil }

// Validate checks the [sinks] table.
func (s Sinks) Validate() error {
	if s.MaxLag < 0 {
		return errors.New("sinks: max_lag must be 0 or more")
	}
	if s.RequireSink && !s.Configured() {
		return errors.New("sinks: require_sink is set but no sink is configured ([sinks.syslog] or [sinks.postgres])")
	}
	if y := s.Syslog; y != nil {
		if h, _, err := net.SplitHostPort(y.Address); err != nil || h == "" {
			return fmt.Errorf("sinks.syslog: address %q is not host:port", clipValue(y.Address))
		}
		if (y.CertFile == "") != (y.KeyFile == "") {
			return errors.New("sinks.syslog: cert_file and key_file go together")
		}
	}
	if p := s.Postgres; p != nil {
		if strings.TrimSpace(p.DSN) == "" {
			return errors.New("sinks.postgres: dsn is empty")
		}
		if DSNHasPassword(p.DSN) {
			return errors.New("sinks.postgres: the dsn holds a password; config.toml must not: give it in password_env or password_file")
		}
		if p.PasswordEnv != "" && p.PasswordFile != "" {
			return errors.New("sinks.postgres: set password_env or password_file, not both")
		}
	}
	return nil
}

// DSNHasPassword reports whether a PostgreSQL DSN (URL or key=value form)
// itself carries a password.
func DSNHasPassword(dsn string) bool {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return true // cannot tell: treat it as holding one
		}
		_, set := u.User.Password()
		return set || u.Query().Has("password")
	}
	return passwordKeyRE.MatchString(dsn)
}

var passwordKeyRE = regexp.MustCompile(`(^|\s)password\s*=`)

// maxPasswordFile bounds a password file.
const maxPasswordFile = 4096

// Password returns the team store's password from password_env or
// password_file ("" when neither is set: pgx then reads PGPASSWORD or
// ~/.pgpass). Errors name the variable or file, never the value.
func (p PostgresSink) Password(paths Paths) (string, error) {
	switch {
	case p.PasswordEnv != "":
		v, ok := os.LookupEnv(p.PasswordEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("sinks.postgres: the environment variable %s (password_env) is not set", clipValue(p.PasswordEnv))
		}
		return v, nil
	case p.PasswordFile != "":
		f := resolve(paths, p.PasswordFile)
		b, err := ReadFileBounded(f, maxPasswordFile)
		if err != nil {
			return "", fmt.Errorf("sinks.postgres: password_file: %w", err)
		}
		if len(b) > maxPasswordFile {
			return "", fmt.Errorf("sinks.postgres: password_file %s is larger than %d bytes", f, maxPasswordFile)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// Resolved returns s with relative file names taken from the folder of
// config.toml.
func (s Sinks) Resolved(paths Paths) Sinks {
	if s.Syslog != nil {
		y := *s.Syslog
		y.CAFile, y.CertFile, y.KeyFile = resolve(paths, y.CAFile), resolve(paths, y.CertFile), resolve(paths, y.KeyFile)
		s.Syslog = &y
	}
	return s
}

func resolve(paths Paths, f string) string {
	if f == "" || filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(paths.Config, f)
}

// SinkDir is where the sink cursors of one profile live.
func (p Paths) SinkDir(profile string) string {
	return filepath.Join(p.ProfileDir(profile), "sinks")
}
