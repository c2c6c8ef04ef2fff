package alarm

import (
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Snapshot is a plain copy of an alarm for clients. Times are Unix
// milliseconds, 0 for never; type, priority and state are by name. In JSON:
//
//	{"name", "tag", "type", "priority", "state", "active", "unacked",
//	 "message", "area", "value", "since", "changed", "acked_by"}
//
// and, only when set: "device", "group", "first_out", "shelved",
// "shelved_until", "one_shot", "shelved_by", "shelve_reason",
// "suppressed", "out_of_service", "out_of_service_by".
type Snapshot struct {
	Name     string   `json:"name"`
	Tag      string   `json:"tag"` // "" for comm alarms
	Type     Type     `json:"type"`
	Priority Priority `json:"priority"`
	State    State    `json:"state"`
	// Active: the alarm's condition is active (Unacked, Acked).
	Active bool `json:"active"`
	// Unacked: the alarm waits for an acknowledgement (Unacked,
	// RTNUnacked, LatchedUnacked).
	Unacked bool   `json:"unacked"`
	Message string `json:"message"`
	Area    string `json:"area"`
	// Value is what the alarm tested at its last activation or return (see
	// Transition.Value); null in JSON if none.
	Value hmi.Value `json:"value"`
	// Since is when the alarm last activated; it is kept after the return.
	Since int64 `json:"since"`
	// Changed is when the alarm last changed (any transition).
	Changed int64 `json:"changed"`
	// AckedBy is who acknowledged the current occurrence, if anyone.
	AckedBy string `json:"acked_by"`

	Device   string `json:"device,omitempty"` // comm alarms
	Group    string `json:"group,omitempty"`
	FirstOut bool   `json:"first_out,omitempty"`

	Shelved bool `json:"shelved,omitempty"`
	// ShelvedUntil is when the shelve ends at the latest.
	ShelvedUntil int64 `json:"shelved_until,omitempty"`
	// OneShot: the shelve ends when the alarm next returns to normal.
	OneShot      bool   `json:"one_shot,omitempty"`
	ShelvedBy    string `json:"shelved_by,omitempty"`
	ShelveReason string `json:"shelve_reason,omitempty"`

	Suppressed     bool   `json:"suppressed,omitempty"`
	OutOfService   bool   `json:"out_of_service,omitempty"`
	OutOfServiceBy string `json:"out_of_service_by,omitempty"`
}

// Flags returns the snapshot's flags.
func (s Snapshot) Flags() Flags {
	var f Flags
	for _, b := range []struct {
		on   bool
		flag Flags
	}{{s.Shelved, FlagShelved}, {s.Suppressed, FlagSuppressed}, {s.OutOfService, FlagOutOfService}, {s.FirstOut, FlagFirstOut}} {
		if b.on {
			f |= b.flag
		}
	}
	return f
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (m *machine) snapshot() Snapshot {
	s := Snapshot{
		Name: m.name, Tag: m.tag, Type: m.typ, Priority: m.priority, State: m.state,
		Active: m.state.Active(), Unacked: m.state.Unacked(),
		Message: m.message, Area: m.area,
		Since: millis(m.activeSince), Changed: millis(m.changedAt), AckedBy: m.ackedBy,
		Device: m.device, FirstOut: m.flags&FlagFirstOut != 0,
		Shelved: m.flags&FlagShelved != 0, OneShot: m.oneShot, ShelvedBy: m.shelvedBy, ShelveReason: m.shelveNote,
		ShelvedUntil: millis(m.shelveUntil),
		Suppressed:   m.flags&FlagSuppressed != 0,
		OutOfService: m.flags&FlagOutOfService != 0, OutOfServiceBy: m.oosBy,
	}
	if m.group != nil {
		s.Group = m.group.name
	}
	if finite(m.value) {
		s.Value = hmi.Number(m.value)
	}
	return s
}

// Summary counts the alarms for the banner: those in the operator's list
// (Set.Active) by priority, all and unacknowledged; whether the horn
// sounds; and how many alarms are hidden, by why.
type Summary struct {
	Alarms  int        `json:"alarms"`
	Total   ByPriority `json:"total"`
	Unacked ByPriority `json:"unacked"`
	Horn    bool       `json:"horn"`
	// Silenced is when the horn was last silenced, 0 if never.
	Silenced     int64 `json:"silenced,omitempty"`
	Shelved      int   `json:"shelved"`
	Suppressed   int   `json:"suppressed"`
	OutOfService int   `json:"out_of_service"`
}

// ByPriority is a count for each priority.
type ByPriority struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
}

func (c *ByPriority) add(p Priority) {
	switch p {
	case Critical:
		c.Critical++
	case High:
		c.High++
	case Medium:
		c.Medium++
	default:
		c.Low++
	}
}
