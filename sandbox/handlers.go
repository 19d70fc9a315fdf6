package sandbox

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/qapprove/qapprove/client"
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
	api("GET /api/v2/workspaces/{wid}/actions", s.handleList)
	api("GET /api/v2/actions/{id}", s.handleGet)
	api("POST /api/v2/actions/{id}", s.handleDecide)
	api("PUT /api/v2/workspaces/{wid}/apikeys/{kid}", s.handlePutKey)
	api("GET /api/v2/workspaces/{wid}/apikeys/{kid}", s.handleGetKey)
	api("POST /api/v2/websocket/token", s.handleWSToken)
	m.Handle("GET /api/v2/actions/signrequests", s.faulty(http.HandlerFunc(s.handleFeed)))
	m.HandleFunc("GET /_admin/faults", s.adminGet)
	m.HandleFunc("POST /_admin/faults", s.adminSet)
	m.HandleFunc("POST /_admin/drop-feeds", s.adminDrop)
	return m
}

// apiError writes {"code":…, "detail":…}.
func apiError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": status, "detail": detail})
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		apiError(w, 500, "cannot encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	if r.Method == http.MethodGet && s.faults.Get().OversizedBodies {
		w.Write(bytes.Repeat([]byte{' '}, client.MaxResponseBytes+1))
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
			apiError(w, http.StatusServiceUnavailable, "injected failure")
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
			apiError(w, http.StatusUnauthorized, err.Error())
			return
		}
		if !s.limit(w, key) {
			return
		}
		if wid := r.PathValue("wid"); wid != "" && wid != s.ws.id {
			apiError(w, http.StatusNotFound, "workspace not found")
			return
		}
		h(w, r, key)
	})
}

func (s *Server) limit(w http.ResponseWriter, key string) bool {
	ok, wait := s.lim.allow(key)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
		apiError(w, http.StatusTooManyRequests, "rate limit exceeded for this API key")
	}
	return ok
}

