package sandbox

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/qapprove/qapprove/crypto/qbls"
)

// maxRequestBody bounds request bodies.
const maxRequestBody = 64 << 10

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request, key string)) {
		m.Handle(pattern, s.faulty(s.authed(h)))
	}
	m.Handle("GET /api/v2/workspaces/{wid}/token", s.faulty(http.HandlerFunc(s.handleToken)))
	api("GET /api/v2/workspaces/{wid}/token/refresh", s.handleRefresh)
	if s.opts.Protocol == ProtocolMinimal {
		m.HandleFunc("GET /api/v2/workspaces/{wid}/actions", func(w http.ResponseWriter, _ *http.Request) {
			s.fail(w, http.StatusNotFound, "404 page not found")
		})
	} else {
		api("GET /api/v2/workspaces/{wid}/actions", s.handleList)
	}
	api("GET /api/v2/actions/{id}", s.handleGet)
	api("POST /api/v2/actions/{id}", s.handleDecide)
	api("PUT /api/v2/workspaces/{wid}/apikeys/{kid}", s.handlePutKey)
	api("GET /api/v2/workspaces/{wid}/apikeys/{kid}", s.handleGetKey)
	api("POST /api/v2/websocket/token", s.handleWSToken)
	m.Handle("GET /api/v2/actions/signrequests", s.faulty(http.HandlerFunc(s.handleFeed)))
	m.HandleFunc("GET /_admin/faults", s.adminGet)
	m.HandleFunc("POST /_admin/faults", s.adminSet)
	m.HandleFunc("POST /_admin/drop-feeds", s.adminDrop)
	s.controlRoutes(m)
	return m
}

// fail writes an error answer: plain text in minimal mode (no error body
// format is confirmed), {"code":…, "detail":…} in extended mode.
func (s *Server) fail(w http.ResponseWriter, status int, detail string) {
	if s.opts.Protocol == ProtocolMinimal {
		http.Error(w, detail, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The header is sent: a failed write has no one to tell.
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "detail": detail})
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.fail(w, 500, "cannot encode the answer")
		return
	}
	s.writeRaw(w, r, b)
}

// writeRaw writes a JSON answer (padded beyond a client's bound when the
// oversized-bodies fault is on).
func (s *Server) writeRaw(w http.ResponseWriter, r *http.Request, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	// The header is sent with the first byte: a failed write has no one to tell.
	_, _ = w.Write(b)
	if r.Method == http.MethodGet && s.faults.Get().OversizedBodies {
		_, _ = w.Write(bytes.Repeat([]byte{' '}, maxAnswerBytes+1))
	}
}

// faulty applies latency and the error rate.
func (s *Server) faulty(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := s.faults.Get().Latency; d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if s.faults.failNow() {
			s.fail(w, http.StatusServiceUnavailable, "injected failure")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		h.ServeHTTP(w, r)
	})
}

// authed checks x-token, the workspace in the path and the rate limit.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, key string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.tok.check(r.Header.Get("x-token"), s.now())
		if err != nil {
			s.fail(w, http.StatusUnauthorized, err.Error())
			return
		}
		if !s.limit(w, key) {
			return
		}
		if wid := r.PathValue("wid"); wid != "" && wid != s.ws.id {
			s.fail(w, http.StatusNotFound, "workspace not found")
			return
		}
		h(w, r, key)
	})
}

func (s *Server) limit(w http.ResponseWriter, key string) bool {
	ok, wait := s.lim.allow(key)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
		s.fail(w, http.StatusTooManyRequests, "rate limit exceeded for this API key")
	}
	return ok
}

