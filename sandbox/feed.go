package sandbox

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
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
		_ = s.conn.CloseNow() // dropping is the point; its error changes nothing
	}
}

// announce sends a new action to the feeds. In minimal mode only pending
// transaction actions have frames: a key update is only read by GET.
func (s *Server) announce(a *action) {
	if s.opts.Protocol == ProtocolMinimal && (a.keyUpdate || a.status != StatusPending) {
		return
	}
	s.send(a)
}

// publish sends a change of an action (decided, progress, expired) to the
// feeds. In minimal mode nothing is sent: no such frame is confirmed, so a
// client must not depend on one (an expired action simply stops being
// replayed).
func (s *Server) publish(a *action) {
	if s.opts.Protocol != ProtocolMinimal {
		s.send(a)
	}
}

// send sends the current state of a to every feed that may see it. A
// feed too slow to keep up is disconnected (it will resync on reconnect).
func (s *Server) send(a *action) {
	subs := s.hub.snapshot()
	if len(subs) == 0 {
		return
	}
	frames := make([][]byte, len(subs))
	s.ws.mu.Lock()
	for i, sb := range subs {
		if a.visible(sb.key) {
			frames[i] = s.ws.feedJSON(a, sb.key)
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
			_ = sb.conn.CloseNow() // a slow subscriber is dropped; its error changes nothing
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
			s.fail(w, http.StatusUnauthorized, "invalid or expired WebSocket token")
			return
		}
		key = k
	} else {
		k, err := s.tok.check(r.Header.Get("x-token"), s.now())
		if err != nil {
			s.fail(w, http.StatusUnauthorized, err.Error())
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
	for _, a := range s.ws.sorted(key, StatusPending) {
		_, done := a.decisions[key]
		if !done && now.Before(a.expires) && !(s.ws.minimal && a.keyUpdate) {
			initial = append(initial, s.ws.feedJSON(a, key))
		}
	}
	s.ws.mu.Unlock()
	write := func(f []byte) bool {
		if s.faults.Get().MalformedFrames {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			// The fault frame is best effort: the real write below reports a dead connection.
			_ = conn.Write(wctx, websocket.MessageText, []byte(`{"id":"../../etc","messages":["%%%"],"payload":`))
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
