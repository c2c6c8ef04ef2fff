package alarm

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// at is t0 plus a number of seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func dur(s string) config.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return config.Duration{Duration: d}
}

// TestNext covers every state with every event, plain and latched.
func TestNext(t *testing.T) {
	type row struct {
		from    State
		ev      event
		latched bool
		to      State
		ok      bool
	}
	var tests []row
	for _, latched := range []bool{false, true} {
		rtn, back := RTNUnacked, Normal // where Unacked and Acked return to
		if latched {
			rtn, back = LatchedUnacked, LatchedAcked
		}
		tests = append(tests,
			row{Normal, evActivate, latched, Unacked, true},
			row{Normal, evReturn, latched, Normal, false},
			row{Normal, evAck, latched, Normal, false},
			row{Normal, evReset, latched, Normal, false},

			row{Unacked, evActivate, latched, Unacked, false},
			row{Unacked, evReturn, latched, rtn, true},
			row{Unacked, evAck, latched, Acked, true},
			row{Unacked, evReset, latched, Unacked, false},

			row{Acked, evActivate, latched, Unacked, true}, // re-alarm
			row{Acked, evReturn, latched, back, true},
			row{Acked, evAck, latched, Acked, false},
			row{Acked, evReset, latched, Acked, false},

			row{RTNUnacked, evActivate, latched, Unacked, true}, // re-alarm
			row{RTNUnacked, evReturn, latched, RTNUnacked, false},
			row{RTNUnacked, evAck, latched, Normal, true},
			row{RTNUnacked, evReset, latched, RTNUnacked, false},

			row{LatchedUnacked, evActivate, latched, Unacked, true}, // re-alarm
			row{LatchedUnacked, evReturn, latched, LatchedUnacked, false},
			row{LatchedUnacked, evAck, latched, LatchedAcked, true},
			row{LatchedUnacked, evReset, latched, LatchedUnacked, false}, // acknowledge first

			row{LatchedAcked, evActivate, latched, Unacked, true}, // re-alarm
			row{LatchedAcked, evReturn, latched, LatchedAcked, false},
			row{LatchedAcked, evAck, latched, LatchedAcked, false},
			row{LatchedAcked, evReset, latched, Normal, true},
		)
	}
	for _, tt := range tests {
		to, ok := tt.from.next(tt.ev, tt.latched)
		if to != tt.to || ok != tt.ok {
			t.Errorf("%v.next(%v, latched %v) = %v, %v; want %v, %v", tt.from, tt.ev, tt.latched, to, ok, tt.to, tt.ok)
		}
	}
	// Out of range states go nowhere.
	if to, ok := State(99).next(evActivate, false); ok || to != 99 {
		t.Errorf("State(99).next = %v, %v", to, ok)
	}
}

// op is one thing a scenario does at a time: a sample, a tick, or an
// operator's action on alarm "x".
type op func(s *Set, now time.Time) ([]Transition, error)

func sample(tag string, smp hmi.Sample) op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.Evaluate(nil, tag, smp, now), nil }
}
func val(x float64) op               { return sample("t", good(x)) }
func valOf(tag string, x float64) op { return sample(tag, good(x)) }
func badOf(tag string) op            { return sample(tag, hmi.BadSample("timeout", t0)) }
func bad() op                        { return badOf("t") }
func badValue(tag string, x float64) op {
	return sample(tag, hmi.Sample{Value: hmi.Number(x), Quality: hmi.Bad})
}
func uncertain(x float64) op {
	return sample("t", hmi.Sample{Value: hmi.Number(x), Quality: hmi.Uncertain})
}
func tick() op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.Tick(nil, now), nil }
}
func device(name string, ok bool) op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.EvaluateDevice(nil, name, ok, now), nil }
}
func ack() op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.Ack("x", "ann", "seen", now) }
}
func reset() op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.Reset("x", "ann", "inspected", now) }
}
func shelve(d time.Duration) op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.Shelve("x", "ann", "nuisance", d, now) }
}
func unshelve() op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.Unshelve("x", "ann", "", now) }
}
func oos() op {
	return func(s *Set, now time.Time) ([]Transition, error) {
		return s.RemoveFromService("x", "eve", "sensor replaced", now)
	}
}
func ins() op {
	return func(s *Set, now time.Time) ([]Transition, error) { return s.ReturnToService("x", "eve", "", now) }
}

// fails expects o to fail with target, and to change nothing.
func fails(o op, target error) op {
	return func(s *Set, now time.Time) ([]Transition, error) {
		trs, err := o(s, now)
		if !errors.Is(err, target) {
			return trs, fmt.Errorf("error %v, want %v", err, target)
		}
		return trs, nil
	}
}