// handleToken verifies the HMAC headers and issues a JWT.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	keyID := r.Header.Get("qredo-api-key")
	ts := r.Header.Get("qredo-api-timestamp")
	sig := r.Header.Get("qredo-api-signature")
	if keyID == "" || ts == "" || sig == "" {
		s.fail(w, http.StatusUnauthorized, "missing qredo-api-key, qredo-api-timestamp or qredo-api-signature")
		return
	}
	s.ws.mu.Lock()
	k := s.ws.keys[keyID]
	var hk []byte
	if k != nil {
		hk = k.hmacKey
	}
	s.ws.mu.Unlock()
	if hk == nil {
		s.fail(w, http.StatusUnauthorized, "unknown API key")
		return
	}
	if !s.limit(w, keyID) {
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		s.fail(w, http.StatusUnauthorized, "qredo-api-timestamp must be unix seconds")
		return
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > TimestampWindow || d < -TimestampWindow {
		s.fail(w, http.StatusUnauthorized, "qredo-api-timestamp is outside the 5 minute window")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "cannot read the body")
		return
	}
	full := "http://" + r.Host + r.URL.RequestURI()
	if !hmac.Equal([]byte(requestSignature(hk, ts, r.Method, full, body)), []byte(sig)) {
		s.fail(w, http.StatusUnauthorized, "qredo-api-signature does not match")
		return
	}
	if r.PathValue("wid") != s.ws.id {
		s.fail(w, http.StatusNotFound, "workspace not found")
		return
	}
	s.writeJSON(w, r, map[string]string{"token": s.tok.issue(keyID, s.ws.id, s.now(), s.opts.TokenTTL)})
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request, key string) {
	s.writeJSON(w, r, map[string]string{"token": s.tok.issue(key, s.ws.id, s.now(), s.opts.TokenTTL)})
}

func (s *Server) handleWSToken(w http.ResponseWriter, r *http.Request, key string) {
	s.writeJSON(w, r, map[string]string{"wsToken": s.tok.issueWS(key, s.now())})
}

// maxPageSize bounds one page of the action list (docs/PROTOCOL.md).
const maxPageSize = 250

// handleList: GET /workspaces/{wid}/actions?status=&pageSize=&pageToken=.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	status, _ := strconv.Atoi(q.Get("status"))
	size, _ := strconv.Atoi(q.Get("pageSize"))
	if size <= 0 || size > maxPageSize {
		size = maxPageSize
	}
	off := 0
	if t := q.Get("pageToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err == nil {
			off, err = strconv.Atoi(string(b))
		}
		if err != nil || off < 0 {
			s.fail(w, http.StatusBadRequest, "invalid pageToken")
			return
		}
	}
	s.expireNow()
	s.ws.mu.Lock()
	// The token is a position in the creation order, which only grows:
	// each page walks from where the last one stopped to one matching
	// action past its end (to know whether another page follows), so a
	// long list costs one pass in all, not one from the start per page.
	out := []json.RawMessage{}
	next := ""
	for i := min(off, len(s.ws.order)); i < len(s.ws.order); i++ {
		a := s.ws.order[i]
		if !s.ws.matches(a, key, status) {
			continue
		}
		if len(out) == size {
			next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i)))
			break
		}
		out = append(out, s.ws.restJSON(a, key))
	}
	s.ws.mu.Unlock()
	s.writeJSON(w, r, map[string]any{"actions": out, "nextPageToken": next})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, key string) {
	s.expireNow()
	s.ws.mu.Lock()
	a, ok := s.ws.actions[r.PathValue("id")]
	var out []byte
	if ok && a.visible(key) {
		out = s.ws.restJSON(a, key)
	}
	s.ws.mu.Unlock()
	switch {
	case !ok:
		s.fail(w, http.StatusNotFound, "action not found")
	case out == nil:
		s.fail(w, http.StatusForbidden, "this API key may not see this action")
	default:
		s.writeRaw(w, r, out)
	}
}

// expireNow expires due actions and tells the feed.
func (s *Server) expireNow() {
	s.ws.mu.Lock()
	changed := s.ws.expire(s.now())
	s.ws.mu.Unlock()
	for _, a := range changed {
		s.publish(a)
	}
}

