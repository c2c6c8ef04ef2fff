// Package alarm evaluates limit alarms and keeps their ISA-18.2 states:
// normal, active unacknowledged, active acknowledged, and returned to normal
// unacknowledged. It is pure logic: the caller passes the time in, and
// records and publishes the transitions it gets back.
package alarm

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Errors Ack and New return; test for them with errors.Is.
var (
	// ErrNothingToAck: the alarm is not waiting for an acknowledgement.
	ErrNothingToAck = errors.New("nothing to acknowledge")
	// ErrUnknownAlarm: no alarm has that name.
	ErrUnknownAlarm = errors.New("unknown alarm")
	// ErrInvalid: an alarm definition cannot be used.
	ErrInvalid = errors.New("invalid alarm")
)

// Type is the kind of limit an alarm watches.
type Type uint8

const (
	// HiHi is active when the value is at or above a high-high limit.
	HiHi Type = iota
	// Hi is active when the value is at or above a high limit.
	Hi
	// Lo is active when the value is at or below a low limit.
	Lo
	// LoLo is active when the value is at or below a low-low limit.
	LoLo
)

var typeNames = [...]string{"hihi", "hi", "lo", "lolo"}

// ParseType parses "hihi", "hi", "lo" or "lolo".
func ParseType(s string) (Type, error) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w: type %q is not one of hihi, hi, lo, lolo", ErrInvalid, s)
}

// String returns the name used in the project file: "hihi", "hi", "lo" or "lolo".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText encodes the type by name.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes a type name.
func (t *Type) UnmarshalText(b []byte) (err error) {
	*t, err = ParseType(string(b))
	return err
}

// high reports whether the alarm trips above its limit (hi, hihi).
func (t Type) high() bool { return t == HiHi || t == Hi }

// Priority is how important an alarm is. Higher values are more important,
// so priorities compare with < and >.
type Priority uint8

const (
	// Low priority.
	Low Priority = iota
	// Medium priority, the default in the project file.
	Medium
	// High priority.
	High
	// Critical is the most important priority.
	Critical
)

var priorityNames = [...]string{"low", "medium", "high", "critical"}

// ParsePriority parses "low", "medium", "high" or "critical".
func ParsePriority(s string) (Priority, error) {
	for i, n := range priorityNames {
		if n == s {
			return Priority(i), nil
		}
	}
	return 0, fmt.Errorf("%w: priority %q is not one of low, medium, high, critical", ErrInvalid, s)
}

// String returns "low", "medium", "high" or "critical".
func (p Priority) String() string {
	if int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText encodes the priority by name.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes a priority name.
func (p *Priority) UnmarshalText(b []byte) (err error) {
	*p, err = ParsePriority(string(b))
	return err
}

// State is an alarm's ISA-18.2 state. Unacked and Acked are active; Normal
// and RTNUnacked are not.
type State uint8

const (
	// Normal: not active, nothing to acknowledge.
	Normal State = iota
	// Unacked: active and not acknowledged.
	Unacked
	// Acked: active and acknowledged.
	Acked
	// RTNUnacked: returned to normal, not acknowledged yet.
	RTNUnacked
)

var stateNames = [...]string{"normal", "unacked", "acked", "rtn_unacked"}

// String returns "normal", "unacked", "acked" or "rtn_unacked".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("state %q is not one of normal, unacked, acked, rtn_unacked", b)
}

// unacked reports whether the state waits for an acknowledgement.
func (s State) unacked() bool { return s == Unacked || s == RTNUnacked }

// event is what moves an alarm between states.
type event uint8

const (
	evAlarm  event = iota // the condition became active
	evReturn              // the condition returned to normal
	evAck                 // an operator acknowledged
)

// next is the state machine: the state after ev in state s, and whether ev
// applies at all. Shelving and suppression will add states and events here.
func (s State) next(ev event) (State, bool) {
	switch ev {
	case evAlarm:
		if s == Unacked {
			return s, false
		}
		return Unacked, true // from Normal, and re-alarm from Acked or RTNUnacked
	case evReturn:
		switch s {
		case Unacked:
			return RTNUnacked, true
		case Acked:
			return Normal, true
		}
	case evAck:
		switch s {
		case Unacked:
			return Acked, true
		case RTNUnacked:
			return Normal, true
		}
	}
	return s, false
}

