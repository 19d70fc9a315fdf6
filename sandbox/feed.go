package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/qapprove/qapprove/client"
)

// hub fans action frames out to feed connections.
type hub struct {
	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	key  string
	ch   chan []byte
	conn *websocket.Conn
}

func newHub() *hub { return &hub{subs: map[*sub]struct{}{}} }

func (h *hub) add(s *sub) {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(s *sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) snapshot() []*sub {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*sub, 0, len(h.subs))
	for s := range h.subs {
		out = append(out, s)
	}
	return out
}

// dropAll closes every feed connection (fault injection, Close).
func (h *hub) dropAll() {
	for _, s := range h.snapshot() {
		s.conn.CloseNow()
	}
}

// publish sends the current state of a to every feed that may see it. A
// feed too slow to keep up is disconnected (it will resync on reconnect).
func (s *Server) publish(a *action) {
	subs := s.hub.snapshot()
	if len(subs) == 0 {
		return
	}
	frames := make([][]byte, len(subs))
	s.ws.mu.Lock()
	for i, sb := range subs {
		if a.visible(sb.key) {
			frames[i], _ = json.Marshal(a.wire(sb.key, false))
		}
	}
	s.ws.mu.Unlock()
	for i, sb := range subs {
		if frames[i] == nil {
			continue
		}
		select {
		case sb.ch <- frames[i]:
		default:
			sb.conn.CloseNow()
		}
	}
}

// handleFeed serves GET /actions/signrequests (WebSocket), authenticated by
// x-token or ?token= from POST /websocket/token.
func (s *Server) handleFeed(w http.ResponseWriter, r *http.Request) {
	var key string
	if t := r.URL.Query().Get("token"); t != "" {
		k, ok := s.tok.useWS(t, s.now())
		if !ok {
			apiError(w, http.StatusUnauthorized, "invalid or expired WebSocket token")
			return
		}
		key = k
	} else {
		k, err := s.tok.check(r.Header.Get("x-token"), s.now())
		if err != nil {
			apiError(w, http.StatusUnauthorized, err.Error())
			return
		}
		key = k
	}
	if !s.limit(w, key) {
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	sb := &sub{key: key, ch: make(chan []byte, 1024), conn: conn}
	s.hub.add(sb)
	defer s.hub.remove(sb)
	ctx := conn.CloseRead(r.Context()) // answers pings; ends when the client goes
	// Replay what is pending for this key, like the signing agent's cache.
	s.expireNow()
	s.ws.mu.Lock()
	var initial [][]byte
	now := s.now()
	for _, a := range s.ws.sorted(key, client.StatusPending) {
		if _, done := a.decisions[key]; !done && now.Before(a.expires) {
			f, _ := json.Marshal(a.wire(key, false))
			initial = append(initial, f)
		}
	}
	s.ws.mu.Unlock()
	write := func(f []byte) bool {
		if s.faults.Get().MalformedFrames {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn.Write(wctx, websocket.MessageText, []byte(`{"id":"../../etc","messages":["%%%"],"payload":`))
			cancel()
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, f) == nil
	}
	for _, f := range initial {
		if !write(f) {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-sb.ch:
			if !write(f) {
				return
			}
		}
	}
}
