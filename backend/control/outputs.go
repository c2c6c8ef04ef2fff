package control

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Writer writes an engineering value to a tag's device: the unaudited
// write path (the tag database's checks, then the device's poller). It
// blocks until the device has answered.
type Writer func(ctx context.Context, tag int, v hmi.Value) error

// outSink hears how a posted write ended.
type outSink interface {
	written(tag int, err error, posted, done time.Time)
}

// outputs writes values to devices without making the caller wait: one
// goroutine per device takes the newest pending value of each of its tags
// in turn and writes it. A slow or dead device delays only its own
// writes, and while it does, only the newest value of each tag waits (the
// older ones are dropped, as a loop's next output supersedes the last).
type outputs struct {
	write  Writer
	queues []*outQueue
	byTag  map[int]outSlot
}

type outSlot struct {
	q    *outQueue
	slot int
}

// outQueue is one device's pending writes, a slot per tag.
type outQueue struct {
	device string
	tags   []int // slot -> tag
	wake   chan struct{}
	posted atomic.Bool // posts since the last flush

	mu      sync.Mutex
	jobs    []outJob // slot -> newest pending value
	pending []bool   // slot -> queued in fifo
	fifo    []int    // slots in the order they became pending
	head    int
}

type outJob struct {
	v      hmi.Value
	sink   outSink
	posted time.Time
}

// newOutputs prepares the queues for the given tags, grouped by device.
func newOutputs(db *tags.DB, tagIDs []int, write Writer) *outputs {
	o := &outputs{write: write, byTag: map[int]outSlot{}}
	byDev := map[string]*outQueue{}
	for _, t := range tagIDs {
		if _, ok := o.byTag[t]; ok {
			continue
		}
		dev := db.Def(t).Device
		q := byDev[dev]
		if q == nil {
			q = &outQueue{device: dev, wake: make(chan struct{}, 1)}
			byDev[dev] = q
			o.queues = append(o.queues, q)
		}
		o.byTag[t] = outSlot{q: q, slot: len(q.tags)}
		q.tags = append(q.tags, t)
	}
	for _, q := range o.queues {
		q.jobs = make([]outJob, len(q.tags))
		q.pending = make([]bool, len(q.tags))
		q.fifo = make([]int, 0, len(q.tags))
	}
	return o
}

// post queues a write of v to tag (one of the tags the outputs were made
// for) and returns at once; sink hears how it ended. The writers start on
// it at the next flush: a batch of posts wakes each device's writer once,
// after the batch, instead of waking writers that would compete with the
// rest of the batch for the CPU and the loops' locks.
func (o *outputs) post(tag int, v hmi.Value, sink outSink, now time.Time) {
	s, ok := o.byTag[tag]
	if !ok {
		return
	}
	q := s.q
	q.mu.Lock()
	q.jobs[s.slot] = outJob{v: v, sink: sink, posted: now}
	if !q.pending[s.slot] {
		q.pending[s.slot] = true
		q.fifo = append(q.fifo, s.slot)
	}
	q.mu.Unlock()
	q.posted.Store(true)
}

// flush wakes the writers of the devices that have new posts.
func (o *outputs) flush() {
	for _, q := range o.queues {
		if q.posted.Swap(false) {
			select {
			case q.wake <- struct{}{}:
			default:
			}
		}
	}
}

// take removes the oldest pending write.
func (q *outQueue) take() (int, outJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.fifo) {
		q.fifo, q.head = q.fifo[:0], 0
		return 0, outJob{}, false
	}
	slot := q.fifo[q.head]
	q.head++
	q.pending[slot] = false
	job := q.jobs[slot]
	q.jobs[slot].sink = nil
	return q.tags[slot], job, true
}

// run writes until ctx ends; it returns when every device's writer has
// stopped. Writes still pending then are dropped.
func (o *outputs) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, q := range o.queues {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-q.wake:
				}
				for ctx.Err() == nil {
					tag, job, ok := q.take()
					if !ok {
						break
					}
					err := o.write(ctx, tag, job.v)
					if job.sink != nil {
						job.sink.written(tag, err, job.posted, time.Now())
					}
				}
			}
		})
	}
	wg.Wait()
}
