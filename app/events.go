package app

import "time"

// Connection states of Conn events.
const (
	ConnLive         = "live"
	ConnReconnecting = "reconnecting"
	ConnOffline      = "offline"
)

// Removal reasons of ActionRemoved events.
const (
	RemovedElsewhere = "decided-elsewhere"
	RemovedExpired   = "expired"
)

// Event is something the engine reports on the Subscribe channel: one of
// ActionsLoaded, ActionUpserted, ActionRemoved, Conn, LockChanged, Notice.
type Event interface{ isEvent() }

// ActionsLoaded replaces the whole list (first load, full refresh).
type ActionsLoaded struct{ Items []Item }

// ActionUpserted adds an action or replaces the one with the same ID.
type ActionUpserted struct{ Item Item }

// ActionRemoved drops an action; Why is RemovedElsewhere or RemovedExpired.
type ActionRemoved struct{ ID, Why string }

// Conn reports the feed connection; RetryAt is set while reconnecting.
type Conn struct {
	State   string
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
