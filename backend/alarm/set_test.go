package alarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

func good(v float64) hmi.Sample { return hmi.Sample{Value: hmi.Number(v), Quality: hmi.Good} }

func testSet(t *testing.T) *Set {
	t.Helper()
	s, err := NewSet([]config.Alarm{
		{Name: "TT1.hihi", Tag: "TT1", Type: "hihi", Limit: 90, Priority: "critical", Message: "Oven over temperature", Area: "oven"},
		{Name: "TT1.hi", Tag: "TT1", Type: "hi", Limit: 80, Deadband: 2, Priority: "high", Area: "oven"},
		{Name: "TT1.lo", Tag: "TT1", Type: "lo", Limit: 10, Priority: "low", Area: "oven"},
		{Name: "LT1.lo", Tag: "LT1", Type: "lo", Limit: 20, Priority: "high", Area: "tank"},
		{Name: "LT1.lolo", Tag: "LT1", Type: "lolo", Limit: 5, Priority: "critical", Area: "tank"},
		{Name: "PT1.hi", Tag: "PT1", Type: "hi", Limit: 6, Area: "pump"},
		{Name: "XS1", Tag: "XS1", Type: "discrete", Equals: 1, Priority: "high"}, // a boolean tag
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(snaps []Snapshot) string {
	var b strings.Builder
	for i, s := range snaps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Name + "/" + s.State.String())
	}
	return b.String()
}

func TestNewSetErrors(t *testing.T) {
	_, err := NewSet([]config.Alarm{
		{Name: "a", Tag: "t", Type: "hi"},
		{Name: "b", Tag: "t", Type: "bogus"},
		{Name: "a", Tag: "u", Type: "lo"},
		{Tag: "t", Type: "hi"},
		{Name: "c", Type: "hi"},
		{Name: "d", Type: "comm"},
		{Name: "e", Tag: "t", Type: "hi", Priority: "urgent"},
		{Name: "f", Tag: "t", Type: "hi", Limit: math.NaN()},
		{Name: "g", Tag: "t", Type: "hi", Deadband: -1},
		{Name: "h", Tag: "t", Type: "deviation", Limit: 1},
		{Name: "i", Tag: "t", Type: "deviation", Setpoint: "sp", Limit: 0},
		{Name: "j", Tag: "t", Type: "roc", Limit: 1, Direction: "up"},
		{Name: "k", Tag: "t", Type: "roc", Limit: 1, Deadband: 1},
		{Name: "l", Tag: "t", Type: "discrete", Equals: math.Inf(1)},
		{Name: "m", Tag: "t", Type: "hi", SuppressedBy: &config.Condition{}},
		{Name: "n", Tag: "t", Type: "hi", OnDelay: config.Duration{Duration: -time.Second}},
		{Name: "o", Tag: "t", Type: "hi", MaxShelve: config.Duration{Duration: -time.Second}},
		{Name: "p", Tag: "t", Type: "roc", Limit: 1, Window: config.Duration{Duration: -time.Second}},
	})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewSet error = %v, want ErrInvalid", err)
	}
	for _, want := range []string{
		`alarm "a": invalid alarm: the name is used twice`,
		`alarm "b": invalid alarm: type "bogus"`,
		`alarm "": invalid alarm: no name`,
		`alarm "c": invalid alarm: no tag`,
		`alarm "d": invalid alarm: no device`,
		`alarm "e": invalid alarm: priority "urgent"`,
		`alarm "f": invalid alarm: limit NaN is not a number`,
		`alarm "g": invalid alarm: deadband -1 must be 0 or more`,
		`alarm "h": invalid alarm: no setpoint tag`,
		`alarm "i": invalid alarm: limit 0 must be above 0`,
		`alarm "j": invalid alarm: direction "up"`,
		`alarm "k": invalid alarm: deadband 1 must be below the limit 1`,
		`alarm "l": invalid alarm: equals +Inf is not a number`,
		`alarm "m": invalid alarm: suppressed_by has no tag`,
		`alarm "n": invalid alarm: on_delay -1s is negative`,
		`alarm "o": invalid alarm: max_shelve -1s is negative`,
		`alarm "p": invalid alarm: window -1s is negative`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewSet error lacks %q:\n%v", want, err)
		}
	}
	s, err := NewSet(nil)
	if err != nil || s.Active() == nil || len(s.Active()) != 0 || s.Evaluate(nil, "t", good(1), t0) != nil || s.Len() != 0 {
		t.Fatalf("empty set: %v", err)
	}
}

