// Package velocity indexes this key's accepted approvals by time, so that
// the rules' velocity functions (approved_sum, approved_count and their
// per-destination and per-network variants) answer in O(log n) without
// reading the journal again. It implements governance.History.
package velocity

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/qapprove/qapprove/governance"
)

// Approval is one accepted approval: when it was decided, what moved,
// where to and on which network (chain ID), and how much in whole units.
type Approval struct {
	Time        time.Time
	Asset       string
	Destination string
	Network     string
	Amount      float64
}

// Index holds accepted approvals by time, per asset, destination and
// network. The zero value is not usable: call New. Safe for concurrent use.
type Index struct {
	mu     sync.RWMutex
	series map[string]*series
	n      int
}

// series is one time-ordered list with prefix sums: sum[i] is the total
// of the first i amounts.
type series struct {
	t   []int64 // unix nanoseconds, ascending
	sum []float64
}

// New returns an empty index.
func New() *Index { return &Index{series: map[string]*series{}} }

// Kinds of series: which of asset, destination and network the key names.
const (
	kAll = "*"
	kA   = "a"
	kD   = "d"
	kN   = "n"
	kAD  = "ad"
	kAN  = "an"
)

func key(kind, a, b string) string { return kind + "\x00" + a + "\x00" + b }

// Normalize makes the spellings of one asset, destination or network
// compare equal: asset symbols in upper case, EVM (0x…) addresses in lower case.
func Normalize(asset, dest, network string) (string, string, string) {
	asset = strings.ToUpper(strings.TrimSpace(asset))
	dest = strings.TrimSpace(dest)
	if len(dest) > 2 && (dest[:2] == "0x" || dest[:2] == "0X") {
		dest = strings.ToLower(dest)
	}
	return asset, dest, strings.TrimSpace(network)
}

// Add indexes one accepted approval. Approvals normally arrive in time
// order; an earlier one is inserted in place.
func (x *Index) Add(a Approval) {
	asset, dest, nw := Normalize(a.Asset, a.Destination, a.Network)
	t := a.Time.UnixNano()
	amt := a.Amount
	if amt < 0 || amt != amt { // negative or NaN: never lowers a sum
		amt = 0
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.n++
	x.add(key(kAll, "", ""), t, amt)
	x.add(key(kA, asset, ""), t, amt)
	x.add(key(kN, nw, ""), t, amt)
	x.add(key(kAN, asset, nw), t, amt)
	if dest != "" {
		x.add(key(kD, dest, ""), t, amt)
		x.add(key(kAD, asset, dest), t, amt)
	}
}

func (x *Index) add(k string, t int64, amt float64) {
	s := x.series[k]
	if s == nil {
		s = &series{sum: []float64{0}}
		x.series[k] = s
	}
	n := len(s.t)
	if n == 0 || s.t[n-1] <= t {
		s.t = append(s.t, t)
		s.sum = append(s.sum, s.sum[n]+amt)
		return
	}
	// An earlier time (an outcome journaled late): insert in place and
	// recompute the prefix sums after it.
	i := sort.Search(n, func(i int) bool { return s.t[i] > t })
	amts := make([]float64, 0, n+1-i)
	amts = append(amts, amt)
	for j := i; j < n; j++ {
		amts = append(amts, s.sum[j+1]-s.sum[j])
	}
	s.t = append(s.t, 0)
	copy(s.t[i+1:], s.t[i:])
	s.t[i] = t
	s.sum = append(s.sum, 0)
	for j, v := range amts {
		s.sum[i+j+1] = s.sum[i+j] + v
	}
}

// Len is the number of approvals indexed.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.n
}

// lookup picks the series that answers q.
func (x *Index) lookup(q governance.Query) *series {
	asset, dest, nw := Normalize(q.Asset, q.Destination, q.Network)
	var k string
	switch {
	case asset != "" && dest != "":
		k = key(kAD, asset, dest)
	case asset != "" && nw != "":
		k = key(kAN, asset, nw)
	case asset != "":
		k = key(kA, asset, "")
	case dest != "":
		k = key(kD, dest, "")
	case nw != "":
		k = key(kN, nw, "")
	default:
		k = key(kAll, "", "")
	}
	return x.series[k]
}

// window returns the indices [lo, hi) of the approvals in [since, until].
func (s *series) window(since, until time.Time) (int, int) {
	a, b := since.UnixNano(), until.UnixNano()
	lo := sort.Search(len(s.t), func(i int) bool { return s.t[i] >= a })
	hi := sort.Search(len(s.t), func(i int) bool { return s.t[i] > b })
	return lo, max(lo, hi)
}

// ApprovedSum implements governance.History.
func (x *Index) ApprovedSum(q governance.Query) float64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.lookup(q)
	if s == nil {
		return 0
	}
	lo, hi := s.window(q.Since, q.Until)
	return max(s.sum[hi]-s.sum[lo], 0)
}

// ApprovedCount implements governance.History.
func (x *Index) ApprovedCount(q governance.Query) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.lookup(q)
	if s == nil {
		return 0
	}
	lo, hi := s.window(q.Since, q.Until)
	return int64(hi - lo)
}
