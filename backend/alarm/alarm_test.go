package alarm

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func TestParseAndString(t *testing.T) {
	for _, n := range []string{"hihi", "hi", "lo", "lolo"} {
		ty, err := ParseType(n)
		if err != nil || ty.String() != n {
			t.Errorf("ParseType(%q) = %v, %v", n, ty, err)
		}
	}
	for _, n := range []string{"low", "medium", "high", "critical"} {
		p, err := ParsePriority(n)
		if err != nil || p.String() != n {
			t.Errorf("ParsePriority(%q) = %v, %v", n, p, err)
		}
	}
	for _, bad := range []string{"", "HI", "high", "h", "lowlow"} {
		if _, err := ParseType(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseType(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
	for _, bad := range []string{"", "Low", "urgent", "hi"} {
		if _, err := ParsePriority(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePriority(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
	if !(Critical > High && High > Medium && Medium > Low) {
		t.Error("priorities are not ordered low < medium < high < critical")
	}
	states := map[State]string{Normal: "normal", Unacked: "unacked", Acked: "acked", RTNUnacked: "rtn_unacked", 9: "state(9)"}
	for s, want := range states {
		if s.String() != want {
			t.Errorf("State(%d).String() = %q, want %q", s, s.String(), want)
		}
	}
	if Type(7).String() != "type(7)" || Priority(7).String() != "priority(7)" {
		t.Errorf("out of range: %v %v", Type(7), Priority(7))
	}
}

func TestNew(t *testing.T) {
	a, err := New(config.Alarm{Name: "TT101.hi", Tag: "TT101", Type: "hi", Limit: 80, Deadband: 2, Priority: "high", Message: "Oven hot", Area: "oven"})
	if err != nil {
		t.Fatal(err)
	}
	want := Alarm{Name: "TT101.hi", Tag: "TT101", Type: Hi, Limit: 80, Deadband: 2, Priority: High, Message: "Oven hot", Area: "oven"}
	if *a != want {
		t.Errorf("New = %+v\nwant  %+v", *a, want)
	}

	// Defaults as in the project file.
	a, err = New(config.Alarm{Name: "LT1.lolo", Tag: "LT1", Type: "lolo", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if a.Priority != Medium || a.Message != "LT1.lolo" || a.Type != LoLo || a.State != Normal || a.Active {
		t.Errorf("defaults: %+v", a)
	}

	bad := []struct {
		name string
		c    config.Alarm
		msg  string
	}{
		{"type", config.Alarm{Name: "a", Tag: "t", Type: "high"}, `type "high"`},
		{"no type", config.Alarm{Name: "a", Tag: "t"}, `type ""`},
		{"priority", config.Alarm{Name: "a", Tag: "t", Type: "hi", Priority: "urgent"}, `priority "urgent"`},
		{"name", config.Alarm{Tag: "t", Type: "hi"}, "no name"},
		{"tag", config.Alarm{Name: "a", Type: "hi"}, "no tag"},
		{"deadband", config.Alarm{Name: "a", Tag: "t", Type: "hi", Deadband: -1}, "deadband"},
		{"NaN limit", config.Alarm{Name: "a", Tag: "t", Type: "hi", Limit: math.NaN()}, "limit"},
		{"Inf deadband", config.Alarm{Name: "a", Tag: "t", Type: "hi", Deadband: math.Inf(1)}, "deadband"},
	}
	for _, b := range bad {
		a, err := New(b.c)
		if a != nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%s: New = %v, %v; want ErrInvalid mentioning %s", b.name, a, err, b.msg)
		}
	}
}

// TestStateMachine covers every state with every event.
func TestStateMachine(t *testing.T) {
	tests := []struct {
		from State
		ev   event
		to   State
		ok   bool
	}{
		{Normal, evAlarm, Unacked, true},
		{Normal, evReturn, Normal, false},
		{Normal, evAck, Normal, false},

		{Unacked, evAlarm, Unacked, false},
		{Unacked, evReturn, RTNUnacked, true},
		{Unacked, evAck, Acked, true},

		{Acked, evAlarm, Unacked, true}, // re-alarm
		{Acked, evReturn, Normal, true},
		{Acked, evAck, Acked, false},

		{RTNUnacked, evAlarm, Unacked, true}, // re-alarm
		{RTNUnacked, evReturn, RTNUnacked, false},
		{RTNUnacked, evAck, Normal, true},
	}
	for _, tt := range tests {
		to, ok := tt.from.next(tt.ev)
		if to != tt.to || ok != tt.ok {
			t.Errorf("%v.next(%d) = %v, %v; want %v, %v", tt.from, tt.ev, to, ok, tt.to, tt.ok)
		}
	}
}

// op is one step of a scenario: a sample to evaluate, or an acknowledgement.
type op struct {
	ack  bool
	v    float64
	q    hmi.Quality
	want State // state after the step
	tr   bool  // a transition is expected (or, for ack, success)
}

func ev(v float64, want State, tr bool) op { return op{v: v, q: hmi.Good, want: want, tr: tr} }
func ack(want State, ok bool) op           { return op{ack: true, want: want, tr: ok} }

// play runs a scenario on a and checks each step; mirror negates the values.
func play(t *testing.T, a *Alarm, ops []op, mirror bool) {
	t.Helper()
	for i, o := range ops {
		now := t0.Add(time.Duration(i) * time.Second)
		before := a.State
		var tr Transition
		var changed bool
		if o.ack {
			var err error
			tr, err = a.Ack("ann", "seen", now)
			changed = err == nil
			if !changed && !errors.Is(err, ErrNothingToAck) {
				t.Fatalf("step %d: ack error %v, want ErrNothingToAck", i, err)
			}
		} else {
			v := o.v
			if mirror {
				v = -v
			}
			tr, changed = a.Evaluate(v, o.q, now)
			if changed && tr.Value != v {
				t.Fatalf("step %d: transition value %g, want %g", i, tr.Value, v)
			}
		}
		what := "ack"
		if !o.ack {
			what = "evaluate " + hmi.Number(o.v).Text()
		}
		if a.State != o.want || changed != o.tr {
			t.Fatalf("step %d (%s): state %v, changed %v; want %v, %v", i, what, a.State, changed, o.want, o.tr)
		}
		if a.Active != (o.want == Unacked || o.want == Acked) {
			t.Fatalf("step %d (%s): Active %v in state %v", i, what, a.Active, a.State)
		}
		if changed {
			if tr.Alarm != a.Name || tr.From != before || tr.To != o.want || tr.Active != a.Active || !tr.At.Equal(now) || !a.ChangedAt.Equal(now) {
				t.Fatalf("step %d (%s): transition %+v from %v", i, what, tr, before)
			}
		} else if tr != (Transition{}) {
			t.Fatalf("step %d (%s): no change but transition %+v", i, what, tr)
		}
	}
}

// hiScenario is for a high alarm at 80 with deadband 2.
var hiScenario = []op{
	ev(70, Normal, false),
	ev(79.99, Normal, false),
	ack(Normal, false),
	ev(80, Unacked, true),  // at the limit
	ev(79, Unacked, false), // inside the deadband
	ev(78, Unacked, false), // at limit − deadband: not yet returned
	ev(81, Unacked, false),
	ev(78.5, Unacked, false),
	ev(77.9, RTNUnacked, true),
	ev(79.9, RTNUnacked, false), // below the limit: no re-alarm
	ev(80, Unacked, true),       // re-alarm
	ack(Acked, true),
	ack(Acked, false),
	ev(79, Acked, false),
	ev(120, Acked, false),
	ev(77, Normal, true),
	ack(Normal, false),
	ev(78, Normal, false),
	ev(79.99, Normal, false),
	ev(100, Unacked, true),
	ev(70, RTNUnacked, true),
	ack(Normal, true),
	ev(90, Unacked, true),
	ev(60, RTNUnacked, true),
	ev(90, Unacked, true), // re-alarm from RTNUnacked
	ack(Acked, true),
	ev(60, Normal, true),
	ev(90, Unacked, true),
	ack(Acked, true),
	ev(85, Acked, false),
}

// loScenario is for a low alarm at 20 with deadband 2.
var loScenario = []op{
	ev(30, Normal, false),
	ev(20.01, Normal, false),
	ev(20, Unacked, true),
	ev(21, Unacked, false),
	ev(22, Unacked, false), // at limit + deadband: not yet returned
	ev(5, Unacked, false),
	ev(22.1, RTNUnacked, true),
	ev(20.5, RTNUnacked, false),
	ack(Normal, true),
	ev(19, Unacked, true),
	ack(Acked, true),
	ev(21.9, Acked, false),
	ev(22.01, Normal, true),
}

func TestEvaluate(t *testing.T) {
	newAlarm := func(typ string, limit, db float64) *Alarm {
		a, err := New(config.Alarm{Name: "x", Tag: "t", Type: typ, Limit: limit, Deadband: db})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name   string
		typ    string
		limit  float64
		db     float64
		mirror bool
		ops    []op
	}{
		{"hi", "hi", 80, 2, false, hiScenario},
		{"hihi", "hihi", 80, 2, false, hiScenario},
		// lo at −80 sees −v: the same states as hi at 80 sees v.
		{"lo mirrors hi", "lo", -80, 2, true, hiScenario},
		{"lolo mirrors hi", "lolo", -80, 2, true, hiScenario},
		{"lo", "lo", 20, 2, false, loScenario},
		{"lolo", "lolo", 20, 2, false, loScenario},
		{"hi mirrors lo", "hi", -20, 2, true, loScenario},
		{"no deadband", "hi", 80, 0, false, []op{
			ev(80, Unacked, true),
			ev(80, Unacked, false),
			ev(79.999, RTNUnacked, true),
			ev(80, Unacked, true),
		}},
		{"lo no deadband", "lo", 20, 0, false, []op{
			ev(20, Unacked, true),
			ev(20.001, RTNUnacked, true),
		}},
		{"quality and NaN hold the state", "hi", 80, 2, false, []op{
			{v: 90, q: hmi.Bad, want: Normal},
			{v: 90, q: hmi.Uncertain, want: Normal},
			ev(math.NaN(), Normal, false),
			ev(math.Inf(1), Normal, false),
			ev(90, Unacked, true),
			{v: 0, q: hmi.Bad, want: Unacked},
			{v: 0, q: hmi.Uncertain, want: Unacked},
			ev(math.NaN(), Unacked, false),
			ev(math.Inf(-1), Unacked, false),
			ev(0, RTNUnacked, true),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			play(t, newAlarm(tt.typ, tt.limit, tt.db), tt.ops, tt.mirror)
		})
	}
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
			a, _ := New(config.Alarm{Name: "x", Tag: "t", Type: tc.typ, Limit: tc.limit, Deadband: 2})
			n := 0
			count := func(v float64) {
				if _, ok := a.Evaluate(v, hmi.Good, t0); ok {
					n++
				}
			}
			count(tc.first[0])
			for range 100 {
				for _, v := range tc.inner {
					count(v)
				}
			}
			if n != 1 || a.State != Unacked {
				t.Fatalf("%d transitions, state %v; want 1, unacked", n, a.State)
			}
			// Back and forth around limit ∓ deadband, below the limit: one
			// return, then nothing until the limit is reached again.
			edge := tc.limit - tc.sign*2
			for range 100 {
				count(edge - tc.sign*0.01)
				count(edge + tc.sign*0.01)
				count(tc.limit - tc.sign*0.01)
			}
			if n != 2 || a.State != RTNUnacked {
				t.Fatalf("%d transitions, state %v; want 2, rtn_unacked", n, a.State)
			}
		})
	}
}

func TestTimesAndUsers(t *testing.T) {
	a, _ := New(config.Alarm{Name: "P1.hi", Tag: "P1", Type: "hi", Limit: 10})
	t1, t2, t3, t4 := t0, t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)

	if _, err := a.Ack("bob", "", t1); !errors.Is(err, ErrNothingToAck) || !strings.Contains(err.Error(), `"P1.hi" is normal`) {
		t.Fatalf("ack in Normal: %v", err)
	}

	a.Evaluate(12, hmi.Good, t1)
	if !a.ActiveSince.Equal(t1) || a.Value != 12 || !a.AckedAt.IsZero() || a.AckedBy != "" {
		t.Fatalf("after alarm: %+v", a)
	}
	tr, err := a.Ack("ann", "checking pump", t2)
	want := Transition{Alarm: "P1.hi", From: Unacked, To: Acked, Active: true, Value: 12, At: t2, User: "ann", Comment: "checking pump"}
	if err != nil || tr != want {
		t.Fatalf("Ack = %+v, %v\nwant  %+v", tr, err, want)
	}
	if !a.AckedAt.Equal(t2) || a.AckedBy != "ann" || !a.ChangedAt.Equal(t2) || !a.ActiveSince.Equal(t1) {
		t.Fatalf("after ack: %+v", a)
	}
	if _, err := a.Ack("bob", "", t2); !errors.Is(err, ErrNothingToAck) {
		t.Fatalf("second ack: %v", err)
	}

	tr, _ = a.Evaluate(3, hmi.Good, t3)
	want = Transition{Alarm: "P1.hi", From: Acked, To: Normal, Value: 3, At: t3}
	if tr != want || !a.ActiveSince.Equal(t1) || a.AckedBy != "ann" {
		t.Fatalf("return = %+v\nwant     %+v; alarm %+v", tr, want, a)
	}

	// A new occurrence needs its own acknowledgement.
	a.Evaluate(11, hmi.Good, t4)
	if !a.ActiveSince.Equal(t4) || !a.AckedAt.IsZero() || a.AckedBy != "" || a.Value != 11 {
		t.Fatalf("re-alarm: %+v", a)
	}
}

func FuzzAlarm(f *testing.F) {
	f.Add(uint8(1), 80.0, 2.0, []byte{0, 0, 0, 10, 2, 0, 1, 200, 3, 1, 0, 100})
	f.Add(uint8(2), 20.0, 0.0, []byte{0, 0, 1, 1, 2, 2, 3, 3, 0, 255, 2, 9})
	f.Add(uint8(3), -1e300, 1e300, []byte{0, 127, 0, 128, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, typ uint8, limit, deadband float64, ops []byte) {
		a, err := New(config.Alarm{Name: "f", Tag: "t", Type: typeNames[typ%4], Limit: limit, Deadband: deadband})
		if err != nil {
			t.Skip()
		}
		span := max(deadband, 1)
		for i := 0; i+1 < len(ops); i += 2 {
			now := t0.Add(time.Duration(i) * time.Millisecond)
			// Values land around the limit and the deadband's edge.
			v := limit + float64(int8(ops[i+1]))/32*span
			before := a.State
			switch ops[i] % 4 {
			case 0, 1:
				tr, ok := a.Evaluate(v, hmi.Good, now)
				if ok && (tr.From != before || tr.To != a.State || tr.From == tr.To || tr.Active != a.Active) {
					t.Fatalf("transition %+v, state %v before, %v after", tr, before, a.State)
				}
				high := a.Type == Hi || a.Type == HiHi
				switch {
				case !finite(v): // overflowed: ignored, like NaN
					if ok {
						t.Fatalf("value %g changed the state", v)
					}
				case high && v >= limit, !high && v <= limit:
					if !a.Active {
						t.Fatalf("%v alarm at %g, limit %g: not active", a.Type, v, limit)
					}
				case high && v < limit-deadband, !high && v > limit+deadband:
					if a.Active {
						t.Fatalf("%v alarm at %g, limit %g, deadband %g: still active", a.Type, v, limit, deadband)
					}
				}
			case 2:
				_, err := a.Ack("u", "", now)
				if (err == nil) != (before == Unacked || before == RTNUnacked) {
					t.Fatalf("ack in %v: %v", before, err)
				}
			case 3:
				q := hmi.Quality(ops[i+1] % 3)
				if ops[i+1]&0x80 != 0 {
					v = math.NaN()
				}
				if _, ok := a.Evaluate(v, q, now); ok && (q != hmi.Good || math.IsNaN(v)) {
					t.Fatalf("quality %v value %g changed the state", q, v)
				}
			}
			if a.State > RTNUnacked {
				t.Fatalf("state %d out of range", a.State)
			}
			if a.Active != (a.State == Unacked || a.State == Acked) {
				t.Fatalf("Active %v in state %v", a.Active, a.State)
			}
		}
	})
}