// step is one line of a scenario: at a time, do op; then alarm "x" is in
// state want with flags, and the op reported the transitions trs, written
// "kind>to" and separated by spaces, with "@seconds" when a transition
// happened before the step's time.
type step struct {
	at    float64
	op    op
	want  State
	flags Flags
	trs   string
}

func describe(trs []Transition, now time.Time) string {
	parts := make([]string, len(trs))
	for i, tr := range trs {
		parts[i] = tr.Kind.String() + ">" + tr.To.String()
		if !tr.At.Equal(now) {
			parts[i] += "@" + strconv.FormatFloat(tr.At.Sub(t0).Seconds(), 'g', -1, 64)
		}
	}
	return strings.Join(parts, " ")
}

// play runs steps on a set holding def (named "x") and any other alarms,
// and checks each step, the chain of transitions, and the snapshot.
func play(t *testing.T, steps []step, def config.Alarm, others ...config.Alarm) *Set {
	t.Helper()
	def.Name = "x"
	s, err := NewSet(append([]config.Alarm{def}, others...))
	if err != nil {
		t.Fatal(err)
	}
	state := Normal
	last := t0
	for i, st := range steps {
		now := at(st.at)
		trs, err := st.op(s, now)
		if err != nil {
			t.Fatalf("step %d (at %gs): %v", i, st.at, err)
		}
		if got := describe(trs, now); got != st.trs {
			t.Fatalf("step %d (at %gs): transitions %q, want %q", i, st.at, got, st.trs)
		}
		for _, tr := range trs {
			if tr.Alarm != "x" {
				continue
			}
			if tr.From != state || tr.At.Before(last) || tr.At.After(now) {
				t.Fatalf("step %d: transition %+v does not follow state %v at %v", i, tr, state, last)
			}
			state, last = tr.To, tr.At
		}
		snap, ok := s.Get("x")
		if !ok {
			t.Fatal("Get(x) found nothing")
		}
		if snap.State != st.want || snap.Flags() != st.flags || state != st.want {
			t.Fatalf("step %d (at %gs): state %v flags %q (transitions say %v); want %v flags %q",
				i, st.at, snap.State, snap.Flags(), state, st.want, st.flags)
		}
		if len(trs) > 0 && trs[len(trs)-1].Alarm == "x" && trs[len(trs)-1].Flags != st.flags {
			t.Fatalf("step %d: last transition has flags %q, the alarm %q", i, trs[len(trs)-1].Flags, st.flags)
		}
		if snap.Active != st.want.Active() || snap.Unacked != st.want.Unacked() {
			t.Fatalf("step %d: snapshot active %v unacked %v in state %v", i, snap.Active, snap.Unacked, snap.State)
		}
	}
	return s
}

// limitSteps is a scenario for a high alarm at 80 with deadband 2 when k
// is 1; with k = -1 every value is negated, for a low alarm at -80.
func limitSteps(k float64) []step {
	v := func(x float64) op { return val(k * x) }
	return []step{
		{0, v(70), Normal, 0, ""},
		{1, v(79.99), Normal, 0, ""},
		{2, fails(ack(), ErrNothingToAck), Normal, 0, ""},
		{3, v(80), Unacked, 0, "activate>unacked"}, // at the limit
		{4, v(79), Unacked, 0, ""},                 // inside the deadband
		{5, v(78), Unacked, 0, ""},                 // at limit − deadband: not yet returned
		{6, v(120), Unacked, 0, ""},
		{7, v(77.9), RTNUnacked, 0, "return>rtn_unacked"},
		{8, v(79.9), RTNUnacked, 0, ""},            // below the limit: no re-alarm
		{9, v(80), Unacked, 0, "activate>unacked"}, // re-alarm from RTNUnacked
		{10, ack(), Acked, 0, "ack>acked"},
		{11, fails(ack(), ErrNothingToAck), Acked, 0, ""},
		{12, v(79), Acked, 0, ""},
		{13, v(77), Normal, 0, "return>normal"},
		{14, fails(ack(), ErrNothingToAck), Normal, 0, ""},
		{15, v(100), Unacked, 0, "activate>unacked"},
		{16, v(70), RTNUnacked, 0, "return>rtn_unacked"},
		{17, ack(), Normal, 0, "ack>normal"},
		{18, v(90), Unacked, 0, "activate>unacked"},
	}
}