func (s *Server) handleDecide(w http.ResponseWriter, r *http.Request, key string) {
	var body struct {
		Status     int      `json:"status"`
		Signatures []string `json:"signatures"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.fail(w, http.StatusBadRequest, "body must be {\"status\":3|4,\"signatures\":[hex]}")
		return
	}
	if s.faults.takeDrop(false) {
		hangUp(w)
		return
	}
	id := r.PathValue("id")
	s.ws.mu.Lock()
	changed, err := s.ws.decide(key, id, body.Status, body.Signatures, s.now())
	var a *action
	if changed {
		a = s.ws.actions[id]
	}
	s.ws.mu.Unlock()
	if a != nil {
		s.publish(a)
		if err == nil && body.Status == StatusApproved && a.status == StatusPending {
			if a.keyUpdate {
				s.scheduleAdmin(id)
			} else {
				s.scheduleCoApprovers(id)
			}
		}
	}
	if err != nil {
		var de *decideError
		if !errors.As(err, &de) {
			de = &decideError{http.StatusInternalServerError, err.Error()}
		}
		s.fail(w, de.status, de.msg)
		return
	}
	if s.faults.takeDrop(true) {
		hangUp(w)
		return
	}
	if s.opts.Protocol == ProtocolMinimal {
		s.writeJSON(w, r, struct{}{})
		return
	}
	st := "approved"
	if body.Status == StatusRejected {
		st = "rejected"
	}
	s.writeJSON(w, r, map[string]string{"actionID": id, "status": st})
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close() // hanging up is the point; its error changes nothing
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) handlePutKey(w http.ResponseWriter, r *http.Request, key string) {
	kid := r.PathValue("kid")
	if kid != key {
		s.fail(w, http.StatusForbidden, "an API key can only register its own keys")
		return
	}
	var body struct {
		BLS string `json:"blsPublicKey"`
		EC  string `json:"ecPublicKey"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.fail(w, http.StatusBadRequest, "body must be {\"blsPublicKey\":b64,\"ecPublicKey\":b64}")
		return
	}
	blsRaw, err1 := base64.StdEncoding.DecodeString(body.BLS)
	ecRaw, err2 := base64.StdEncoding.DecodeString(body.EC)
	if err1 != nil || err2 != nil {
		s.fail(w, http.StatusBadRequest, "blsPublicKey and ecPublicKey must be standard base64")
		return
	}
	pk, err := qbls.ParsePublicKey(blsRaw)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "blsPublicKey is not a valid 192-byte BLS public key")
		return
	}
	if len(ecRaw) != 65 {
		s.fail(w, http.StatusBadRequest, "ecPublicKey must be a 65-byte uncompressed secp256k1 key")
		return
	}
	if _, err := secp256k1.ParsePubKey(ecRaw); err != nil {
		s.fail(w, http.StatusBadRequest, "ecPublicKey is not a point on secp256k1")
		return
	}
	s.ws.mu.Lock()
	a := s.ws.keyUpdateAction(key, &pk, ecRaw, body.BLS, body.EC, s.now())
	s.ws.mu.Unlock()
	s.announce(a)
	s.writeJSON(w, r, map[string]string{"actionID": a.id})
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request, _ string) {
	s.ws.mu.Lock()
	k := s.ws.keys[r.PathValue("kid")]
	var out map[string]any
	switch {
	case k != nil && s.opts.Protocol == ProtocolMinimal:
		out = map[string]any{"name": k.name}
	case k != nil:
		out = map[string]any{"id": k.id, "name": k.name, "registered": k.bls != nil}
	}
	s.ws.mu.Unlock()
	if out == nil {
		s.fail(w, http.StatusNotFound, "API key not found")
		return
	}
	s.writeJSON(w, r, out)
}

func loopbackOnly(w http.ResponseWriter, r *http.Request) bool {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !isLoopback(host) {
		http.Error(w, "admin endpoints are loopback only", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) adminGet(w http.ResponseWriter, r *http.Request) {
	if loopbackOnly(w, r) {
		s.writeJSON(w, r, s.faults.Get())
	}
}

func (s *Server) adminSet(w http.ResponseWriter, r *http.Request) {
	if !loopbackOnly(w, r) {
		return
	}
	var fs FaultSettings
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	d.DisallowUnknownFields()
	if err := d.Decode(&fs); err != nil || fs.ErrorRate < 0 || fs.ErrorRate > 1 || fs.Latency < 0 {
		s.fail(w, http.StatusBadRequest, "body must be a FaultSettings JSON object (errorRate 0..1, latency ns)")
		return
	}
	s.faults.Set(fs)
	s.writeJSON(w, r, fs)
}

func (s *Server) adminDrop(w http.ResponseWriter, r *http.Request) {
	if loopbackOnly(w, r) {
		s.faults.DropFeeds()
		w.WriteHeader(http.StatusNoContent)
	}
}
