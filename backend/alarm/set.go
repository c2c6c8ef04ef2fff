package alarm

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Transition is one change of one alarm, for the alarm journal and for
// clients. Every change is one: activations and returns, operator actions,
// and changes of shelving, suppression and service, also of alarms that
// are hidden.
type Transition struct {
	// Alarm is the alarm's name.
	Alarm string
	// Kind is what happened.
	Kind Kind
	// From and To are the states before and after. They are equal for
	// shelve, suppress and out_of_service, and for unshelve, unsuppress
	// and in_service unless a return that happened while the alarm was
	// hidden is cleared (RTNUnacked to Normal).
	From, To State
	// Value is what the alarm tests, at the time: the tag's value (limit
	// and discrete alarms), the deviation from the setpoint, or the rate of
	// change in units per second; NaN for bad_quality and comm alarms and
	// before the first usable value.
	Value float64
	// At is when it happened: for a delay or a shelve that ran out, the
	// moment it ran out, which may be before the time the call was given.
	At time.Time
	// User and Comment are given with operator actions (a shelve's reason
	// is its Comment); an expired or one-shot shelve says so in Comment.
	User, Comment string
	// Priority, Area and Message are the alarm's.
	Priority Priority
	Area     string
	Message  string
	// Flags are the alarm's flags after the transition.
	Flags Flags
	// Until is when a shelve ends (Kind Shelve only; for a one-shot
	// shelve, the latest it may end).
	Until time.Time
}

// Set holds all the alarms of a project, indexed by name, by the tags they
// read and by device.
//
// A Set is not safe for concurrent use: the engine owns it and calls it from
// one goroutine (or under one lock), and hands out Snapshots, which are
// plain copies.
type Set struct {
	alarms   []*machine // project order
	byName   map[string]*machine
	byTag    map[string]*readers
	byDevice map[string][]*machine
	groups   []*group
	sounding int       // alarms that sound
	silenced time.Time // the last Silence
}

// readers are the alarms that read one tag, by what they read it for.
type readers struct {
	value, setpoint, condition []*machine
}

// group is an alarm group, for first-out.
type group struct {
	name  string
	busy  int      // alarms of the group that are not Normal and not hidden
	first *machine // the first out since the group was last all normal
}

