package control

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// DefaultSpin is how long before a run is due the Runner stops sleeping
// and waits actively. Go's timers wake a sleeping program up to about a
// millisecond late (the runtime's poller sleeps in whole milliseconds on
// Linux), which alone would put the jitter's p99 near 1 ms; waking early
// and spinning the rest costs at most this much CPU per wake-up (1.2 % of
// a core for loops at 100 ms, 0.6 % at 200 ms) and starts runs within
// microseconds of their time on an idle machine.
const DefaultSpin = 1200 * time.Microsecond

// Runner runs a project's loops on one goroutine, at fixed periods that
// do not drift: every loop of a period runs at start + n·period, and loops
// whose times coincide run together, primaries before their secondaries.
// Outputs are handed to one writer goroutine per device, so a slow device
// never delays a run. If the runner falls more than a period behind, the
// missed runs are skipped and counted as overruns.
//
// One goroutine with one timer was chosen over a goroutine and a ticker
// per loop: with 1,000 loops the ticker goroutines wake on the runtime's
// timers, each up to a millisecond late, and cannot afford to spin; the
// runner wakes once per period (per distinct time), spins the last
// stretch, and runs a loop in about a microsecond (docs/benchmarks.md).
type Runner struct {
	all    []*Loop // in the project's order
	loops  []*Loop // in run order: primaries before their secondaries
	byName map[string]*Loop
	groups []*group
	db     *tags.DB
	out    *outputs
	forcer Forcer
	spin   time.Duration
	spun   atomic.Int64 // nanoseconds spent spinning
}

// group is the loops of one period.
type group struct {
	period time.Duration
	next   time.Time // when it is due next
	due    time.Time // when the runs of this wake-up were due; zero if not due
}

// RunnerOptions tune a Runner.
type RunnerOptions struct {
	// Spin is how long before a run the runner wakes to wait actively:
	// 0 is DefaultSpin, negative never spins (the runs start when Go's
	// timer wakes the runner).
	Spin time.Duration
	// Forcer tells which outputs interlocks force; nil: none.
	Forcer Forcer
}

// NewRunner binds the project's loops to the tag database. Outputs are
// written through write. The project has been validated.
func NewRunner(defs []config.Loop, db *tags.DB, write Writer, log *slog.Logger, o RunnerOptions) (*Runner, error) {
	r := &Runner{byName: map[string]*Loop{}, db: db, forcer: o.Forcer, spin: o.Spin}
	if r.spin == 0 {
		r.spin = DefaultSpin
	}
	if log == nil {
		log = slog.Default()
	}
	all := make([]*Loop, 0, len(defs))
	for _, c := range defs {
		l, err := newLoop(c, db, log)
		if err != nil {
			return nil, err
		}
		if _, dup := r.byName[c.Name]; dup {
			return nil, fmt.Errorf("loop %q is defined twice", c.Name)
		}
		r.byName[c.Name] = l
		all = append(all, l)
	}
	for _, l := range all {
		if l.cfg.SPFrom == "" {
			continue
		}
		p, ok := r.byName[l.cfg.SPFrom]
		if !ok {
			return nil, fmt.Errorf("loop %q: sp_from %q is not a loop", l.cfg.Name, l.cfg.SPFrom)
		}
		if p.secondary != nil {
			return nil, fmt.Errorf("loop %q: loop %q already feeds %q", l.cfg.Name, p.cfg.Name, p.secondary.cfg.Name)
		}
		l.primary = p
		p.secondary = l
		// The primary's output is the secondary's setpoint: keep it within
		// the secondary's setpoint limits, so it cannot wind up past them.
		p.pid.OutLow = math.Max(p.pid.OutLow, l.setpoint.Low)
		p.pid.OutHigh = math.Min(p.pid.OutHigh, l.setpoint.High)
		if p.pid.OutLow > p.pid.OutHigh {
			return nil, fmt.Errorf("loop %q: output limits %g..%g do not meet the setpoint limits of its secondary %q",
				p.cfg.Name, p.cfg.OutLow, p.cfg.OutHigh, l.cfg.Name)
		}
	}
	// Run order: a loop after its primary (cascades are chains without cycles).
	depth := func(l *Loop) int {
		d := 0
		for p := l.primary; p != nil && d <= len(all); p = p.primary {
			d++
		}
		return d
	}
	for _, l := range all {
		if depth(l) > len(all) {
			return nil, fmt.Errorf("loop %q: its cascade of sp_from makes a cycle", l.cfg.Name)
		}
	}
	r.all = all
	r.loops = slices.Clone(all)
	slices.SortStableFunc(r.loops, func(a, b *Loop) int { return depth(a) - depth(b) })
	periods := map[time.Duration]*group{}
	var outTags []int
	for _, l := range r.loops {
		g := periods[l.cfg.Period.Duration]
		if g == nil {
			g = &group{period: l.cfg.Period.Duration}
			if g.period <= 0 {
				return nil, fmt.Errorf("loop %q: period %s is not positive", l.cfg.Name, g.period)
			}
			periods[g.period] = g
			r.groups = append(r.groups, g)
		}
		l.group = g
		if l.out >= 0 {
			outTags = append(outTags, l.out)
		}
	}
	r.out = newOutputs(db, outTags, write)
	return r, nil
}

// Spun is the time the runner has spent waiting actively (CPU time).
func (r *Runner) Spun() time.Duration { return time.Duration(r.spun.Load()) }

// Loops returns the loops in the project's order.
func (r *Runner) Loops() []*Loop { return r.all }

// Loop returns a loop by name.
func (r *Runner) Loop(name string) (*Loop, bool) {
	l, ok := r.byName[name]
	return l, ok
}

// Run runs the loops until ctx ends, then waits for the output writers.
func (r *Runner) Run(ctx context.Context) {
	if len(r.loops) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.out.run(ctx)
	}()
	defer func() { cancel(); <-done }()

	start := time.Now()
	for _, g := range r.groups {
		g.next = start
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := r.groups[0].next
		for _, g := range r.groups[1:] {
			if g.next.Before(next) {
				next = g.next
			}
		}
		if !r.sleepUntil(ctx, timer, next) {
			return
		}
		now := time.Now()
		for _, g := range r.groups {
			g.due = time.Time{}
			if g.next.After(now) {
				continue
			}
			g.due = g.next
			g.next = g.next.Add(g.period)
			if !g.next.After(now) { // more than a period late: skip the missed runs
				missed := now.Sub(g.next)/g.period + 1
				g.next = g.next.Add(missed * g.period)
				for _, l := range r.loops {
					if l.group == g {
						l.overrun(uint64(missed))
					}
				}
			}
		}
		for _, l := range r.loops {
			if l.group.due.IsZero() {
				continue
			}
			t := time.Now()
			if v, write := l.run(t, l.group.due, r.forcer); write {
				r.out.post(l.out, hmi.Number(v), l, t)
			}
		}
		r.out.flush()
	}
}

// sleepUntil waits until t: on the timer until the spin margin before it,
// then actively. It reports false if ctx ended first.
func (r *Runner) sleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	margin := max(r.spin, 0)
	if d := time.Until(t) - margin; d > 0 {
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
		}
	}
	if ctx.Err() != nil {
		return false
	}
	if r.spin > 0 {
		// Spin: a timer would wake up to a millisecond late.
		began := time.Now()
		now := began
		for now.Before(t) {
			now = time.Now()
		}
		r.spun.Add(int64(now.Sub(began)))
	}
	return true
}
