package sinktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is an rsyslogd listening with TLS (imtcp, gtls, anonymous
// client) on 127.0.0.1 and writing what it receives to Out with
// RSYSLOG_SyslogProtocol23Format.
type Rsyslog struct {
	Addr  string // 127.0.0.1:port
	Out   string // the omfile output
	Certs Certs
	conf  string
	pid   string
	cmd   *exec.Cmd
	log   *os.File
}

// StartRsyslog starts rsyslogd for t (anonymous clients) and stops it at
// the end.
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	return StartRsyslogAuth(t, "anon")
}

// StartRsyslogAuth is StartRsyslog with the imtcp streamDriver.authMode
// given: "anon", or "x509/certvalid" to require a client certificate
// signed by Certs' CA (Certs.CertFile and KeyFile make a valid one).
func StartRsyslogAuth(t testing.TB, authMode string) *Rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/rsyslogd"); err != nil {
			missing(t, "rsyslogd (Debian package rsyslog)")
		}
		bin = "/usr/sbin/rsyslogd"
	}
	if !gtlsInstalled() {
		missing(t, "the rsyslog GnuTLS driver (Debian package rsyslog-gnutls)")
	}
	dir := t.TempDir()
	r := &Rsyslog{Addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Out: filepath.Join(dir, "out.log"),
		Certs: MakeCerts(t, dir), conf: filepath.Join(dir, "rsyslog.conf"), pid: filepath.Join(dir, "rsyslogd.pid")}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="1100k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile=%q
  defaultNetstreamDriverCertFile=%q
  defaultNetstreamDriverKeyFile=%q)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode=%q)
input(type="imtcp" address="127.0.0.1" port=%q)
action(type="omfile" file=%q template="RSYSLOG_SyslogProtocol23Format")
`, work, r.Certs.CAFile, r.Certs.CertFile, r.Certs.KeyFile, authMode, port, r.Out)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.log, err = os.Create(filepath.Join(dir, "rsyslogd.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "-n", "-f", r.conf, "-i", r.pid) //nolint:gosec // G204: rsyslogd with the config this helper wrote
	t.Cleanup(func() { r.Stop(t); _ = r.log.Close() })
	r.Start(t)
	return r
}

func gtlsInstalled() bool {
	for _, d := range []string{"/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog"} {
		if _, err := os.Stat(filepath.Join(d, "lmnsd_gtls.so")); err == nil {
			return true
		}
	}
	return false
}

// Start (re)starts rsyslogd on the same port and waits until it accepts.
func (r *Rsyslog) Start(t testing.TB) {
	t.Helper()
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		return
	}
	r.cmd = exec.Command(r.cmd.Path, r.cmd.Args[1:]...) //nolint:gosec // G204: the same rsyslogd command line again
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	ok := waitFor(20*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", r.Addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	if !ok {
		r.Stop(t)
		b, _ := os.ReadFile(r.log.Name())
		t.Fatalf("rsyslogd did not listen on %s: %s", r.Addr, strings.TrimSpace(string(b)))
	}
}

// Stop stops rsyslogd by PID (SIGTERM) and waits for it to exit.
func (r *Rsyslog) Stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil || r.cmd.Process == nil || r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}

// Lines returns the lines rsyslog has written so far.
func (r *Rsyslog) Lines() []string {
	b, err := os.ReadFile(r.Out)
	if err != nil {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// WaitLines waits until at least n lines have arrived and returns them.
func (r *Rsyslog) WaitLines(t testing.TB, n int) []string {
	t.Helper()
	var lines []string
	if !waitFor(30*time.Second, func() bool { lines = r.Lines(); return len(lines) >= n }) {
		t.Fatalf("rsyslog received %d lines, want %d", len(lines), n)
	}
	return lines
}