// NewSet builds the alarms of a project. It reports every definition that
// cannot be used, and names used twice, in one error wrapping ErrInvalid.
// Definitions from config.Load are already checked; NewSet checks again
// for definitions built in code, with the same defaults.
func NewSet(defs []config.Alarm) (*Set, error) {
	s := &Set{
		alarms:   make([]*machine, 0, len(defs)),
		byName:   make(map[string]*machine, len(defs)),
		byTag:    make(map[string]*readers),
		byDevice: make(map[string][]*machine),
	}
	groups := map[string]*group{}
	var errs []error
	for _, d := range defs {
		m, err := newMachine(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.byName[m.name]; dup {
			errs = append(errs, fmt.Errorf("alarm %q: %w: the name is used twice", m.name, ErrInvalid))
			continue
		}
		s.alarms = append(s.alarms, m)
		s.byName[m.name] = m
		if m.typ == Comm {
			s.byDevice[m.device] = append(s.byDevice[m.device], m)
		} else {
			r := s.readers(m.tag)
			r.value = append(r.value, m)
		}
		if m.typ == Deviation {
			r := s.readers(m.setpoint)
			r.setpoint = append(r.setpoint, m)
		}
		if m.condTag != "" {
			r := s.readers(m.condTag)
			r.condition = append(r.condition, m)
		}
		if d.Group != "" {
			g := groups[d.Group]
			if g == nil {
				g = &group{name: d.Group}
				groups[d.Group] = g
				s.groups = append(s.groups, g)
			}
			m.group = g
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func (s *Set) readers(tag string) *readers {
	r := s.byTag[tag]
	if r == nil {
		r = &readers{}
		s.byTag[tag] = r
	}
	return r
}

// Len is the number of alarms.
func (s *Set) Len() int { return len(s.alarms) }

// Evaluate takes a new sample of a tag: the alarms on the tag test it, the
// deviation alarms whose setpoint it is test their deviation again, and the
// alarms it suppresses see whether their condition holds. It appends their
// transitions to dst, in project order, and returns it; dst unchanged if
// nothing changed or nothing reads the tag. It does not allocate unless dst
// must grow.
//
// The sample's value is taken as a number (a boolean is 0 or 1; a string
// is parsed). A sample that is not Good, or not a finite number, is no
// value: the alarms keep their state and their last value (the delays
// running on it), except bad_quality alarms, for which the quality is the
// value, and roc alarms, which start measuring afresh. A suppression
// condition holds only while its tag is Good and equals its value.
//
// now must not go back between calls to the Set.
func (s *Set) Evaluate(dst []Transition, tag string, smp hmi.Sample, now time.Time) []Transition {
	r := s.byTag[tag]
	if r == nil {
		return dst
	}
	v := smp.Value.Float()
	for _, m := range r.value {
		n, was := len(dst), s.mark(m)
		dst = m.onValue(dst, v, smp.Quality, now)
		s.after(m, was, dst[n:])
	}
	for _, m := range r.setpoint {
		n, was := len(dst), s.mark(m)
		dst = m.onSetpoint(dst, v, smp.Quality, now)
		s.after(m, was, dst[n:])
	}
	for _, m := range r.condition {
		n, was := len(dst), s.mark(m)
		dst = m.suppress(dst, smp.Quality == hmi.Good && v == m.condEquals, now)
		s.after(m, was, dst[n:])
	}
	return dst
}

// EvaluateDevice takes the state of a device's link for its comm alarms
// (active while not connected), appending their transitions to dst.
func (s *Set) EvaluateDevice(dst []Transition, device string, connected bool, now time.Time) []Transition {
	for _, m := range s.byDevice[device] {
		n, was := len(dst), s.mark(m)
		dst = m.onDevice(dst, connected, now)
		s.after(m, was, dst[n:])
	}
	return dst
}

// Tick brings the alarms' timers up to now: on- and off-delays that ran
// out, shelves that expired, and rates of change measured again (a rate
// falls with time alone). It appends the transitions to dst. Call it
// regularly (the engine does 4 times a second); the transitions carry the
// exact time their timer ran out, whenever Tick is called.
func (s *Set) Tick(dst []Transition, now time.Time) []Transition {
	for _, m := range s.alarms {
		if !m.pending && m.flags&FlagShelved == 0 && m.roc == nil {
			continue
		}
		n, was := len(dst), s.mark(m)
		dst = m.tick(dst, now)
		s.after(m, was, dst[n:])
	}
	return dst
}

// mark is what the Set counts of an alarm: whether it sounds, and keeps
// its group busy.
type mark struct{ sounds, busy bool }

func (s *Set) mark(m *machine) mark { return mark{m.sounds(), m.busy()} }

// after updates the horn and the alarm's group after the alarm made the
// transitions trs, and marks them first-out if the alarm is.
func (s *Set) after(m *machine, was mark, trs []Transition) {
	if len(trs) == 0 {
		return // nothing counted changed
	}
	now := s.mark(m)
	if now.sounds != was.sounds {
		if now.sounds {
			s.sounding++
		} else {
			s.sounding--
		}
	}
	g := m.group
	if g == nil {
		return
	}
	if !was.busy && g.busy == 0 {
		for i := range trs {
			if trs[i].Kind == Activate && !trs[i].Flags.Hidden() {
				g.first = m
				m.flags |= FlagFirstOut
				for j := i; j < len(trs); j++ {
					trs[j].Flags |= FlagFirstOut
				}
				break
			}
		}
	}
	if now.busy != was.busy {
		if now.busy {
			g.busy++
		} else {
			g.busy--
		}
	}
	if g.busy == 0 && g.first != nil {
		g.first.flags &^= FlagFirstOut
		g.first = nil
	}
}

// do runs an operation on the alarm called name. The transitions are
// returned even with an error: they are timers that were due at now and
// fired first (usually none), and must be journaled like any others.
func (s *Set) do(name string, op func(m *machine, dst []Transition) ([]Transition, error)) ([]Transition, error) {
	m, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("alarm %q: %w", name, ErrUnknownAlarm)
	}
	was := s.mark(m)
	trs, err := op(m, nil)
	s.after(m, was, trs)
	return trs, err
}

// Ack acknowledges an alarm: Unacked becomes Acked, RTNUnacked becomes
// Normal, LatchedUnacked becomes LatchedAcked. The error wraps
// ErrUnknownAlarm or ErrNothingToAck.
//
// Ack and the other operations bring the alarm's timers up to now first;
// the transitions they return (the operation's last) may include those,
// and are returned even with an error. The caller checks the user's role
// and writes the audit trail; the Set records the user in the alarm.
func (s *Set) Ack(name, user, comment string, now time.Time) ([]Transition, error) {
	return s.do(name, func(m *machine, dst []Transition) ([]Transition, error) { return m.ack(dst, user, comment, now) })
}

// AckAll acknowledges the named alarms (the ones an operator sees) that
// wait for an acknowledgement; the others are skipped, as someone may have
// acknowledged them meanwhile. Names that are not alarms are reported in
// the error (wrapping ErrUnknownAlarm) after the rest are acknowledged.
func (s *Set) AckAll(names []string, user, comment string, now time.Time) ([]Transition, error) {
	var trs []Transition
	var errs []error
	for _, name := range names {
		m, ok := s.byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("alarm %q: %w", name, ErrUnknownAlarm))
			continue
		}
		n, was := len(trs), s.mark(m)
		trs, _ = m.ack(trs, user, comment, now) // nothing to ack: skipped
		s.after(m, was, trs[n:])
	}
	return trs, errors.Join(errs...)
}

// Reset resets a latched alarm whose condition has returned and that has
// been acknowledged (LatchedAcked becomes Normal). The error wraps
// ErrUnknownAlarm or ErrNothingToReset, saying why.
func (s *Set) Reset(name, user, comment string, now time.Time) ([]Transition, error) {
	return s.do(name, func(m *machine, dst []Transition) ([]Transition, error) { return m.reset(dst, user, comment, now) })
}

// Shelve hides an alarm from the operator for d (at most the alarm's
// max_shelve), or with d OneShot until it next returns to normal (and at
// most max_shelve). The alarm is still evaluated and its transitions
// reported, flagged shelved; when the shelve ends, a return that happened
// meanwhile needs no acknowledgement, and an alarm still unacknowledged is
// shown and sounds again. Shelving a shelved alarm shelves it anew from
// now. The error wraps ErrUnknownAlarm or ErrShelveDuration.
func (s *Set) Shelve(name, user, reason string, d time.Duration, now time.Time) ([]Transition, error) {
	return s.do(name, func(m *machine, dst []Transition) ([]Transition, error) {
		return m.shelve(dst, user, reason, d, now)
	})
}

// Unshelve ends a shelve before it expires. The error wraps
// ErrUnknownAlarm or ErrNotShelved.
func (s *Set) Unshelve(name, user, comment string, now time.Time) ([]Transition, error) {
	return s.do(name, func(m *machine, dst []Transition) ([]Transition, error) {
		return m.unshelveOp(dst, user, comment, now)
	})
}

// RemoveFromService takes an alarm out of service (an engineer's action:
// the caller checks the role). Like a shelved alarm, it is still evaluated
// and reported, hidden, until ReturnToService. The error wraps
// ErrUnknownAlarm or ErrAlreadyOutOfService.
func (s *Set) RemoveFromService(name, user, comment string, now time.Time) ([]Transition, error) {
	return s.do(name, func(m *machine, dst []Transition) ([]Transition, error) {
		return m.removeFromService(dst, user, comment, now)
	})
}

// ReturnToService returns an alarm to service. The error wraps
// ErrUnknownAlarm or ErrNotOutOfService.
func (s *Set) ReturnToService(name, user, comment string, now time.Time) ([]Transition, error) {
	return s.do(name, func(m *machine, dst []Transition) ([]Transition, error) {
		return m.returnToService(dst, user, comment, now)
	})
}

// Silence silences the horn until an alarm next activates (or is shown
// again unacknowledged), and reports whether it was sounding. It changes
// no alarm's state: the caller audits it if it wants to.
func (s *Set) Silence(now time.Time) bool {
	was := s.sounding > 0
	for _, m := range s.alarms {
		m.sounding = false
	}
	s.sounding, s.silenced = 0, now
	return was
}

// Horn reports whether the horn should sound: some alarm that is not
// hidden waits for an acknowledgement, and activated (or was shown again)
// since the last Silence.
func (s *Set) Horn() bool { return s.sounding > 0 }

// Get returns one alarm's snapshot.
func (s *Set) Get(name string) (Snapshot, bool) {
	m, ok := s.byName[name]
	if !ok {
		return Snapshot{}, false
	}
	return m.snapshot(), true
}

// Active returns the operator's alarm list: the alarms that are not Normal
// and not hidden (shelved, suppressed, out of service), most important
// first: the unacknowledged before the acknowledged, then by priority,
// then the newest first by Since, then by name. It is never nil.
func (s *Set) Active() []Snapshot {
	list := make([]*machine, 0, 16)
	for _, m := range s.alarms {
		if m.busy() {
			list = append(list, m)
		}
	}
	slices.SortFunc(list, func(a, b *machine) int {
		if au, bu := a.state.Unacked(), b.state.Unacked(); au != bu {
			if au {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		if c := b.activeSince.Compare(a.activeSince); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	out := make([]Snapshot, len(list))
	for i, m := range list {
		out[i] = m.snapshot()
	}
	return out
}

// All returns every alarm, in project order, Normal and hidden ones
// included.
func (s *Set) All() []Snapshot {
	out := make([]Snapshot, len(s.alarms))
	for i, m := range s.alarms {
		out[i] = m.snapshot()
	}
	return out
}

// Summary counts the alarms for the banner.
func (s *Set) Summary() Summary {
	sum := Summary{Horn: s.Horn()}
	if !s.silenced.IsZero() {
		sum.Silenced = s.silenced.UnixMilli()
	}
	for _, m := range s.alarms {
		if m.busy() {
			sum.Alarms++
			sum.Total.add(m.priority)
			if m.state.Unacked() {
				sum.Unacked.add(m.priority)
			}
		}
		if m.flags&FlagShelved != 0 {
			sum.Shelved++
		}
		if m.flags&FlagSuppressed != 0 {
			sum.Suppressed++
		}
		if m.flags&FlagOutOfService != 0 {
			sum.OutOfService++
		}
	}
	return sum
}
