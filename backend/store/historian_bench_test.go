package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// BenchmarkHistorian: 10,000 tags that all change every 100 ms (100,000
// changes a second), as a driver delivers them, through the tag
// database's change bus, the historian (deadband 0) and the store's one
// writer. Each op is one 100 ms step. Reports the samples recorded per
// second and the share of changes recorded: the bus conflates, so a
// historian that fell behind would record fewer than were offered.
func BenchmarkHistorian(b *testing.B) {
	const ntags = 10_000
	const step = 100 * time.Millisecond
	defs := make([]config.Tag, ntags)
	specs := make([]RecordSpec, ntags)
	for i := range defs {
		defs[i] = config.Tag{Name: fmt.Sprint("T", i), Device: "d", Type: "float64"}
		specs[i] = RecordSpec{Name: defs[i].Name, On: true, Heartbeat: time.Hour}
	}
	db := tags.New(defs)
	s, _ := run(b, b.TempDir())
	h := NewHistorian(db, s, specs)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.Run(ctx) })
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	defer stop()
	readings := make([]driver.Reading, ntags)
	var changed []int
	// The first heartbeat records every tag once.
	for s.HistoryRecorded() < ntags {
		time.Sleep(10 * time.Millisecond)
	}
	base := s.HistoryRecorded()
	b.ResetTimer()
	start := time.Now()
	for n := range b.N {
		now := time.Now()
		for i := range readings {
			readings[i] = driver.Reading{Index: i, Sample: hmi.Sample{Value: hmi.Number(float64(n) + float64(i)/ntags), Quality: hmi.Good, TS: now}}
		}
		changed = db.Ingest(readings, changed)
		time.Sleep(time.Until(start.Add(time.Duration(n+1) * step)))
	}
	elapsed := time.Since(start)
	// Let the historian take the last step; stopping it hands what it
	// holds to the writer, which commits it.
	time.Sleep(step)
	stop()
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	recorded := s.HistoryRecorded() - base
	b.ReportMetric(float64(recorded)/elapsed.Seconds(), "samples/s")
	b.ReportMetric(100*float64(recorded)/float64(b.N*ntags), "%recorded")
	b.ReportMetric(float64(s.Dropped()), "dropped")
}
