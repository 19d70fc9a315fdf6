package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSinksConfig(t *testing.T) {
	dir := t.TempDir()
	paths := ResolvePaths(dir)
	conf := `[sinks]
require_sink = true
max_lag = 3
[sinks.syslog]
address = "127.0.0.1:6514"
ca_file = "ca.pem"
[sinks.postgres]
dsn = "postgres://qa@db.example/qapprove?sslmode=verify-full"
password_file = "pg.pass"
`
	if err := os.WriteFile(paths.ConfigFile(), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(paths.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sinks.Resolved(paths)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if !s.RequireSink || s.MaxLag != 3 || s.Syslog.CAFile != filepath.Join(dir, "ca.pem") {
		t.Fatalf("sinks = %+v %+v", s, s.Syslog)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg.pass"), []byte("s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := s.Postgres.Password(paths); err != nil || pw != "s3cret-pw" {
		t.Fatalf("password from file: %q %v", pw, err)
	}
	t.Setenv("QA_TEST_PG_PW", "from-env")
	if pw, err := (PostgresSink{PasswordEnv: "QA_TEST_PG_PW"}).Password(paths); err != nil || pw != "from-env" {
		t.Fatalf("password from env: %q %v", pw, err)
	}
	_, err = (PostgresSink{PasswordEnv: "QA_TEST_UNSET_PW"}).Password(paths)
	if err == nil || !strings.Contains(err.Error(), "QA_TEST_UNSET_PW") {
		t.Fatalf("unset variable: %v", err)
	}
}

// A DSN that carries a password is refused, and the error does not show it.
func TestSinksRefuseDSNWithPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://qa:hunter2@db/qapprove",
		"postgresql://qa@db/qapprove?password=hunter2",
		"host=db user=qa password=hunter2",
	} {
		err := Sinks{Postgres: &PostgresSink{DSN: dsn}}.Validate()
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("dsn %q: %v", dsn, err)
		}
	}
	for _, dsn := range []string{"postgres://qa@db/qapprove", "host=db user=qa dbname=qapprove"} {
		if err := (Sinks{Postgres: &PostgresSink{DSN: dsn}}).Validate(); err != nil {
			t.Fatalf("dsn %q refused: %v", dsn, err)
		}
	}
	if err := (Sinks{RequireSink: true}).Validate(); err == nil {
		t.Fatal("require_sink without a sink was accepted")
	}
}
