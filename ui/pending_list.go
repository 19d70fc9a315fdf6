package ui

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/qapprove/qapprove/client"
	"github.com/qapprove/qapprove/governance"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/qapprove/qapprove/app"
)

// Sort orders of the pending list.
const (
	SortExpiry  = iota // soonest expiry first
	SortNewest         // newest first
	SortVerdict        // reject, review, approve; then expiry
	SortNetwork        // network name; then expiry
	numSorts
)

var sortNames = [numSorts]string{"expiry", "newest", "verdict", "network"}

// syncLimit is the list size up to which sorting and filtering run inside
// Update; above it they run in a tea.Cmd with a generation tag.
const syncLimit = 2000

// filterDebounce is how long typing must pause before a large list is
// filtered again.
const filterDebounce = 60 * time.Millisecond

// row is one action of the list with what the list needs precomputed. It
// is kept small (64 bytes) because a list holds one per pending action:
// the verdict is shared between rows (see verdictPool) and the rare
// outcome of a decision lives in a side struct.
type row struct {
	action   *client.Action
	verdict  *app.Verdict           // shared between rows with the same verdict; never modified
	outcome  *rowState              // nil until a decision on this action succeeded or failed
	expires  int64                  // sort keys, copied out of the action so sorting
	created  int64                  // does not chase pointers
	search   atomic.Pointer[string] // lower-case filter text, built when a filter needs it (see text)
	rank     int8                   // verdict rank for SortVerdict
	inflight bool                   // a decision is being sent
}

// rowState is what happened to a decision on one action.
type rowState struct {
	decided string // "" while undecided, else "approved" or "rejected"
	lastErr string // the last failure, shown in place
}

// item is the row as the Item the backend gave (with the outcome so far).
func (r *row) item() app.Item {
	it := app.Item{Action: r.action, Verdict: *r.verdict}
	if r.outcome != nil {
		it.Decided, it.LastErr = r.outcome.decided, r.outcome.lastErr
	}
	return it
}

// decided is what happened to the action ("" while undecided).
func (r *row) decided() string {
	if r.outcome == nil {
		return ""
	}
	return r.outcome.decided
}

// setOutcome records a decision's outcome on the row (a fresh copy: rows
// are read by list jobs).
func (r *row) setOutcome(decided, lastErr string) {
	if decided == "" && lastErr == "" {
		r.outcome = nil
		return
	}
	r.outcome = &rowState{decided: decided, lastErr: lastErr}
}

// netName is the network of a transaction action ("" for others).
func netName(a *client.Action) string {
	if p := a.Payload; p != nil && p.Transaction != nil && p.Transaction.Network != nil {
		return p.Transaction.Network.Name
	}
	return ""
}

// verdictPool shares one Verdict between the rows whose verdicts are the
// same: a list of 100,000 actions has a handful of distinct verdicts. Two
// verdicts are the same when they have the same level and the same rules
// and warnings slices (backends share those; Items are never modified).
type verdictPool map[verdictKey]*app.Verdict

type verdictKey struct {
	level     app.Level
	rules     *app.RuleHit
	nRules    int
	warnings  *string
	nWarnings int
	value     *app.Value
	call      *governance.Call
}

// maxPooledVerdicts bounds the pool; past it, rows get their own copy.
const maxPooledVerdicts = 4096

func (vp verdictPool) share(v app.Verdict) *app.Verdict {
	k := verdictKey{level: v.Level, nRules: len(v.Rules), nWarnings: len(v.Warnings), value: v.Value, call: v.Call}
	if len(v.Rules) > 0 {
		k.rules = &v.Rules[0]
	}
	if len(v.Warnings) > 0 {
		k.warnings = &v.Warnings[0]
	}
	if p, ok := vp[k]; ok {
		return p
	}
	p := &v
	if len(vp) < maxPooledVerdicts {
		vp[k] = p
	}
	return p
}

// rowSet is the list data: every row sorted in the current order, the rows
// that pass the filter, and an index by action ID. Rows are immutable once
// built, so snapshots can be read from a tea.Cmd without locks.
type rowSet struct {
	byID     map[string]*row
	sorted   []*row // every row, in sort order
	visible  []*row // rows passing the filter (== sorted when no filter)
	sort     int
	query    string      // applied filter, lower case
	ver      uint64      // bumped on every change of sorted
	verdicts verdictPool // shared verdicts of the rows
}

