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

// Index holds accepted approvals by time in series per asset, per asset
// and network, and per asset and destination, each with prefix sums.
// Counts over all assets add up the asset series (there are few assets).
// The zero value is not usable: call New. Safe for concurrent use.
type Index struct {
	mu     sync.RWMutex
	series map[string]*series
	tuples map[tuple][3]*series // the series one (asset, destination, network) adds to
	// byKey lists the series of every asset for a network or a
	// destination key ("" lists the per-asset series).
	byKey map[string][]*series
	n     int
}

// tuple is a normalized (asset, destination, network).
type tuple struct{ asset, dest, nw string }

// series is one time-ordered list; sum[i] is the total of the first i amounts.
type series struct {
	t   []int64 // unix nanoseconds, ascending
	sum []float64
}

// New returns an empty index.
func New() *Index {
	return &Index{series: map[string]*series{}, tuples: map[tuple][3]*series{}, byKey: map[string][]*series{}}
}

// Kinds of series keys.
const (
	kA  = "a"  // asset
	kAD = "ad" // asset, destination
	kAN = "an" // asset, network
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
	tu := tuple{asset, dest, nw}
	ss, ok := x.tuples[tu]
	if !ok {
		ss = [3]*series{x.get(key(kA, asset, ""), ""), x.get(key(kAN, asset, nw), "n\x00"+nw), x.get(key(kAD, asset, dest), "d\x00"+dest)}
		x.tuples[tu] = ss
	}
	for _, s := range ss {
		s.add(t, amt)
	}
}

// get returns the series of k, creating it and listing it under group.
func (x *Index) get(k, group string) *series {
	s := x.series[k]
	if s == nil {
		s = &series{sum: []float64{0}}
		x.series[k] = s
		x.byKey[group] = append(x.byKey[group], s)
	}
	return s
}

func (s *series) add(t int64, amt float64) {
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

// lookup picks the series that answer q: one for a query naming an
// asset, else every asset's series for the destination, the network or
// all (their counts add up).
func (x *Index) lookup(q governance.Query) []*series {
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
		return x.byKey["d\x00"+dest]
	case nw != "":
		return x.byKey["n\x00"+nw]
	default:
		return x.byKey[""]
	}
	if s := x.series[k]; s != nil {
		return []*series{s}
	}
	return nil
}

// window returns the indices [lo, hi) of the approvals in [since, until].
func (s *series) window(since, until time.Time) (int, int) {
	a, b := since.UnixNano(), until.UnixNano()
	lo := sort.Search(len(s.t), func(i int) bool { return s.t[i] >= a })
	hi := sort.Search(len(s.t), func(i int) bool { return s.t[i] > b })
	return lo, max(lo, hi)
}

// ApprovedSum implements governance.History. A sum needs an asset: over
// several assets it is 0.
func (x *Index) ApprovedSum(q governance.Query) float64 {
	if strings.TrimSpace(q.Asset) == "" {
		return 0
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	var total float64
	for _, s := range x.lookup(q) {
		lo, hi := s.window(q.Since, q.Until)
		total += max(s.sum[hi]-s.sum[lo], 0)
	}
	return total
}

// ApprovedCount implements governance.History.
func (x *Index) ApprovedCount(q governance.Query) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var n int64
	for _, s := range x.lookup(q) {
		lo, hi := s.window(q.Since, q.Until)
		n += int64(hi - lo)
	}
	return n
}
