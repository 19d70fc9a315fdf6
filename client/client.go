package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials hands the API secret (as issued: base64 text) to fn while the
// key is unlocked; it returns an error (ErrLocked or another) when it is
// not. fn must not keep the slice: the implementation may clear it after.
type Credentials interface {
	WithSecret(fn func(secret []byte) error) error
}

// StaticSecret is a Credentials that always holds the secret: for the
// sandbox, tests and scripts. Not for production use.
type StaticSecret []byte

// WithSecret calls fn with a copy of the secret and clears the copy.
func (s StaticSecret) WithSecret(fn func([]byte) error) error {
	b := append([]byte(nil), s...)
	defer clear(b)
	return fn(b)
}

// Config configures a Client.
type Config struct {
	BaseURL     string       // e.g. https://api-v2.qredo.network/api/v2; http only for loopback
	WorkspaceID string       // Qredo workspace ID
	APIKeyID    string       // API key ID
	Credentials Credentials  // the API secret, while unlocked
	HTTP        *http.Client // nil = a default client; redirects are always refused
	Now         func() time.Time
	Timeout     time.Duration // per HTTP attempt; 0 = 15s
	FeedURL     string        // optional WebSocket URL override; "" = derived from BaseURL
	// FeedQueryToken makes the feed authenticate with ?token= from
	// POST /websocket/token instead of the x-token header.
	FeedQueryToken bool
	MaxRetries     int // GET retries on 429/5xx/network errors; 0 = 3, <0 = none
}

// Client talks to the Qredo API v2. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
	now  func() time.Time

	mu        sync.Mutex // guards the token fields
	token     string
	tokenExp  time.Time
	refreshAt time.Time
	tokenMu   sync.Mutex // serialises token acquisition

	sleep func(ctx context.Context, d time.Duration) error // replaced in tests
}

// New checks cfg and returns a client. It refuses http:// except for
// loopback hosts, and IDs that would not be safe in a URL path.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not a URL", cfg.BaseURL)
	}
	if err := checkScheme(u, "https", "http"); err != nil {
		return nil, err
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL must not carry credentials, a query or a fragment")
	}
	if !ValidID(cfg.WorkspaceID) {
		return nil, fmt.Errorf("workspace ID %s is not valid", quoteID(cfg.WorkspaceID))
	}
	if !ValidID(cfg.APIKeyID) {
		return nil, fmt.Errorf("API key ID %s is not valid", quoteID(cfg.APIKeyID))
	}
	if cfg.FeedURL != "" {
		f, err := url.Parse(cfg.FeedURL)
		if err != nil || f.Host == "" {
			return nil, fmt.Errorf("feed URL %q is not a URL", cfg.FeedURL)
		}
		if err := checkScheme(f, "wss", "ws"); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg, base: u, now: cfg.Now, sleep: sleepCtx}
	if c.now == nil {
		c.now = time.Now
	}
	if c.cfg.Timeout <= 0 {
		c.cfg.Timeout = 15 * time.Second
	}
	if c.cfg.MaxRetries == 0 {
		c.cfg.MaxRetries = 3
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	cp := *hc
	// Never follow redirects: x-token is a custom header that Go would
	// forward to another host.
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &cp
	return c, nil
}

// checkScheme allows the secure scheme anywhere and the plain one only on
// loopback hosts.
func checkScheme(u *url.URL, secure, plain string) error {
	switch u.Scheme {
	case secure:
		return nil
	case plain:
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s:// is only allowed for loopback addresses; use %s://%s", plain, secure, u.Host)
	}
	return fmt.Errorf("URL scheme %q is not supported; use %s://", u.Scheme, secure)
}

// IsLoopbackHost reports whether host is "localhost" or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// BaseURL returns the normalised base URL.
func (c *Client) BaseURL() string { return c.base.String() }

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

type request struct {
	method string
	path   string     // under the base, starting with "/"
	query  url.Values // optional
	body   any        // JSON-encoded when non-nil
	auth   bool       // send x-token
	retry  bool       // safe to retry (GETs)
	out    any        // decoded JSON answer, when non-nil
	// headers adds headers per attempt (the HMAC signature of the token
	// call, whose timestamp must be fresh on each attempt).
	headers func(req *http.Request, body []byte) error
}

// do sends r with retries (when r.retry), a new token after one 401, and
// bounded, validated answers.
func (c *Client) do(ctx context.Context, r request) error {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return errf(KindRefused, "cannot encode request: %v", err)
		}
	}
	reauthed := false
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, r, body)
		if err == nil {
			return nil
		}
		var e *Error
		if !errors.As(err, &e) {
			return err
		}
		if e.Kind == KindAuth && e.Status == 401 && r.auth && !reauthed {
			// The token was refused (expired early, revoked): get a new one
			// and try once more. A 401 means the request was not processed,
			// so this is safe even for a decision.
			reauthed = true
			c.dropToken()
			if terr := c.Token(ctx); terr != nil {
				return terr
			}
			attempt--
			continue
		}
		retryable := e.Kind == KindRateLimited || e.Kind == KindServer || e.Kind == KindNetwork
		if !r.retry || !retryable || c.cfg.MaxRetries < 0 || attempt >= c.cfg.MaxRetries || ctx.Err() != nil {
			return err
		}
		if serr := c.sleep(ctx, backoff(attempt, e.RetryAfter)); serr != nil {
			return err
		}
	}
}

// backoff is the wait before retry attempt+1: the server's Retry-After when
// given (capped at 60s), else jittered exponential from 250ms, capped at 8s.
func backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, 60*time.Second)
	}
	d := 250 * time.Millisecond << min(attempt, 5)
	d = min(d, 8*time.Second)
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: retry jitter spreads reconnects; it guards nothing
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once performs one HTTP attempt.
func (c *Client) once(ctx context.Context, r request, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.url(r.path, r.query), rd)
	if err != nil {
		return errf(KindRefused, "cannot build request %s %s", r.method, r.path)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth {
		tok, err := c.currentToken(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("x-token", tok)
	}
	if r.headers != nil {
		if err := r.headers(req, body); err != nil {
			return err
		}
	}
	return c.send(req, r.method, r.path, r.out)
}

// send performs req and decodes a bounded JSON answer into out. A 2xx
// answer with out == nil is success whatever its body (read bounded and
// ignored, as the signing agent does).
func (c *Client) send(req *http.Request, method, path string, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return networkError(method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	switch {
	case ok && out == nil:
		return nil
	case err != nil:
		return networkError(method, path, err)
	case !ok:
		return statusError(method, path, resp.StatusCode, b, retryAfter(resp.Header.Get("Retry-After"), c.now()))
	case len(b) > MaxResponseBytes:
		return errf(KindBadResponse, "%s %s answered more than %d bytes; refusing it", method, path, MaxResponseBytes)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errf(KindBadResponse, "%s %s answered something that is not the expected JSON", method, path)
	}
	return nil
}

func networkError(method, path string, err error) *Error {
	msg := "no answer from the API for " + method + " " + path
	if errors.Is(err, context.DeadlineExceeded) {
		msg += " (timed out)"
	} else if errors.Is(err, context.Canceled) {
		msg += " (cancelled)"
	}
	// Do not include err's text: *url.Error repeats the full URL, which is
	// harmless here but keeps messages short; keep it as the cause.
	return &Error{Kind: KindNetwork, Msg: msg, Err: err}
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}
