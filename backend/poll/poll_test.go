package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// fakeDriver serves a counter; it can be taken down and made to hang.
type fakeDriver struct {
	down    atomic.Bool // Connect and Read fail
	hang    atomic.Bool // Read blocks until its ctx ends
	n       atomic.Int64
	written atomic.Int64
	points  []driver.Point
}

func (f *fakeDriver) Connect(ctx context.Context) error {
	if f.down.Load() {
		return errors.New("connection refused")
	}
	return nil
}
func (f *fakeDriver) Prepare(p []driver.Point) error { f.points = p; return nil }
func (f *fakeDriver) Read(ctx context.Context, out []driver.Reading) error {
	if f.hang.Load() {
		<-ctx.Done()
		return fmt.Errorf("read: %w (%w)", driver.ErrNotConnected, driver.ErrTimeout)
	}
	if f.down.Load() {
		return driver.ErrNotConnected
	}
	v := f.n.Add(1)
	for i, p := range f.points {
		out[i] = driver.Reading{Index: p.Index, Sample: hmi.Sample{Value: hmi.Number(float64(v)), Quality: hmi.Good, TS: time.Now()}}
	}
	return nil
}
func (f *fakeDriver) Write(ctx context.Context, p driver.Point, v hmi.Value) error {
	if f.down.Load() {
		return driver.ErrNotConnected
	}
	f.written.Store(int64(v.Float()))
	return nil
}
func (f *fakeDriver) Close() error { return nil }

type rig struct {
	db      *tags.DB
	a, b    *fakeDriver
	da, db_ *Device
	mu      sync.Mutex
	events  []hmi.Event
}

