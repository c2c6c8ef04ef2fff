package alarm

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Errors the Set's constructor and operations return; test for them with
// errors.Is. Each error names the alarm.
var (
	// ErrInvalid: an alarm definition cannot be used.
	ErrInvalid = errors.New("invalid alarm")
	// ErrUnknownAlarm: no alarm has that name.
	ErrUnknownAlarm = errors.New("unknown alarm")
	// ErrNothingToAck: the alarm is not waiting for an acknowledgement.
	ErrNothingToAck = errors.New("nothing to acknowledge")
	// ErrNothingToReset: the alarm is not latched, its condition is still
	// active, or it must be acknowledged before it is reset.
	ErrNothingToReset = errors.New("nothing to reset")
	// ErrShelveDuration: a shelve is negative or longer than the alarm's
	// maximum.
	ErrShelveDuration = errors.New("shelve duration out of range")
	// ErrNotShelved: Unshelve of an alarm that is not shelved.
	ErrNotShelved = errors.New("not shelved")
	// ErrAlreadyOutOfService: RemoveFromService of an alarm out of service.
	ErrAlreadyOutOfService = errors.New("already out of service")
	// ErrNotOutOfService: ReturnToService of an alarm in service.
	ErrNotOutOfService = errors.New("not out of service")
)

// OneShot, as Shelve's duration, shelves an alarm until it next returns to
// normal (or for its maximum shelve, whichever ends first).
const OneShot time.Duration = 0

// event is what moves an alarm between states.
type event uint8

const (
	evActivate event = iota // the condition became active
	evReturn                // the condition returned to normal
	evAck                   // an operator acknowledged
	evReset                 // an operator reset a latched alarm
)

// next is the ISA-18.2 state machine: the state after ev in state s, and
// whether ev applies in s at all. latched is the alarm's definition: a
// latched alarm whose condition returns waits for a reset.
func (s State) next(ev event, latched bool) (State, bool) {
	switch ev {
	case evActivate:
		switch s {
		case Normal, Acked, RTNUnacked, LatchedUnacked, LatchedAcked:
			return Unacked, true // from Normal, or a re-alarm
		}
	case evReturn:
		switch {
		case s == Unacked && latched:
			return LatchedUnacked, true
		case s == Unacked:
			return RTNUnacked, true
		case s == Acked && latched:
			return LatchedAcked, true
		case s == Acked:
			return Normal, true
		}
	case evAck:
		switch s {
		case Unacked:
			return Acked, true
		case RTNUnacked:
			return Normal, true
		case LatchedUnacked:
			return LatchedAcked, true
		}
	case evReset:
		if s == LatchedAcked {
			return Normal, true
		}
	}
	return s, false
}

// machine is one alarm: its definition and its state. The Set owns it; it
// is not safe for concurrent use.
type machine struct {
	// Definition.
	name, tag, device, setpoint string
	typ                         Type
	dir                         Direction
	priority                    Priority
	limit, deadband, equals     float64
	onDelay, offDelay           time.Duration
	maxShelve                   time.Duration
	latched                     bool
	message, area               string
	group                       *group
	condTag                     string // suppressed while condTag is Good and equals condEquals
	condEquals                  float64

	// The condition and its timers.
	cond      bool      // the alarm's condition, after the delays: state.Active() == cond
	pending   bool      // the tested condition differs from cond since pendingAt
	pendingAt time.Time //
	x         float64   // the latest usable tested value (value, deviation, rate); NaN if none
	pv, sp    float64   // deviation: the latest usable value and setpoint
	pvOK      bool      //
	spOK      bool      //
	roc       *history  // roc: the tag's recent values

	// The ISA-18.2 state and what goes with it.
	state       State
	flags       Flags
	sounding    bool      // activated (or shown again) since the last ack or silence
	value       float64   // x at the last activation or return
	activeSince time.Time // the last activation
	changedAt   time.Time // the last transition
	ackedBy     string    // who acknowledged the current occurrence
	shelvedBy   string
	shelveNote  string
	shelveUntil time.Time
	oneShot     bool
	oosBy       string
}

// newMachine checks a definition as the project file's validation does
// (definitions built in code skip that), fills in the same defaults, and
// returns the alarm in the Normal state.
func newMachine(c config.Alarm) (*machine, error) {
	m := &machine{
		name: c.Name, tag: c.Tag, device: c.Device, setpoint: c.Setpoint,
		limit: c.Limit, deadband: c.Deadband, equals: c.Equals,
		onDelay: c.OnDelay.Duration, offDelay: c.OffDelay.Duration, maxShelve: c.MaxShelve.Duration,
		latched: c.Latched, message: c.Message, area: c.Area, priority: Medium,
		x: math.NaN(), value: math.NaN(),
	}
	if err := m.define(c); err != nil {
		return nil, fmt.Errorf("alarm %q: %w", c.Name, err)
	}
	if m.message == "" {
		m.message = m.name
	}
	if m.maxShelve == 0 {
		m.maxShelve = config.DefaultMaxShelve
	}
	return m, nil
}

