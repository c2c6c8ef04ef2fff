package control

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

type writes struct {
	mu  sync.Mutex
	out []float64
}

func (w *writes) write(_ context.Context, _ int, v hmi.Value) error {
	w.mu.Lock()
	w.out = append(w.out, v.Float())
	w.mu.Unlock()
	return nil
}

func (w *writes) last() (float64, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.out) == 0 {
		return 0, 0
	}
	return w.out[len(w.out)-1], len(w.out)
}

func set(db *tags.DB, name string, v float64, q hmi.Quality) {
	i, _ := db.Lookup(name)
	db.Ingest([]driver.Reading{{Index: i, Sample: hmi.Sample{Value: hmi.Number(v), Quality: q, TS: time.Now()}}}, nil)
}

func TestLoopStartsBumplessAndFailsSafe(t *testing.T) {
	db := tags.New([]config.Tag{{Name: "pv", Type: "double"}, {Name: "sp", Type: "double"}, {Name: "out", Type: "double", Writable: true}})
	fs := 5.0
	lc := config.Loop{Name: "L", PV: "pv", SP: "sp", Out: "out", Kp: 2, Ti: 10, OutLow: 0, OutHigh: 100,
		Period: config.Duration{Duration: 10 * time.Millisecond}, FailSafe: &fs}
	w := &writes{}
	l, err := NewLoop(lc, db, w.write, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	set(db, "pv", 50, hmi.Good)
	set(db, "sp", 50, hmi.Good) // no error: the output must stay where the device has it
	set(db, "out", 42, hmi.Good)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	waitN := func(n int) float64 {
		deadline := time.Now().Add(3 * time.Second)
		for {
			v, got := w.last()
			if got >= n {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes", got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if v := waitN(3); v < 41.9 || v > 42.1 {
		t.Errorf("first outputs %v, want a bumpless start at 42", v)
	}
	set(db, "pv", 50, hmi.Bad) // PV lost: go to the fail-safe output
	_, n := w.last()
	if v := waitN(n + 2); v != 5 {
		t.Errorf("output with Bad PV = %v, want fail-safe 5", v)
	}
	if !l.Stats().FailSafe {
		t.Error("stats do not show fail-safe")
	}
	if st := l.Stats(); st.Runs == 0 || st.JitterMax <= 0 {
		t.Errorf("stats not kept: %+v", st)
	}
}

func TestLoopHoldsWithoutFailSafe(t *testing.T) {
	db := tags.New([]config.Tag{{Name: "pv", Type: "double"}, {Name: "sp", Type: "double"}, {Name: "out", Type: "double", Writable: true}})
	lc := config.Loop{Name: "L", PV: "pv", SP: "sp", Out: "out", Kp: 2, OutHigh: 100, Period: config.Duration{Duration: 10 * time.Millisecond}}
	w := &writes{}
	l, _ := NewLoop(lc, db, w.write, slog.New(slog.NewTextHandler(io.Discard, nil)))
	set(db, "pv", 50, hmi.Bad)
	set(db, "sp", 60, hmi.Good)
	set(db, "out", 30, hmi.Good)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	time.Sleep(150 * time.Millisecond)
	cancel()
	wg.Wait()
	if _, n := w.last(); n != 0 {
		t.Errorf("%d writes with a Bad PV and no fail-safe, want the output held (none)", n)
	}
	if l.Stats().Runs == 0 {
		t.Error("loop did not run")
	}
}
