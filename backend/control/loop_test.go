package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// writes records the outputs written, per tag name.
type writes struct {
	db *tags.DB
	mu sync.Mutex
	// out holds every value written to a tag; block makes writes to a tag
	// wait until closed; fail makes them fail.
	out   map[string][]float64
	block map[string]chan struct{}
	fail  map[string]error
	// echo writes the value into the tag database, as a device's read-back.
	echo bool
}

func newWrites(db *tags.DB) *writes {
	return &writes{db: db, out: map[string][]float64{}, block: map[string]chan struct{}{}, fail: map[string]error{}}
}

func (w *writes) write(ctx context.Context, tag int, v hmi.Value) error {
	name := w.db.Def(tag).Name
	w.mu.Lock()
	block, fail := w.block[name], w.fail[name]
	w.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	w.mu.Lock()
	w.out[name] = append(w.out[name], v.Float())
	w.mu.Unlock()
	if w.echo {
		set(w.db, name, v.Float(), hmi.Good)
	}
	return nil
}

func (w *writes) last(name string) (float64, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o := w.out[name]
	if len(o) == 0 {
		return math.NaN(), 0
	}
	return o[len(o)-1], len(o)
}

// waitN waits for at least n writes to a tag and returns the last.
func (w *writes) waitN(t *testing.T, name string, n int) float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, got := w.last(name)
		if got >= n {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %d writes, want %d", name, got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func set(db *tags.DB, name string, v float64, q hmi.Quality) {
	i, ok := db.Lookup(name)
	if !ok {
		panic("no tag " + name)
	}
	db.Ingest([]driver.Reading{{Index: i, Sample: hmi.Sample{Value: hmi.Number(v), Quality: q, TS: time.Now(), Reason: map[bool]string{true: "test"}[q != hmi.Good]}}}, nil)
}

func loopTags(names ...string) *tags.DB {
	var defs []config.Tag
	for _, n := range names {
		defs = append(defs, config.Tag{Name: n, Device: "dev", Type: "double", Writable: true})
	}
	return tags.New(defs)
}

const fast = 10 * time.Millisecond

func loopCfg(name string, kp, ti float64) config.Loop {
	return config.Loop{Name: name, PV: name + ".pv", SP: name + ".sp", Out: name + ".out", Kp: kp, Ti: ti,
		OutLow: 0, OutHigh: 100, Period: config.Duration{Duration: fast}, POn: config.POnError, DFilter: config.DefaultDFilter}
}

