package control

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Mode is a loop's mode. An operator asks for auto, manual or cascade (the
// target mode); the loop reports the mode it actually runs in, which is
// FailSafe while it cannot control.
type Mode uint8

const (
	// Auto: the PID drives the output toward the loop's own setpoint.
	Auto Mode = iota
	// Manual: the operator sets the output; the PID follows it.
	Manual
	// Cascade: as Auto, with the setpoint taken from the primary loop's
	// output (sp_from).
	Cascade
	// FailSafe (actual mode only): in auto or cascade, the PV or setpoint
	// is Bad, Uncertain or not a number; the output is held or at the
	// loop's fail-safe value.
	FailSafe
)

func (m Mode) String() string {
	switch m {
	case Manual:
		return config.ModeManual
	case Cascade:
		return config.ModeCascade
	case FailSafe:
		return "failsafe"
	default:
		return config.ModeAuto
	}
}

// MarshalText encodes the mode as its name.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// ParseMode reads a mode an operator may ask for: auto, manual or cascade.
func ParseMode(s string) (Mode, error) {
	switch s {
	case config.ModeAuto:
		return Auto, nil
	case config.ModeManual:
		return Manual, nil
	case config.ModeCascade:
		return Cascade, nil
	}
	return Auto, fmt.Errorf("mode %q is not one of: auto, manual, cascade", s)
}

// Errors of loop commands.
var (
	ErrNoCascade = errors.New("the loop has no primary (sp_from), so it cannot run in cascade")
	ErrNotManual = errors.New("the loop is not in manual")
	ErrNoOutTag  = errors.New("the loop has no output tag")
)

// Forcer tells whether an active interlock forces a tag, to what value.
type Forcer interface {
	ForcedBy(tag int) (interlock string, value float64, ok bool)
}

// jitterWindow is how many recent runs the jitter percentiles cover.
const jitterWindow = 256

// Loop is one PID loop bound to its tags. A Runner runs it; the API reads
// its state and sends it commands. It is safe for concurrent use.
type Loop struct {
	cfg         config.Loop
	db          *tags.DB
	log         *slog.Logger
	pv, sp, out int   // tag indexes; out is -1 for a cascade primary without one
	primary     *Loop // sp_from, or nil
	secondary   *Loop // the loop this one feeds in cascade, or nil
	group       *group

	mu        sync.Mutex // guards what follows
	pid       *PID
	setpoint  Setpoint
	target    Mode // what the operator (or the project) asked for
	actual    Mode
	tracking  bool
	interlock string
	reason    string
	started   bool // initialised from the output, bumplessly
	last      time.Time
	pvSample  hmi.Sample
	spTarget  float64
	stats     loopStats
}

// loopStats are a loop's counters and timing.
type loopStats struct {
	runs, overruns       uint64
	jitter               [jitterWindow]time.Duration
	jitterMax, jitterSum time.Duration
	writeLat             [jitterWindow]time.Duration // run start to the device's answer
	writes, writeErrors  uint64
	lastWriteErr         string
}

// LoopStats are a loop's counters, and its timing over the last runs.
// Jitter is how late a run started against the loop's fixed schedule
// (start + n·period); the schedule does not drift.
type LoopStats struct {
	Runs, Overruns uint64
	// JitterP50 and JitterP99 are over the last 256 runs; JitterMax and
	// JitterAvg over all.
	JitterP50, JitterP99, JitterMax, JitterAvg time.Duration
	// WriteP99 is how long, over the last 256 writes, from the start of a
	// run to its output written (the device's answer).
	WriteP99            time.Duration
	Writes, WriteErrors uint64
	LastWriteError      string
}

// newLoop binds a configured loop to the tag database. The project has been
// validated, so its tags exist.
func newLoop(c config.Loop, db *tags.DB, log *slog.Logger) (*Loop, error) {
	l := &Loop{cfg: c, db: db, log: log.With("loop", c.Name), pid: NewPID(c), setpoint: NewSetpoint(c),
		out: -1, spTarget: math.NaN()}
	mode, err := ParseMode(c.Mode)
	if c.Mode == "" {
		mode, err = Auto, nil
		if c.SPFrom != "" {
			mode = Cascade
		}
	}
	if err != nil {
		return nil, fmt.Errorf("loop %q: %w", c.Name, err)
	}
	l.target, l.actual = mode, mode
	for _, b := range []struct {
		name string
		idx  *int
	}{{c.PV, &l.pv}, {c.SP, &l.sp}, {c.Out, &l.out}} {
		if b.name == "" && b.idx == &l.out {
			continue
		}
		var ok bool
		if *b.idx, ok = db.Lookup(b.name); !ok {
			return nil, fmt.Errorf("loop %q: tag %q: %w", c.Name, b.name, tags.ErrUnknownTag)
		}
	}
	l.pvSample = hmi.Sample{Quality: hmi.Bad, Reason: "not run yet"}
	return l, nil
}