// handleToken verifies the HMAC headers and issues a JWT.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	keyID := r.Header.Get("qredo-api-key")
	ts := r.Header.Get("qredo-api-timestamp")
	sig := r.Header.Get("qredo-api-signature")
	if keyID == "" || ts == "" || sig == "" {
		apiError(w, http.StatusUnauthorized, "missing qredo-api-key, qredo-api-timestamp or qredo-api-signature")
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
		apiError(w, http.StatusUnauthorized, "unknown API key")
		return
	}
	if !s.limit(w, keyID) {
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		apiError(w, http.StatusUnauthorized, "qredo-api-timestamp must be unix seconds")
		return
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > TimestampWindow || d < -TimestampWindow {
		apiError(w, http.StatusUnauthorized, "qredo-api-timestamp is outside the 5 minute window")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "cannot read the body")
		return
	}
	full := "http://" + r.Host + r.URL.RequestURI()
	want := client.Signature(hk, ts, r.Method, full, body)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		apiError(w, http.StatusUnauthorized, "qredo-api-signature does not match")
		return
	}
	if r.PathValue("wid") != s.ws.id {
		apiError(w, http.StatusNotFound, "workspace not found")
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
		if off, err = strconv.Atoi(string(b)); err != nil || off < 0 {
			apiError(w, http.StatusBadRequest, "invalid pageToken")
			return
		}
	}
	s.expireNow()
	s.ws.mu.Lock()
	// One pass up to the end of the page (and one action past it, to know
	// whether another page follows), not over the whole list.
	out := []client.WireAction{}
	i, more := 0, false
	s.ws.matching(key, status, func(a *action) bool {
		switch {
		case i >= off+size:
			more = true
			return false
		case i >= off:
			out = append(out, a.wire(key, true))
		}
		i++
		return true
	})
	next := ""
	if more {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(off + size)))
	}
	s.ws.mu.Unlock()
	s.writeJSON(w, r, map[string]any{"actions": out, "nextPageToken": next})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, key string) {
	s.expireNow()
	s.ws.mu.Lock()
	a, ok := s.ws.actions[r.PathValue("id")]
	var wa client.WireAction
	if ok && a.visible(key) {
		wa = a.wire(key, true)
	}
	s.ws.mu.Unlock()
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "action not found")
	case wa.ID == "":
		apiError(w, http.StatusForbidden, "this API key may not see this action")
	default:
		s.writeJSON(w, r, wa)
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
		apiError(w, http.StatusBadRequest, "body must be {\"status\":3|4,\"signatures\":[hex]}")
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
		if err == nil && body.Status == client.StatusApproved && a.status == client.StatusPending {
			s.scheduleCoApprovers(id)
		}
	}
	if err != nil {
		de := err.(*decideError)
		apiError(w, de.status, de.msg)
		return
	}
	if s.faults.takeDrop(true) {
		hangUp(w)
		return
	}
	st := "approved"
	if body.Status == client.StatusRejected {
		st = "rejected"
	}
	s.writeJSON(w, r, map[string]string{"actionID": id, "status": st})
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) handlePutKey(w http.ResponseWriter, r *http.Request, key string) {
	kid := r.PathValue("kid")
	if kid != key {
		apiError(w, http.StatusForbidden, "an API key can only register its own keys")
		return
	}
	var body struct {
		BLS string `json:"blsPublicKey"`
		EC  string `json:"ecPublicKey"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "body must be {\"blsPublicKey\":b64,\"ecPublicKey\":b64}")
		return
	}
	blsRaw, err1 := base64.StdEncoding.DecodeString(body.BLS)
	ecRaw, err2 := base64.StdEncoding.DecodeString(body.EC)
	if err1 != nil || err2 != nil {
		apiError(w, http.StatusBadRequest, "blsPublicKey and ecPublicKey must be standard base64")
		return
	}
	pk, err := qbls.ParsePublicKey(blsRaw)
	if err != nil {
		apiError(w, http.StatusBadRequest, "blsPublicKey is not a valid 192-byte BLS public key")
		return
	}
	if len(ecRaw) != 65 {
		apiError(w, http.StatusBadRequest, "ecPublicKey must be a 65-byte uncompressed secp256k1 key")
		return
	}
	if _, err := secp256k1.ParsePubKey(ecRaw); err != nil {
		apiError(w, http.StatusBadRequest, "ecPublicKey is not a point on secp256k1")
		return
	}
	now := s.now()
	s.ws.mu.Lock()
	admin := &policy{id: "pol-admin", name: "Admin Policy", kind: "admin", threshold: 1, members: []string{key}}
	a := &action{
		typ: client.TypeAPIKeyUpdate, status: client.StatusPending, created: now, expires: now.Add(time.Hour), pol: admin,
		subject: key, newBLS: &pk, newEC: ecRaw,
		payload: client.Payload{
			PolicyName: admin.name,
			Policy:     &client.Policy{ID: admin.id, Name: admin.name, Kind: admin.kind, Threshold: 1, Members: admin.members},
			KeyUpdate:  &client.KeyUpdate{APIKeyID: key, BLSPublicKey: body.BLS, ECPublicKey: body.EC},
		},
	}
	s.ws.addAction(a)
	s.ws.mu.Unlock()
	s.publish(a)
	s.writeJSON(w, r, map[string]string{"actionID": a.id})
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request, key string) {
	s.ws.mu.Lock()
	k := s.ws.keys[r.PathValue("kid")]
	var out map[string]any
	if k != nil {
		out = map[string]any{"id": k.id, "name": k.name, "registered": k.bls != nil}
	}
	s.ws.mu.Unlock()
	if out == nil {
		apiError(w, http.StatusNotFound, "API key not found")
		return
	}
	s.writeJSON(w, r, out)
}

func loopbackOnly(w http.ResponseWriter, r *http.Request) bool {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !client.IsLoopbackHost(host) {
		apiError(w, http.StatusForbidden, "admin endpoints are loopback only")
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
		apiError(w, http.StatusBadRequest, "body must be a FaultSettings JSON object (errorRate 0..1, latency ns)")
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
