package app

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/storage"
)

// The pending-action cache lets a restart show the last known pending
// actions at once, before the key is unlocked and the list refreshed. It
// holds only what the API sent (no secrets) and is treated as hostile on
// read: bounded (storage.Records), and every entry decoded and validated
// like an API answer.
//
// Format: JSON lines. The first line is a header {"version":3,"saved":…};
// each further line is {"a": one action in its REST form (hex messages),
// "p": the hex SHA-256 of its payload as the API sent it}. The engine
// keeps only the decoded payload, so the cache holds it re-encoded; the
// hash of the original bytes is what the message binding is checked
// against. Lines are read one at a time, so memory stays flat however
// long the list.

const (
	maxCacheSize      = 1 << 30 // bytes
	maxCacheLine      = 2 << 20 // bytes of one action
	maxCacheEntries   = 500_000
	cacheVersion      = 3
	cacheSaveInterval = 30 * time.Second
	// cacheSaveIntervalLarge spaces the saves of a long list (at least
	// largeList), which rewrite tens of megabytes each.
	cacheSaveIntervalLarge = 3 * time.Minute
	largeList              = 10_000 // actions
)

type cacheHeader struct {
	Version int       `json:"version"`
	Saved   time.Time `json:"saved"`
}

// cacheLine is one cached action.
type cacheLine struct {
	Action        client.WireAction `json:"a"`
	PayloadSHA256 string            `json:"p,omitempty"`
}

// cache is the on-disk store of the pending list.
func (e *Engine) cache() storage.Records {
	return storage.Records{Path: e.opts.Paths.CacheFile(e.opts.Profile), MaxSize: maxCacheSize, MaxRecord: maxCacheLine, MaxRecords: maxCacheEntries}
}

// loadCache adds the cached actions that are still pending to the list
// (actions the API already sent win) and returns how many it added. Each
// record is decoded and validated like an API answer.
func (e *Engine) loadCache() int {
	now := e.now()
	var h cacheHeader
	var list []held
	err := e.cache().Read(&h, func(rec []byte) bool {
		if h.Version != cacheVersion {
			return false
		}
		var l cacheLine
		if json.Unmarshal(rec, &l) != nil {
			return true
		}
		a, err := client.DecodeWire(&l.Action, true)
		if err != nil || !a.Pending(now) {
			return true
		}
		if sum, err := hex.DecodeString(l.PayloadSHA256); err == nil && len(sum) == 32 && a.HasPayload() {
			a.PayloadSHA256 = [32]byte(sum)
			if len(a.Messages) > 0 {
				a.Binding, _ = client.CheckBinding(a.Messages[0], a)
			}
		}
		list = append(list, holding(a, a.Fingerprint()))
		return true
	})
	if err != nil || h.Version != cacheVersion {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loaded {
		return 0 // a fresh list from the API arrived first
	}
	if e.asOf.IsZero() {
		e.asOf = h.Saved
	}
	n := 0
	for _, h := range list {
		if _, ok := e.items[h.a.ID]; !ok {
			e.items[h.a.ID] = h
			n++
		}
	}
	return n
}

// saveCacheIfDirty writes the cache when the list changed, at most once
// per cacheSaveInterval (cacheSaveIntervalLarge for a long list) unless
// force is set (exit). It streams to the file so a long list does not
// need a second copy in memory.
func (e *Engine) saveCacheIfDirty(force bool) {
	now := e.now()
	e.mu.Lock()
	every := cacheSaveInterval
	if len(e.items) >= largeList {
		every = cacheSaveIntervalLarge
	}
	if !e.cacheDirty || (!force && now.Sub(e.cacheSaved) < every) {
		e.mu.Unlock()
		return
	}
	e.cacheDirty, e.cacheSaved = false, now
	list := make([]*client.Action, 0, len(e.items))
	for _, h := range e.items {
		list = append(list, h.a)
	}
	e.mu.Unlock()
	i := 0
	_ = e.cache().Write(cacheHeader{Version: cacheVersion, Saved: now.UTC()}, func() (any, bool) {
		if i == len(list) {
			return nil, false
		}
		a := list[i]
		i++
		l := cacheLine{Action: encodeWire(a)}
		if a.HasPayload() {
			l.PayloadSHA256 = hex.EncodeToString(a.PayloadSHA256[:])
		}
		return l, true
	})
}

// encodeWire is the inverse of client.DecodeWire with hex messages.
func encodeWire(a *client.Action) client.WireAction {
	w := client.WireAction{
		ID: a.ID, Type: a.Type, Status: a.Status, Description: a.Description(),
		MyDecision: a.MyDecision, MyDecisionKnown: a.MyDecisionKnown, Messages: make([]string, len(a.Messages)),
	}
	if a.Payload != nil {
		n := a.Payload.Approvals
		w.Approvals = &n
		w.ApprovedBy = client.WireApprovers(a.Payload.ApprovedBy)
	}
	if !a.Expires.IsZero() {
		w.ExpireTime = a.Expires.Unix()
	}
	if !a.Created.IsZero() {
		w.Created = a.Created.Unix()
	}
	for i, m := range a.Messages {
		w.Messages[i] = hex.EncodeToString(m)
	}
	raw := a.RawPayload()
	if raw == nil && a.Payload != nil {
		// The engine keeps only the decoded payload: the cache holds it
		// re-encoded. Signing always re-reads the action from the API.
		raw, _ = json.Marshal(a.Payload)
	}
	if raw != nil {
		w.Payload = base64.StdEncoding.EncodeToString(raw)
	}
	return w
}
