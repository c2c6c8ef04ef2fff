package driver

import (
	"sync"
	"testing"
	"time"
)

func TestDurations(t *testing.T) {
	var d Durations
	if got := d.Timing(); got != (Timing{}) {
		t.Fatalf("empty: %+v", got)
	}
	for i := 1; i <= 300; i++ { // the window keeps 173..300 ms
		d.Add(time.Duration(i) * time.Millisecond)
	}
	got := d.Timing()
	if got.Count != 300 || got.Last != 300*time.Millisecond || got.P99 != 299*time.Millisecond {
		t.Errorf("Timing() = %+v, want count 300, last 300ms, p99 299ms", got)
	}
	var few Durations
	few.Add(time.Millisecond)
	few.Add(100 * time.Millisecond)
	few.Add(2 * time.Millisecond)
	if p := few.Timing().P99; p != 100*time.Millisecond {
		t.Errorf("p99 of 3 = %v, want the largest", p)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				d.Add(time.Millisecond)
				d.Timing()
			}
		})
	}
	wg.Wait()
	if d.Timing().Count != 4300 {
		t.Errorf("count after concurrent adds = %d", d.Timing().Count)
	}
}
