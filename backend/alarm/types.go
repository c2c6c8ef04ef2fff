package alarm

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is what an alarm watches.
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
	// Deviation is active when the tag is the limit or more away from a
	// setpoint tag (above it, below it, or either, by Direction).
	Deviation
	// ROC (rate of change) is active when the tag changes by the limit or
	// more per second over a window (rising, falling, or either).
	ROC
	// Discrete is active when the tag equals a value (a fault bit, a state).
	Discrete
	// BadQuality is active when the tag's quality is Bad.
	BadQuality
	// Comm is active when a device's communication is lost.
	Comm
)

var typeNames = [...]string{"hihi", "hi", "lo", "lolo", "deviation", "roc", "discrete", "bad_quality", "comm"}

// ParseType parses a type as the project file writes it, e.g. "hi" or "roc".
func ParseType(s string) (Type, error) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("%w: type %q is not one of %s", ErrInvalid, s, strings.Join(typeNames[:], ", "))
}

// String returns the name used in the project file, e.g. "hihi" or "bad_quality".
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

// analog reports whether the type compares a number with a limit, with a
// deadband.
func (t Type) analog() bool { return t <= ROC }

// Direction is which side of a deviation or rate of change alarms.
type Direction uint8

const (
	// Both: above or below the setpoint; rising or falling.
	Both Direction = iota
	// Up: above the setpoint; rising. The project file writes "high".
	Up
	// Down: below the setpoint; falling. The project file writes "low".
	Down
)

var directionNames = [...]string{"both", "high", "low"}

// ParseDirection parses "both", "high" or "low"; "" is Both.
func ParseDirection(s string) (Direction, error) {
	if s == "" {
		return Both, nil
	}
	for i, n := range directionNames {
		if n == s {
			return Direction(i), nil
		}
	}
	return 0, fmt.Errorf("%w: direction %q is not one of both, high, low", ErrInvalid, s)
}

// String returns "both", "high" or "low".
func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

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

// State is an alarm's ISA-18.2 state: whether its condition is active and
// whether the operator has acknowledged it, and for latched alarms, whether
// it waits for a reset. Shelved, suppressed and out of service are not
// states of their own here but Flags beside the state (as OPC UA Part 9
// models them), because such alarms are still evaluated: their state goes
// on changing, hidden from the operator.
type State uint8

const (
	// Normal: the condition is not active, nothing to acknowledge.
	Normal State = iota
	// Unacked: the condition is active, not acknowledged (ISA-18.2 B).
	Unacked
	// Acked: the condition is active, acknowledged (C).
	Acked
	// RTNUnacked: the condition returned to normal before it was
	// acknowledged (D).
	RTNUnacked
	// LatchedUnacked: a latched alarm whose condition returned before it
	// was acknowledged; it needs an acknowledgement, then a reset (E).
	LatchedUnacked
	// LatchedAcked: a latched alarm whose condition returned, acknowledged;
	// it stays until an operator resets it (E).
	LatchedAcked
)

var stateNames = [...]string{"normal", "unacked", "acked", "rtn_unacked", "latched_unacked", "latched_acked"}

// String returns "normal", "unacked", "acked", "rtn_unacked",
// "latched_unacked" or "latched_acked".
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
	return fmt.Errorf("state %q is not one of %s", b, strings.Join(stateNames[:], ", "))
}

// Active reports whether the alarm's condition is active in this state
// (Unacked and Acked).
func (s State) Active() bool { return s == Unacked || s == Acked }

// Unacked reports whether the state waits for an acknowledgement
// (Unacked, RTNUnacked, LatchedUnacked).
func (s State) Unacked() bool { return s == Unacked || s == RTNUnacked || s == LatchedUnacked }

// Latched reports whether the state waits for a reset.
func (s State) Latched() bool { return s == LatchedUnacked || s == LatchedAcked }

// Kind is what caused a transition.
type Kind uint8

const (
	// Activate: the condition became active (after the on-delay).
	Activate Kind = iota
	// Return: the condition returned to normal (after the off-delay).
	Return
	// Ack: an operator acknowledged.
	Ack
	// Reset: an operator reset a latched alarm.
	Reset
	// Shelve: an operator shelved the alarm (timed or one-shot).
	Shelve
	// Unshelve: an operator unshelved it, its shelve expired, or a one-shot
	// shelve ended when the alarm returned to normal.
	Unshelve
	// Suppress: the suppression condition began to hold.
	Suppress
	// Unsuppress: the suppression condition ended.
	Unsuppress
	// OutOfService: an engineer removed the alarm from service.
	OutOfService
	// InService: an engineer returned it to service.
	InService
)

var kindNames = [...]string{"activate", "return", "ack", "reset", "shelve", "unshelve", "suppress", "unsuppress", "out_of_service", "in_service"}

// String returns the kind's name, e.g. "activate" or "out_of_service".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText encodes the kind by name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("kind %q is not one of %s", b, strings.Join(kindNames[:], ", "))
}

// Flags are an alarm's conditions beside its State.
type Flags uint8

const (
	// FlagShelved: an operator shelved the alarm.
	FlagShelved Flags = 1 << iota
	// FlagSuppressed: the alarm's suppression condition holds.
	FlagSuppressed
	// FlagOutOfService: an engineer removed the alarm from service.
	FlagOutOfService
	// FlagFirstOut: the first alarm of its group to activate since the
	// group was last all normal.
	FlagFirstOut

	// hidden are the flags that keep an alarm from the operator.
	hidden = FlagShelved | FlagSuppressed | FlagOutOfService
)

var flagNames = [...]string{"shelved", "suppressed", "out_of_service", "first_out"}

// Hidden reports whether the alarm is shelved, suppressed or out of
// service: kept from the operator's list and banner, and never sounding.
func (f Flags) Hidden() bool { return f&hidden != 0 }

// String lists the flags' names joined by commas, e.g.
// "shelved,first_out"; "" for none.
func (f Flags) String() string {
	var b strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// MarshalText encodes the flags as String does.
func (f Flags) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText decodes what MarshalText encodes.
func (f *Flags) UnmarshalText(b []byte) error {
	*f = 0
	if len(b) == 0 {
		return nil
	}
next:
	for _, part := range strings.Split(string(b), ",") {
		for i, n := range flagNames {
			if n == part {
				*f |= 1 << i
				continue next
			}
		}
		return fmt.Errorf("flag %q is not one of %s", part, strings.Join(flagNames[:], ", "))
	}
	return nil
}