// Alarm is one limit alarm: its definition from the project and its state.
// The zero State is Normal. An Alarm is not safe for concurrent use.
type Alarm struct {
	// Name identifies the alarm in the project.
	Name string
	// Tag is the name of the tag the alarm watches.
	Tag string
	// Type is the kind of limit.
	Type Type
	// Limit at which the alarm becomes active.
	Limit float64
	// Deadband the value must come back past the limit before the alarm
	// returns to normal (engineering units, 0 or more).
	Deadband float64
	// Priority tells how important the alarm is.
	Priority Priority
	// Message is the text shown to operators.
	Message string
	// Area or equipment the alarm belongs to.
	Area string

	// Active: the limit condition is present.
	Active bool
	// State is the ISA-18.2 state; Active is true in Unacked and Acked.
	State State
	// ActiveSince is when the alarm last became active. It is kept after the
	// return, so that an RTNUnacked alarm still tells when it happened.
	ActiveSince time.Time
	// AckedAt is when the alarm was last acknowledged, zero if it has not
	// been since it last became active.
	AckedAt time.Time
	// ChangedAt is when the state last changed.
	ChangedAt time.Time
	// Value is the tag's value at the last alarm or return.
	Value float64
	// AckedBy is the user who last acknowledged, empty if nobody has since
	// the alarm last became active.
	AckedBy string
}

// New returns an alarm in the Normal state for a definition of the project.
// Like the project file, it takes an empty priority as medium and an empty
// message as the name.
func New(c config.Alarm) (*Alarm, error) {
	a := &Alarm{
		Name:     c.Name,
		Tag:      c.Tag,
		Limit:    c.Limit,
		Deadband: c.Deadband,
		Priority: Medium,
		Message:  c.Message,
		Area:     c.Area,
	}
	var err error
	switch {
	case c.Name == "":
		err = fmt.Errorf("%w: no name", ErrInvalid)
	case c.Tag == "":
		err = fmt.Errorf("%w: no tag", ErrInvalid)
	case !finite(c.Limit):
		err = fmt.Errorf("%w: limit %g is not a number", ErrInvalid, c.Limit)
	case !finite(c.Deadband) || c.Deadband < 0:
		err = fmt.Errorf("%w: deadband %g must be 0 or more", ErrInvalid, c.Deadband)
	}
	if err == nil {
		a.Type, err = ParseType(c.Type)
	}
	if err == nil && c.Priority != "" {
		a.Priority, err = ParsePriority(c.Priority)
	}
	if err != nil {
		return nil, fmt.Errorf("alarm %q: %w", c.Name, err)
	}
	if a.Message == "" {
		a.Message = a.Name
	}
	return a, nil
}

// Transition is one change of an alarm's state, for the alarm journal and
// for clients.
type Transition struct {
	// Alarm is the alarm's name.
	Alarm string
	// From and To are the states before and after.
	From, To State
	// Active is the alarm's condition after the transition.
	Active bool
	// Value is the tag's value that caused an alarm or a return; for an
	// acknowledgement, the value at the last alarm or return.
	Value float64
	// At is when it happened.
	At time.Time
	// User and Comment are given with an acknowledgement.
	User, Comment string
}

// Evaluate checks a new value of the alarm's tag and returns the
// transition, if the state changed. Hi and HiHi alarms become active when
// v >= Limit and return when v < Limit − Deadband; Lo and LoLo alarms become
// active when v <= Limit and return when v > Limit + Deadband. A value that
// is not Good, or not a finite number, leaves the alarm as it is.
func (a *Alarm) Evaluate(v float64, q hmi.Quality, now time.Time) (Transition, bool) {
	if q != hmi.Good || !finite(v) {
		return Transition{}, false
	}
	active := a.Active
	if a.Type.high() {
		if !active {
			active = v >= a.Limit
		} else {
			active = v >= a.Limit-a.Deadband
		}
	} else {
		if !active {
			active = v <= a.Limit
		} else {
			active = v <= a.Limit+a.Deadband
		}
	}
	if active == a.Active {
		return Transition{}, false
	}
	ev := evReturn
	if active {
		ev = evAlarm
	}
	to, ok := a.State.next(ev)
	if !ok { // cannot happen while Active agrees with State
		return Transition{}, false
	}
	from := a.State
	a.State, a.Active, a.Value, a.ChangedAt = to, active, v, now
	if active {
		a.ActiveSince = now
		a.AckedAt, a.AckedBy = time.Time{}, "" // a new occurrence, not acknowledged
	}
	return Transition{Alarm: a.Name, From: from, To: to, Active: active, Value: v, At: now}, true
}

// Ack acknowledges the alarm: Unacked becomes Acked and RTNUnacked becomes
// Normal. It returns an error wrapping ErrNothingToAck in the other states.
func (a *Alarm) Ack(user, comment string, now time.Time) (Transition, error) {
	to, ok := a.State.next(evAck)
	if !ok {
		return Transition{}, fmt.Errorf("alarm %q is %s: %w", a.Name, a.State, ErrNothingToAck)
	}
	from := a.State
	a.State, a.ChangedAt, a.AckedAt, a.AckedBy = to, now, now, user
	return Transition{Alarm: a.Name, From: from, To: to, Active: a.Active, Value: a.Value, At: now, User: user, Comment: comment}, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
