// Package sink ships the audit journal out of the machine: every line,
// byte for byte, to a SIEM (RFC 5424 syslog over TLS, RFC 5425 framing)
// and to a team store (PostgreSQL), so that a rollback of the local file
// and its anchor together, or two approvers shown different messages for
// one action, can be seen from outside.
//
// The journal file itself is the durable queue: for every sink and
// journal a cursor file records the next seq to ship, the hash of the
// last shipped line and the byte offset after it. A Shipper reads the
// lines after the cursor, hands them to the sink in order, and moves the
// cursor only past lines the sink confirmed. Nothing is lost while a
// receiver is down (the lines stay in the journal) and nothing is sent
// out of order. See docs/JOURNAL.md ("Sinks") for the guarantees of each
// sink.
package sink

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/qapprove/qapprove/storage/journal"
)

// Record is one journal line to ship.
type Record struct {
	JournalID string       // hex journal ID (from the genesis)
	Seq       uint64       // the line's seq
	Hash      string       // hex SHA-256 of Line: the next line's prev
	Line      []byte       // the exact bytes of the line, without newline
	Kind      journal.Kind // parsed from Line
	TS        time.Time    // parsed from Line
	Body      []byte       // the body bytes inside Line
}

// Sink delivers journal records somewhere outside the machine.
type Sink interface {
	// Name names the sink in status lines and cursor files ("syslog",
	// "postgres").
	Name() string
	// Send delivers recs, which are consecutive lines of one journal in
	// order, and returns how many of them (from the first) were delivered
	// before an error. A record counted as delivered is never asked for
	// again.
	Send(ctx context.Context, recs []Record) (int, error)
	// Close releases the connection; Send may reconnect later.
	Close() error
}

// ErrConflict is returned (wrapped) by a sink that already holds a
// different line at the same (journal ID, seq): the local journal was
// rolled back or forked after it was shipped.
var ErrConflict = errors.New("the receiver holds a different line at this seq")

// ErrDiverged is returned (wrapped) when the journal file no longer
// continues the lines already shipped (the line after the cursor does not
// link to the last shipped line): the file was rolled back or rewritten.
var ErrDiverged = errors.New("the journal no longer continues what was shipped")

// fields are the body fields the structured data and the audit use.
type fields struct {
	ActionID      string `json:"action_id"`
	Decision      string `json:"decision"`
	Verdict       string `json:"verdict"`
	Result        string `json:"result"`
	MessageSHA256 string `json:"message_sha256"`
}

// bodyFields reads the common fields of a decision, outcome or abandoned
// body; other kinds give none.
func bodyFields(r Record) fields {
	var f fields
	switch r.Kind {
	case journal.KindDecision, journal.KindOutcome, journal.KindAbandoned:
		_ = json.Unmarshal(r.Body, &f) // a body of another shape leaves the fields empty
	}
	return f
}
