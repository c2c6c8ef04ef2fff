package alarm

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// fuzzDefs has one alarm of every kind of handling: delays, deadband,
// latching, groups, suppression, a setpoint, a rate and a device.
var fuzzDefs = []config.Alarm{
	{Name: "hi", Tag: "pv", Type: "hi", Limit: 50, Deadband: 5, OnDelay: dur("2s"), OffDelay: dur("1s"), Group: "g",
		SuppressedBy: &config.Condition{Tag: "run", Equals: 0}, MaxShelve: dur("1m")},
	{Name: "lo", Tag: "pv", Type: "lo", Limit: -50, Latched: true, Group: "g"},
	{Name: "dev", Tag: "pv", Type: "deviation", Setpoint: "sp", Limit: 20, Deadband: 2, Group: "g"},
	{Name: "roc", Tag: "pv", Type: "roc", Limit: 10, Window: dur("2s"), Direction: "high", OffDelay: dur("500ms")},
	{Name: "bad", Tag: "pv", Type: "bad_quality", OnDelay: dur("1s"), Latched: true},
	{Name: "run", Tag: "run", Type: "discrete", Equals: 2, Priority: "critical"},
	{Name: "comm", Type: "comm", Device: "plc", OffDelay: dur("3s")},
}

var fuzzNames = []string{"hi", "lo", "dev", "roc", "bad", "run", "comm"}

// FuzzSet drives a set with random samples, ticks and operator actions,
// and checks after every step that: nothing panics; every state and flag
// is valid; each alarm's transitions chain (From is the state the last
// transition left) and replay to its current state and hidden flags; an
// acknowledged or normal alarm becomes unacknowledged only by a new
// activation; operations fail only with their documented errors; hidden
// alarms never sound; the summary and horn agree with the alarms; and a
// group has at most one first-out alarm.
func FuzzSet(f *testing.F) {
	f.Add([]byte{0, 200, 0, 9, 9, 0, 7, 1, 1, 0, 2, 9, 3, 4, 12, 3})
	f.Add([]byte{5, 0, 0, 100, 8, 3, 4, 30, 10, 2, 0, 150, 9, 1, 0, 10, 11, 0, 6, 1, 13, 2})
	f.Add([]byte{2, 130, 1, 0, 3, 7, 14, 0, 15, 1, 0, 50, 16, 2, 12, 1, 12, 2, 12, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		s, err := NewSet(fuzzDefs)
		if err != nil {
			t.Fatal(err)
		}
		state := map[string]State{}
		hiddenFlags := map[string]Flags{}
		lastAt := map[string]time.Time{}
		now := t0
		var trs []Transition
		for i := 0; i+2 < len(ops); i += 3 {
			code, a, b := ops[i], ops[i+1], ops[i+2]
			now = now.Add(time.Duration(b%32) * 125 * time.Millisecond)
			name := fuzzNames[int(a)%len(fuzzNames)]
			var err error
			trs = trs[:0]
			switch code % 17 {
			case 0, 1:
				trs = s.Evaluate(trs, "pv", good(float64(int8(a))), now)
			case 2:
				trs = s.Evaluate(trs, "sp", good(float64(int8(a))), now)
			case 3:
				trs = s.Evaluate(trs, "run", good(float64(a%3)), now)
			case 4:
				q := hmi.Quality(a % 3)
				v := []float64{0, math.NaN(), math.Inf(1), math.Inf(-1), 1e308}[int(a)%5]
				trs = s.Evaluate(trs, []string{"pv", "sp", "run"}[int(b)%3], hmi.Sample{Value: hmi.Number(v), Quality: q}, now)
			case 5:
				trs = s.EvaluateDevice(trs, "plc", a%2 == 0, now)
			case 6, 7:
				trs = s.Tick(trs, now)
			case 8:
				trs, err = s.Ack(name, "u", "", now)
				allowed(t, err, ErrNothingToAck)
			case 9:
				trs, err = s.AckAll(fuzzNames[:int(a)%len(fuzzNames)], "u", "", now)
				allowed(t, err)
			case 10:
				trs, err = s.Reset(name, "u", "", now)
				allowed(t, err, ErrNothingToReset)
			case 11:
				d := time.Duration(a%8) * 15 * time.Second // 0 is one-shot; above 60s is too long for hi
				trs, err = s.Shelve(name, "u", "", d, now)
				allowed(t, err, ErrShelveDuration)
				if err != nil && (name != "hi" || d <= time.Minute) {
					t.Fatalf("shelve %s for %s: %v", name, d, err)
				}
			case 12:
				trs, err = s.Unshelve(name, "u", "", now)
				allowed(t, err, ErrNotShelved)
			case 13:
				trs, err = s.RemoveFromService(name, "u", "", now)
				allowed(t, err, ErrAlreadyOutOfService)
			case 14:
				trs, err = s.ReturnToService(name, "u", "", now)
				allowed(t, err, ErrNotOutOfService)
			case 15:
				was := s.Horn()
				if s.Silence(now) != was || s.Horn() {
					t.Fatal("silence")
				}
			case 16:
				trs, err = s.Ack("nope", "u", "", now)
				allowed(t, err, ErrUnknownAlarm)
				if err == nil || len(trs) != 0 {
					t.Fatal("ack of an unknown alarm")
				}
			}
			for _, tr := range trs {
				from := state[tr.Alarm]
				switch {
				case tr.From != from:
					t.Fatalf("%s: transition %v from %v, but the alarm was %v", tr.Alarm, tr.Kind, tr.From, from)
				case tr.At.After(now) || tr.At.Before(lastAt[tr.Alarm]):
					t.Fatalf("%s: transition at %v, now %v, last %v", tr.Alarm, tr.At, now, lastAt[tr.Alarm])
				case tr.To > LatchedAcked:
					t.Fatalf("%s: state %v", tr.Alarm, tr.To)
				case !from.Unacked() && tr.To.Unacked() && tr.Kind != Activate:
					t.Fatalf("%s: %v → %v by %v, not by a new alarm", tr.Alarm, from, tr.To, tr.Kind)
				case (tr.Kind == Activate || tr.Kind == Return || tr.Kind == Ack || tr.Kind == Reset) && tr.From == tr.To:
					t.Fatalf("%s: %v left the state %v", tr.Alarm, tr.Kind, tr.From)
				case tr.Kind == Activate && tr.To != Unacked:
					t.Fatalf("%s: activated to %v", tr.Alarm, tr.To)
				}
				state[tr.Alarm], hiddenFlags[tr.Alarm], lastAt[tr.Alarm] = tr.To, tr.Flags&hidden, tr.At
			}
			check(t, s, state, hiddenFlags)
		}
	})
}

