// Package hmi is edgehmi's shared vocabulary: values, quality, samples,
// events and roles. It imports nothing but the standard library, and every
// other package may import it.
package hmi

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Quality tells how far a value can be trusted.
type Quality uint8

const (
	// Bad: no usable value (device down, read error, not yet read).
	Bad Quality = iota
	// Uncertain: a value exists but may be stale or out of range.
	Uncertain
	// Good: a fresh value read from the device.
	Good
)

func (q Quality) String() string {
	switch q {
	case Good:
		return "good"
	case Uncertain:
		return "uncertain"
	default:
		return "bad"
	}
}

// MarshalText encodes the quality as "good", "uncertain" or "bad".
func (q Quality) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// Kind is the type of a Value.
type Kind uint8

const (
	KindNone Kind = iota
	KindNumber
	KindBool
	KindString
)

func (k Kind) String() string {
	switch k {
	case KindNumber:
		return "number"
	case KindBool:
		return "bool"
	case KindString:
		return "string"
	default:
		return "none"
	}
}

// Value is a tag value: a number, a boolean or a string. The zero Value is
// "no value". Value is small and comparable, and passing it allocates nothing.
type Value struct {
	kind Kind
	num  float64
	str  string
}

// Number returns a numeric Value.
func Number(f float64) Value { return Value{kind: KindNumber, num: f} }

// Bool returns a boolean Value.
func Bool(b bool) Value {
	if b {
		return Value{kind: KindBool, num: 1}
	}
	return Value{kind: KindBool}
}

// String returns a string Value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// Kind reports the type of v.
func (v Value) Kind() Kind { return v.kind }

// IsZero reports whether v holds no value.
func (v Value) IsZero() bool { return v.kind == KindNone }

// Float returns v as a number: booleans are 0 or 1; strings are parsed, NaN if not numeric.
func (v Value) Float() float64 {
	switch v.kind {
	case KindNumber, KindBool:
		return v.num
	case KindString:
		f, err := strconv.ParseFloat(v.str, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	default:
		return math.NaN()
	}
}

// Truth returns v as a boolean: numbers are true when non-zero.
func (v Value) Truth() bool {
	switch v.kind {
	case KindNumber, KindBool:
		return v.num != 0
	case KindString:
		b, _ := strconv.ParseBool(v.str)
		return b
	default:
		return false
	}
}

// Text returns the string of a string Value, or a formatted number or boolean.
func (v Value) Text() string {
	switch v.kind {
	case KindString:
		return v.str
	case KindBool:
		return strconv.FormatBool(v.num != 0)
	case KindNumber:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	default:
		return ""
	}
}

func (v Value) String() string { return v.Text() }

// AppendJSON appends v in JSON: a number, true/false, a string, or null.
// Non-finite numbers are encoded as null, since JSON has no NaN.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.kind {
	case KindNumber:
		if math.IsNaN(v.num) || math.IsInf(v.num, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v.num, 'g', -1, 64)
	case KindBool:
		return strconv.AppendBool(b, v.num != 0)
	case KindString:
		return strconv.AppendQuote(b, v.str)
	default:
		return append(b, "null"...)
	}
}

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// UnmarshalJSON accepts a JSON number, boolean, string or null.
func (v *Value) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	switch t := x.(type) {
	case nil:
		*v = Value{}
	case float64:
		*v = Number(t)
	case bool:
		*v = Bool(t)
	case string:
		*v = String(t)
	default:
		return fmt.Errorf("value must be a number, boolean or string, not %s", string(b))
	}
	return nil
}

// Sample is a value with its quality and source timestamp.
type Sample struct {
	Value   Value
	Quality Quality
	// Reason says why the quality is not Good, in words an operator can act on.
	Reason string
	// TS is the source timestamp: when the device produced or we read the value.
	TS time.Time
}

// BadSample returns a Bad sample with a reason.
func BadSample(reason string, ts time.Time) Sample {
	return Sample{Quality: Bad, Reason: reason, TS: ts}
}

// Role is what a user may do. Higher roles include every lower one.
type Role uint8

const (
	RoleNone Role = iota
	RoleViewer
	RoleOperator
	RoleEngineer
	RoleAdmin
)

var roleNames = [...]string{"none", "viewer", "operator", "engineer", "admin"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText encodes the role by name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if i > 0 && n == s {
			return Role(i), nil
		}
	}
	return RoleNone, fmt.Errorf("unknown role %q (viewer, operator, engineer, admin)", s)
}

// Allows reports whether a user with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r >= need && r != RoleNone }

// EventKind classifies a logged event.
type EventKind string

const (
	EventSystem EventKind = "system" // startup, shutdown, project load
	EventDevice EventKind = "device" // device connect, disconnect, errors
	EventAlarm  EventKind = "alarm"  // alarm transitions (the alarm journal)
	EventAudit  EventKind = "audit"  // operator actions: writes, acks, logins
)

// Event is one line in the event log. Audit entries fill every field: who
// (User, Address), what (Action on Source), Old and New values, the value
// read back from the device, the operator's Reason and the Result.
type Event struct {
	ID       int64     `json:"id"`
	TS       time.Time `json:"-"`
	Kind     EventKind `json:"kind"`
	Source   string    `json:"source"`             // device, tag, alarm or subsystem name
	User     string    `json:"user,omitempty"`     // who did it (audit)
	Address  string    `json:"address,omitempty"`  // the user's network address (audit)
	Action   string    `json:"action"`             // e.g. "connect", "write", "login"
	Old      string    `json:"old,omitempty"`      // old value (audit, alarm)
	New      string    `json:"new,omitempty"`      // new value
	Readback string    `json:"readback,omitempty"` // value read back after a write
	Reason   string    `json:"reason,omitempty"`   // why the operator did it
	Result   string    `json:"result,omitempty"`   // "ok" or the error
	Detail   string    `json:"detail,omitempty"`   // free text: message, file hash
}

// MarshalJSON encodes the event with ts as Unix milliseconds.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		TS int64 `json:"ts"`
	}{plain(e), e.TS.UnixMilli()})
}
