package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/journal"
)

// SyslogConfig configures the SIEM sink.
type SyslogConfig struct {
	Address    string // host:port of the TLS syslog receiver (RFC 5425; usually 6514)
	CAFile     string // PEM CA bundle that signs the receiver's certificate ("" = the system roots)
	CertFile   string // optional PEM client certificate (mutual TLS)
	KeyFile    string // its key
	ServerName string // name to check the receiver's certificate against ("" = the host of Address)
	Hostname   string // HOSTNAME field ("" = os.Hostname)
	Timeout    time.Duration
}

// EnterpriseID is the private enterprise number in the SD-ID of the
// structured data: 32473 is the number RFC 5612 reserves for examples and
// documentation, as qapprove has none of its own.
const EnterpriseID = "32473"

// Facility 13 is "log audit" (RFC 5424 table 1).
const facilityAudit = 13

// Syslog ships each record as one RFC 5424 message over TLS, framed with
// RFC 5425 octet counting. The MSG part is the exact journal line; the
// structured data [qapprove@32473 …] carries the journal ID, seq, line
// hash, kind, and for decisions and outcomes the action, decision and
// result. Nothing else is sent: the journal holds no secret.
type Syslog struct {
	cfg  SyslogConfig
	tls  *tls.Config
	host string

	mu   sync.Mutex
	conn *tls.Conn
}

// NewSyslog checks cfg and loads its certificates; it does not connect.
func NewSyslog(cfg SyslogConfig) (*Syslog, error) {
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil || host == "" {
		return nil, fmt.Errorf("syslog address %q is not host:port", cfg.Address)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if cfg.CAFile != "" {
		pem, err := storage.ReadFileBounded(cfg.CAFile, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("syslog CA file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("syslog CA file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, errors.New("syslog client certificate: cannot load cert_file and key_file as a PEM pair")
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	h := cfg.Hostname
	if h == "" {
		h, _ = os.Hostname()
	}
	return &Syslog{cfg: cfg, tls: tc, host: headerField(h, 255)}, nil
}

// Name implements Sink.
func (s *Syslog) Name() string { return "syslog" }

// Send implements Sink. A record counts as delivered once its frame was
// written whole to the TLS connection; before each batch a connection the
// receiver has closed is detected and replaced, so a receiver that stops
// or restarts loses nothing. See docs/JOURNAL.md for what a crash of the
// receiver can still lose.
func (s *Syslog) Send(ctx context.Context, recs []Record) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !alive(s.conn, time.Millisecond) {
		_ = s.conn.Close()
		s.conn = nil
	}
	if s.conn == nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: s.cfg.Timeout}, Config: s.tls}
		c, err := d.DialContext(ctx, "tcp", s.cfg.Address)
		if err != nil {
			return 0, fmt.Errorf("syslog %s: %w", s.cfg.Address, err)
		}
		tc, ok := c.(*tls.Conn)
		if !ok {
			_ = c.Close()
			return 0, fmt.Errorf("syslog %s: not a TLS connection", s.cfg.Address)
		}
		// Under TLS 1.3 the receiver checks a client certificate after our
		// side of the handshake is done: wait a moment for its verdict, so
		// a refused connection is not taken for a delivery.
		if !alive(tc, dialSettle) {
			_ = tc.Close()
			return 0, fmt.Errorf("syslog %s: the receiver closed the connection after the TLS handshake (is a client certificate required?)", s.cfg.Address)
		}
		s.conn = tc
	}
	for i, r := range recs {
		if err := s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
			return i, s.fail(err)
		}
		if _, err := s.conn.Write(Frame(s.host, r)); err != nil {
			return i, s.fail(err)
		}
	}
	return len(recs), nil
}

// fail drops the connection after a write error.
func (s *Syslog) fail(err error) error {
	_ = s.conn.Close()
	s.conn = nil
	return fmt.Errorf("syslog %s: %w", s.cfg.Address, err)
}

// dialSettle is how long a new connection is watched for a refusal.
const dialSettle = 250 * time.Millisecond

// alive reports whether the receiver has not closed c: a receiver never
// writes to us, so a read that times out after d means the connection is
// open, while EOF, an alert or an error means it is gone.
func alive(c *tls.Conn, d time.Duration) bool {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close implements Sink.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Frame is the octet-counted RFC 5425 frame of r: "LEN SP MSG" where MSG
// is "<PRI>1 TIMESTAMP HOSTNAME qapprove - KIND [SD] LINE".
func Frame(hostname string, r Record) []byte {
	msg := Message(hostname, r)
	out := make([]byte, 0, len(msg)+8)
	out = strconv.AppendInt(out, int64(len(msg)), 10)
	out = append(out, ' ')
	return append(out, msg...)
}

// Message is the RFC 5424 message of r (without framing).
func Message(hostname string, r Record) []byte {
	pri := facilityAudit*8 + severity(r.Kind)
	b := make([]byte, 0, len(r.Line)+320)
	b = fmt.Appendf(b, "<%d>1 %s %s qapprove - %s ", pri,
		r.TS.UTC().Format("2006-01-02T15:04:05.999999Z07:00"), headerField(hostname, 255), headerField(string(r.Kind), 32))
	b = append(b, "[qapprove@"+EnterpriseID...)
	b = sdParam(b, "journal", r.JournalID)
	b = sdParam(b, "seq", strconv.FormatUint(r.Seq, 10))
	b = sdParam(b, "hash", r.Hash)
	b = sdParam(b, "kind", string(r.Kind))
	f := bodyFields(r)
	for _, kv := range [][2]string{{"action", f.ActionID}, {"decision", f.Decision}, {"verdict", f.Verdict}, {"result", f.Result}} {
		if kv[1] != "" {
			b = sdParam(b, kv[0], kv[1])
		}
	}
	b = append(b, "] "...)
	return append(b, r.Line...)
}

// severity of a kind: a wrong passphrase is a warning, a decision or a
// recovery a notice, the rest informational.
func severity(k journal.Kind) int {
	switch k {
	case journal.KindUnlockFailed:
		return 4
	case journal.KindDecision, journal.KindRecovery, journal.KindRebound, journal.KindKeyRegistered:
		return 5
	}
	return 6
}

// sdParam appends ` name="value"` with value escaped as RFC 5424 §6.3.3
// asks (", \ and ] get a backslash) and cut to 256 bytes; bytes a SIEM
// would choke on (invalid UTF-8, control characters) become U+FFFD.
func sdParam(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	n := 0
	for _, r := range value {
		if n >= 256 {
			break
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = utf8.RuneError
		}
		if r == '"' || r == '\\' || r == ']' {
			b = append(b, '\\')
		}
		b = utf8.AppendRune(b, r)
		n += utf8.RuneLen(r)
	}
	return append(b, '"')
}

// headerField makes s a valid header field: printable US-ASCII without
// spaces, at most n bytes, "-" when empty.
func headerField(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r <= 32 || r >= 127 {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}