func TestNewSetDefaults(t *testing.T) {
	s, err := NewSet([]config.Alarm{{Name: "LT1.lolo", Tag: "LT1", Type: "lolo", Limit: 5}})
	if err != nil {
		t.Fatal(err)
	}
	snap, ok := s.Get("LT1.lolo")
	want := Snapshot{Name: "LT1.lolo", Tag: "LT1", Type: LoLo, Priority: Medium, State: Normal, Message: "LT1.lolo"}
	if !ok || snap != want {
		t.Errorf("Get = %+v, %v\nwant  %+v", snap, ok, want)
	}
	if _, ok := s.Get("nope"); ok {
		t.Error("Get found an unknown alarm")
	}
	// The default maximum shelve is config.DefaultMaxShelve.
	if _, err := s.Shelve("LT1.lolo", "ann", "", config.DefaultMaxShelve+time.Nanosecond, t0); !errors.Is(err, ErrShelveDuration) ||
		!strings.Contains(err.Error(), "8h0m0s") {
		t.Errorf("shelve past the default maximum: %v", err)
	}
}

func TestSetEvaluate(t *testing.T) {
	s := testSet(t)
	if got := s.Evaluate(nil, "TT1", good(50), t0); got != nil {
		t.Fatalf("no change: %+v", got)
	}
	if got := s.Evaluate(nil, "nope", good(1e9), t0); got != nil {
		t.Fatalf("unknown tag: %+v", got)
	}
	// One sample trips two alarms of the tag, in project order, appended
	// to what dst holds.
	dst := make([]Transition, 1, 8)
	got := s.Evaluate(dst, "TT1", good(95), t0)
	if len(got) != 3 || got[0] != (Transition{}) || got[1].Alarm != "TT1.hihi" || got[2].Alarm != "TT1.hi" || &got[0] != &dst[0] {
		t.Fatalf("Evaluate = %+v", got)
	}
	// Inside the hi deadband: only hihi returns.
	got = s.Evaluate(nil, "TT1", good(79), t0)
	if len(got) != 1 || got[0].Alarm != "TT1.hihi" || got[0].To != RTNUnacked {
		t.Fatalf("Evaluate(79) = %+v", got)
	}
	// Booleans are 0 and 1.
	got = s.Evaluate(nil, "XS1", hmi.Sample{Value: hmi.Bool(true), Quality: hmi.Good}, t0)
	if len(got) != 1 || got[0].To != Unacked || got[0].Value != 1 {
		t.Fatalf("bool true: %+v", got)
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	s, err := NewSet([]config.Alarm{
		{Name: "hi", Tag: "t", Type: "hi", Limit: 80, Deadband: 1, OnDelay: dur("1s"), Group: "g"},
		{Name: "dev", Tag: "t", Type: "deviation", Setpoint: "sp", Limit: 5},
		{Name: "roc", Tag: "t", Type: "roc", Limit: 100},
		{Name: "q", Tag: "t", Type: "bad_quality", SuppressedBy: &config.Condition{Tag: "run", Equals: 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]Transition, 0, 16)
	now := t0
	s.Evaluate(dst, "sp", good(50), now)
	i := 0
	steady := testing.AllocsPerRun(1000, func() {
		i++
		now = now.Add(100 * time.Millisecond)
		dst = s.Evaluate(dst[:0], "t", good(50+float64(i%3)), now)
		dst = s.Tick(dst[:0], now)
	})
	// Alarms going on and off: transitions, and still no allocation.
	moving := testing.AllocsPerRun(1000, func() {
		i++
		now = now.Add(2 * time.Second)
		dst = s.Evaluate(dst[:0], "t", good(float64(i%2)*100), now)
		dst = s.Evaluate(dst[:0], "run", good(float64(i%2)), now)
		dst = s.Tick(dst[:0], now)
	})
	if steady != 0 || moving != 0 {
		t.Errorf("allocations per evaluation: steady %v, with transitions %v; want 0", steady, moving)
	}
}

func TestActiveOrder(t *testing.T) {
	s := testSet(t)
	s.Evaluate(nil, "PT1", good(7), at(1))  // PT1.hi medium, unacked
	s.Evaluate(nil, "LT1", good(15), at(2)) // LT1.lo high, unacked
	s.Evaluate(nil, "TT1", good(85), at(3)) // TT1.hi high, unacked, newer
	s.Evaluate(nil, "XS1", good(1), at(4))  // XS1 high, newest...
	s.Ack("XS1", "ann", "", at(5))          // ... but acked
	s.Evaluate(nil, "TT1", good(95), at(6)) // TT1.hihi critical
	s.Ack("TT1.hihi", "ann", "", at(7))     // acked
	s.Evaluate(nil, "LT1", good(1), at(8))  // LT1.lolo critical, unacked
	s.Evaluate(nil, "TT1", good(60), at(9))
	// TT1.hihi: acked → normal, gone; TT1.hi: unacked → rtn_unacked, stays.

	// Unacknowledged first, then by priority, then newest first.
	want := "LT1.lolo/unacked TT1.hi/rtn_unacked LT1.lo/unacked PT1.hi/unacked XS1/acked"
	if got := names(s.Active()); got != want {
		t.Fatalf("Active order:\n got %s\nwant %s", got, want)
	}
	s.Ack("LT1.lo", "bob", "", at(10))
	s.Ack("TT1.hi", "bob", "", at(11))
	want = "LT1.lolo/unacked PT1.hi/unacked XS1/acked LT1.lo/acked"
	if got := names(s.Active()); got != want {
		t.Fatalf("after acks:\n got %s\nwant %s", got, want)
	}
	// Hidden alarms leave the list; All keeps every alarm in project order.
	s.Shelve("LT1.lolo", "bob", "", time.Hour, at(12))
	s.RemoveFromService("PT1.hi", "eve", "", at(12))
	if got := names(s.Active()); got != "XS1/acked LT1.lo/acked" {
		t.Fatalf("with hidden alarms: %s", got)
	}
	want = "TT1.hihi/normal TT1.hi/normal TT1.lo/normal LT1.lo/acked LT1.lolo/unacked PT1.hi/unacked XS1/acked"
	if got := names(s.All()); got != want {
		t.Fatalf("All:\n got %s\nwant %s", got, want)
	}

	// Same state, priority and time: by name.
	s2, _ := NewSet([]config.Alarm{{Name: "b", Tag: "t", Type: "hi", Limit: 1}, {Name: "a", Tag: "t", Type: "hi", Limit: 1}})
	s2.Evaluate(nil, "t", good(2), t0)
	if got := names(s2.Active()); got != "a/unacked b/unacked" {
		t.Fatalf("tie: %s", got)
	}
}

func TestSummary(t *testing.T) {
	s := testSet(t)
	if got := s.Summary(); got != (Summary{}) {
		t.Fatalf("empty summary %+v", got)
	}
	s.Evaluate(nil, "TT1", good(95), at(1)) // hihi critical, hi high
	s.Evaluate(nil, "LT1", good(15), at(1)) // lo high
	s.Evaluate(nil, "PT1", good(7), at(1))  // medium
	s.Ack("TT1.hi", "ann", "", at(2))
	s.Shelve("PT1.hi", "ann", "", OneShot, at(2))
	s.Evaluate(nil, "XS1", good(1), at(3))
	s.RemoveFromService("XS1", "eve", "", at(3))
	want := Summary{Alarms: 3, Total: ByPriority{Critical: 1, High: 2}, Unacked: ByPriority{Critical: 1, High: 1},
		Horn: true, Shelved: 1, OutOfService: 1}
	if got := s.Summary(); got != want {
		t.Fatalf("Summary = %+v\nwant      %+v", got, want)
	}
	b, _ := json.Marshal(want)
	if string(b) != `{"alarms":3,"total":{"critical":1,"high":2,"medium":0,"low":0},"unacked":{"critical":1,"high":1,"medium":0,"low":0},"horn":true,"shelved":1,"suppressed":0,"out_of_service":1}` {
		t.Fatalf("Summary JSON %s", b)
	}
}

func TestHorn(t *testing.T) {
	s, err := NewSet([]config.Alarm{
		{Name: "a", Tag: "a", Type: "hi", Limit: 1},
		{Name: "b", Tag: "b", Type: "hi", Limit: 1},
		{Name: "c", Tag: "c", Type: "hi", Limit: 1, SuppressedBy: &config.Condition{Tag: "run", Equals: 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	horn := func(step string, want bool) {
		t.Helper()
		if s.Horn() != want || s.Summary().Horn != want {
			t.Fatalf("%s: horn %v, want %v", step, s.Horn(), want)
		}
	}
	horn("start", false)
	s.Evaluate(nil, "a", good(2), at(1))
	horn("a alarms", true)
	if !s.Silence(at(2)) || s.Silence(at(2)) {
		t.Fatal("Silence does not report whether the horn sounded")
	}
	horn("silenced", false)
	s.Evaluate(nil, "b", good(2), at(3))
	horn("b alarms after the silence", true)
	s.Evaluate(nil, "b", good(0), at(4))
	horn("b returned, not acknowledged", true)
	s.Ack("b", "ann", "", at(5))
	horn("b acknowledged, a silenced", false)

	// A hidden alarm never sounds.
	s.Shelve("a", "ann", "", time.Hour, at(6))
	s.Evaluate(nil, "a", good(0), at(6))
	s.Evaluate(nil, "a", good(2), at(7))
	horn("shelved a alarms", false)
	s.Unshelve("a", "ann", "", at(8))
	horn("a unshelved while unacknowledged", true)
	s.Ack("a", "ann", "", at(9))
	horn("a acknowledged", false)

	s.Evaluate(nil, "b", good(2), at(10))
	horn("b alarms", true)
	s.RemoveFromService("b", "eve", "", at(11))
	horn("b out of service", false)
	s.Evaluate(nil, "run", good(0), at(12))
	s.Evaluate(nil, "c", good(2), at(12))
	horn("suppressed c alarms", false)
	s.Evaluate(nil, "run", good(1), at(13))
	horn("c no longer suppressed", true)
	s.Silence(at(14))
	s.ReturnToService("b", "eve", "", at(15))
	horn("b back in service, unacknowledged", true)
}

func TestFirstOut(t *testing.T) {
	var defs []config.Alarm
	for _, n := range []string{"a", "b", "c"} {
		defs = append(defs, config.Alarm{Name: n, Tag: n, Type: "hi", Limit: 1, Group: "trip"})
	}
	defs = append(defs, config.Alarm{Name: "d", Tag: "d", Type: "hi", Limit: 1, Group: "other"})
	s, err := NewSet(defs)
	if err != nil {
		t.Fatal(err)
	}
	first := func(step, want string) {
		t.Helper()
		var got []string
		for _, snap := range s.All() {
			if snap.FirstOut {
				got = append(got, snap.Name)
			}
		}
		if strings.Join(got, " ") != want {
			t.Fatalf("%s: first out %q, want %q", step, strings.Join(got, " "), want)
		}
	}
	flagged := func(trs []Transition) bool { return len(trs) == 1 && trs[0].Flags&FlagFirstOut != 0 }

	first("start", "")
	if trs := s.Evaluate(nil, "b", good(2), at(1)); !flagged(trs) {
		t.Fatalf("b first: %+v", trs)
	}
	if trs := s.Evaluate(nil, "a", good(2), at(2)); flagged(trs) {
		t.Fatalf("a second: %+v", trs)
	}
	if trs := s.Evaluate(nil, "d", good(2), at(2)); !flagged(trs) {
		t.Fatalf("d, first of its own group: %+v", trs)
	}
	first("b then a", "b d")
	s.AckAll([]string{"a", "b", "d"}, "ann", "", at(3))
	if trs := s.Evaluate(nil, "b", good(0), at(4)); !flagged(trs) || trs[0].To != Normal {
		t.Fatalf("b's return keeps its flag: %+v", trs)
	}
	first("b normal, a still active", "b d")
	s.Evaluate(nil, "a", good(0), at(5))
	first("the group is all normal", "d")

	if trs := s.Evaluate(nil, "c", good(2), at(6)); !flagged(trs) {
		t.Fatalf("c first of a new event: %+v", trs)
	}
	s.Evaluate(nil, "c", good(0), at(7)) // returned, not acknowledged: the group is not all normal
	if trs := s.Evaluate(nil, "a", good(2), at(8)); flagged(trs) {
		t.Fatalf("a while c waits for an ack: %+v", trs)
	}
	first("c returned unacknowledged", "c d")
	s.AckAll([]string{"a", "c"}, "ann", "", at(9))
	s.Evaluate(nil, "a", good(0), at(10))
	first("all normal again", "d")

	// Hidden alarms are not first out, and do not hold the group.
	s.Shelve("b", "ann", "", time.Hour, at(11))
	if trs := s.Evaluate(nil, "b", good(2), at(12)); len(trs) != 1 || trs[0].Flags != FlagShelved {
		t.Fatalf("shelved b alarms: %+v", trs)
	}
	first("shelved b alarms", "d")
	if trs := s.Evaluate(nil, "a", good(2), at(13)); !flagged(trs) {
		t.Fatalf("a after a shelved b: %+v", trs)
	}
}

func TestOperationErrors(t *testing.T) {
	s := testSet(t)
	ops := map[string]func() ([]Transition, error){
		"Ack":               func() ([]Transition, error) { return s.Ack("missing", "ann", "", t0) },
		"Reset":             func() ([]Transition, error) { return s.Reset("missing", "ann", "", t0) },
		"Shelve":            func() ([]Transition, error) { return s.Shelve("missing", "ann", "", time.Minute, t0) },
		"Unshelve":          func() ([]Transition, error) { return s.Unshelve("missing", "ann", "", t0) },
		"RemoveFromService": func() ([]Transition, error) { return s.RemoveFromService("missing", "ann", "", t0) },
		"ReturnToService":   func() ([]Transition, error) { return s.ReturnToService("missing", "ann", "", t0) },
	}
	for name, f := range ops {
		trs, err := f()
		if !errors.Is(err, ErrUnknownAlarm) || !strings.Contains(err.Error(), `"missing"`) || trs != nil {
			t.Errorf("%s of an unknown alarm: %v, %v", name, trs, err)
		}
	}
	_, err := s.Ack("LT1.lo", "ann", "", t0)
	if !errors.Is(err, ErrNothingToAck) || err.Error() != `alarm "LT1.lo" is normal: nothing to acknowledge` {
		t.Errorf("ack normal: %v", err)
	}
}

func TestAckAll(t *testing.T) {
	s := testSet(t)
	s.Evaluate(nil, "TT1", good(95), at(1))
	s.Evaluate(nil, "PT1", good(7), at(1))
	s.Ack("PT1.hi", "bob", "", at(2)) // acknowledged meanwhile by someone else
	trs, err := s.AckAll([]string{"TT1.hihi", "TT1.hi", "PT1.hi", "LT1.lo", "gone"}, "ann", "all seen", at(3))
	if !errors.Is(err, ErrUnknownAlarm) || !strings.Contains(err.Error(), `"gone"`) {
		t.Fatalf("AckAll error %v", err)
	}
	if len(trs) != 2 || trs[0].Alarm != "TT1.hihi" || trs[1].Alarm != "TT1.hi" || trs[1].Comment != "all seen" || trs[1].User != "ann" {
		t.Fatalf("AckAll = %+v", trs)
	}
	if got := names(s.Active()); got != "TT1.hihi/acked TT1.hi/acked PT1.hi/acked" {
		t.Fatalf("after AckAll: %s", got)
	}
	if trs, err := s.AckAll(nil, "ann", "", at(4)); trs != nil || err != nil {
		t.Fatalf("AckAll(nil) = %v, %v", trs, err)
	}
}

func TestSnapshotJSON(t *testing.T) {
	s := testSet(t)
	since := time.UnixMilli(1740816000123)
	s.Evaluate(nil, "TT1", good(92.5), since)
	s.Ack("TT1.hihi", "ann", "", since.Add(time.Second))

	b, err := json.Marshal(s.Active()[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"TT1.hihi","tag":"TT1","type":"hihi","priority":"critical","state":"acked","active":true,"unacked":false,` +
		`"message":"Oven over temperature","area":"oven","value":92.5,"since":1740816000123,"changed":1740816001123,"acked_by":"ann"}`
	if string(b) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", b, want)
	}
	s.Shelve("TT1.hi", "bob", "tuning", OneShot, since.Add(2*time.Second))
	s.RemoveFromService("TT1.hi", "eve", "", since.Add(2*time.Second))
	all := s.All()
	b, _ = json.Marshal(all[1])
	want = `{"name":"TT1.hi","tag":"TT1","type":"hi","priority":"high","state":"unacked","active":true,"unacked":true,` +
		`"message":"TT1.hi","area":"oven","value":92.5,"since":1740816000123,"changed":1740816002123,"acked_by":"",` +
		`"shelved":true,"shelved_until":1740844802123,"one_shot":true,"shelved_by":"bob","shelve_reason":"tuning",` +
		`"out_of_service":true,"out_of_service_by":"eve"}`
	if string(b) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", b, want)
	}

	// It decodes back to the same snapshots.
	var back []Snapshot
	enc, _ := json.Marshal(all)
	if err := json.Unmarshal(enc, &back); err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if back[i] != all[i] {
			t.Fatalf("round trip %d: %+v, want %+v", i, back[i], all[i])
		}
	}
	// An empty list is [], not null; a value that is not a number is null.
	empty, _ := NewSet(nil)
	if b, _ := json.Marshal(empty.Active()); string(b) != "[]" {
		t.Fatalf("empty: %s", b)
	}
	q, _ := NewSet([]config.Alarm{{Name: "q", Tag: "t", Type: "bad_quality"}})
	q.Evaluate(nil, "t", hmi.BadSample("down", t0), t0)
	if b, _ := json.Marshal(q.Active()[0]); !strings.Contains(string(b), `"value":null`) {
		t.Fatalf("bad quality alarm JSON %s", b)
	}
}

// TestStorm: 10,000 alarms going active in one evaluation batch, all
// reported, listed, counted, and one first out.
func TestStorm(t *testing.T) {
	const n = 10000
	defs := make([]config.Alarm, n)
	prios := []string{"low", "medium", "high", "critical"}
	for i := range defs {
		defs[i] = config.Alarm{Name: fmt.Sprintf("A%05d", i), Tag: fmt.Sprintf("T%05d", i), Type: "hi", Limit: 50,
			Priority: prios[i%4], Group: "line"}
	}
	// And 10,000 more on one tag: one sample raises them all.
	for i := range n {
		defs = append(defs, config.Alarm{Name: fmt.Sprintf("B%05d", i), Tag: "shared", Type: "lo", Limit: 0})
	}
	s, err := NewSet(defs)
	if err != nil {
		t.Fatal(err)
	}
	now := at(1)
	var trs []Transition
	for i := range n {
		trs = s.Evaluate(trs, defs[i].Tag, good(60), now)
	}
	trs = s.Evaluate(trs, "shared", good(-1), now)
	if len(trs) != 2*n {
		t.Fatalf("%d transitions, want %d", len(trs), 2*n)
	}
	seen := make(map[string]bool, 2*n)
	firsts := 0
	for _, tr := range trs {
		if tr.Kind != Activate || tr.To != Unacked || seen[tr.Alarm] {
			t.Fatalf("transition %+v", tr)
		}
		seen[tr.Alarm] = true
		if tr.Flags&FlagFirstOut != 0 {
			firsts++
		}
	}
	if firsts != 1 || trs[0].Flags&FlagFirstOut == 0 {
		t.Fatalf("%d first out, first transition %+v", firsts, trs[0])
	}
	active := s.Active()
	if len(active) != 2*n || active[0].Priority != Critical || active[len(active)-1].Priority != Low {
		t.Fatalf("%d active, first %+v", len(active), active[0])
	}
	sum := s.Summary()
	if sum.Alarms != 2*n || sum.Unacked.Critical != n/4 || sum.Unacked.Medium != n+n/4 || !sum.Horn {
		t.Fatalf("summary %+v", sum)
	}
	if trs := s.Tick(nil, at(2)); len(trs) != 0 {
		t.Fatalf("tick: %d transitions", len(trs))
	}
	names := make([]string, 0, 2*n)
	for _, a := range active {
		names = append(names, a.Name)
	}
	acks, err := s.AckAll(names, "ann", "storm", at(3))
	if err != nil || len(acks) != 2*n || s.Horn() || s.Summary().Unacked != (ByPriority{}) {
		t.Fatalf("AckAll: %d, %v, horn %v", len(acks), err, s.Horn())
	}
}
