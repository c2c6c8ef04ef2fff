package driver

import (
	"slices"
	"sync"
	"time"
)

// TimingWindow is how many recent durations a Durations keeps.
const TimingWindow = 128

// Durations counts durations and keeps the most recent TimingWindow of
// them for "last" and "p99" figures. It is safe for concurrent use; its
// zero value is ready.
type Durations struct {
	mu   sync.Mutex
	ring [TimingWindow]time.Duration
	n    uint64
}

// Add records one duration.
func (d *Durations) Add(x time.Duration) {
	d.mu.Lock()
	d.ring[d.n%TimingWindow] = x
	d.n++
	d.mu.Unlock()
}

// Timing is a snapshot of a Durations.
type Timing struct {
	Count uint64
	Last  time.Duration
	P99   time.Duration // nearest rank over the recent window
}

// Timing returns the count, the last duration and the p99 of the window.
func (d *Durations) Timing() Timing {
	d.mu.Lock()
	n := d.n
	recent := slices.Clone(d.ring[:min(n, TimingWindow)])
	var last time.Duration
	if n > 0 {
		last = d.ring[(n-1)%TimingWindow]
	}
	d.mu.Unlock()
	t := Timing{Count: n, Last: last}
	if len(recent) > 0 {
		slices.Sort(recent)
		t.P99 = recent[(len(recent)*99+99)/100-1]
	}
	return t
}

// Timed is implemented by drivers that time each request to the device
// (the round trip), for diagnostics.
type Timed interface {
	RequestTiming() Timing
}