// Name is the loop's name.
func (l *Loop) Name() string { return l.cfg.Name }

// Config is the loop's configuration as loaded (tuning changes are not in it).
func (l *Loop) Config() config.Loop { return l.cfg }

// Tags are the indexes of the PV, SP and OUT tags (out is -1 if none).
func (l *Loop) Tags() (pv, sp, out int) { return l.pv, l.sp, l.out }

// Primary is the loop whose output is this one's setpoint in cascade.
func (l *Loop) Primary() *Loop { return l.primary }

// SetMode asks for a mode. Cascade needs a primary (sp_from). Leaving
// cascade, the working setpoint stays where the primary had it and moves
// (ramped) to the loop's own setpoint from there; entering auto from
// manual, the PID continues from the output as it is.
func (l *Loop) SetMode(m Mode) error {
	switch {
	case m == FailSafe || m > FailSafe:
		return fmt.Errorf("loop %q: mode %s cannot be asked for", l.cfg.Name, m)
	case m == Cascade && l.primary == nil:
		return fmt.Errorf("loop %q: %w", l.cfg.Name, ErrNoCascade)
	}
	l.mu.Lock()
	l.target = m
	l.mu.Unlock()
	return nil
}

// Tuning is a loop's gains.
type Tuning struct{ Kp, Ti, Td float64 }

func (t Tuning) String() string { return fmt.Sprintf("kp=%g ti=%g td=%g", t.Kp, t.Ti, t.Td) }

// Tuning returns the loop's gains now.
func (l *Loop) Tuning() Tuning {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Tuning{l.pid.Kp, l.pid.Ti, l.pid.Td}
}

// SetTuning changes the gains without a bump and returns the old ones.
// The caller has checked them (finite, kp not 0, ti and td 0 or more).
func (l *Loop) SetTuning(t Tuning) Tuning {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := Tuning{l.pid.Kp, l.pid.Ti, l.pid.Td}
	l.pid.SetTuning(t.Kp, t.Ti, t.Td)
	return old
}

// SetpointLimits are the limits of the loop's setpoint (±Inf if none).
func (l *Loop) SetpointLimits() (lo, hi float64) { return l.setpoint.Low, l.setpoint.High }

// OutputLimits are the limits of the loop's output.
func (l *Loop) OutputLimits() (lo, hi float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pid.OutLow, l.pid.OutHigh
}

// SetManualOutput sets the output of a loop in manual, for a loop whose
// output is a tag the caller then writes (the loop follows the tag's
// read-back), or, for a cascade primary without an output tag, the
// output itself. It refuses when the loop is not in manual.
func (l *Loop) SetManualOutput(v float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.target != Manual {
		return fmt.Errorf("loop %q is in %s: %w", l.cfg.Name, l.actual, ErrNotManual)
	}
	l.pid.Track(v)
	return nil
}

// Mode returns the mode asked for and the mode the loop runs in.
func (l *Loop) Mode() (target, actual Mode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.target, l.actual
}

// cascadeView is what a primary needs of its secondary, and a secondary of
// its primary, read under the other loop's lock.
type cascadeView struct {
	started bool
	actual  Mode
	out     float64 // the primary's output
	sp      float64 // the secondary's working setpoint
}

func (l *Loop) view() cascadeView {
	l.mu.Lock()
	defer l.mu.Unlock()
	return cascadeView{started: l.started, actual: l.actual, out: l.pid.Output(), sp: l.setpoint.Working()}
}