func TestLimitAlarms(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		limit float64
		k     float64
	}{
		{"hi", 80, 1},
		{"hihi", 80, 1},
		{"lo", -80, -1},
		{"lolo", -80, -1},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			play(t, limitSteps(tc.k), config.Alarm{Tag: "t", Type: tc.typ, Limit: tc.limit, Deadband: 2})
		})
	}
	t.Run("no deadband", func(t *testing.T) {
		play(t, []step{
			{0, val(80), Unacked, 0, "activate>unacked"},
			{1, val(80), Unacked, 0, ""},
			{2, val(79.999), RTNUnacked, 0, "return>rtn_unacked"},
			{3, val(80), Unacked, 0, "activate>unacked"},
		}, config.Alarm{Tag: "t", Type: "hi", Limit: 80})
	})
}

func TestUnusableValuesHoldTheState(t *testing.T) {
	play(t, []step{
		{0, val(math.NaN()), Normal, 0, ""},
		{1, val(math.Inf(1)), Normal, 0, ""},
		{2, badValue("t", 90), Normal, 0, ""}, // a Bad tag keeps its last value: not a value
		{3, uncertain(90), Normal, 0, ""},
		{4, sample("t", hmi.Sample{Value: hmi.String("n/a"), Quality: hmi.Good}), Normal, 0, ""},
		{5, val(90), Unacked, 0, "activate>unacked"},
		{6, badValue("t", 0), Unacked, 0, ""}, // quality Bad during an active alarm
		{7, uncertain(0), Unacked, 0, ""},
		{8, val(math.NaN()), Unacked, 0, ""},
		{9, val(math.Inf(-1)), Unacked, 0, ""},
		{10, ack(), Acked, 0, "ack>acked"},
		{11, bad(), Acked, 0, ""},
		{12, val(0), Normal, 0, "return>normal"},
		{13, sample("t", hmi.Sample{Value: hmi.String("95"), Quality: hmi.Good}), Unacked, 0, "activate>unacked"},
	}, config.Alarm{Tag: "t", Type: "hi", Limit: 80, Deadband: 2})
}

func TestDelays(t *testing.T) {
	t.Run("on-delay", func(t *testing.T) {
		play(t, []step{
			{0, val(85), Normal, 0, ""},     // the delay starts
			{4.999, val(86), Normal, 0, ""}, // not yet
			{5, val(86), Unacked, 0, "activate>unacked"},
			{10, val(70), RTNUnacked, 0, "return>rtn_unacked"}, // no off-delay
			{11, val(85), RTNUnacked, 0, ""},
			{13, val(79), RTNUnacked, 0, ""}, // below the limit: the delay is off
			{17, tick(), RTNUnacked, 0, ""},  // it would have ended at 16
			{20, val(85), RTNUnacked, 0, ""},
			{25, tick(), Unacked, 0, "activate>unacked"}, // exactly at the delay
			{26, ack(), Acked, 0, "ack>acked"},
			{30, val(70), Normal, 0, "return>normal"},
			{31, val(90), Normal, 0, ""},
			{40, tick(), Unacked, 0, "activate>unacked@36"}, // a late tick: the time it happened
			{41, val(70), RTNUnacked, 0, "return>rtn_unacked"},
			{42, val(90), RTNUnacked, 0, ""},
			{49, val(70), RTNUnacked, 0, "activate>unacked@47 return>rtn_unacked"}, // the value held past the delay
		}, config.Alarm{Tag: "t", Type: "hi", Limit: 80, Deadband: 2, OnDelay: dur("5s")})
	})
	t.Run("off-delay", func(t *testing.T) {
		play(t, []step{
			{0, val(85), Unacked, 0, "activate>unacked"}, // no on-delay
			{1, val(70), Unacked, 0, ""},                 // the off-delay starts
			{3.999, tick(), Unacked, 0, ""},
			{4, tick(), RTNUnacked, 0, "return>rtn_unacked"}, // exactly at the delay
			{5, ack(), Normal, 0, "ack>normal"},
			{6, val(85), Unacked, 0, "activate>unacked"},
			{7, val(70), Unacked, 0, ""},
			{8, val(79), Unacked, 0, ""}, // back inside the deadband: still active, the delay is off
			{10, tick(), Unacked, 0, ""},
			{11, val(70), Unacked, 0, ""},
			{14, val(71), RTNUnacked, 0, "return>rtn_unacked"}, // a sample exactly at the delay
			{15, val(90), Unacked, 0, "activate>unacked"},
			{16, val(0), Unacked, 0, ""},
			{17, bad(), Unacked, 0, ""}, // Bad: ignored, the delay runs on from the last good value
			{19, tick(), RTNUnacked, 0, "return>rtn_unacked"},
		}, config.Alarm{Tag: "t", Type: "hi", Limit: 80, Deadband: 2, OffDelay: dur("3s")})
	})
	t.Run("both", func(t *testing.T) {
		play(t, []step{
			{0, val(85), Normal, 0, ""},
			{0.5, val(70), Normal, 0, ""}, // too short to alarm
			{2, val(85), Normal, 0, ""},
			{3, val(70), Normal, 0, ""}, // gone exactly at the delay: not held through it
			{4, val(85), Normal, 0, ""},
			{6, val(70), Unacked, 0, "activate>unacked@5"}, // held through the on-delay, then gone
			{7, val(85), Unacked, 0, ""},                   // back before the off-delay
			{10, val(70), Unacked, 0, ""},
			{20, tick(), RTNUnacked, 0, "return>rtn_unacked@12"},
		}, config.Alarm{Tag: "t", Type: "hi", Limit: 80, OnDelay: dur("1s"), OffDelay: dur("2s")})
	})
}

