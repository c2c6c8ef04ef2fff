package control

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// benchWindow is how long BenchmarkLoops1000 measures each way of running
// the loops (EDGEHMI_BENCH_WINDOW, default 10s).
func benchWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("EDGEHMI_BENCH_WINDOW")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

// runqueueWait is how long the process's threads have waited for a CPU
// while runnable (Linux schedstat): other processes' load, which no design
// inside the process can avoid. 0 where unknown.
func runqueueWait() time.Duration {
	dir := "/proc/self/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		var run, wait int64
		if _, err := fmt.Sscan(string(b), &run, &wait); err == nil {
			sum += time.Duration(wait)
		}
	}
	return sum
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pvChanges remembers, per loop, when its PV last changed and the output
// that PV must give, to time the way from a PV change to the new output
// written.
type pvChanges struct {
	mu      sync.Mutex
	at      []time.Time
	want    []float64
	pending []bool
	lat     []time.Duration
}

func (p *pvChanges) changed(i int, want float64, at time.Time) {
	p.mu.Lock()
	p.at[i], p.want[i], p.pending[i] = at, want, true
	p.mu.Unlock()
}

func (p *pvChanges) written(i int, v float64, at time.Time) {
	p.mu.Lock()
	if p.pending[i] && v == p.want[i] {
		p.lat = append(p.lat, at.Sub(p.at[i]))
		p.pending[i] = false
	}
	p.mu.Unlock()
}

func pct(s []time.Duration, q int) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)*q+99)/100-1]
}

// BenchmarkLoops1000 runs 1,000 loops at 100 ms whose outputs go to 10
// devices, while a plant changes one loop's PV every millisecond (each PV
// about once a second), and measures for a window: how late runs start
// against their schedule (p50, p99, max, over every run of every loop),
// how far the interval between a loop's runs strays from the period, the
// CPU used, and the time from a PV change to the new output written (p50,
// p99; bounded by the period, as a loop samples its PV once per period) and
// from a run to its output written. The loops are P-only (out = sp − pv),
// so an output tells which PV it came from.
//
// It measures three ways of running them: the Runner (one goroutine, one
// timer, spinning the last 1.2 ms), the Runner without spinning, and a
// goroutine with a ticker per loop, running the same steps.
func BenchmarkLoops1000(b *testing.B) {
	for _, way := range []string{"runner", "runner-nospin", "goroutines"} {
		b.Run(way, func(b *testing.B) {
			for range b.N {
				benchLoops(b, way, 1000, 100*time.Millisecond, benchWindow())
			}
		})
	}
}

