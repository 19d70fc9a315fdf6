package app

import (
	"fmt"
	"sync"
	"time"
)

// ConnState is the state of the feed connection.
type ConnState string

// Connection states of Conn events.
const (
	ConnLive         ConnState = "live"
	ConnReconnecting ConnState = "reconnecting"
	ConnOffline      ConnState = "offline"
)

// Removal says why an action left the pending list.
type Removal string

// Removal reasons of ActionRemoved events.
const (
	RemovedElsewhere Removal = "decided-elsewhere"
	RemovedExpired   Removal = "expired"
)

// Event is something the engine reports on the Subscribe channel: one of
// ActionsLoaded, ActionUpserted, ActionRemoved, Conn, LockChanged, Notice.
type Event interface{ isEvent() }

// ActionsLoaded replaces the whole list (first load, full refresh).
type ActionsLoaded struct{ Items []Item }

// ActionUpserted adds an action or replaces the one with the same ID.
type ActionUpserted struct{ Item Item }

// ActionRemoved drops an action; Why is RemovedElsewhere or RemovedExpired.
type ActionRemoved struct {
	ID  string
	Why Removal
}

// Conn reports the feed connection; RetryAt is set while reconnecting.
type Conn struct {
	State   ConnState
	RetryAt time.Time
	// Reason says why the connection is not live (auth refused, unknown
	// API key, TLS, …), shown in the header and status line; "" when live.
	Reason string
	// FeedOnly is set when the API has no list endpoint: the list is what
	// the feed (and the cache) delivered, and the header says so.
	FeedOnly bool
	// AsOf is when the list was last known complete (zero: never); the UI
	// shows how old the data is while not live.
	AsOf time.Time
}

// LockChanged reports the key lock; Until is when an unlocked key locks again.
type LockChanged struct {
	Locked bool
	Until  time.Time
	Reason string
}

// Notice is a one-line message for the operator.
type Notice struct{ Text string }

func (ActionsLoaded) isEvent()  {}
func (ActionUpserted) isEvent() {}
func (ActionRemoved) isEvent()  {}
func (Conn) isEvent()           {}
func (LockChanged) isEvent()    {}
func (Notice) isEvent()         {}

// outbox delivers events to the subscriber (Engine.Subscribe). State
// events (everything but Notice) are never dropped: while the channel is
// full they wait, in order, in an overflow list that a pump goroutine
// feeds into the channel as the UI reads. If the overflow grows past
// maxOverflow, its list events are replaced by one ActionsLoaded with the
// current list, which says the same in one event. Notices may be dropped
// while the channel is full; the next one delivered says how many were.
type outbox struct {
	ch       chan Event
	snapshot func() []Item // the current list, for a collapse
	stop     chan struct{} // closed by close: the pump ends
	stopOnce sync.Once
	grew     chan struct{} // wakes the pump (cap 1)
	mu       sync.Mutex
	overflow []Event // state events waiting for room, oldest first
	dropped  int     // notices dropped since the last one delivered
	pumping  bool
	max      int // overflow length that triggers a collapse
}

// maxOverflow bounds the state events waiting beyond the channel.
const maxOverflow = 64 << 10

func newOutbox(size int, snapshot func() []Item) *outbox {
	return &outbox{ch: make(chan Event, size), snapshot: snapshot, stop: make(chan struct{}), grew: make(chan struct{}, 1), max: maxOverflow}
}

// emit delivers ev, or queues it (a state event) or counts it (a notice)
// when the channel is full. It never blocks.
func (o *outbox) emit(ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, notice := ev.(Notice); notice {
		if len(o.overflow) > 0 {
			o.dropped++
			return
		}
		if o.dropped > 0 {
			if !o.send(Notice{Text: fmt.Sprintf("%d notices dropped (the console was behind)", o.dropped)}) {
				o.dropped++
				return
			}
			o.dropped = 0
		}
		if !o.send(ev) {
			o.dropped++
		}
		return
	}
	if len(o.overflow) == 0 && o.send(ev) {
		return
	}
	o.overflow = append(o.overflow, ev)
	if !o.pumping {
		o.pumping = true
		go o.pump()
	}
	select {
	case o.grew <- struct{}{}:
	default:
	}
}

// close ends the pump (the engine is closing).
func (o *outbox) close() { o.stopOnce.Do(func() { close(o.stop) }) }

// send puts ev on the channel if there is room.
func (o *outbox) send(ev Event) bool {
	select {
	case o.ch <- ev:
		return true
	default:
		return false
	}
}

// pump moves the overflow into the channel as room appears, until the
// overflow is empty or the outbox stops.
func (o *outbox) pump() {
	for {
		o.mu.Lock()
		if len(o.overflow) == 0 {
			o.pumping = false
			o.mu.Unlock()
			return
		}
		long := len(o.overflow) > o.max
		head := o.overflow[0]
		o.mu.Unlock()
		if long {
			o.collapse()
			continue
		}
		select {
		case o.ch <- head:
			o.mu.Lock()
			o.overflow[0] = nil
			o.overflow = o.overflow[1:]
			o.mu.Unlock()
		case <-o.grew:
		case <-o.stop:
			return
		}
	}
}

// collapse replaces the list events of the overflow with one
// ActionsLoaded of the current list (taken after them, so it is as new).
func (o *outbox) collapse() {
	list := o.snapshot()
	o.mu.Lock()
	defer o.mu.Unlock()
	kept := []Event{ActionsLoaded{Items: list}}
	for _, ev := range o.overflow {
		switch ev.(type) {
		case ActionsLoaded, ActionUpserted, ActionRemoved:
		default:
			kept = append(kept, ev)
		}
	}
	o.overflow = kept
	if len(kept) > o.max {
		o.max = 2 * len(kept) // no list events to fold: do not fold again at once
	}
}