func newRow(it app.Item, vp verdictPool) *row {
	r := &row{action: it.Action, verdict: vp.share(it.Verdict), expires: math.MaxInt64, created: it.Action.Created.UnixNano()}
	if it.Action.ExpiryKnown() {
		r.expires = it.Action.Expires.UnixNano() // an unknown expiry sorts last
	}
	r.setOutcome(it.Decided, it.LastErr)
	switch level(it.Verdict) {
	case app.VerdictReject:
		r.rank = 0
	case app.VerdictReview:
		r.rank = 1
	default:
		r.rank = 2
	}
	return r
}

// text is the row's filter text. It is built when a filter needs it —
// opening the filter builds them all in the background — and dropped when
// the filter is cleared, so an unfiltered list of 100,000 actions holds
// none of them.
func (r *row) text() string {
	if p := r.search.Load(); p != nil {
		return *p
	}
	t := searchText(r.item())
	r.search.Store(&t)
	return t
}

// dropSearch forgets every row's filter text (the filter was cleared).
func (s *rowSet) dropSearch() {
	for _, r := range s.sorted {
		r.search.Store(nil)
	}
}

// warmSearch builds the filter texts of rows on both cores, so the first
// keystroke of a filter does not pay for them.
func warmSearch(rows []*row) tea.Cmd {
	return func() tea.Msg {
		half := len(rows) / 2
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, r := range rows[half:] {
				r.text()
			}
		})
		for _, r := range rows[:half] {
			r.text()
		}
		wg.Wait()
		return nil
	}
}

// matches reports whether every space-separated term of q (lower case)
// occurs in the row's search text.
func (r *row) matches(q string) bool {
	for {
		q = strings.TrimLeft(q, " ")
		if q == "" {
			return true
		}
		term := q
		if i := strings.IndexByte(q, ' '); i >= 0 {
			term, q = q[:i], q[i:]
		} else {
			q = ""
		}
		if !strings.Contains(r.text(), term) {
			return false
		}
	}
}

// searchText is what the filter matches: ID, verdict, policy, network,
// chain ID, amount and asset, destination and its name, initiator, key
// update; lower case, built with one allocation for ASCII text.
func searchText(it app.Item) string {
	var buf [320]byte
	b := lowerAppend(buf[:0], it.Action.ID)
	b = append(b, ' ')
	b = lowerAppend(b, string(level(it.Verdict)))
	if p := it.Action.Payload; p != nil {
		b = append(b, ' ')
		b = lowerAppend(b, p.PolicyName)
		if tx := p.Transaction; tx != nil {
			var net, chain string
			if n := tx.Network; n != nil {
				net, chain = n.Name, n.ChainID
			}
			for _, f := range [...]string{net, chain, client.FormatAmount(tx.Amount, decimals(tx)), symbol(tx), tx.To, tx.ToName, tx.InitiatorName} {
				b = append(b, ' ')
				b = lowerAppend(b, f)
			}
		}
		if ku := p.KeyUpdate; ku != nil {
			b = append(b, " key update "...)
			b = lowerAppend(b, ku.APIKeyID)
		}
	}
	return string(b)
}

// lowerAppend appends s in lower case: ASCII is lowered in place after one
// copy; text with other letters goes through strings.ToLower.
func lowerAppend(b []byte, s string) []byte {
	n := len(b)
	b = append(b, s...)
	for i := n; i < len(b); i++ {
		c := b[i]
		if c >= utf8.RuneSelf {
			return append(b[:n], strings.ToLower(s)...)
		}
		if c-'A' < 26 {
			b[i] = c + ('a' - 'A')
		}
	}
	return b
}

// less orders rows for a sort mode; the action ID breaks ties, so the order
// is total and binary search finds an exact row.
func less(mode int, a, b *row) int {
	c := 0
	switch mode {
	case SortNewest:
		c = cmp.Compare(b.created, a.created)
	case SortVerdict:
		c = int(a.rank) - int(b.rank)
		if c == 0 {
			c = cmp.Compare(a.expires, b.expires)
		}
	case SortNetwork:
		c = strings.Compare(netName(a.action), netName(b.action))
		if c == 0 {
			c = cmp.Compare(a.expires, b.expires)
		}
	default:
		c = cmp.Compare(a.expires, b.expires)
	}
	if c == 0 {
		c = strings.Compare(a.action.ID, b.action.ID)
	}
	return c
}