// run runs the loop once, at now for the schedule's due time, and returns
// the output to write (write false: none). The Runner calls it from its
// one goroutine; primaries run before their secondaries.
func (l *Loop) run(now, due time.Time, f Forcer) (out float64, write bool) {
	// What other loops hold, read one lock at a time (never two at once).
	var prim, sec cascadeView
	if l.primary != nil {
		prim = l.primary.view()
	}
	if l.secondary != nil {
		sec = l.secondary.view()
	}
	pv, spTag := l.db.Get(l.pv), l.db.Get(l.sp)
	var o hmi.Sample
	var forcedBy string
	var forced float64
	var isForced bool
	if l.out >= 0 {
		o = l.db.Get(l.out)
		if f != nil {
			forcedBy, forced, isForced = f.ForcedBy(l.out)
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	var dt time.Duration
	if !l.last.IsZero() {
		dt = now.Sub(l.last)
	}
	l.last = now
	l.stats.record(now.Sub(due))

	// The setpoint: the primary's output in cascade, else the SP tag (also
	// in cascade until the primary has started: it starts from this
	// loop's setpoint).
	cascade := l.target == Cascade && l.primary != nil && prim.started
	target, spOK := spTag.Value.Float(), spTag.Quality == hmi.Good
	if cascade {
		target, spOK = prim.out, true
	}
	spOK = spOK && finite(target)
	if spOK {
		l.spTarget = l.setpoint.Clamp(target)
		l.setpoint.Step(target, dt, !cascade)
	}
	l.pvSample = pv
	pvOK := pv.Quality == hmi.Good && finite(pv.Value.Float())
	outVal, outOK := o.Value.Float(), l.out >= 0 && o.Quality == hmi.Good && finite(o.Value.Float())

	l.tracking, l.interlock, l.reason = false, "", ""
	l.actual = l.target
	if l.target == Cascade && !cascade {
		l.actual = Auto
		l.reason = "on its own setpoint until primary " + l.primary.cfg.Name + " has started"
	}
	switch {
	case !l.started:
		// Start bumplessly from the output the device has now (a primary:
		// from its secondary's setpoint).
		switch {
		case l.secondary != nil && sec.started && finite(sec.sp):
			l.pid.Track(sec.sp) // a primary's output is its secondary's setpoint
		case outOK && l.secondary == nil:
			l.pid.Track(outVal)
		default:
			l.reason = "waiting for the first reading of the output"
			return 0, false
		}
		l.started = true
		return 0, false
	case isForced:
		// An interlock holds the output: follow it, so that the loop
		// continues from there without a bump when it clears.
		l.pid.Track(forced)
		l.tracking, l.interlock = true, forcedBy
		l.reason = "interlock " + forcedBy + " forces the output"
		return 0, false
	case l.target == Manual:
		// The operator sets the output (through its tag); follow it.
		if outOK {
			l.pid.Track(outVal)
		}
		return 0, false
	case l.secondary != nil && sec.actual != Cascade:
		// The secondary does not take this output: follow its setpoint so
		// that this loop does not wind up, and cascade resumes without a bump.
		l.tracking = true
		l.reason = "secondary " + l.secondary.cfg.Name + " is not in cascade"
		if sec.started {
			l.pid.Track(sec.sp)
		}
		return l.pid.Output(), l.out >= 0
	case !pvOK || !spOK:
		l.actual = FailSafe
		switch {
		case !pvOK:
			l.reason = unusable(l.db.Def(l.pv).Name, pv)
		case cascade:
			l.reason = "the setpoint from primary " + l.primary.cfg.Name + " is not a number"
		default:
			l.reason = unusable(l.db.Def(l.sp).Name, spTag)
		}
		if l.cfg.FailSafe.Output {
			l.pid.Track(l.cfg.FailSafe.Value)
			return l.pid.Output(), l.out >= 0
		}
		if outOK {
			l.pid.Track(outVal) // hold: the device keeps its output
		}
		return 0, false
	}
	return l.pid.Update(l.setpoint.Working(), pv.Value.Float(), dt), l.out >= 0
}

// unusable says why a sample cannot be used.
func unusable(name string, s hmi.Sample) string {
	var msg string
	switch s.Quality {
	case hmi.Good:
		msg = name + " is not a number"
	case hmi.Uncertain:
		msg = name + " is Uncertain"
	default:
		msg = name + " is Bad"
	}
	if s.Reason != "" && s.Quality != hmi.Good {
		msg += " (" + s.Reason + ")"
	}
	return msg
}

// overrun counts runs the schedule skipped.
func (l *Loop) overrun(n uint64) {
	l.mu.Lock()
	l.stats.overruns += n
	l.mu.Unlock()
}

// written records how a write of the loop's output ended.
func (l *Loop) written(_ int, err error, posted, done time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := &l.stats
	st.writeLat[st.writes%jitterWindow] = done.Sub(posted)
	st.writes++
	if err == nil {
		st.lastWriteErr = ""
		return
	}
	st.writeErrors++
	if msg := err.Error(); msg != st.lastWriteErr {
		l.log.Warn("loop output write failed", "err", err)
		st.lastWriteErr = msg
	}
}

func (s *loopStats) record(late time.Duration) {
	late = max(late, 0)
	s.jitter[s.runs%jitterWindow] = late
	s.runs++
	s.jitterSum += late
	s.jitterMax = max(s.jitterMax, late)
}

// percentiles returns the p50 and p99 (nearest rank) of the first n of w.
func percentiles(w []time.Duration, n uint64) (p50, p99 time.Duration) {
	k := int(min(n, uint64(len(w))))
	if k == 0 {
		return 0, 0
	}
	s := slices.Clone(w[:k])
	slices.Sort(s)
	return s[(k*50+99)/100-1], s[(k*99+99)/100-1]
}

// Stats returns the loop's counters.
func (l *Loop) Stats() LoopStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statsLocked()
}

func (l *Loop) statsLocked() LoopStats {
	st := &l.stats
	out := LoopStats{Runs: st.runs, Overruns: st.overruns, JitterMax: st.jitterMax,
		Writes: st.writes, WriteErrors: st.writeErrors, LastWriteError: st.lastWriteErr}
	if st.runs > 0 {
		out.JitterAvg = st.jitterSum / time.Duration(st.runs)
	}
	out.JitterP50, out.JitterP99 = percentiles(st.jitter[:], st.runs)
	_, out.WriteP99 = percentiles(st.writeLat[:], st.writes)
	return out
}

// LoopState is a loop's state for the API.
type LoopState struct {
	Name                 string
	PVTag, SPTag, OutTag string // OutTag "" if none
	PV                   hmi.Sample
	// SP is the target setpoint (clamped into the limits), SPWorking the
	// ramped setpoint the PID works with; NaN until known.
	SP, SPWorking float64
	Out           float64
	Mode, Target  Mode
	// Tracking: the output follows something else (an interlock's forced
	// value, or the secondary's setpoint when it left cascade).
	Tracking  bool
	Interlock string // the interlock forcing the output, if one does
	// Reason says why the loop is not controlling as asked (fail-safe,
	// tracking, waiting to start).
	Reason          string
	Tuning          Tuning
	DFilter         float64
	POn             string
	Reverse         bool
	SPLow, SPHigh   float64 // ±Inf if unlimited
	SPRamp          float64
	OutLow, OutHigh float64
	OutRate         float64
	SPFrom          string
	Secondary       string
	FailSafe        config.FailSafe
	Period          time.Duration
	Stats           LoopStats
}

// State returns the loop's state.
func (l *Loop) State() LoopState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LoopState{
		Name: l.cfg.Name, PVTag: l.cfg.PV, SPTag: l.cfg.SP, OutTag: l.cfg.Out,
		PV: l.pvSample, SP: l.spTarget, SPWorking: l.setpoint.Working(), Out: l.pid.Output(),
		Mode: l.actual, Target: l.target, Tracking: l.tracking, Interlock: l.interlock, Reason: l.reason,
		Tuning: Tuning{l.pid.Kp, l.pid.Ti, l.pid.Td}, DFilter: l.cfg.DFilter, POn: l.cfg.POn, Reverse: l.cfg.Reverse,
		SPLow: l.setpoint.Low, SPHigh: l.setpoint.High, SPRamp: l.setpoint.Ramp,
		OutLow: l.pid.OutLow, OutHigh: l.pid.OutHigh, OutRate: l.pid.OutRate,
		SPFrom: l.cfg.SPFrom, FailSafe: l.cfg.FailSafe, Period: l.cfg.Period.Duration,
		Stats: l.statsLocked(),
	}
	if !l.started {
		s.Out = math.NaN()
	}
	if l.secondary != nil {
		s.Secondary = l.secondary.cfg.Name
	}
	if s.POn == "" {
		s.POn = config.POnError
	}
	return s
}