func benchLoops(b *testing.B, way string, n int, period, window time.Duration) {
	var defs []config.Tag
	var loops []config.Loop
	for i := range n {
		name := "L" + strconv.Itoa(i)
		dev := "d" + strconv.Itoa(i%10)
		defs = append(defs, config.Tag{Name: name + ".pv", Device: dev, Type: "double"},
			config.Tag{Name: name + ".sp", Device: dev, Type: "double"},
			config.Tag{Name: name + ".out", Device: dev, Type: "double", Writable: true})
		loops = append(loops, config.Loop{Name: name, PV: name + ".pv", SP: name + ".sp", Out: name + ".out", Kp: 1,
			OutLow: -1e9, OutHigh: 1e9, Period: config.Duration{Duration: period}, POn: config.POnError, DFilter: config.DefaultDFilter})
	}
	db := tags.New(defs)
	now := time.Now()
	var rs []driver.Reading
	for i := range n {
		rs = append(rs, driver.Reading{Index: 3 * i, Sample: hmi.Sample{Value: hmi.Number(0), Quality: hmi.Good, TS: now}},
			driver.Reading{Index: 3*i + 1, Sample: hmi.Sample{Value: hmi.Number(100), Quality: hmi.Good, TS: now}},
			driver.Reading{Index: 3*i + 2, Sample: hmi.Sample{Value: hmi.Number(100), Quality: hmi.Good, TS: now}})
	}
	db.Ingest(rs, nil)
	pvs := &pvChanges{at: make([]time.Time, n), want: make([]float64, n), pending: make([]bool, n)}
	write := func(_ context.Context, tag int, v hmi.Value) error {
		pvs.written(tag/3, v.Float(), time.Now())
		return nil
	}
	spin := time.Duration(0)
	if way == "runner-nospin" {
		spin = -1
	}
	r, err := NewRunner(loops, db, write, quiet, RunnerOptions{Spin: spin})
	if err != nil {
		b.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	switch way {
	case "goroutines":
		// A goroutine and a ticker per loop, as the loops ran before.
		wg.Go(func() { r.out.run(ctx) })
		for _, l := range r.loops {
			wg.Go(func() {
				t := time.NewTicker(period)
				defer t.Stop()
				start := time.Now() // the ticker's schedule: start + k·period
				k := 0
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
					k++
					at := time.Now()
					// The tick due next: a ticker drops ticks it could not deliver.
					for start.Add(time.Duration(k+1)*period).Before(at) && k < math.MaxInt32 {
						k++
					}
					if v, w := l.run(at, start.Add(time.Duration(k)*period), nil); w {
						r.out.post(l.out, hmi.Number(v), l, at)
						r.out.flush()
					}
				}
			})
		}
	default:
		wg.Go(func() { r.Run(ctx) })
	}
	// Let every loop start (its first run only takes up the output).
	time.Sleep(3 * period)
	for _, l := range r.loops {
		l.mu.Lock()
		l.stats = loopStats{}
		l.mu.Unlock()
	}
	spun0 := r.Spun()
	cpu0, wait0, t0 := cpuTime(), runqueueWait(), time.Now()
	// The plant: one PV change a millisecond, round the loops.
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		buf := make([]driver.Reading, 1)
		var changed []int
		for k := 0; ; k++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			i := k % n
			pv := float64(k%97) + 1
			at := time.Now()
			pvs.changed(i, 100-pv, at)
			buf[0] = driver.Reading{Index: 3 * i, Sample: hmi.Sample{Value: hmi.Number(pv), Quality: hmi.Good, TS: at}}
			changed = db.Ingest(buf, changed)
		}
	})
	time.Sleep(window)
	cpu, wait, elapsed := cpuTime()-cpu0, runqueueWait()-wait0, time.Since(t0)
	spun := r.Spun() - spun0
	cancel()
	wg.Wait()

	// Every run of every loop in the window (each loop keeps its last 256).
	var late, dev, wr []time.Duration
	var runs, overruns uint64
	for _, l := range r.loops {
		st := &l.stats
		k := int(min(st.runs, jitterWindow))
		first := int(st.runs) - k
		for j := first; j < int(st.runs); j++ {
			x := st.jitter[j%jitterWindow]
			late = append(late, x)
			if j > first {
				d := x - st.jitter[(j-1)%jitterWindow]
				dev = append(dev, max(d, -d))
			}
		}
		wr = append(wr, st.writeLat[:min(st.writes, jitterWindow)]...)
		runs += st.runs
		overruns += st.overruns
	}
	pvs.mu.Lock()
	lat := slices.Clone(pvs.lat)
	pvs.mu.Unlock()
	for _, s := range [][]time.Duration{late, dev, wr, lat} {
		slices.Sort(s)
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	cpuPct := 100 * cpu.Seconds() / elapsed.Seconds()
	b.ReportMetric(us(pct(late, 50)), "late-p50-µs")
	b.ReportMetric(us(pct(late, 99)), "late-p99-µs")
	b.ReportMetric(us(pct(dev, 99)), "period-dev-p99-µs")
	b.ReportMetric(cpuPct, "cpu-%")
	b.ReportMetric(float64(pct(lat, 99))/1e6, "pv-to-out-p99-ms")
	b.ReportMetric(us(pct(wr, 99)), "run-to-write-p99-µs")
	b.ReportMetric(float64(wait)/1e6, "runqueue-wait-ms")
	b.Logf("%s: %d loops at %v for %v: %d runs (%d skipped); start late p50 %v p99 %v max %v; period deviation p50 %v p99 %v; "+
		"CPU %.1f %% of one core (spinning %.1f %%), waiting for a CPU %v; PV change to output written p50 %v p99 %v (%d changes); run to output written p50 %v p99 %v",
		way, n, period, elapsed.Round(time.Millisecond), runs, overruns, pct(late, 50), pct(late, 99), pct(late, 100),
		pct(dev, 50), pct(dev, 99), cpuPct, 100*spun.Seconds()/elapsed.Seconds(), wait.Round(time.Millisecond), pct(lat, 50).Round(time.Microsecond),
		pct(lat, 99).Round(time.Microsecond), len(lat), pct(wr, 50), pct(wr, 99))
	if runs == 0 || len(lat) == 0 {
		b.Fatalf("nothing measured: %d runs, %d PV changes seen", runs, len(lat))
	}
}

// BenchmarkPIDUpdate is one step of the controller.
func BenchmarkPIDUpdate(b *testing.B) {
	p := NewPID(config.Loop{Kp: 2, Ti: 10, Td: 1, OutLow: 0, OutHigh: 100, OutRate: 50, DFilter: 0.1})
	pv := 0.0
	for b.Loop() {
		pv = p.Update(60, pv*0.5+10, 100*time.Millisecond) * 0.5
	}
}

// BenchmarkLoopRun is one run of a loop as the runner does it: the tag
// reads, the setpoint, the PID, the counters.
func BenchmarkLoopRun(b *testing.B) {
	db := loopTags("L.pv", "L.sp", "L.out")
	r, err := NewRunner([]config.Loop{loopCfg("L", 2, 10)}, db, func(context.Context, int, hmi.Value) error { return nil }, quiet, RunnerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	set(db, "L.pv", 50, hmi.Good)
	set(db, "L.sp", 60, hmi.Good)
	set(db, "L.out", 10, hmi.Good)
	l := r.loops[0]
	t := time.Now()
	l.run(t, t, nil)
	for b.Loop() {
		t = t.Add(fast)
		l.run(t, t, nil)
	}
}

// BenchmarkInterlockEvaluate is one evaluation of a condition over two
// tags: the reads, the compiled expression, the state.
func BenchmarkInterlockEvaluate(b *testing.B) {
	p, err := config.Parse("p.yaml", []byte(interlockProject), nil)
	if err != nil {
		b.Fatal(err)
	}
	p.Interlocks[0].Cond, err = config.CompileExpr("T101.Level < 10 and not XV101.Open", func(n string) (string, bool) {
		t, ok := p.Tag(n)
		if !ok {
			return "", false
		}
		return t.Type, true
	})
	if err != nil {
		b.Fatal(err)
	}
	db := tags.New(p.Tags)
	s, err := NewInterlocks(p.Interlocks, db, func(context.Context, int, hmi.Value) error { return nil }, quiet, nil)
	if err != nil {
		b.Fatal(err)
	}
	set(db, "T101.Level", 50, hmi.Good)
	set(db, "XV101.Open", 1, hmi.Good)
	il := s.list[0]
	now := time.Now()
	for b.Loop() {
		s.evaluate(il, nil, now)
	}
}