// allowed fails unless err is nil or wraps one of targets.
func allowed(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}

// check compares the set with the states the transitions replay to, and
// checks the set's own invariants.
func check(t *testing.T, s *Set, state map[string]State, hiddenFlags map[string]Flags) {
	t.Helper()
	sounding, firsts := 0, map[*group]int{}
	var visibleUnacked bool
	for _, m := range s.alarms {
		snap := m.snapshot()
		if snap.State != state[m.name] || snap.Flags()&hidden != hiddenFlags[m.name] {
			t.Fatalf("%s: state %v flags %q, transitions replay to %v %q", m.name, snap.State, snap.Flags(), state[m.name], hiddenFlags[m.name])
		}
		if m.cond != m.state.Active() || snap.Active != m.state.Active() {
			t.Fatalf("%s: condition %v in state %v", m.name, m.cond, m.state)
		}
		if m.sounds() {
			sounding++
			if m.flags.Hidden() || !m.state.Unacked() {
				t.Fatalf("%s sounds: flags %q state %v", m.name, m.flags, m.state)
			}
		}
		if !m.flags.Hidden() && m.state.Unacked() {
			visibleUnacked = true
		}
		if m.flags&FlagFirstOut != 0 {
			if m.group == nil || m.group.first != m {
				t.Fatalf("%s: first out outside its group's record", m.name)
			}
			firsts[m.group]++
		}
	}
	if sounding != s.sounding || s.Horn() != (sounding > 0) || (s.Horn() && !visibleUnacked) {
		t.Fatalf("horn %v: %d alarms sound, counted %d", s.Horn(), sounding, s.sounding)
	}
	for g, n := range firsts {
		if n > 1 || g.busy == 0 {
			t.Fatalf("group %s: %d first out, %d busy", g.name, n, g.busy)
		}
	}
	for _, g := range s.groups {
		busy := 0
		for _, m := range s.alarms {
			if m.group == g && m.busy() {
				busy++
			}
		}
		if busy != g.busy {
			t.Fatalf("group %s: %d busy, counted %d", g.name, busy, g.busy)
		}
	}
	active := s.Active()
	sum := s.Summary()
	var unacked ByPriority
	for _, a := range active {
		if a.State == Normal || a.Flags().Hidden() {
			t.Fatalf("%s in the active list: %v %q", a.Name, a.State, a.Flags())
		}
		if a.Unacked {
			unacked.add(a.Priority)
		}
	}
	if sum.Alarms != len(active) || sum.Unacked != unacked || sum.Horn != s.Horn() {
		t.Fatalf("summary %+v, %d active", sum, len(active))
	}
}
