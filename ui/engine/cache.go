package engine

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"time"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/storage"
)

// The pending-action cache lets a restart show the last known pending
// actions at once, before the key is unlocked and the list refreshed. It
// holds only what the API sent (no secrets) and is treated as hostile on
// read: bounded, and every entry decoded and validated like a feed frame.

const (
	maxCacheSize    = 64 << 20
	maxCacheEntries = 200_000
	cacheVersion    = 1
)

type cacheFile struct {
	Version int                 `json:"version"`
	Saved   time.Time           `json:"saved"`
	Actions []client.WireAction `json:"actions"`
}

func (e *Engine) cachePath() string { return e.opts.Paths.CacheFile(e.opts.Profile) }

// loadCache adds the cached actions that are still pending to the list
// (actions the API already sent win) and returns how many it added.
func (e *Engine) loadCache() int {
	f, err := os.Open(e.cachePath())
	if err != nil {
		return 0
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() > maxCacheSize {
		return 0
	}
	var cf cacheFile
	if err := json.NewDecoder(f).Decode(&cf); err != nil || cf.Version != cacheVersion {
		return 0
	}
	now := e.now()
	n := 0
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loaded {
		return 0 // a fresh list arrived first
	}
	for i := range cf.Actions {
		if i >= maxCacheEntries {
			break
		}
		a, err := client.DecodeWire(&cf.Actions[i], true)
		if err != nil || !a.Pending(now) {
			continue
		}
		if _, ok := e.items[a.ID]; !ok {
			e.items[a.ID] = a
			n++
		}
	}
	return n
}

// saveCacheIfDirty writes the cache when the list changed since the last save.
func (e *Engine) saveCacheIfDirty() {
	e.mu.Lock()
	if !e.cacheDirty {
		e.mu.Unlock()
		return
	}
	e.cacheDirty = false
	cf := cacheFile{Version: cacheVersion, Saved: e.now().UTC(), Actions: make([]client.WireAction, 0, len(e.items))}
	for _, a := range e.items {
		cf.Actions = append(cf.Actions, encodeWire(a))
	}
	e.mu.Unlock()
	b, err := json.Marshal(cf)
	if err != nil {
		return
	}
	_ = storage.WriteFileAtomic(e.cachePath(), b, 0o600)
}

// encodeWire is the inverse of client.DecodeWire with hex messages.
func encodeWire(a *client.Action) client.WireAction {
	w := client.WireAction{
		ID: a.ID, Type: a.Type, Status: a.Status, Description: a.Description,
		MyDecision: a.MyDecision, Messages: make([]string, len(a.Messages)),
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
	if a.RawPayload != nil {
		w.Payload = base64.StdEncoding.EncodeToString(a.RawPayload)
	}
	return w
}