func newRig(t *testing.T) *rig {
	r := &rig{a: &fakeDriver{}, b: &fakeDriver{}}
	r.db = tags.New([]config.Tag{
		{Name: "a1", Device: "A", Type: "uint16", Writable: true},
		{Name: "b1", Device: "B", Type: "uint16"},
	})
	dev := func(name string) config.Device {
		return config.Device{Name: name, Driver: "fake", Scan: config.Duration{Duration: 20 * time.Millisecond}, Timeout: config.Duration{Duration: 100 * time.Millisecond}}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := func(e hmi.Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
	r.da = New(dev("A"), r.a, r.db.Points("A"), r.db, log, sink)
	r.db_ = New(dev("B"), r.b, r.db.Points("B"), r.db, log, sink)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.da.Run(ctx) })
	wg.Go(func() { r.db_.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeadDeviceGoesBadOthersKeepPolling(t *testing.T) {
	r := newRig(t)
	eventually(t, time.Second, "both good", func() bool {
		a, _ := r.db.GetByName("a1")
		b, _ := r.db.GetByName("b1")
		return a.Quality == hmi.Good && b.Quality == hmi.Good
	})
	r.a.hang.Store(true) // A stops answering: Bad within one timeout (100 ms) plus a scan
	start := time.Now()
	eventually(t, time.Second, "a1 bad", func() bool { s, _ := r.db.GetByName("a1"); return s.Quality == hmi.Bad })
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("a1 went Bad after %v, want within one timeout (100ms) and a scan", took)
	}
	if s, _ := r.db.GetByName("a1"); s.Reason == "" {
		t.Error("Bad without a reason")
	}
	r.a.hang.Store(false)
	r.a.down.Store(true)
	// B keeps polling while A is down and retried.
	before := r.b.n.Load()
	time.Sleep(200 * time.Millisecond)
	if got := r.b.n.Load() - before; got < 5 {
		t.Errorf("B polled %d times in 200ms while A was down, want >= 5", got)
	}
	if r.da.Stats().Connected {
		t.Error("A reported connected while down")
	}
	// Write to a down device is refused at once, not queued.
	i, _ := r.db.Lookup("a1")
	wstart := time.Now()
	if err := r.da.Write(context.Background(), i, hmi.Number(5)); !errors.Is(err, driver.ErrNotConnected) {
		t.Errorf("write to down device: err = %v, want ErrNotConnected", err)
	}
	if time.Since(wstart) > 50*time.Millisecond {
		t.Errorf("write to down device took %v", time.Since(wstart))
	}
	r.a.down.Store(false) // recovers by itself within the backoff
	eventually(t, 3*time.Second, "a1 good again", func() bool { s, _ := r.db.GetByName("a1"); return s.Quality == hmi.Good })
	if err := r.da.Write(context.Background(), i, hmi.Number(7)); err != nil || r.a.written.Load() != 7 {
		t.Errorf("write after recovery: err %v, written %d", err, r.a.written.Load())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var connects, disconnects int
	for _, e := range r.events {
		if e.Source == "A" && e.Action == "connect" {
			connects++
		}
		if e.Source == "A" && e.Action == "disconnect" {
			disconnects++
		}
	}
	if connects < 2 || disconnects < 1 {
		t.Errorf("events for A: %d connects, %d disconnects; want >= 2 and >= 1", connects, disconnects)
	}
}

func TestJitterBounds(t *testing.T) {
	for range 1000 {
		if j := jitter(time.Second); j < 800*time.Millisecond || j > 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %v", j)
		}
	}
}

func TestWriteAfterStopIsRefusedAtOnce(t *testing.T) {
	db := tags.New([]config.Tag{{Name: "a1", Device: "A", Type: "uint16", Writable: true}})
	d := New(config.Device{Name: "A", Scan: config.Duration{Duration: 10 * time.Millisecond}, Timeout: config.Duration{Duration: time.Second}},
		&fakeDriver{}, db.Points("A"), db, slog.New(slog.NewTextHandler(io.Discard, nil)), func(hmi.Event) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	cancel()
	<-done
	start := time.Now()
	if err := d.Write(context.Background(), 0, hmi.Number(1)); !errors.Is(err, ErrStopped) {
		t.Errorf("write after stop: %v, want ErrStopped", err)
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("write after stop took %v", time.Since(start))
	}
}

func TestSlowDeviceGoesStaleBeforeBad(t *testing.T) {
	r := newRig(t)
	eventually(t, time.Second, "a1 good", func() bool { s, _ := r.db.GetByName("a1"); return s.Quality == hmi.Good })
	sub := r.db.Subscribe()
	defer r.db.Unsubscribe(sub)
	sub.Take(nil)
	r.a.hang.Store(true) // reads now hang until the 100 ms timeout; scan is 20 ms
	var seen []hmi.Quality
	eventually(t, 2*time.Second, "a1 bad", func() bool {
		s, _ := r.db.GetByName("a1")
		if len(seen) == 0 || seen[len(seen)-1] != s.Quality {
			seen = append(seen, s.Quality)
		}
		return s.Quality == hmi.Bad
	})
	if len(seen) < 3 || seen[1] != hmi.Uncertain {
		t.Errorf("qualities seen %v, want good, uncertain (stale), bad", seen)
	}
	r.a.hang.Store(false)
	eventually(t, 3*time.Second, "a1 good again", func() bool { s, _ := r.db.GetByName("a1"); return s.Quality == hmi.Good })
	st := r.da.Stats()
	if st.Timeouts == 0 || st.P99Scan < 50*time.Millisecond || st.Scan != 20*time.Millisecond || st.P99Jitter <= 0 {
		t.Errorf("stats = %+v, want timeouts counted and the hung scan in p99", st)
	}
}

// groupedDriver is a fakeDriver that reads scan classes separately.
type groupedDriver struct {
	fakeDriver
	mu     sync.Mutex
	groups [][]int
	reads  []int
}

func (g *groupedDriver) Group(groups [][]int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.groups, g.reads = groups, make([]int, len(groups))
	return nil
}

func (g *groupedDriver) ReadGroup(ctx context.Context, k int, out []driver.Reading) error {
	g.mu.Lock()
	g.reads[k]++
	idx := g.groups[k]
	g.mu.Unlock()
	for _, i := range idx {
		out[i] = driver.Reading{Index: g.points[i].Index, Sample: hmi.Sample{Value: hmi.Number(1), Quality: hmi.Good, TS: time.Now()}}
	}
	return nil
}

func TestScanClasses(t *testing.T) {
	db := tags.New([]config.Tag{{Name: "fast", Device: "A", Type: "uint16"}, {Name: "slow", Device: "A", Type: "uint16"}, {Name: "dflt", Device: "A", Type: "uint16"}})
	pts := db.Points("A")
	pts[0].Scan = 20 * time.Millisecond
	pts[1].Scan = 200 * time.Millisecond // pts[2]: the device's 50 ms
	drv := &groupedDriver{}
	d := New(config.Device{Name: "A", Scan: config.Duration{Duration: 50 * time.Millisecond}, Timeout: config.Duration{Duration: time.Second}},
		drv, pts, db, slog.New(slog.NewTextHandler(io.Discard, nil)), func(hmi.Event) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	time.Sleep(1 * time.Second)
	cancel()
	<-done
	drv.mu.Lock()
	defer drv.mu.Unlock()
	if len(drv.groups) != 3 || drv.groups[0][0] != 0 || drv.groups[1][0] != 2 || drv.groups[2][0] != 1 {
		t.Fatalf("groups %v, want fastest first: [[0] [2] [1]]", drv.groups)
	}
	// 1 s at 20, 50 and 200 ms: about 50, 20 and 5 reads.
	for g, want := range []int{50, 20, 5} {
		if got := drv.reads[g]; got < want*7/10 || got > want*13/10+1 {
			t.Errorf("class %d read %d times in 1 s, want about %d", g, got, want)
		}
	}
	if st := d.Stats(); st.Overruns != 0 {
		t.Errorf("overruns %d", st.Overruns)
	}
	for _, name := range []string{"fast", "slow", "dflt"} {
		if s, _ := db.GetByName(name); s.Quality != hmi.Good {
			t.Errorf("%s = %+v", name, s)
		}
	}
}

// TestRebind moves a running poller to a new database where its tag has
// another index: the same poller, connection and counters deliver there,
// and writes find the tag by its new index.
func TestRebind(t *testing.T) {
	r := newRig(t)
	waitGood := func(db *tags.DB, name string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			if s, _ := db.GetByName(name); s.Quality == hmi.Good && s.Value.Float() > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never good in the new database", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitGood(r.db, "a1")
	before := r.da.Stats()
	db2 := tags.New([]config.Tag{
		{Name: "new", Device: "C", Type: "uint16"},
		{Name: "b1", Device: "B", Type: "uint16"},
		{Name: "a1", Device: "A", Type: "uint16", Writable: true},
	})
	if err := r.da.Rebind(db2, []int{0, 1}); err == nil {
		t.Fatal("rebind with the wrong tag count accepted")
	}
	if err := r.da.Rebind(db2, db2.IDs("A")); err != nil {
		t.Fatal(err)
	}
	waitGood(db2, "a1")
	if s, _ := db2.GetByName("new"); s.Quality != hmi.Bad {
		t.Fatalf("the rebound device wrote to another tag: %+v", s)
	}
	if err := r.da.Write(context.Background(), 2, hmi.Number(7)); err != nil || r.a.written.Load() != 7 {
		t.Fatalf("write after rebind: %v, wrote %d", err, r.a.written.Load())
	}
	if st := r.da.Stats(); st.Reconnects != before.Reconnects || st.Polls <= before.Polls {
		t.Fatalf("stats %+v after rebind, %+v before", st, before)
	}
}

// TestWriteFromEarlierProject: a write holding a tag index of the database
// the device served before a rebind is refused, not sent to whichever tag
// has that index now.
func TestWriteFromEarlierProject(t *testing.T) {
	r := newRig(t)
	db2 := tags.New([]config.Tag{{Name: "b1", Device: "B", Type: "uint16"}, {Name: "a1", Device: "A", Type: "uint16", Writable: true}})
	if err := r.da.Rebind(db2, db2.IDs("A")); err != nil {
		t.Fatal(err)
	}
	if err := r.da.WriteFrom(context.Background(), r.db, 0, hmi.Number(3)); !errors.Is(err, ErrRebound) {
		t.Fatalf("write with an old index: %v, want ErrRebound", err)
	}
	if err := r.da.WriteFrom(context.Background(), db2, 1, hmi.Number(4)); err != nil || r.a.written.Load() != 4 {
		t.Fatalf("write with the new index: %v, wrote %d", err, r.a.written.Load())
	}
}
