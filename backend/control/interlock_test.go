package control

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

const interlockProject = `name: t
devices:
  - {name: plc, driver: modbus-tcp, host: h}
tags:
  - {name: T101.Level, device: plc, address: IR0, type: double}
  - {name: P101.Start, device: plc, address: C0, type: bool, writable: true}
  - {name: P101.Running, device: plc, address: C1, type: bool, writable: true}
  - {name: XV101.Open, device: plc, address: C2, type: bool, writable: true}
  - {name: Other, device: plc, address: IR1, type: double}
  - {name: Speed, device: plc, address: HR0, type: double, writable: true}
interlocks:
  - name: P101.DryRun
    when: T101.Level < 10
    blocks: [{tag: P101.Start, value: 1}]
    forces: [{tag: P101.Running, value: 0}]
    message: "Tank low: pump would run dry"
  - name: SpeedLock
    when: Other > 5
    blocks: [{tag: Speed}]
`

func newInterlocks(t *testing.T) (*Interlocks, *tags.DB, *writes, func() []hmi.Event) {
	t.Helper()
	p, err := config.Parse("p.yaml", []byte(interlockProject), nil)
	if err != nil {
		t.Fatal(err)
	}
	db := tags.New(p.Tags)
	w := newWrites(db)
	var mu sync.Mutex
	var events []hmi.Event
	s, err := NewInterlocks(p.Interlocks, db, w.write, quiet, func(e hmi.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	return s, db, w, func() []hmi.Event { mu.Lock(); defer mu.Unlock(); return slices.Clone(events) }
}

func state(s *Interlocks, name string) InterlockState {
	for _, st := range s.States() {
		if st.Name == name {
			return st
		}
	}
	return InterlockState{}
}

func TestInterlockEvaluation(t *testing.T) {
	s, db, w, events := newInterlocks(t)
	start, _ := db.Lookup("P101.Start")
	running, _ := db.Lookup("P101.Running")
	speed, _ := db.Lookup("Speed")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	// Before the first reading: active (fail safe) but not forcing.
	waitFor(t, "first evaluation", func() bool { return state(s, "P101.DryRun").Active })
	if st := state(s, "P101.DryRun"); st.Reason != "T101.Level is Bad (not read yet)" {
		t.Errorf("reason before a reading = %q", st.Reason)
	}
	if r, ok := s.Blocking(start, hmi.Bool(true)); !ok || r.Interlock != "P101.DryRun" {
		t.Errorf("start not blocked before the level was read: %+v %v", r, ok)
	}

	set(db, "T101.Level", 50, hmi.Good)
	set(db, "P101.Running", 1, hmi.Good)
	set(db, "Other", 0, hmi.Good)
	waitFor(t, "clear", func() bool { return !state(s, "P101.DryRun").Active && !state(s, "SpeedLock").Active })
	if _, n := w.last("P101.Running"); n != 0 {
		t.Fatalf("%d forces written before the interlock was armed and active", n)
	}
	if _, ok := s.Blocking(start, hmi.Bool(true)); ok {
		t.Error("start blocked while the level is 50")
	}
	if names := s.ForTag(start); len(names) != 0 {
		t.Errorf("ForTag while clear = %v", names)
	}

	// The level falls: active, the pump is forced off once.
	set(db, "T101.Level", 4.5, hmi.Good)
	waitFor(t, "active", func() bool { return state(s, "P101.DryRun").Active })
	if v := w.waitN(t, "P101.Running", 1); v != 0 {
		t.Errorf("forced P101.Running = %v, want 0", v)
	}
	st := state(s, "P101.DryRun")
	if st.Reason != "T101.Level < 10 (T101.Level = 4.5)" || st.Since.IsZero() || st.Message != "Tank low: pump would run dry" {
		t.Errorf("state %+v", st)
	}
	if r, ok := s.Blocking(start, hmi.Bool(true)); !ok || r.Forced || !strings.Contains(r.Error(), "refused by interlock P101.DryRun: Tank low: pump would run dry (T101.Level < 10") {
		t.Errorf("start while active: %v, %v", r, ok)
	}
	if _, ok := s.Blocking(start, hmi.Bool(false)); ok {
		t.Error("writing 0 to the start button is blocked; only 1 is")
	}
	if r, ok := s.Blocking(running, hmi.Bool(true)); !ok || !r.Forced || r.Value != 0 {
		t.Errorf("writing 1 to the forced tag: %+v %v, want refused as forced to 0", r, ok)
	}
	if _, ok := s.Blocking(running, hmi.Bool(false)); ok {
		t.Error("writing the forced value itself is refused")
	}
	if name, v, ok := s.ForcedBy(running); !ok || name != "P101.DryRun" || v != 0 {
		t.Errorf("ForcedBy = %q %v %v", name, v, ok)
	}
	if names := s.ForTag(start); len(names) != 1 || names[0] != "P101.DryRun" {
		t.Errorf("ForTag(P101.Start) = %v", names)
	}
	// Another level change while active: no second force (edge-triggered).
	set(db, "T101.Level", 4, hmi.Good)
	waitFor(t, "new reason", func() bool { return strings.Contains(state(s, "P101.DryRun").Reason, "= 4)") })
	time.Sleep(20 * time.Millisecond)
	if _, n := w.last("P101.Running"); n != 1 {
		t.Errorf("%d force writes after a level change, want still 1", n)
	}
	// The force is read back; then the pump reads running again (someone
	// started it locally): re-asserted.
	set(db, "P101.Running", 0, hmi.Good)
	time.Sleep(20 * time.Millisecond)
	if _, n := w.last("P101.Running"); n != 1 {
		t.Errorf("%d force writes after the read-back of the forced value, want still 1", n)
	}
	set(db, "P101.Running", 1, hmi.Good)
	if v := w.waitN(t, "P101.Running", 2); v != 0 {
		t.Errorf("re-asserted %v, want 0", v)
	}

	// Bad quality keeps it active with the tag as the reason.
	set(db, "T101.Level", 50, hmi.Bad)
	waitFor(t, "bad reason", func() bool { return strings.HasPrefix(state(s, "P101.DryRun").Reason, "T101.Level is Bad") })
	set(db, "T101.Level", 50, hmi.Uncertain)
	waitFor(t, "uncertain reason", func() bool { return strings.HasPrefix(state(s, "P101.DryRun").Reason, "T101.Level is Uncertain") })
	set(db, "T101.Level", 50, hmi.Good)
	waitFor(t, "clear again", func() bool { return !state(s, "P101.DryRun").Active })

	// Only the interlocks of a changed tag are evaluated.
	before := s.evaluations("SpeedLock")
	for v := range 5 {
		set(db, "T101.Level", 60+float64(v), hmi.Good)
	}
	set(db, "Other", 6, hmi.Good)
	waitFor(t, "SpeedLock", func() bool { return state(s, "SpeedLock").Active })
	if n := s.evaluations("SpeedLock") - before; n != 1 {
		t.Errorf("SpeedLock evaluated %d times for one change of its tag among six changes, want 1", n)
	}
	if r, ok := s.Blocking(speed, hmi.Number(12)); !ok || r.Interlock != "SpeedLock" {
		t.Errorf("a block without a value refuses every write: %+v %v", r, ok)
	}

	// Logged once armed: the start, before the tags were read, is not news.
	var acts []string
	for _, e := range events() {
		acts = append(acts, e.Source+" "+e.Action)
	}
	if got := strings.Join(acts, ", "); got != "P101.DryRun interlock.active, P101.DryRun interlock.clear, SpeedLock interlock.active" {
		t.Errorf("events: %s", got)
	}
}

// TestInterlockBlocksBeforeRun: before Run has evaluated anything (and
// before any tag was read), commands are refused and nothing is forced.
func TestInterlockBlocksBeforeRun(t *testing.T) {
	s, db, w, events := newInterlocks(t)
	start, _ := db.Lookup("P101.Start")
	if r, ok := s.Blocking(start, hmi.Bool(true)); !ok || r.Reason != "T101.Level is Bad (not read yet)" {
		t.Errorf("before Run: %+v %v, want refused with the unread level as the reason", r, ok)
	}
	if _, n := w.last("P101.Running"); n != 0 || len(events()) != 0 {
		t.Errorf("%d forces and %d events before any tag was read, want none", n, len(events()))
	}
}

func TestInterlockNeedsCompiledCondition(t *testing.T) {
	db := tags.New([]config.Tag{{Name: "a", Type: "double", Writable: true}})
	v := 1.0
	_, err := NewInterlocks([]config.Interlock{{Name: "x", When: "a > 1", Blocks: []config.InterlockAction{{Tag: "a", Value: &v}}}}, db, nil, quiet, nil)
	if err == nil || !strings.Contains(err.Error(), "not compiled") {
		t.Errorf("err = %v, want not compiled", err)
	}
}
