package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/edgehmi/edgehmi/backend/config"
)

// benchDevices and benchRegisters make the load of PRODUCT.md: 50 devices
// of 2,000 holding registers each, scanned every second: 100,000 register
// values per second.
const (
	benchDevices   = 50
	benchRegisters = 2000
	serversEnv     = "EDGEHMI_BENCH_MODBUS_SERVERS"
)

// TestMain lets the benchmark run its Modbus servers in a child process
// (this test binary, re-executed), so the parent's CPU figures are the
// HMI's alone.
func TestMain(m *testing.M) {
	if addrs := os.Getenv(serversEnv); addrs != "" {
		serveModbus(strings.Split(addrs, ","))
		return
	}
	os.Exit(m.Run())
}

// counting serves every holding register as its address plus a counter
// that moves each request, so every read changes values.
type counting struct{ n uint16 }

func (c *counting) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (c *counting) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}
func (c *counting) HandleInputRegisters(*modbus.InputRegistersRequest) ([]uint16, error) {
	return nil, modbus.ErrIllegalFunction
}
func (c *counting) HandleHoldingRegisters(r *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if int(r.Addr)+int(r.Quantity) > benchRegisters {
		return nil, modbus.ErrIllegalDataAddress
	}
	c.n++
	out := make([]uint16, r.Quantity)
	for i := range out {
		out[i] = r.Addr + uint16(i) + c.n
	}
	return out, nil
}

func serveModbus(addrs []string) {
	for _, a := range addrs {
		s, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + a, MaxClients: 4, Timeout: time.Minute}, &counting{})
		if err != nil || s.Start() != nil {
			fmt.Fprintln(os.Stderr, "bench server", a, err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	select {} // until killed
}

func freeAddrs(tb testing.TB, n int) []string {
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchWindow is how long a benchmark iteration measures: 10 s, or
// EDGEHMI_BENCH_WINDOW (a Go duration) for a steady-state run.
func benchWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("EDGEHMI_BENCH_WINDOW")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

// rssMB is the process's resident set now, in MiB.
func rssMB() float64 { return procStatusMB("VmRSS:") }

// peakRSSMB is the process's largest resident set so far, in MiB.
func peakRSSMB() float64 { return procStatusMB("VmHWM:") }

func procStatusMB(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkPoll100k polls 100,000 register values per second from 50
// Modbus TCP devices on loopback (servers in a child process) through the
// whole engine: drivers, pollers, tag database, change bus, hub, alarm
// runner and event log. It reports the HMI's CPU (percent of one core),
// RSS, requests per second and the scan-time p99. Run with -benchtime=1x;
// each iteration measures 10 s.
func BenchmarkPoll100k(b *testing.B) {
	addrs := freeAddrs(b, benchDevices)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), serversEnv+"="+strings.Join(addrs, ","))
	out, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	ready := make([]byte, 6)
	if _, err := io.ReadFull(out, ready); err != nil || string(ready) != "ready\n" {
		b.Fatalf("servers did not start: %q %v", ready, err)
	}

	p := &config.Project{Version: 1, Name: "bench", Server: config.Server{Listen: "127.0.0.1:0"},
		Tags: make([]config.Tag, 0, benchDevices*benchRegisters)}
	for d, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		portN, _ := strconv.Atoi(port)
		name := fmt.Sprintf("plc%02d", d)
		p.Devices = append(p.Devices, config.Device{Name: name, Driver: config.DriverModbusTCP, Host: host, Port: portN, UnitID: 1,
			Timeout: config.Duration{Duration: time.Second}, Scan: config.Duration{Duration: time.Second},
			MaxRegisters: 125, MaxBits: 2000, MaxGap: 16, ByteOrder: "ABCD"})
		for r := range benchRegisters {
			p.Tags = append(p.Tags, config.Tag{Name: fmt.Sprintf("%s.R%04d", name, r), Device: name, Address: fmt.Sprintf("HR%d", r), Type: "uint16"})
		}
	}
	if os.Getenv("GOGC") == "" { // as the edgehmi binary runs
		defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	}
	e, err := Start(context.Background(), Options{Project: p, DataDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())
	time.Sleep(3 * time.Second) // connect and settle
	for b.Loop() {
		polls0, changes0, cpu0, t0 := e.polls(), e.db.Changes(), cpuTime(), time.Now()
		time.Sleep(benchWindow())
		wall := time.Since(t0)
		cpu := cpuTime() - cpu0
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
		b.ReportMetric(float64(e.db.Changes()-changes0)/wall.Seconds(), "values/s")
		b.ReportMetric(float64(e.polls()-polls0)/wall.Seconds(), "scans/s")
	}
	var p99s, jitters, rtts []time.Duration
	var overruns, errs, requests uint64
	for _, d := range e.order {
		st := d.Stats()
		p99s = append(p99s, st.P99Scan)
		jitters = append(jitters, st.P99Jitter)
		rtts = append(rtts, st.P99RTT)
		overruns += st.Overruns
		errs += st.Errors
		requests += st.Requests
	}
	worst := func(ds []time.Duration) float64 { return float64(slices.Max(ds).Microseconds()) / 1000 }
	b.ReportMetric(worst(p99s), "worst-device-p99-scan-ms")
	b.ReportMetric(worst(jitters), "worst-device-p99-jitter-ms")
	b.ReportMetric(worst(rtts), "worst-device-p99-rtt-ms")
	b.ReportMetric(float64(requests)/float64(len(e.order)), "requests/device")
	b.ReportMetric(rssMB(), "RSS-MB")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	goal := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(goal) // the heap the collector lets grow before its next cycle: where RSS settles
	b.ReportMetric(float64(goal[0].Value.Uint64())/(1<<20), "heap-goal-MB")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MB")
	if f := os.Getenv("EDGEHMI_BENCH_HEAPPROFILE"); f != "" {
		if w, err := os.Create(f); err == nil {
			pprof.WriteHeapProfile(w)
			w.Close()
		}
	}
	b.ReportMetric(float64(overruns), "overruns")
	b.ReportMetric(float64(errs), "errors")
}

// polls is the number of scans over all devices.
func (e *Engine) polls() uint64 {
	var n uint64
	for _, d := range e.order {
		n += d.Stats().Polls
	}
	return n
}