func TestLatched(t *testing.T) {
	play(t, []step{
		{0, fails(reset(), ErrNothingToReset), Normal, 0, ""},
		{1, val(90), Unacked, 0, "activate>unacked"},
		{2, fails(reset(), ErrNothingToReset), Unacked, 0, ""}, // the condition is still there
		{3, val(70), LatchedUnacked, 0, "return>latched_unacked"},
		{4, fails(reset(), ErrNothingToReset), LatchedUnacked, 0, ""}, // acknowledge first
		{5, ack(), LatchedAcked, 0, "ack>latched_acked"},
		{6, fails(ack(), ErrNothingToAck), LatchedAcked, 0, ""},
		{7, val(60), LatchedAcked, 0, ""},
		{8, reset(), Normal, 0, "reset>normal"},
		{9, fails(reset(), ErrNothingToReset), Normal, 0, ""},
		{10, val(90), Unacked, 0, "activate>unacked"},
		{11, ack(), Acked, 0, "ack>acked"},
		{12, val(70), LatchedAcked, 0, "return>latched_acked"},
		{13, val(90), Unacked, 0, "activate>unacked"}, // re-alarm while latched
		{14, val(70), LatchedUnacked, 0, "return>latched_unacked"},
		{15, val(90), Unacked, 0, "activate>unacked"},
	}, config.Alarm{Tag: "t", Type: "hi", Limit: 80, Latched: true})

	// A plain alarm has nothing to reset.
	play(t, []step{
		{0, val(90), Unacked, 0, "activate>unacked"},
		{1, val(70), RTNUnacked, 0, "return>rtn_unacked"},
		{2, fails(reset(), ErrNothingToReset), RTNUnacked, 0, ""},
	}, config.Alarm{Tag: "t", Type: "hi", Limit: 80})
}

func TestShelve(t *testing.T) {
	def := config.Alarm{Tag: "t", Type: "hi", Limit: 80, MaxShelve: dur("1h")}
	t.Run("timed", func(t *testing.T) {
		play(t, []step{
			{0, shelve(10 * time.Minute), Normal, FlagShelved, "shelve>normal"},
			{60, val(90), Unacked, FlagShelved, "activate>unacked"}, // still evaluated
			{70, val(70), RTNUnacked, FlagShelved, "return>rtn_unacked"},
			{599.999, tick(), RTNUnacked, FlagShelved, ""},
			{600, tick(), Normal, 0, "unshelve>normal"}, // expired; what happened meanwhile needs no ack
			{601, val(90), Unacked, 0, "activate>unacked"},
			{602, shelve(time.Minute), Unacked, FlagShelved, "shelve>unacked"},
			{603, shelve(2 * time.Minute), Unacked, FlagShelved, "shelve>unacked"}, // shelved again, for longer
			{722, tick(), Unacked, FlagShelved, ""},
			{724, val(95), Unacked, 0, "unshelve>unacked@723"}, // expired at 603+120
			{725, fails(unshelve(), ErrNotShelved), Unacked, 0, ""},
			{726, fails(shelve(61*time.Minute), ErrShelveDuration), Unacked, 0, ""},
			{727, fails(shelve(-time.Second), ErrShelveDuration), Unacked, 0, ""},
			{728, shelve(time.Hour), Unacked, FlagShelved, "shelve>unacked"}, // the maximum
			{729, unshelve(), Unacked, 0, "unshelve>unacked"},
			{730, ack(), Acked, 0, "ack>acked"},
			{731, shelve(time.Hour), Acked, FlagShelved, "shelve>acked"},
			{732, val(0), Normal, FlagShelved, "return>normal"},
			{733, unshelve(), Normal, 0, "unshelve>normal"},
		}, def)
	})
	t.Run("one-shot", func(t *testing.T) {
		play(t, []step{
			{0, val(90), Unacked, 0, "activate>unacked"},
			{1, shelve(OneShot), Unacked, FlagShelved, "shelve>unacked"},
			{2, val(95), Unacked, FlagShelved, ""},
			{3, val(70), Normal, 0, "return>rtn_unacked unshelve>normal"}, // ends on return
			{4, val(90), Unacked, 0, "activate>unacked"},                  // and alarms again
			{5, ack(), Acked, 0, "ack>acked"},
			{6, shelve(OneShot), Acked, FlagShelved, "shelve>acked"},
			{7, val(0), Normal, 0, "return>normal unshelve>normal"},
			{8, shelve(OneShot), Normal, FlagShelved, "shelve>normal"}, // shelved while normal: until it next returns
			{9, val(90), Unacked, FlagShelved, "activate>unacked"},
			{10, val(0), Normal, 0, "return>rtn_unacked unshelve>normal"},
			{11, val(90), Unacked, 0, "activate>unacked"},
			{12, shelve(OneShot), Unacked, FlagShelved, "shelve>unacked"},
			{3611, tick(), Unacked, FlagShelved, ""},
			{3612, tick(), Unacked, 0, "unshelve>unacked"}, // a one-shot shelve lasts the maximum at most
		}, def)
	})
	t.Run("expiry and delay in one tick", func(t *testing.T) {
		d := def
		d.OnDelay = dur("5s")
		play(t, []step{
			{0, shelve(time.Minute), Normal, FlagShelved, "shelve>normal"},
			{58, val(90), Normal, FlagShelved, ""},
			{100, tick(), Unacked, 0, "unshelve>normal@60 activate>unacked@63"}, // in the order they happened
			{101, val(0), RTNUnacked, 0, "return>rtn_unacked"},
			{102, shelve(time.Minute), RTNUnacked, FlagShelved, "shelve>rtn_unacked"},
			{103, val(90), RTNUnacked, FlagShelved, ""},
			{200, tick(), Unacked, 0, "activate>unacked@108 unshelve>unacked@162"},
		}, d)
	})
	t.Run("default maximum", func(t *testing.T) {
		play(t, []step{
			{0, shelve(config.DefaultMaxShelve), Normal, FlagShelved, "shelve>normal"},
			{1, fails(shelve(config.DefaultMaxShelve+time.Second), ErrShelveDuration), Normal, FlagShelved, ""},
		}, config.Alarm{Tag: "t", Type: "hi", Limit: 80})
	})
}

