package client

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxTokenBytes bounds a JWT we accept.
const MaxTokenBytes = 8 << 10

// Signature computes the Qredo API v2 HMAC header value:
// unpadded URL-safe base64 of HMAC-SHA256(key, timestamp+method+url+body).
// key is the API secret after base64 decoding.
func Signature(key []byte, timestamp, method, fullURL string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(timestamp))
	m.Write([]byte(method))
	m.Write([]byte(fullURL))
	m.Write(body)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// DecodeSecret decodes an API secret as issued (base64, URL-safe or
// standard, with or without padding) into the HMAC key.
func DecodeSecret(secret []byte) ([]byte, error) {
	k, err := decodeB64(strings.TrimSpace(string(secret)))
	if err != nil || len(k) == 0 {
		return nil, errors.New("the API secret is not valid base64")
	}
	return k, nil
}

type tokenAnswer struct {
	Token string `json:"token"`
}

// Token makes sure the client holds a usable JWT: it keeps a fresh one,
// refreshes it through /token/refresh after half its lifetime, and falls
// back to a new token from the API secret. While the secret is locked the
// current token is used until it expires; then ErrUnlockNeeded.
func (c *Client) Token(ctx context.Context) error {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	c.mu.Lock()
	tok, exp, refreshAt := c.token, c.tokenExp, c.refreshAt
	c.mu.Unlock()
	now := c.now()
	if tok != "" && now.Before(refreshAt) {
		return nil
	}
	var refreshErr error
	if tok != "" && now.Before(exp) {
		if refreshErr = c.refresh(ctx, tok); refreshErr == nil {
			return nil
		}
	}
	err := c.newToken(ctx)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnlockNeeded) && tok != "" && now.Before(exp) && KindOf(refreshErr) != KindAuth {
		// Locked, refresh failed for a passing reason: keep using the
		// current token until it expires.
		return nil
	}
	if errors.Is(err, ErrUnlockNeeded) {
		c.dropToken()
	}
	return err
}

// currentToken returns a usable JWT, acquiring one when needed.
func (c *Client) currentToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, refreshAt := c.token, c.refreshAt
	c.mu.Unlock()
	if tok != "" && c.now().Before(refreshAt) {
		return tok, nil
	}
	if err := c.Token(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" {
		return "", ErrUnlockNeeded
	}
	return c.token, nil
}

func (c *Client) dropToken() {
	c.mu.Lock()
	c.token, c.tokenExp, c.refreshAt = "", time.Time{}, time.Time{}
	c.mu.Unlock()
}

// HasToken reports whether a token that has not expired is held.
func (c *Client) HasToken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token != "" && c.now().Before(c.tokenExp)
}

func (c *Client) newToken(ctx context.Context) error {
	if c.cfg.Credentials == nil {
		return ErrUnlockNeeded
	}
	var key []byte
	var decErr error
	err := c.cfg.Credentials.WithSecret(func(secret []byte) error {
		key, decErr = DecodeSecret(secret)
		return nil
	})
	defer clear(key)
	if err != nil {
		return ErrUnlockNeeded
	}
	if decErr != nil {
		return &Error{Kind: KindAuth, Msg: "cannot use the API secret: " + decErr.Error()}
	}
	var out tokenAnswer
	err = c.do(ctx, request{
		method: http.MethodGet, path: "/workspaces/" + c.cfg.WorkspaceID + "/token", retry: true, out: &out,
		headers: func(req *http.Request, body []byte) error {
			ts := strconv.FormatInt(c.now().Unix(), 10)
			req.Header.Set("qredo-api-key", c.cfg.APIKeyID)
			req.Header.Set("qredo-api-timestamp", ts)
			req.Header.Set("qredo-api-signature", Signature(key, ts, req.Method, req.URL.String(), body))
			return nil
		},
	})
	if err != nil {
		return err
	}
	return c.setToken(out.Token)
}

func (c *Client) refresh(ctx context.Context, old string) error {
	var out tokenAnswer
	err := c.do(ctx, request{
		method: http.MethodGet, path: "/workspaces/" + c.cfg.WorkspaceID + "/token/refresh", retry: true, out: &out,
		headers: func(req *http.Request, _ []byte) error {
			req.Header.Set("x-token", old)
			return nil
		},
	})
	if err != nil {
		return err
	}
	return c.setToken(out.Token)
}

// setToken validates a JWT and schedules its refresh at half its lifetime.
func (c *Client) setToken(tok string) error {
	exp, err := JWTExpiry(tok)
	if err != nil {
		return &Error{Kind: KindBadResponse, Msg: "the API returned an unusable token: " + err.Error()}
	}
	now := c.now()
	if !exp.After(now) {
		return &Error{Kind: KindBadResponse, Msg: "the API returned a token that has already expired (check this computer's clock)"}
	}
	c.mu.Lock()
	c.token, c.tokenExp, c.refreshAt = tok, exp, now.Add(exp.Sub(now)/2)
	c.mu.Unlock()
	return nil
}

// JWTExpiry reads the exp claim of a JWT without verifying it (the client
// cannot: only the server holds the key). It checks the shape and bounds.
func JWTExpiry(tok string) (time.Time, error) {
	if tok == "" || len(tok) > MaxTokenBytes {
		return time.Time{}, errors.New("empty or oversized token")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("not a JWT")
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			ch := p[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '=') {
				return time.Time{}, errors.New("token has characters a JWT cannot have")
			}
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, errors.New("JWT payload is not base64url")
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return time.Time{}, errors.New("JWT payload is not JSON")
	}
	f, err := claims.Exp.Float64()
	if err != nil || f <= 0 || f > 1<<40 {
		return time.Time{}, errors.New("JWT has no usable exp claim")
	}
	return time.Unix(int64(f), 0), nil
}
