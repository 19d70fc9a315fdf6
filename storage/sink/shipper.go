package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// batchSize is how many lines one Send carries at most.
const batchSize = 256

// Status is where one sink stands.
type Status struct {
	Name     string    `json:"name"`
	Required bool      `json:"required"`
	Shipped  uint64    `json:"shipped"` // lines shipped: the next seq to ship
	Err      string    `json:"error,omitempty"`
	Cause    error     `json:"-"`                  // the error behind Err, for errors.Is
	Conflict bool      `json:"conflict,omitempty"` // the receiver or the file diverged: a human must look
	LastOK   time.Time `json:"last_ok,omitzero"`
}

// Target is a sink and whether decisions wait for it.
type Target struct {
	Sink     Sink
	Required bool // `require_sink`: no decision is signed while it lags
}

// Shipper ships one journal file to its sinks, each from its own cursor.
type Shipper struct {
	path    string // the journal
	dir     string // cursors and the ship lock
	targets []Target
	now     func() time.Time

	mu     sync.Mutex
	status []Status
}

// ErrBusy is returned (wrapped) by Ship when another process is shipping
// the same journal.
var ErrBusy = errors.New("another qapprove process is shipping this journal")

// NewShipper ships the journal at journalPath to targets, keeping cursors
// in dir (created 0700).
func NewShipper(journalPath, dir string, targets []Target) *Shipper {
	s := &Shipper{path: journalPath, dir: dir, targets: targets, now: time.Now}
	for _, t := range targets {
		s.status = append(s.status, Status{Name: t.Sink.Name(), Required: t.Required})
	}
	return s
}

// Progress reports one batch shipped to one sink.
type Progress struct {
	Sink    string
	Shipped uint64 // lines shipped so far (the next seq)
	Sent    int    // lines sent in this batch
}

// Ship sends everything pending to every sink once, and returns each
// sink's status; progress (optional) is called after every batch. An
// error is returned only when shipping could not run at all (the journal
// or the lock); a sink that fails says so in its Status.
func (s *Shipper) Ship(ctx context.Context, progress func(Progress)) ([]Status, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return s.Statuses(), fmt.Errorf("sink folder: %w", err)
	}
	fl := flock.New(filepath.Join(s.dir, "ship.lock"), flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, 50*time.Millisecond)
	if err != nil || !ok {
		if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = ErrBusy
		}
		return s.Statuses(), fmt.Errorf("ship: %w", err)
	}
	defer func() { _ = fl.Unlock() }()
	jid, err := journalID(s.path)
	if err != nil {
		return s.Statuses(), err
	}
	for i, t := range s.targets {
		st := s.shipOne(ctx, jid, t.Sink, progress)
		s.mu.Lock()
		prev := s.status[i]
		st.Name, st.Required, st.LastOK = prev.Name, prev.Required, prev.LastOK
		if st.Err == "" {
			st.LastOK = s.now()
		}
		s.status[i] = st
		s.mu.Unlock()
	}
	return s.Statuses(), nil
}

// shipOne ships the lines after sk's cursor.
func (s *Shipper) shipOne(ctx context.Context, jid string, sk Sink, progress func(Progress)) Status {
	name := sk.Name()
	c, err := loadCursor(s.dir, name, jid)
	if err != nil {
		return Status{Err: err.Error(), Cause: err, Conflict: true}
	}
	st := Status{Shipped: c.Next}
	r, err := openLines(s.path, c.Offset)
	if err != nil {
		st.Err, st.Cause = err.Error(), err
		return st
	}
	defer r.close()
	if err := r.checkLast(c); err != nil {
		st.Err, st.Cause, st.Conflict = err.Error(), err, errors.Is(err, ErrDiverged)
		return st
	}
	for {
		batch, rerr := readBatch(r, c)
		if len(batch) > 0 {
			n, serr := sk.Send(ctx, batch)
			if n > 0 {
				last := batch[n-1]
				c.Next, c.Prev, c.PrevLen = last.Seq+1, last.Hash, int64(len(last.Line))
				c.Offset += lineBytes(batch[:n])
				if err := saveCursor(s.dir, name, c); err != nil {
					st.Err, st.Cause = err.Error(), err
					return st
				}
				st.Shipped = c.Next
				if progress != nil {
					progress(Progress{Sink: name, Shipped: c.Next, Sent: n})
				}
			}
			if serr != nil {
				_ = sk.Close()
				st.Err, st.Cause, st.Conflict = serr.Error(), serr, errors.Is(serr, ErrConflict)
				return st
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				st.Err, st.Cause, st.Conflict = rerr.Error(), rerr, errors.Is(rerr, ErrDiverged)
			}
			return st
		}
		if err := ctx.Err(); err != nil {
			st.Err, st.Cause = err.Error(), err
			return st
		}
	}
}

// readBatch reads up to batchSize records after c; the error is io.EOF
// when the file has no more complete lines.
func readBatch(r *lineReader, c Cursor) ([]Record, error) {
	var batch []Record
	size := 0
	for len(batch) < batchSize && size < 1<<20 {
		line, err := r.next()
		if err != nil {
			return batch, err
		}
		rec, err := record(c, line)
		if err != nil {
			return batch, err
		}
		c.Next, c.Prev = rec.Seq+1, rec.Hash
		batch = append(batch, rec)
		size += len(line)
	}
	return batch, nil
}

// lineBytes is the size of recs in the file, newlines included.
func lineBytes(recs []Record) int64 {
	var n int64
	for _, r := range recs {
		n += int64(len(r.Line)) + 1
	}
	return n
}

// Statuses returns the status of every sink as of the last pass.
func (s *Shipper) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.status...)
}

// Lag is how many lines of a journal whose last seq is head the furthest
// behind required sink has not shipped (0 when no sink is required), and
// that sink's name.
func (s *Shipper) Lag(head uint64) (lag uint64, name string) { return s.lag(head, true) }

// Behind is Lag over every sink, required or not.
func (s *Shipper) Behind(head uint64) (lag uint64, name string) { return s.lag(head, false) }

func (s *Shipper) lag(head uint64, requiredOnly bool) (lag uint64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.status {
		if (requiredOnly && !st.Required) || st.Shipped > head+1 {
			continue
		}
		if l := head + 1 - st.Shipped; l > lag || name == "" {
			lag, name = l, st.Name
		}
	}
	return lag, name
}

// Close closes every sink.
func (s *Shipper) Close() error {
	var errs []error
	for _, t := range s.targets {
		errs = append(errs, t.Sink.Close())
	}
	return errors.Join(errs...)
}

// LoadCursors reads where every sink stands from its cursor file, without
// shipping, so Lag is right before the first pass.
func (s *Shipper) LoadCursors() error {
	jid, err := journalID(s.path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.status {
		c, err := loadCursor(s.dir, s.status[i].Name, jid)
		if err != nil {
			s.status[i].Err, s.status[i].Cause, s.status[i].Conflict = err.Error(), err, true
			continue
		}
		s.status[i].Shipped = c.Next
	}
	return nil
}
