package sparkplug

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

const benchTags = 1000

func benchDB() *tags.DB {
	defs := make([]config.Tag, benchTags)
	for i := range defs {
		defs[i] = config.Tag{Name: fmt.Sprintf("Line1.T%04d", i), Device: "plc", Type: "float32"}
	}
	return tags.New(defs)
}

// cpuTime is the CPU (user + system) this process and mosquitto (pid)
// have used.
func cpuTime(tb testing.TB, pid int) (self, broker time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return self, 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return self, time.Duration(ut+st) * time.Second / 100 // clock ticks
}

func benchNode(b *testing.B, cfg *config.Sparkplug, db *tags.DB, dir string) (*Node, func()) {
	n, err := New(context.Background(), Options{Config: cfg, Tags: db, DataDir: dir, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	return n, func() { cancel(); <-done }
}

// BenchmarkSparkplugPublish: 1,000 tags changing together, published to a
// local mosquitto as DDATA (QoS 1, acknowledged), 100 ms publish period.
// Reports metrics/s and the CPU edgehmi's side and the broker used per
// million metrics.
func BenchmarkSparkplugPublish(b *testing.B) {
	br := startBroker(b, freePort(b))
	db := benchDB()
	cfg := testConfig(br.url())
	n, stop := benchNode(b, cfg, db, b.TempDir())
	defer stop()
	waitUntil(b, 10*time.Second, "births", func() bool { return n.Status().Births == 1 })
	base := n.Status().MetricsOut
	rd := make([]driver.Reading, benchTags)
	rounds := max(1, b.N/benchTags)
	self0, broker0 := cpuTime(b, br.cmd.Process.Pid)
	b.ResetTimer()
	t0 := time.Now()
	for r := range rounds {
		now := time.Now()
		for i := range rd {
			rd[i] = driver.Reading{Index: i, Sample: hmi.Sample{Value: hmi.Number(float64(r*benchTags + i)), Quality: hmi.Good, TS: now}}
		}
		seen := n.seen.Load()
		db.Ingest(rd, nil)
		waitUntil(b, 10*time.Second, "the node takes the changes", func() bool { return n.seen.Load() >= seen+benchTags })
	}
	want := base + uint64(rounds*benchTags)
	waitUntil(b, 60*time.Second, "every metric is acknowledged", func() bool { return n.Status().MetricsOut >= want })
	el := time.Since(t0)
	b.StopTimer()
	self1, broker1 := cpuTime(b, br.cmd.Process.Pid)
	m := float64(rounds * benchTags)
	b.ReportMetric(m/el.Seconds(), "metrics/s")
	b.ReportMetric((self1-self0).Seconds()/m*1e6, "cpu-s/Mmetric")
	b.ReportMetric((broker1-broker0).Seconds()/m*1e6, "broker-cpu-s/Mmetric")
}

// BenchmarkSparkplugReplay: an outage of 10 minutes of 1,000 tags
// changing once a second (600,000 changes) in the buffer; the time from
// connecting to every change delivered (acknowledged) as historical.
func BenchmarkSparkplugReplay(b *testing.B) {
	minutes := 10
	if v := os.Getenv("EDGEHMI_REPLAY_MINUTES"); v != "" {
		minutes, _ = strconv.Atoi(v)
	}
	changes := minutes * 60 * benchTags
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		ctx := context.Background()
		buf, err := OpenBuffer(ctx, filepath.Join(dir, BufferFile), 1_000_000)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now().Add(-time.Duration(minutes) * time.Minute)
		fill := time.Now()
		for s := range minutes * 60 {
			for i := range benchTags {
				buf.Add(Row{Tag: fmt.Sprintf("Line1.T%04d", i), TS: t0.Add(time.Duration(s) * time.Second).UnixMilli(), Kind: hmi.KindNumber, Num: float64(s), Quality: hmi.Good})
			}
			if _, err := buf.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(changes)/time.Since(fill).Seconds(), "buffered/s")
		buf.Close()
		br := startBroker(b, freePort(b))
		cfg := testConfig(br.url())
		self0, broker0 := cpuTime(b, br.cmd.Process.Pid)
		b.StartTimer()
		start := time.Now()
		n, stop := benchNode(b, cfg, benchDB(), dir)
		waitUntil(b, 10*time.Minute, "the buffer is delivered", func() bool { return n.Status().Replayed >= uint64(changes) })
		el := time.Since(start)
		b.StopTimer()
		self1, broker1 := cpuTime(b, br.cmd.Process.Pid)
		st := n.Status()
		stop()
		br.kill()
		b.ReportMetric(float64(changes)/el.Seconds(), "replayed/s")
		b.ReportMetric(el.Seconds(), "replay-s")
		b.ReportMetric(float64(st.MetricsOut)/float64(max(st.MessagesOut, 1)), "metrics/message")
		b.ReportMetric((self1 - self0).Seconds(), "cpu-s")
		b.ReportMetric((broker1 - broker0).Seconds(), "broker-cpu-s")
	}
}