func TestSuppressedByDesign(t *testing.T) {
	// A low-flow alarm, suppressed while the pump is stopped.
	def := config.Alarm{Tag: "t", Type: "lo", Limit: 10, SuppressedBy: &config.Condition{Tag: "run", Equals: 0}}
	play(t, []step{
		{0, valOf("run", 1), Normal, 0, ""},
		{1, val(5), Unacked, 0, "activate>unacked"},
		{2, valOf("run", 0), Unacked, FlagSuppressed, "suppress>unacked"}, // suppression while active
		{3, val(2), Unacked, FlagSuppressed, ""},
		{4, val(50), RTNUnacked, FlagSuppressed, "return>rtn_unacked"},
		{5, val(5), Unacked, FlagSuppressed, "activate>unacked"},
		{6, valOf("run", 0), Unacked, FlagSuppressed, ""},
		{7, badValue("run", 0), Unacked, 0, "unsuppress>unacked"}, // a condition that is not Good does not suppress
		{8, valOf("run", 0), Unacked, FlagSuppressed, "suppress>unacked"},
		{9, ack(), Acked, FlagSuppressed, "ack>acked"},
		{10, val(50), Normal, FlagSuppressed, "return>normal"},
		{11, val(5), Unacked, FlagSuppressed, "activate>unacked"},
		{12, val(50), RTNUnacked, FlagSuppressed, "return>rtn_unacked"},
		{13, valOf("run", 1), Normal, 0, "unsuppress>normal"}, // the nuisance needs no ack
		{14, valOf("run", 2), Normal, 0, ""},
	}, def)
}

func TestOutOfService(t *testing.T) {
	def := config.Alarm{Tag: "t", Type: "hi", Limit: 80}
	play(t, []step{
		{0, val(90), Unacked, 0, "activate>unacked"},
		{1, oos(), Unacked, FlagOutOfService, "out_of_service>unacked"}, // while active
		{2, fails(oos(), ErrAlreadyOutOfService), Unacked, FlagOutOfService, ""},
		{3, val(70), RTNUnacked, FlagOutOfService, "return>rtn_unacked"},
		{4, val(90), Unacked, FlagOutOfService, "activate>unacked"},
		{5, ins(), Unacked, 0, "in_service>unacked"},
		{6, fails(ins(), ErrNotOutOfService), Unacked, 0, ""},
		{7, ack(), Acked, 0, "ack>acked"},
		{8, oos(), Acked, FlagOutOfService, "out_of_service>acked"},
		{9, val(70), Normal, FlagOutOfService, "return>normal"},
		{10, ins(), Normal, 0, "in_service>normal"},
		// Shelved and out of service: the return needs no ack once both end.
		{11, val(90), Unacked, 0, "activate>unacked"},
		{12, shelve(time.Hour), Unacked, FlagShelved, "shelve>unacked"},
		{13, oos(), Unacked, FlagShelved | FlagOutOfService, "out_of_service>unacked"},
		{14, val(70), RTNUnacked, FlagShelved | FlagOutOfService, "return>rtn_unacked"},
		{15, unshelve(), RTNUnacked, FlagOutOfService, "unshelve>rtn_unacked"},
		{16, ins(), Normal, 0, "in_service>normal"},
	}, def)
}

