package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
)

// TimestampWindow is how far the qredo-api-timestamp may be from the
// sandbox's clock.
const TimestampWindow = 5 * time.Minute

// requestSignature is the qredo-api-signature a request must carry, from
// the confirmed rule (qredo-api.md §3; signing-agent
// internal/auth/header_provider.go; SALOGIC webSocket.js): unpadded
// base64url of HMAC-SHA256 keyed with the decoded API secret over the
// plain concatenation timestamp + METHOD + full URL + body. Written here,
// not shared with the client, so that the two can disagree.
func requestSignature(key []byte, ts, method, fullURL string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte(method))
	m.Write([]byte(fullURL))
	m.Write(body)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokens issues and checks HS256 JWTs and one-time WebSocket tokens.
type tokens struct {
	mu     sync.Mutex
	key    [32]byte
	issued map[string]tokenInfo // jti → info
	ws     map[string]tokenInfo // wsToken → info
}

type tokenInfo struct {
	keyID string
	exp   time.Time
}

func newTokens() *tokens {
	t := &tokens{issued: map[string]tokenInfo{}, ws: map[string]tokenInfo{}}
	rand.Read(t.key[:])
	return t
}

func randText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type claims struct {
	Sub string `json:"sub"`
	WID string `json:"wid"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// issue makes a JWT for keyID valid for ttl.
func (t *tokens) issue(keyID, wid string, now time.Time, ttl time.Duration) string {
	c := claims{Sub: keyID, WID: wid, Iat: now.Unix(), Exp: now.Add(ttl).Unix(), Jti: randText(12)}
	hb, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	cb, _ := json.Marshal(c)
	s := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	s += "." + base64.RawURLEncoding.EncodeToString(t.mac(s))
	t.mu.Lock()
	t.issued[c.Jti] = tokenInfo{keyID: keyID, exp: time.Unix(c.Exp, 0)}
	for j, i := range t.issued { // forget long-expired tokens
		if now.Sub(i.exp) > time.Hour {
			delete(t.issued, j)
		}
	}
	t.mu.Unlock()
	return s
}

func (t *tokens) mac(s string) []byte {
	m := hmac.New(sha256.New, t.key[:])
	m.Write([]byte(s))
	return m.Sum(nil)
}

var (
	errNoToken      = errors.New("missing x-token")
	errBadToken     = errors.New("invalid token")
	errExpiredToken = errors.New("token expired")
)

// check verifies a JWT and returns its API key ID.
func (t *tokens) check(tok string, now time.Time) (string, error) {
	if tok == "" {
		return "", errNoToken
	}
	if len(tok) > maxTokenBytes {
		return "", errBadToken
	}
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return "", errBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || !hmac.Equal(sig, t.mac(tok[:i])) {
		return "", errBadToken
	}
	parts := strings.Split(tok[:i], ".")
	if len(parts) != 2 {
		return "", errBadToken
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c claims
	if err != nil || json.Unmarshal(cb, &c) != nil {
		return "", errBadToken
	}
	t.mu.Lock()
	info, ok := t.issued[c.Jti]
	t.mu.Unlock()
	if !ok || info.keyID != c.Sub {
		return "", errBadToken
	}
	if !now.Before(time.Unix(c.Exp, 0)) {
		return "", errExpiredToken
	}
	return c.Sub, nil
}

// issueWS makes a one-time WebSocket token valid for a minute.
func (t *tokens) issueWS(keyID string, now time.Time) string {
	s := randText(24)
	t.mu.Lock()
	t.ws[s] = tokenInfo{keyID: keyID, exp: now.Add(time.Minute)}
	t.mu.Unlock()
	return s
}

// useWS consumes a WebSocket token.
func (t *tokens) useWS(s string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.ws[s]
	delete(t.ws, s)
	return i.keyID, ok && now.Before(i.exp)
}

// limiter is a token bucket per API key.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perSecond int) *limiter {
	return &limiter{rate: float64(perSecond), burst: float64(perSecond), buckets: map[string]*bucket{}}
}

// allow takes one token for key; when none is left it says how long to wait.
func (l *limiter) allow(key string) (bool, time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
