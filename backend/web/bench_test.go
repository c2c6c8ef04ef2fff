package web

import (
	"bytes"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// BenchmarkHubFanout measures the latency the server adds between a value
// arriving in the tag database (as a driver delivers it) and its websocket
// frame reaching a client, with 100 clients subscribed to everything and
// tag changes arriving at 10,000 per second. Each change's value is its
// arrival time, so clients measure latency from the frames themselves;
// clients parse without allocating, so allocations per update are the
// server's (ingest, hub, frames). Run with -benchtime=20000x (2 s).
func BenchmarkHubFanout(b *testing.B) {
	const clients, ntags, rate = 100, 1000, 10000
	r := newRig(b, ntags)
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = r.dial(b, "")
		send(b, conns[i], `{"type":"subscribe","tags":["*"]}`)
		next(b, conns[i], "snapshot")
	}
	start := time.Now()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			var buf bytes.Buffer
			local := make([]time.Duration, 0, b.N)
			key := []byte(`"value":`)
			for {
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, rd, err := c.NextReader()
				if err != nil {
					break
				}
				buf.Reset()
				if _, err := buf.ReadFrom(rd); err != nil {
					break
				}
				now := time.Since(start)
				msg := buf.Bytes()
				for {
					k := bytes.Index(msg, key)
					if k < 0 {
						break
					}
					msg = msg[k+len(key):]
					end := bytes.IndexAny(msg, ",}")
					if ns, err := strconv.ParseFloat(string(msg[:end]), 64); err == nil && ns > 0 {
						local = append(local, now-time.Duration(ns))
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	ids := make([]int, 0, ntags)
	for i := 3; i < ntags; i++ { // tags on no device: only the benchmark writes them
		ids = append(ids, i)
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	reading := make([]driver.Reading, 1)
	var changed []int
	const batch = 10 // changes per tick: 10 every millisecond
	t0 := time.Now()
	for n := 0; n < b.N; n++ {
		if n%batch == 0 {
			if wait := time.Duration(n) * time.Second / rate; time.Since(t0) < wait {
				time.Sleep(wait - time.Since(t0))
			}
		}
		reading[0] = driver.Reading{Index: ids[n%len(ids)], Sample: hmi.Sample{Value: hmi.Number(float64(time.Since(start))), Quality: hmi.Good, TS: time.Now()}}
		changed = r.db.Ingest(reading, changed)
	}
	b.StopTimer()
	time.Sleep(200 * time.Millisecond) // let the last frames arrive
	runtime.ReadMemStats(&ms1)
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatal("clients received no updates")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	b.ReportMetric(float64(pct(0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(lat))/float64(b.N*clients), "delivered/sent")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N), "allocs/update")
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "changes/s")
}