func TestDeviation(t *testing.T) {
	def := config.Alarm{Tag: "t", Type: "deviation", Setpoint: "sp", Limit: 5, Deadband: 1}
	s := play(t, []step{
		{0, val(50), Normal, 0, ""}, // no setpoint yet
		{1, valOf("sp", 50), Normal, 0, ""},
		{2, val(55), Unacked, 0, "activate>unacked"}, // +5: at the limit
		{3, val(54.5), Unacked, 0, ""},               // +4.5: inside the deadband
		{4, valOf("sp", 51), RTNUnacked, 0, "return>rtn_unacked"},
		{5, valOf("sp", 60), Unacked, 0, "activate>unacked"}, // -5.5
		{6, badValue("sp", 100), Unacked, 0, ""},
		{7, val(100), Unacked, 0, ""}, // no good setpoint: held
		{8, valOf("sp", 100), RTNUnacked, 0, "return>rtn_unacked"},
		{9, bad(), RTNUnacked, 0, ""},
		{10, valOf("sp", 0), RTNUnacked, 0, ""}, // no good value: held
		{11, val(6), Unacked, 0, "activate>unacked"},
	}, def)
	if snap, _ := s.Get("x"); snap.Value != hmi.Number(6) {
		t.Errorf("value at the alarm = %v, want the deviation 6", snap.Value)
	}

	def.Direction = "high"
	play(t, []step{
		{0, valOf("sp", 50), Normal, 0, ""},
		{1, val(40), Normal, 0, ""}, // below: not this alarm
		{2, val(56), Unacked, 0, "activate>unacked"},
		{3, val(40), RTNUnacked, 0, "return>rtn_unacked"},
	}, def)
	def.Direction = "low"
	play(t, []step{
		{0, valOf("sp", 50), Normal, 0, ""},
		{1, val(60), Normal, 0, ""},
		{2, val(45), Unacked, 0, "activate>unacked"},
		{3, val(46), Unacked, 0, ""}, // -4: inside the deadband
		{4, val(46.1), RTNUnacked, 0, "return>rtn_unacked"},
	}, def)
}

func TestRateOfChange(t *testing.T) {
	def := config.Alarm{Tag: "t", Type: "roc", Limit: 1, Window: dur("10s")}
	steps := []step{
		{0, val(0), Normal, 0, ""},
		{5, val(5), Normal, 0, ""},                        // less than a window of history: no rate yet
		{10, val(10), Unacked, 0, "activate>unacked"},     // 10 in 10 s: 1/s, at the limit
		{15, tick(), RTNUnacked, 0, "return>rtn_unacked"}, // 5 in the last 10 s
		{16, ack(), Normal, 0, "ack>normal"},
		{20, tick(), Normal, 0, ""},
		{21, val(-5), Unacked, 0, "activate>unacked"}, // falling 15 in 10 s
		{22, bad(), Unacked, 0, ""},                   // forgets the history
		{23, val(100), Unacked, 0, ""},                // no rate across the gap
		{32, tick(), Unacked, 0, ""},
		{33, val(100), RTNUnacked, 0, "return>rtn_unacked"}, // a whole window at 100
		{34, val(113), Unacked, 0, "activate>unacked"},      // 13 in 10 s
		{35, ack(), Acked, 0, "ack>acked"},
		{50, tick(), Normal, 0, "return>normal"},
		{51, badValue("t", 113), Normal, 0, ""},
		{52, val(200), Normal, 0, ""}, // 113 held at 42, but not across the gap
		{62, val(200), Normal, 0, ""},
	}
	if snap, _ := play(t, steps[:12], def).Get("x"); snap.Value != hmi.Number(1.3) {
		t.Errorf("value at the alarm = %v, want the rate 1.3", snap.Value)
	}
	play(t, steps, def)

	def.Direction = "high"
	play(t, []step{
		{0, val(100), Normal, 0, ""},
		{10, val(50), Normal, 0, ""}, // falling: not this alarm
		{20, val(70), Unacked, 0, "activate>unacked"},
	}, def)
	def.Direction = "low"
	def.Deadband = 0.5
	play(t, []step{
		{0, val(0), Normal, 0, ""},
		{10, val(50), Normal, 0, ""},                  // rising: not this alarm
		{20, val(30), Unacked, 0, "activate>unacked"}, // 50 → 30: -2/s
		{25, tick(), Unacked, 0, ""},                  // still 50 at 15
		{26, val(25), Unacked, 0, ""},
		{31, tick(), Unacked, 0, ""}, // 30 at 21 → 25: -0.5/s, at limit − deadband
		{32, val(24.9), Unacked, 0, ""},
		{37, tick(), RTNUnacked, 0, "return>rtn_unacked"}, // 25 at 27 → 24.9
	}, def)
}

