package control

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Writer writes an engineering value to a tag's device (the poller's write
// path, after the tag database's checks).
type Writer func(ctx context.Context, tag int, v hmi.Value) error

// Loop runs one PID loop at its period, reading PV and SP from the tag
// database and writing OUT through the write path.
type Loop struct {
	cfg          config.Loop
	pid          *PID
	db           *tags.DB
	write        Writer
	log          *slog.Logger
	pv, sp, out  int
	mu           sync.Mutex
	stats        LoopStats
	lastWriteErr string
}

// LoopStats are a loop's counters, including its timing jitter: how far
// each run started from its period.
type LoopStats struct {
	Name      string        `json:"name"`
	Runs      uint64        `json:"runs"`
	PV        float64       `json:"pv"`
	SP        float64       `json:"sp"`
	Out       float64       `json:"out"`
	FailSafe  bool          `json:"fail_safe"` // PV Bad: output held or at its fail-safe value
	JitterMax time.Duration `json:"jitter_max_ns"`
	JitterAvg time.Duration `json:"jitter_avg_ns"`
	jitterSum time.Duration
}

// NewLoop binds a configured loop to the tag database. The project has been
// validated, so its tags exist.
func NewLoop(c config.Loop, db *tags.DB, write Writer, log *slog.Logger) (*Loop, error) {
	l := &Loop{cfg: c, pid: NewPID(c), db: db, write: write, log: log.With("loop", c.Name)}
	var ok bool
	for _, b := range []struct {
		name string
		idx  *int
	}{{c.PV, &l.pv}, {c.SP, &l.sp}, {c.Out, &l.out}} {
		if *b.idx, ok = db.Lookup(b.name); !ok {
			return nil, fmt.Errorf("loop %q: tag %q: %w", c.Name, b.name, tags.ErrUnknownTag)
		}
	}
	l.stats.Name = c.Name
	return l, nil
}

// Stats returns the loop's counters.
func (l *Loop) Stats() LoopStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Run executes the loop every period until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	period := l.cfg.Period.Duration
	t := time.NewTicker(period)
	defer t.Stop()
	tracked := false
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			dt := now.Sub(last)
			last = now
			if !tracked {
				// Start bumplessly from the output the device has now.
				if o := l.db.Get(l.out); o.Quality == hmi.Good {
					l.pid.Track(o.Value.Float())
					tracked = true
				}
				continue
			}
			l.step(ctx, dt, period)
		}
	}
}

func (l *Loop) step(ctx context.Context, dt, period time.Duration) {
	pv, sp := l.db.Get(l.pv), l.db.Get(l.sp)
	jitter := dt - period
	if jitter < 0 {
		jitter = -jitter
	}
	failSafe := pv.Quality != hmi.Good || sp.Quality != hmi.Good
	var out float64
	write := true
	switch {
	case failSafe && l.cfg.FailSafe != nil:
		out = *l.cfg.FailSafe
		l.pid.Track(out)
	case failSafe:
		out, write = l.pid.Output(), false // hold the last output
	default:
		out = l.pid.Update(sp.Value.Float(), pv.Value.Float(), dt)
	}
	l.mu.Lock()
	l.stats.Runs++
	l.stats.PV, l.stats.SP, l.stats.Out, l.stats.FailSafe = pv.Value.Float(), sp.Value.Float(), out, failSafe
	l.stats.jitterSum += jitter
	l.stats.JitterMax = max(l.stats.JitterMax, jitter)
	l.stats.JitterAvg = l.stats.jitterSum / time.Duration(l.stats.Runs)
	l.mu.Unlock()
	if !write || math.IsNaN(out) {
		return
	}
	if err := l.write(ctx, l.out, hmi.Number(out)); err != nil && ctx.Err() == nil {
		if msg := err.Error(); msg != l.lastWriteErr {
			l.log.Warn("loop output write failed", "err", err)
			l.lastWriteErr = msg
		}
		return
	}
	l.lastWriteErr = ""
}