// start runs the loops until the test ends.
func start(t *testing.T, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestLoopStartsBumplessAndFailsSafe(t *testing.T) {
	db := loopTags("L.pv", "L.sp", "L.out")
	lc := loopCfg("L", 2, 10)
	lc.FailSafe = config.FailSafe{Output: true, Value: 5}
	w := newWrites(db)
	r, err := NewRunner([]config.Loop{lc}, db, w.write, quiet, RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := r.Loop("L")
	set(db, "L.pv", 50, hmi.Good)
	set(db, "L.sp", 50, hmi.Good) // no error: the output must stay where the device has it
	set(db, "L.out", 42, hmi.Good)
	start(t, r)
	if v := w.waitN(t, "L.out", 3); v < 41.9 || v > 42.1 {
		t.Errorf("first outputs %v, want a bumpless start at 42", v)
	}
	set(db, "L.pv", 50, hmi.Bad) // PV lost: go to the fail-safe output
	_, n := w.last("L.out")
	if v := w.waitN(t, "L.out", n+2); v != 5 {
		t.Errorf("output with Bad PV = %v, want fail-safe 5", v)
	}
	st := l.State()
	if st.Mode != FailSafe || st.Target != Auto || !strings.Contains(st.Reason, "L.pv is Bad") {
		t.Errorf("state = mode %s, target %s, reason %q; want failsafe, auto, L.pv is Bad", st.Mode, st.Target, st.Reason)
	}
	if s := l.Stats(); s.Runs == 0 || s.Writes == 0 || s.JitterP99 < s.JitterP50 || s.JitterMax < s.JitterP99 {
		t.Errorf("stats not kept: %+v", s)
	}
	// The PV returns: back to auto from the fail-safe output, without a bump.
	set(db, "L.out", 5, hmi.Good)
	set(db, "L.pv", 50, hmi.Good)
	waitFor(t, "auto", func() bool { m, a := l.Mode(); return m == Auto && a == Auto })
	_, n = w.last("L.out")
	if v := w.waitN(t, "L.out", n+2); math.Abs(v-5) > 0.5 {
		t.Errorf("output after the PV returned = %v, want it to continue from 5", v)
	}
}

func TestLoopHoldsWithoutFailSafe(t *testing.T) {
	db := loopTags("L.pv", "L.sp", "L.out")
	w := newWrites(db)
	r, _ := NewRunner([]config.Loop{loopCfg("L", 2, 0)}, db, w.write, quiet, RunnerOptions{})
	set(db, "L.pv", 50, hmi.Bad)
	set(db, "L.sp", 60, hmi.Good)
	set(db, "L.out", 30, hmi.Good)
	start(t, r)
	l, _ := r.Loop("L")
	waitFor(t, "runs", func() bool { return l.Stats().Runs > 10 })
	if _, n := w.last("L.out"); n != 0 {
		t.Errorf("%d writes with a Bad PV and fail_safe hold, want the output held (none)", n)
	}
	if st := l.State(); st.Mode != FailSafe || st.Out != 30 {
		t.Errorf("mode %s, out %g; want failsafe holding 30", st.Mode, st.Out)
	}
	// Uncertain and NaN are no better than Bad.
	for _, pv := range []struct {
		v float64
		q hmi.Quality
	}{{50, hmi.Uncertain}, {math.NaN(), hmi.Good}} {
		set(db, "L.pv", pv.v, pv.q)
		runs := l.Stats().Runs
		waitFor(t, "runs", func() bool { return l.Stats().Runs > runs+2 })
		if st := l.State(); st.Mode != FailSafe {
			t.Errorf("PV %v %s: mode %s, want failsafe", pv.v, pv.q, st.Mode)
		}
	}
	if _, n := w.last("L.out"); n != 0 {
		t.Errorf("%d writes, want none", n)
	}
}

func TestManualAutoIsBumpless(t *testing.T) {
	db := loopTags("L.pv", "L.sp", "L.out")
	w := newWrites(db)
	w.echo = true // the device reads back what is written
	r, _ := NewRunner([]config.Loop{loopCfg("L", 2, 5)}, db, w.write, quiet, RunnerOptions{})
	l, _ := r.Loop("L")
	set(db, "L.pv", 40, hmi.Good)
	set(db, "L.sp", 50, hmi.Good)
	set(db, "L.out", 10, hmi.Good)
	start(t, r)
	w.waitN(t, "L.out", 5)
	if err := l.SetMode(Manual); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "manual", func() bool { _, a := l.Mode(); return a == Manual })
	_, n := w.last("L.out")
	runs := l.Stats().Runs
	waitFor(t, "runs", func() bool { return l.Stats().Runs > runs+5 })
	if _, m := w.last("L.out"); m > n+1 { // a write already posted may land
		t.Errorf("%d writes in manual, want none", m-n)
	}
	if err := l.SetManualOutput(77); err != nil {
		t.Fatal(err)
	}
	set(db, "L.out", 77, hmi.Good) // the operator's write, read back
	runs = l.Stats().Runs
	waitFor(t, "runs", func() bool { return l.Stats().Runs > runs+2 })
	if err := l.SetMode(Auto); err != nil {
		t.Fatal(err)
	}
	_, n = w.last("L.out")
	first := w.waitN(t, "L.out", n+1)
	// Error 10, Kp 2, Ti 5, 10 ms: the integral moves 0.04 per run; no step of Kp·e = 20.
	if math.Abs(first-77) > 0.5 {
		t.Errorf("first output in auto = %g, want about 77 (no bump)", first)
	}
	if err := r.byName["L"].SetManualOutput(1); !errors.Is(err, ErrNotManual) {
		t.Errorf("manual output in auto: %v, want ErrNotManual", err)
	}
	if err := l.SetMode(Cascade); !errors.Is(err, ErrNoCascade) {
		t.Errorf("cascade without sp_from: %v, want ErrNoCascade", err)
	}
}

// TestSlowDeviceDoesNotDelayRuns blocks one loop's output device: the
// other loop keeps running on time and only the newest value waits.
func TestSlowDeviceDoesNotDelayRuns(t *testing.T) {
	db := tags.New([]config.Tag{
		{Name: "A.pv", Device: "d1", Type: "double"}, {Name: "A.sp", Device: "d1", Type: "double"}, {Name: "A.out", Device: "slow", Type: "double", Writable: true},
		{Name: "B.pv", Device: "d1", Type: "double"}, {Name: "B.sp", Device: "d1", Type: "double"}, {Name: "B.out", Device: "d1", Type: "double", Writable: true},
	})
	w := newWrites(db)
	release := make(chan struct{})
	w.block["A.out"] = release
	r, _ := NewRunner([]config.Loop{loopCfg("A", 1, 1), loopCfg("B", 1, 1)}, db, w.write, quiet, RunnerOptions{})
	for _, n := range []string{"A", "B"} {
		set(db, n+".pv", 1, hmi.Good)
		set(db, n+".sp", 2, hmi.Good)
		set(db, n+".out", 0, hmi.Good)
	}
	start(t, r)
	w.waitN(t, "B.out", 20)
	a, _ := r.Loop("A")
	if st := a.Stats(); st.Runs < 15 || st.Writes != 0 {
		t.Errorf("A: %d runs, %d writes done; want it running with its write pending", st.Runs, st.Writes)
	}
	close(release)
	// The blocked write lands, then the newest value: not every run's.
	v := w.waitN(t, "A.out", 2)
	runs := a.Stats().Runs
	_, n := w.last("A.out")
	if uint64(n) >= runs {
		t.Errorf("%d writes for %d runs: the pending values were not conflated", n, runs)
	}
	if v <= 0 {
		t.Errorf("A.out = %g, want the integral's rise", v)
	}
}

// TestCascade: the secondary takes its setpoint from the primary's output;
// when it leaves cascade the primary tracks its setpoint and does not wind
// up, and cascade resumes without a bump.
func TestCascade(t *testing.T) {
	db := loopTags("P.pv", "P.sp", "S.pv", "S.sp", "S.out")
	prim := loopCfg("P", 1, 2)
	prim.Out = "" // its output is only the secondary's setpoint
	prim.OutLow, prim.OutHigh = -1000, 1000
	sec := loopCfg("S", 1, 0) // P only: S.out = S.sp − S.pv
	sec.SPFrom, sec.Mode = "P", config.ModeCascade
	lo, hi := 0.0, 80.0
	sec.SPLow, sec.SPHigh = &lo, &hi
	sec.OutLow, sec.OutHigh = -100, 100
	w := newWrites(db)
	r, err := NewRunner([]config.Loop{sec, prim}, db, w.write, quiet, RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.loops[0].Name() != "P" {
		t.Fatalf("run order %s, %s: the primary must run first", r.loops[0].Name(), r.loops[1].Name())
	}
	p, _ := r.Loop("P")
	s, _ := r.Loop("S")
	if st := p.State(); st.OutLow != 0 || st.OutHigh != 80 {
		t.Errorf("primary output limits %g..%g, want the secondary's setpoint limits 0..80", st.OutLow, st.OutHigh)
	}
	set(db, "P.pv", 20, hmi.Good)
	set(db, "P.sp", 25, hmi.Good)
	set(db, "S.pv", 30, hmi.Good)
	set(db, "S.sp", 30, hmi.Good) // the secondary's own setpoint
	set(db, "S.out", 0, hmi.Good)
	start(t, r)
	// The primary starts from the secondary's setpoint (30) and integrates
	// its error up; the secondary follows it.
	waitFor(t, "the primary to raise the secondary's setpoint", func() bool { return s.State().SPWorking > 35 })
	if st := s.State(); st.Mode != Cascade || math.Abs(st.SPWorking-p.State().Out) > 5 {
		t.Errorf("secondary: mode %s, SP %g; primary out %g", st.Mode, st.SPWorking, p.State().Out)
	}
	if err := s.SetMode(Auto); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the primary to track", func() bool { return p.State().Tracking })
	// Out of cascade, the secondary goes back to its own setpoint, and the
	// primary follows it instead of winding up against its error.
	waitFor(t, "the secondary's own setpoint", func() bool { return s.State().SPWorking == 30 })
	time.Sleep(100 * time.Millisecond)
	if st := p.State(); st.Out != 30 || !strings.Contains(st.Reason, "S is not in cascade") {
		t.Errorf("tracking primary: out %g, reason %q; want 30 (the secondary's setpoint)", st.Out, st.Reason)
	}
	if err := s.SetMode(Cascade); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cascade", func() bool { _, a := s.Mode(); return a == Cascade && !p.State().Tracking })
	if v := s.State().SPWorking; math.Abs(v-30) > 1 {
		t.Errorf("secondary setpoint right after cascade resumed = %g, want about 30 (no bump)", v)
	}
}

// fakeForcer forces one tag.
type fakeForcer struct {
	mu    sync.Mutex
	tag   int
	value float64
	on    bool
}

func (f *fakeForcer) ForcedBy(tag int) (string, float64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return "IL", f.value, f.on && tag == f.tag
}

func TestForcedOutputIsTrackedNotWritten(t *testing.T) {
	db := loopTags("L.pv", "L.sp", "L.out")
	out, _ := db.Lookup("L.out")
	f := &fakeForcer{tag: out, value: 0, on: true}
	w := newWrites(db)
	r, _ := NewRunner([]config.Loop{loopCfg("L", 1, 1)}, db, w.write, quiet, RunnerOptions{Forcer: f})
	l, _ := r.Loop("L")
	set(db, "L.pv", 10, hmi.Good)
	set(db, "L.sp", 20, hmi.Good)
	set(db, "L.out", 40, hmi.Good)
	start(t, r)
	waitFor(t, "runs", func() bool { return l.Stats().Runs > 10 })
	if st := l.State(); st.Interlock != "IL" || !st.Tracking || st.Out != 0 {
		t.Errorf("forced loop: interlock %q, tracking %v, out %g; want IL, true, 0", st.Interlock, st.Tracking, st.Out)
	}
	if _, n := w.last("L.out"); n != 0 {
		t.Errorf("%d writes while forced, want none", n)
	}
	f.mu.Lock()
	f.on = false
	f.mu.Unlock()
	if v := w.waitN(t, "L.out", 1); v > 11 {
		t.Errorf("first output after the force cleared = %g, want it to continue from 0 (P 10 at most)", v)
	}
}

func TestRunnerSchedule(t *testing.T) {
	db := loopTags("A.pv", "A.sp", "A.out", "B.pv", "B.sp", "B.out")
	a, b := loopCfg("A", 1, 0), loopCfg("B", 1, 0)
	a.Period.Duration, b.Period.Duration = 20*time.Millisecond, 50*time.Millisecond
	w := newWrites(db)
	r, _ := NewRunner([]config.Loop{a, b}, db, w.write, quiet, RunnerOptions{})
	for _, n := range []string{"A", "B"} {
		set(db, n+".pv", 1, hmi.Good)
		set(db, n+".sp", 1, hmi.Good)
		set(db, n+".out", 0, hmi.Good)
	}
	begin := time.Now()
	start(t, r)
	time.Sleep(500 * time.Millisecond)
	la, _ := r.Loop("A")
	lb, _ := r.Loop("B")
	elapsed := time.Since(begin)
	sa, sb := la.Stats(), lb.Stats()
	// Fixed periods that do not drift: runs = elapsed/period + 1 (the first at start).
	for _, c := range []struct {
		name   string
		runs   uint64
		period time.Duration
	}{{"A", sa.Runs + sa.Overruns, a.Period.Duration}, {"B", sb.Runs + sb.Overruns, b.Period.Duration}} {
		want := uint64(elapsed/c.period) + 1
		if c.runs+1 < want || c.runs > want+1 {
			t.Errorf("%s: %d runs in %v at %v, want %d", c.name, c.runs, elapsed, c.period, want)
		}
	}
	t.Logf("jitter A p50 %v p99 %v max %v; spun %v", sa.JitterP50, sa.JitterP99, sa.JitterMax, r.Spun())
}