func TestDiscreteAndQuality(t *testing.T) {
	play(t, []step{
		{0, val(0), Normal, 0, ""},
		{1, val(1), Unacked, 0, "activate>unacked"},
		{2, val(1), Unacked, 0, ""},
		{3, val(0.5), RTNUnacked, 0, "return>rtn_unacked"},
		{4, sample("t", hmi.Sample{Value: hmi.Bool(true), Quality: hmi.Good}), Unacked, 0, "activate>unacked"},
		{5, bad(), Unacked, 0, ""},
		{6, sample("t", hmi.Sample{Value: hmi.Bool(false), Quality: hmi.Good}), RTNUnacked, 0, "return>rtn_unacked"},
	}, config.Alarm{Tag: "t", Type: "discrete", Equals: 1})

	// A state number, with an on-delay.
	play(t, []step{
		{0, val(3), Normal, 0, ""},
		{1, val(4), Normal, 0, ""},
		{3, tick(), Unacked, 0, "activate>unacked"},
		{4, val(3), RTNUnacked, 0, "return>rtn_unacked"},
	}, config.Alarm{Tag: "t", Type: "discrete", Equals: 4, OnDelay: dur("2s")})

	s := play(t, []step{
		{0, val(1), Normal, 0, ""},
		{1, bad(), Unacked, 0, "activate>unacked"},
		{2, uncertain(3), RTNUnacked, 0, "return>rtn_unacked"}, // only Bad is bad
		{3, ack(), Normal, 0, "ack>normal"},
	}, config.Alarm{Tag: "t", Type: "bad_quality"})
	if snap, _ := s.Get("x"); !snap.Value.IsZero() {
		t.Errorf("bad quality alarm value = %v, want none", snap.Value)
	}
	play(t, []step{
		{0, bad(), Normal, 0, ""},
		{1, val(1), Normal, 0, ""}, // back within the on-delay
		{2, bad(), Normal, 0, ""},
		{5, tick(), Unacked, 0, "activate>unacked@4"},
	}, config.Alarm{Tag: "t", Type: "bad_quality", OnDelay: dur("2s")})

	play(t, []step{
		{0, device("plc", true), Normal, 0, ""},
		{1, device("other", false), Normal, 0, ""},
		{2, device("plc", false), Unacked, 0, "activate>unacked"},
		{3, val(1), Unacked, 0, ""},
		{4, device("plc", true), RTNUnacked, 0, "return>rtn_unacked"},
	}, config.Alarm{Type: "comm", Device: "plc"})
}

func TestDeadbandChatter(t *testing.T) {
	for _, tc := range []struct {
		typ          string
		limit, sign  float64
		first, inner []float64
	}{
		{"hi", 80, 1, []float64{80}, []float64{79.5, 80.5, 78.01, 81, 78, 79.99}},
		{"lo", 20, -1, []float64{20}, []float64{20.5, 19.5, 21.99, 19, 22, 20.01}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			s, err := NewSet([]config.Alarm{{Name: "x", Tag: "t", Type: tc.typ, Limit: tc.limit, Deadband: 2}})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			count := func(v float64) { n += len(s.Evaluate(nil, "t", good(v), t0)) }
			count(tc.first[0])
			for range 100 {
				for _, v := range tc.inner {
					count(v)
				}
			}
			if snap, _ := s.Get("x"); n != 1 || snap.State != Unacked {
				t.Fatalf("%d transitions, state %v; want 1, unacked", n, snap.State)
			}
			// Back and forth around limit ∓ deadband, below the limit: one
			// return, then nothing until the limit is reached again.
			edge := tc.limit - tc.sign*2
			for range 100 {
				count(edge - tc.sign*0.01)
				count(edge + tc.sign*0.01)
				count(tc.limit - tc.sign*0.01)
			}
			if snap, _ := s.Get("x"); n != 2 || snap.State != RTNUnacked {
				t.Fatalf("%d transitions, state %v; want 2, rtn_unacked", n, snap.State)
			}
		})
	}
}

