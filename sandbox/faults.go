package sandbox

import (
	"math/rand/v2"
	"sync"
	"time"
)

// FaultSettings are the faults the sandbox injects (tests, the admin
// endpoint POST /_admin/faults with this JSON).
type FaultSettings struct {
	Latency         time.Duration `json:"latency"`         // added before every API answer
	ErrorRate       float64       `json:"errorRate"`       // fraction of API requests answered 503
	MalformedFrames bool          `json:"malformedFrames"` // send a garbage frame before each feed frame
	OversizedBodies bool          `json:"oversizedBodies"` // pad GET answers beyond 1 MiB
	// DropDecisions: the next N decisions are recorded, then the connection
	// is closed without an answer (a decision "lost in transit").
	DropDecisions int `json:"dropDecisions"`
	// DropBeforeDecisions: the next N decisions are dropped without being
	// recorded.
	DropBeforeDecisions int `json:"dropBeforeDecisions"`
}

// Faults is the live fault configuration of a server.
type Faults struct {
	mu   sync.Mutex
	s    FaultSettings
	drop func() // closes every feed connection
}

// Set replaces the settings.
func (f *Faults) Set(s FaultSettings) {
	f.mu.Lock()
	f.s = s
	f.mu.Unlock()
}

// Get returns the settings.
func (f *Faults) Get() FaultSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s
}

// DropFeeds closes every open feed connection now.
func (f *Faults) DropFeeds() {
	if f.drop != nil {
		f.drop()
	}
}

func (f *Faults) failNow() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s.ErrorRate > 0 && rand.Float64() < f.s.ErrorRate
}

// takeDrop consumes one pending decision drop of the given kind.
func (f *Faults) takeDrop(after bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &f.s.DropBeforeDecisions
	if after {
		p = &f.s.DropDecisions
	}
	if *p > 0 {
		*p--
		return true
	}
	return false
}