func (m *machine) define(c config.Alarm) error {
	if c.Name == "" {
		return fmt.Errorf("%w: no name", ErrInvalid)
	}
	var err error
	if m.typ, err = ParseType(c.Type); err != nil {
		return err
	}
	if c.Priority != "" {
		if m.priority, err = ParsePriority(c.Priority); err != nil {
			return err
		}
	}
	switch {
	case m.typ == Comm && c.Device == "":
		return fmt.Errorf("%w: no device", ErrInvalid)
	case m.typ == Comm:
		m.tag = "" // it watches a device
	case m.typ != Comm && c.Tag == "":
		return fmt.Errorf("%w: no tag", ErrInvalid)
	case m.typ == Deviation && c.Setpoint == "":
		return fmt.Errorf("%w: no setpoint tag", ErrInvalid)
	}
	if m.typ.analog() {
		positive := m.typ == Deviation || m.typ == ROC
		switch {
		case !finite(c.Limit):
			return fmt.Errorf("%w: limit %g is not a number", ErrInvalid, c.Limit)
		case positive && c.Limit <= 0:
			return fmt.Errorf("%w: limit %g must be above 0", ErrInvalid, c.Limit)
		case !finite(c.Deadband) || c.Deadband < 0:
			return fmt.Errorf("%w: deadband %g must be 0 or more", ErrInvalid, c.Deadband)
		case positive && c.Deadband >= c.Limit:
			return fmt.Errorf("%w: deadband %g must be below the limit %g", ErrInvalid, c.Deadband, c.Limit)
		}
	}
	if m.typ == Deviation || m.typ == ROC {
		if m.dir, err = ParseDirection(c.Direction); err != nil {
			return err
		}
	}
	if m.typ == ROC {
		w := c.Window.Duration
		switch {
		case w < 0:
			return fmt.Errorf("%w: window %s is negative", ErrInvalid, w)
		case w == 0:
			w = config.DefaultROCWindow
		}
		m.roc = newHistory(w)
	}
	if m.typ == Discrete && !finite(c.Equals) {
		return fmt.Errorf("%w: equals %g is not a number", ErrInvalid, c.Equals)
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"on_delay", c.OnDelay.Duration}, {"off_delay", c.OffDelay.Duration}, {"max_shelve", c.MaxShelve.Duration}} {
		if d.d < 0 {
			return fmt.Errorf("%w: %s %s is negative", ErrInvalid, d.field, d.d)
		}
	}
	if s := c.SuppressedBy; s != nil {
		if s.Tag == "" {
			return fmt.Errorf("%w: suppressed_by has no tag", ErrInvalid)
		}
		if !finite(s.Equals) {
			return fmt.Errorf("%w: suppressed_by equals %g is not a number", ErrInvalid, s.Equals)
		}
		m.condTag, m.condEquals = s.Tag, s.Equals
	}
	return nil
}

// busy reports whether the alarm keeps its group from being all normal.
func (m *machine) busy() bool { return m.state != Normal && !m.flags.Hidden() }

// sounds reports whether the alarm calls for the horn.
func (m *machine) sounds() bool { return m.sounding && !m.flags.Hidden() && m.state.Unacked() }

// emit records a transition from state from (the alarm is already in its
// new state) and appends it to dst.
func (m *machine) emit(dst []Transition, k Kind, from State, at time.Time, user, comment string) []Transition {
	m.changedAt = at
	tr := Transition{Alarm: m.name, Kind: k, From: from, To: m.state, Value: m.x, At: at, User: user, Comment: comment,
		Priority: m.priority, Area: m.area, Message: m.message, Flags: m.flags}
	if k == Shelve {
		tr.Until = m.shelveUntil
	}
	return append(dst, tr)
}

// delay is how long the tested condition must differ from cond to flip it.
func (m *machine) delay() time.Duration {
	if m.cond {
		return m.offDelay
	}
	return m.onDelay
}

