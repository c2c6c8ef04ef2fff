package alarm

import "time"

// histSlots is how many slots of a rate-of-change window the history keeps
// apart: samples closer together than window/histSlots share one point.
const histSlots = 32

// history holds a tag's recent values for a rate of change: enough points
// to know the value held a window ago, in a fixed ring that never
// allocates after it is made.
type history struct {
	pts    [histSlots + 8]point // ring; oldest at head
	head   int
	n      int
	window time.Duration
	slot   time.Duration
}

// point is the latest sample (t, v) of a slot that began at start.
type point struct {
	start, t time.Time
	v        float64
}

func newHistory(window time.Duration) *history {
	return &history{window: window, slot: max(window/histSlots, 1)}
}

func (h *history) reset() { h.head, h.n = 0, 0 }

func (h *history) at(i int) *point { return &h.pts[(h.head+i)%len(h.pts)] }

func (h *history) drop() { h.head, h.n = (h.head+1)%len(h.pts), h.n-1 }

// add records the value v from time t on. A time before the last one
// starts the history over.
func (h *history) add(t time.Time, v float64) {
	if h.n > 0 {
		last := h.at(h.n - 1)
		if t.Before(last.t) {
			h.reset()
		} else if t.Sub(last.start) < h.slot {
			last.t, last.v = t, v
			return
		}
	}
	if h.n == len(h.pts) { // only when the clock jumps: keep the newest
		h.drop()
	}
	*h.at(h.n) = point{start: t, t: t, v: v}
	h.n++
}

// rate is the change per second over the window that ends at now: the
// latest value less the value held at now − window, over the window. It is
// not known (false) until the history reaches back a whole window.
func (h *history) rate(now time.Time) (float64, bool) {
	ref := now.Add(-h.window)
	for h.n >= 2 && !h.at(1).t.After(ref) {
		h.drop() // the second point already holds the value at ref
	}
	if h.n == 0 || h.at(0).t.After(ref) {
		return 0, false
	}
	return (h.at(h.n-1).v - h.at(0).v) / h.window.Seconds(), true
}
