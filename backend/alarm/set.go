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

// Set holds all the alarms of a project, indexed by name and by tag.
//
// A Set is not safe for concurrent use: the engine owns it and calls it from
// one goroutine, and hands out Snapshots, which are plain copies.
type Set struct {
	alarms []*Alarm // project order
	byName map[string]*Alarm
	byTag  map[string][]*Alarm // project order within a tag
}

// NewSet builds the alarms of a project. It reports every definition that
// cannot be used, and names used twice, in one error.
func NewSet(defs []config.Alarm) (*Set, error) {
	s := &Set{
		alarms: make([]*Alarm, 0, len(defs)),
		byName: make(map[string]*Alarm, len(defs)),
		byTag:  make(map[string][]*Alarm),
	}
	var errs []error
	for _, d := range defs {
		a, err := New(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.byName[a.Name]; dup {
			errs = append(errs, fmt.Errorf("alarm %q: %w: the name is used twice", a.Name, ErrInvalid))
			continue
		}
		s.alarms = append(s.alarms, a)
		s.byName[a.Name] = a
		s.byTag[a.Tag] = append(s.byTag[a.Tag], a)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Evaluate checks a new sample of a tag against every alarm on it and
// returns their transitions, in project order; nil if none changed or no
// alarm watches the tag. The sample's value is taken as a number (a boolean
// is 0 or 1); see Alarm.Evaluate for values that are not used.
func (s *Set) Evaluate(tag string, smp hmi.Sample, now time.Time) []Transition {
	var out []Transition
	for _, a := range s.byTag[tag] {
		if tr, ok := a.Evaluate(smp.Value.Float(), smp.Quality, now); ok {
			out = append(out, tr)
		}
	}
	return out
}

// Ack acknowledges the alarm with that name. The error wraps
// ErrUnknownAlarm or ErrNothingToAck.
func (s *Set) Ack(name, user, comment string, now time.Time) (Transition, error) {
	a, ok := s.byName[name]
	if !ok {
		return Transition{}, fmt.Errorf("alarm %q: %w", name, ErrUnknownAlarm)
	}
	return a.Ack(user, comment, now)
}

// Active returns the alarms that are active or wait for an acknowledgement
// (every state but Normal): most important first by priority, then the
// unacknowledged (Unacked, RTNUnacked) before the acknowledged, then the
// newest first by ActiveSince, then by name. It is never nil.
func (s *Set) Active() []Snapshot {
	list := make([]*Alarm, 0, 16)
	for _, a := range s.alarms {
		if a.State != Normal {
			list = append(list, a)
		}
	}
	slices.SortFunc(list, func(a, b *Alarm) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		if au, bu := a.State.unacked(), b.State.unacked(); au != bu {
			if au {
				return -1
			}
			return 1
		}
		if c := b.ActiveSince.Compare(a.ActiveSince); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	out := make([]Snapshot, len(list))
	for i, a := range list {
		out[i] = a.snapshot()
	}
	return out
}

// All returns every alarm, in project order, Normal ones included.
func (s *Set) All() []Snapshot {
	out := make([]Snapshot, len(s.alarms))
	for i, a := range s.alarms {
		out[i] = a.snapshot()
	}
	return out
}

// Snapshot is a plain copy of an alarm for clients, encoded in JSON as
//
//	{"name", "tag", "type", "priority", "state", "active", "message", "area",
//	 "value", "since", "acked_by"}
//
// with type, priority and state by name and since in Unix milliseconds.
type Snapshot struct {
	Name     string   `json:"name"`
	Tag      string   `json:"tag"`
	Type     Type     `json:"type"`
	Priority Priority `json:"priority"`
	State    State    `json:"state"`
	Active   bool     `json:"active"`
	Message  string   `json:"message"`
	Area     string   `json:"area"`
	// Value is the tag's value at the last alarm or return.
	Value float64 `json:"value"`
	// Since is when the alarm last became active, in Unix milliseconds;
	// 0 if it never has.
	Since int64 `json:"since"`
	// AckedBy is who acknowledged the current occurrence, if anyone.
	AckedBy string `json:"acked_by"`
}

func (a *Alarm) snapshot() Snapshot {
	var since int64
	if !a.ActiveSince.IsZero() {
		since = a.ActiveSince.UnixMilli()
	}
	return Snapshot{
		Name:     a.Name,
		Tag:      a.Tag,
		Type:     a.Type,
		Priority: a.Priority,
		State:    a.State,
		Active:   a.Active,
		Message:  a.Message,
		Area:     a.Area,
		Value:    a.Value,
		Since:    since,
		AckedBy:  a.AckedBy,
	}
}