// advance fires the timers due at now: a delay that has run out flips the
// condition at the moment it ran out, and a shelve that has expired ends
// then. With strict, a timer due exactly at now waits, for a sample at now
// to decide first.
func (m *machine) advance(dst []Transition, now time.Time, strict bool) []Transition {
	due := func(t time.Time) bool { return t.Before(now) || !strict && t.Equal(now) }
	for {
		var at time.Time
		flip := false
		if m.pending {
			if t := m.pendingAt.Add(m.delay()); due(t) {
				at, flip = t, true
			}
		}
		if m.flags&FlagShelved != 0 && due(m.shelveUntil) && (!flip || m.shelveUntil.Before(at)) {
			at, flip = m.shelveUntil, false
		}
		switch {
		case flip:
			dst = m.flip(dst, at)
		case !at.IsZero():
			dst = m.unshelve(dst, at, "", "shelve expired")
		default:
			return dst
		}
	}
}

// test reports whether x is in alarm, with the deadband on the way back.
func (m *machine) test(x float64) bool {
	band := 0.0
	if m.cond {
		band = m.deadband
	}
	switch m.typ {
	case HiHi, Hi:
		return x >= m.limit-band
	case Lo, LoLo:
		return x <= m.limit+band
	case Deviation, ROC:
		switch m.dir {
		case Up:
		case Down:
			x = -x
		default:
			x = math.Abs(x)
		}
		return x >= m.limit-band
	case Discrete:
		return x == m.equals
	}
	return false
}

// judge takes the tested condition at now: a change waits out its delay,
// a return to the current condition calls the wait off.
func (m *machine) judge(dst []Transition, alarm bool, now time.Time) []Transition {
	switch {
	case alarm == m.cond:
		m.pending = false
	case !m.pending:
		m.pending, m.pendingAt = true, now
	}
	return m.advance(dst, now, false)
}

// observe takes a tested value x (usable or not) and the condition it
// gives: timers due before now fire first, then the condition is judged,
// then timers due exactly at now fire.
func (m *machine) observe(dst []Transition, x float64, alarm, usable bool, now time.Time) []Transition {
	if !usable {
		return m.advance(dst, now, false)
	}
	dst = m.advance(dst, now, true)
	m.x = x
	return m.judge(dst, alarm, now)
}

// onValue is a new sample of the alarm's tag.
func (m *machine) onValue(dst []Transition, v float64, q hmi.Quality, now time.Time) []Transition {
	usable := q == hmi.Good && finite(v)
	switch m.typ {
	case BadQuality:
		return m.observe(dst, math.NaN(), q == hmi.Bad, true, now)
	case Deviation:
		m.pv, m.pvOK = v, usable
		return m.onDeviation(dst, now)
	case ROC:
		if !usable {
			m.roc.reset()
			return m.observe(dst, 0, false, false, now)
		}
		m.roc.add(now, v)
		return m.onRate(dst, now)
	case Comm:
		return dst
	}
	return m.observe(dst, v, usable && m.test(v), usable, now)
}

// onSetpoint is a new sample of a deviation alarm's setpoint.
func (m *machine) onSetpoint(dst []Transition, v float64, q hmi.Quality, now time.Time) []Transition {
	m.sp, m.spOK = v, q == hmi.Good && finite(v)
	return m.onDeviation(dst, now)
}

func (m *machine) onDeviation(dst []Transition, now time.Time) []Transition {
	x := m.pv - m.sp
	usable := m.pvOK && m.spOK && finite(x)
	return m.observe(dst, x, usable && m.test(x), usable, now)
}

// onRate tests a rate-of-change alarm's rate at now.
func (m *machine) onRate(dst []Transition, now time.Time) []Transition {
	r, ok := m.roc.rate(now)
	ok = ok && finite(r)
	return m.observe(dst, r, ok && m.test(r), ok, now)
}

// onDevice is a change of a comm alarm's device link.
func (m *machine) onDevice(dst []Transition, connected bool, now time.Time) []Transition {
	return m.observe(dst, math.NaN(), !connected, true, now)
}

// tick fires the timers due at now; a rate of change is measured again,
// since it changes with time alone.
func (m *machine) tick(dst []Transition, now time.Time) []Transition {
	if m.roc != nil && m.roc.n > 0 {
		return m.onRate(dst, now)
	}
	return m.advance(dst, now, false)
}

// flip changes the condition at at, and the state with it.
func (m *machine) flip(dst []Transition, at time.Time) []Transition {
	m.pending = false
	m.cond = !m.cond
	from := m.state
	m.value = m.x
	if m.cond {
		m.state, _ = from.next(evActivate, m.latched)
		m.activeSince, m.ackedBy, m.sounding = at, "", true
		return m.emit(dst, Activate, from, at, "", "")
	}
	m.state, _ = from.next(evReturn, m.latched)
	dst = m.emit(dst, Return, from, at, "", "")
	if m.flags&FlagShelved != 0 && m.oneShot {
		dst = m.unshelve(dst, at, "", "one-shot shelve ended on return")
	}
	return dst
}