func (s *rowSet) filtered() bool { return s.query != "" }

// find returns the position of r in list (sorted by mode) or -1.
func find(list []*row, mode int, r *row) int {
	i, ok := slices.BinarySearchFunc(list, r, func(a, b *row) int { return less(mode, a, b) })
	if ok {
		return i
	}
	return -1
}

// insertAt returns where r belongs in list.
func insertAt(list []*row, mode int, r *row) int {
	i, _ := slices.BinarySearchFunc(list, r, func(a, b *row) int { return less(mode, a, b) })
	return i
}

// upsert adds or replaces a row. It returns the old row (nil if new).
func (s *rowSet) upsert(r *row) *row {
	old := s.byID[r.action.ID]
	if old != nil {
		s.remove(old)
	}
	s.byID[r.action.ID] = r
	s.sorted = slices.Insert(s.sorted, insertAt(s.sorted, s.sort, r), r)
	if s.filtered() && r.matches(s.query) {
		s.visible = slices.Insert(s.visible, insertAt(s.visible, s.sort, r), r)
	}
	if !s.filtered() {
		s.visible = s.sorted
	}
	s.ver++
	return old
}

// remove drops a row.
func (s *rowSet) remove(r *row) {
	delete(s.byID, r.action.ID)
	if i := find(s.sorted, s.sort, r); i >= 0 {
		s.sorted = slices.Delete(s.sorted, i, i+1)
	}
	if s.filtered() {
		if i := find(s.visible, s.sort, r); i >= 0 {
			s.visible = slices.Delete(s.visible, i, i+1)
		}
	} else {
		s.visible = s.sorted
	}
	s.ver++
}

// removeWhere drops every row for which drop is true, in one pass, and
// returns them.
func (s *rowSet) removeWhere(drop func(*row) bool) []*row {
	var gone []*row
	n := 0
	for _, r := range s.sorted {
		if drop(r) {
			gone = append(gone, r)
			delete(s.byID, r.action.ID)
		} else {
			s.sorted[n] = r
			n++
		}
	}
	if len(gone) == 0 {
		return nil
	}
	clear(s.sorted[n:])
	s.sorted = s.sorted[:n]
	if s.filtered() {
		s.visible = slices.DeleteFunc(s.visible, func(r *row) bool { return s.byID[r.action.ID] != r })
	} else {
		s.visible = s.sorted
	}
	s.ver++
	return gone
}

// sortRows returns a sorted copy of rows (run off the UI goroutine for large lists).
func sortRows(rows []*row, mode int) []*row {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b *row) int { return less(mode, a, b) })
	return out
}

// filterRows returns the rows that match q (lower case; see row.matches),
// keeping their order. Large inputs are split over two goroutines.
func filterRows(rows []*row, q string) []*row {
	if q == "" {
		return rows
	}
	if len(rows) < 20000 {
		return filterPart(rows, q)
	}
	half := len(rows) / 2
	var second []*row
	var wg sync.WaitGroup
	wg.Go(func() { second = filterPart(rows[half:], q) })
	first := filterPart(rows[:half], q)
	wg.Wait()
	return append(first, second...)
}

func filterPart(rows []*row, q string) []*row {
	out := make([]*row, 0, 64)
	for _, r := range rows {
		if r.matches(q) {
			out = append(out, r)
		}
	}
	return out
}

// Messages of the asynchronous list work.
type (
	filterTickMsg struct{ gen uint64 }
	listResultMsg struct {
		gen     uint64
		ver     uint64 // data version the result was computed from
		sort    int
		query   string
		sorted  []*row // non-nil when the sort changed
		visible []*row
	}
)

// listJob computes sort and filter from a snapshot; safe to run in a Cmd
// because rows are immutable and the snapshot slice is a private copy.
func listJob(gen, ver uint64, snapshot, narrow []*row, resort bool, mode int, q string) tea.Cmd {
	return func() tea.Msg {
		res := listResultMsg{gen: gen, ver: ver, sort: mode, query: q}
		rows := snapshot
		if resort {
			rows = sortRows(rows, mode)
			res.sorted = rows
		}
		if narrow != nil && !resort {
			rows = narrow // the new query only narrows the applied one
		}
		res.visible = filterRows(rows, q)
		return res
	}
}
