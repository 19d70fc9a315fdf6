package sinktest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// PGBin is where Debian installs PostgreSQL 15 (not on PATH).
const PGBin = "/usr/lib/postgresql/15/bin"

// Postgres is a PostgreSQL 15 cluster on 127.0.0.1 with a trusted
// superuser qa; DSN connects to its postgres database.
type Postgres struct {
	DSN     string
	Port    int
	dir     string
	base    string
	running bool
	asPG    bool // run the tools as the postgres user (we are root)
}

// StartPostgres creates and starts a cluster for t; it is stopped
// (pg_ctl -m fast) and removed at the end.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(PGBin, "initdb")); err != nil {
		missing(t, "PostgreSQL 15 ("+PGBin+"/initdb, Debian package postgresql)")
	}
	p := &Postgres{Port: freePort(t), asPG: os.Geteuid() == 0}
	base, err := os.MkdirTemp("", "qapprove-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.base, p.dir = base, filepath.Join(base, "data")
	t.Cleanup(func() { p.Stop(t); _ = os.RemoveAll(base) })
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if p.asPG {
		// initdb refuses to run as root: the data folder belongs to the
		// postgres user the package adds, who must reach it.
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "the postgres system user (Debian package postgresql)")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(base, 0o711); err != nil { //nolint:gosec // G302: the postgres user must traverse it
			t.Fatal(err)
		}
		if err := os.Chown(p.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	p.run(t, "initdb", "-D", p.dir, "-A", "trust", "-U", "qa")
	p.DSN = fmt.Sprintf("postgres://qa@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	p.Start(t)
	return p
}

// run runs a PostgreSQL tool, as the postgres user when we are root.
func (p *Postgres) run(t testing.TB, tool string, args ...string) {
	t.Helper()
	argv := append([]string{filepath.Join(PGBin, tool)}, args...)
	if p.asPG {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...) //nolint:gosec // G204: our own tool paths and arguments
	cmd.Dir = p.base
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", tool, err, strings.TrimSpace(string(out)))
	}
}

// Start starts the server (again) and waits until it accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if p.running {
		return
	}
	p.run(t, "pg_ctl", "-D", p.dir, "-o", fmt.Sprintf("-k %s -h 127.0.0.1 -p %d", p.dir, p.Port),
		"-l", filepath.Join(p.dir, "server.log"), "-w", "start")
	p.running = true
}

// Stop stops the server (pg_ctl -m fast, which signals the postmaster PID).
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if !p.running {
		return
	}
	p.run(t, "pg_ctl", "-D", p.dir, "-m", "fast", "-w", "stop")
	p.running = false
}