func TestTransitionFields(t *testing.T) {
	s, err := NewSet([]config.Alarm{{Name: "P1.hi", Tag: "P1", Type: "hi", Limit: 10, Priority: "high",
		Area: "pumps", Message: "Pump pressure high", MaxShelve: dur("1h")}})
	if err != nil {
		t.Fatal(err)
	}
	trs := s.Evaluate(nil, "P1", good(12), at(1))
	want := Transition{Alarm: "P1.hi", Kind: Activate, From: Normal, To: Unacked, Value: 12, At: at(1),
		Priority: High, Area: "pumps", Message: "Pump pressure high"}
	if len(trs) != 1 || trs[0] != want {
		t.Fatalf("activate = %+v\nwant %+v", trs, want)
	}
	s.Evaluate(nil, "P1", good(13), at(2))
	trs, err = s.Ack("P1.hi", "ann", "checking pump", at(3))
	want = Transition{Alarm: "P1.hi", Kind: Ack, From: Unacked, To: Acked, Value: 13, At: at(3),
		User: "ann", Comment: "checking pump", Priority: High, Area: "pumps", Message: "Pump pressure high"}
	if err != nil || len(trs) != 1 || trs[0] != want {
		t.Fatalf("ack = %+v, %v\nwant %+v", trs, err, want)
	}
	trs, err = s.Shelve("P1.hi", "bob", "transmitter fault", 30*time.Minute, at(4))
	want = Transition{Alarm: "P1.hi", Kind: Shelve, From: Acked, To: Acked, Value: 13, At: at(4),
		User: "bob", Comment: "transmitter fault", Priority: High, Area: "pumps", Message: "Pump pressure high",
		Flags: FlagShelved, Until: at(4).Add(30 * time.Minute)}
	if err != nil || len(trs) != 1 || trs[0] != want {
		t.Fatalf("shelve = %+v, %v\nwant %+v", trs, err, want)
	}
	snap, _ := s.Get("P1.hi")
	if !snap.Shelved || snap.OneShot || snap.ShelvedBy != "bob" || snap.ShelveReason != "transmitter fault" ||
		snap.ShelvedUntil != at(4).Add(30*time.Minute).UnixMilli() || snap.AckedBy != "ann" || snap.Since != at(1).UnixMilli() {
		t.Fatalf("snapshot %+v", snap)
	}
	trs = s.Tick(nil, at(4).Add(time.Hour))
	want = Transition{Alarm: "P1.hi", Kind: Unshelve, From: Acked, To: Acked, Value: 13, At: at(4).Add(30 * time.Minute),
		Comment: "shelve expired", Priority: High, Area: "pumps", Message: "Pump pressure high"}
	if len(trs) != 1 || trs[0] != want {
		t.Fatalf("expiry = %+v\nwant %+v", trs, want)
	}
	// A new occurrence needs its own acknowledgement.
	s.Evaluate(nil, "P1", good(1), at(5000))
	s.Evaluate(nil, "P1", good(11), at(5001))
	if snap, _ := s.Get("P1.hi"); snap.AckedBy != "" || snap.Since != at(5001).UnixMilli() || snap.Value != hmi.Number(11) {
		t.Fatalf("re-alarm snapshot %+v", snap)
	}
}

func TestHistory(t *testing.T) {
	h := newHistory(10 * time.Second) // slots of 312.5ms
	if _, ok := h.rate(at(0)); ok {
		t.Fatal("a rate from no history")
	}
	h.add(at(0), 0)
	h.add(at(0.1), 1) // same slot: the slot's latest value
	h.add(at(0.3), 2)
	h.add(at(5), 7)
	if _, ok := h.rate(at(10.29)); ok {
		t.Fatal("a rate before a whole window")
	}
	if r, ok := h.rate(at(10.3)); !ok || r != 0.5 { // 2 held from 0.3, 7 now
		t.Fatalf("rate at 10.3 = %v, %v; want 0.5", r, ok)
	}
	if r, _ := h.rate(at(15)); r != 0 || h.n != 1 {
		t.Fatalf("rate at 15 = %v with %d points; want 0 with 1", r, h.n)
	}
	// Many samples: the ring never overflows a window.
	for i := range 10000 {
		h.add(at(20+float64(i)*0.001), float64(i))
	}
	if h.n > histSlots+2 {
		t.Fatalf("%d points", h.n)
	}
	// A clock that jumps back starts over.
	h.add(at(1), 3)
	if h.n != 1 || h.at(0).v != 3 {
		t.Fatalf("after a jump back: %d points", h.n)
	}
}