// unmask lifts flag; once nothing hides the alarm, a return that happened
// meanwhile needs no acknowledgement, and an alarm still unacknowledged
// sounds again. It returns the state before.
func (m *machine) unmask(flag Flags) State {
	from := m.state
	m.flags &^= flag
	if !m.flags.Hidden() {
		switch m.state {
		case RTNUnacked:
			m.state = Normal
		case Unacked:
			m.sounding = true
		}
	}
	return from
}

func (m *machine) unshelve(dst []Transition, at time.Time, user, comment string) []Transition {
	from := m.unmask(FlagShelved)
	m.shelvedBy, m.shelveNote, m.shelveUntil, m.oneShot = "", "", time.Time{}, false
	return m.emit(dst, Unshelve, from, at, user, comment)
}

// suppress sets the suppression condition at now.
func (m *machine) suppress(dst []Transition, on bool, now time.Time) []Transition {
	dst = m.advance(dst, now, false)
	if on == (m.flags&FlagSuppressed != 0) {
		return dst
	}
	if on {
		m.flags |= FlagSuppressed
		return m.emit(dst, Suppress, m.state, now, "", "")
	}
	return m.emit(dst, Unsuppress, m.unmask(FlagSuppressed), now, "", "")
}

// The operations below fire the timers due at now first, then act or
// return an error that leaves the alarm as it is.

func (m *machine) ack(dst []Transition, user, comment string, now time.Time) ([]Transition, error) {
	dst = m.advance(dst, now, false)
	to, ok := m.state.next(evAck, m.latched)
	if !ok {
		return dst, fmt.Errorf("alarm %q is %s: %w", m.name, m.state, ErrNothingToAck)
	}
	from := m.state
	m.state, m.ackedBy, m.sounding = to, user, false
	return m.emit(dst, Ack, from, now, user, comment), nil
}

func (m *machine) reset(dst []Transition, user, comment string, now time.Time) ([]Transition, error) {
	dst = m.advance(dst, now, false)
	to, ok := m.state.next(evReset, m.latched)
	if !ok {
		why := "it is not waiting for a reset"
		switch {
		case m.state == LatchedUnacked:
			why = "acknowledge it first"
		case m.cond:
			why = "its condition is still active"
		}
		return dst, fmt.Errorf("alarm %q is %s, %s: %w", m.name, m.state, why, ErrNothingToReset)
	}
	from := m.state
	m.state = to
	return m.emit(dst, Reset, from, now, user, comment), nil
}

func (m *machine) shelve(dst []Transition, user, reason string, d time.Duration, now time.Time) ([]Transition, error) {
	dst = m.advance(dst, now, false)
	if d < 0 || d > m.maxShelve {
		return dst, fmt.Errorf("alarm %q: shelve for %s: %w (at most %s)", m.name, d, ErrShelveDuration, m.maxShelve)
	}
	m.flags |= FlagShelved
	m.oneShot = d == OneShot
	if m.oneShot {
		d = m.maxShelve
	}
	m.shelvedBy, m.shelveNote, m.shelveUntil = user, reason, now.Add(d)
	return m.emit(dst, Shelve, m.state, now, user, reason), nil
}

func (m *machine) unshelveOp(dst []Transition, user, comment string, now time.Time) ([]Transition, error) {
	dst = m.advance(dst, now, false)
	if m.flags&FlagShelved == 0 {
		return dst, fmt.Errorf("alarm %q: %w", m.name, ErrNotShelved)
	}
	return m.unshelve(dst, now, user, comment), nil
}

func (m *machine) removeFromService(dst []Transition, user, comment string, now time.Time) ([]Transition, error) {
	dst = m.advance(dst, now, false)
	if m.flags&FlagOutOfService != 0 {
		return dst, fmt.Errorf("alarm %q: %w", m.name, ErrAlreadyOutOfService)
	}
	m.flags |= FlagOutOfService
	m.oosBy = user
	return m.emit(dst, OutOfService, m.state, now, user, comment), nil
}

func (m *machine) returnToService(dst []Transition, user, comment string, now time.Time) ([]Transition, error) {
	dst = m.advance(dst, now, false)
	if m.flags&FlagOutOfService == 0 {
		return dst, fmt.Errorf("alarm %q: %w", m.name, ErrNotOutOfService)
	}
	m.oosBy = ""
	return m.emit(dst, InService, m.unmask(FlagOutOfService), now, user, comment), nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
