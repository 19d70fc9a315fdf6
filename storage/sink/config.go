package sink

import (
	"github.com/qapprove/qapprove/storage"
)

// FromConfig builds the targets the [sinks] table of config.toml names
// (none when it names none). It reads the certificates and the password
// but connects to nothing.
func FromConfig(cfg storage.Sinks, paths storage.Paths) ([]Target, error) {
	cfg = cfg.Resolved(paths)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var ts []Target
	if y := cfg.Syslog; y != nil {
		s, err := NewSyslog(SyslogConfig{Address: y.Address, CAFile: y.CAFile, CertFile: y.CertFile, KeyFile: y.KeyFile, ServerName: y.ServerName})
		if err != nil {
			return nil, err
		}
		ts = append(ts, Target{Sink: s, Required: cfg.RequireSink})
	}
	if p := cfg.Postgres; p != nil {
		pw, err := p.Password(paths)
		if err != nil {
			return nil, err
		}
		s, err := NewPostgres(PostgresConfig{DSN: p.DSN, Password: pw})
		if err != nil {
			return nil, err
		}
		ts = append(ts, Target{Sink: s, Required: cfg.RequireSink})
	}
	return ts, nil
}
