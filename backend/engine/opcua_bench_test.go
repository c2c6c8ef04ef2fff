package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/driver/modbus"
	"github.com/edgehmi/edgehmi/backend/driver/opcua"
)

const (
	uaBenchItems = 10000
	// uaBenchPeriodDefault is how often every item changes;
	// EDGEHMI_BENCH_UA_PERIOD overrides it.
	uaBenchPeriodDefault = 100 * time.Millisecond
	// uaBenchSample: every uaBenchSample-th tag is watched by a websocket
	// client, for the latency from the driver to the frame.
	uaBenchSample = 100
)

// arrivals records when the driver delivered the sampled tags' values.
type arrivals struct {
	mu       sync.Mutex
	at       map[float64]time.Time // by value: every value of every tick is unique
	readings int
}

func (a *arrivals) note(rs []driver.Reading, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.readings += len(rs)
	for _, r := range rs {
		if r.Index%uaBenchSample == 0 {
			a.at[r.Sample.Value.Float()] = now
		}
	}
}

func (a *arrivals) take(v float64) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[v]
	delete(a.at, v)
	return t, ok
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.readings
}

// stampedDriver is the OPC UA driver, noting when it hands values on.
type stampedDriver struct {
	*opcua.Driver
	rec *arrivals
}

func (s stampedDriver) Subscribe(ctx context.Context, emit func([]driver.Reading)) error {
	return s.Driver.Subscribe(ctx, func(rs []driver.Reading) {
		s.rec.note(rs, time.Now())
		emit(rs)
	})
}

// BenchmarkOPCUA10k subscribes to 10,000 OPC UA variables that all change
// every 100 ms (a gopcua server in a child process, testdata/uabench)
// through the whole engine, with a websocket client watching every 100th
// tag. It reports the updates per second the driver receives and the tag
// database publishes, the HMI's CPU (percent of one core) and RSS, and the
// latency the HMI adds: from the driver handing a decoded notification to
// the poller, to the websocket frame carrying that value arriving at the
// client (p50, p99). Run with -benchtime=1x; each iteration measures 10 s.
func BenchmarkOPCUA10k(b *testing.B) {
	uaBenchPeriod := uaBenchPeriodDefault
	if s := os.Getenv("EDGEHMI_BENCH_UA_PERIOD"); s != "" {
		var err error
		if uaBenchPeriod, err = time.ParseDuration(s); err != nil {
			b.Fatalf("EDGEHMI_BENCH_UA_PERIOD: %v", err)
		}
	}
	addr := freeAddrs(b, 1)[0]
	var child *exec.Cmd
	switch srv := os.Getenv("EDGEHMI_BENCH_UA_SERVER"); srv {
	case "", "node":
		// node-opcua (testdata of the opcua driver; npm ci first).
		dir := filepath.Join("..", "driver", "opcua", "testdata", "nodeopcua")
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-opcua")); err != nil {
			b.Skipf("node-opcua is not installed (npm ci --prefix backend/driver/opcua/testdata/nodeopcua): %v", err)
		}
		_, port, _ := strings.Cut(addr, ":")
		child = exec.Command("node", "server.mjs", port, b.TempDir())
		child.Dir = dir
		child.Env = append(os.Environ(), fmt.Sprintf("BENCH_ITEMS=%d", uaBenchItems), fmt.Sprintf("BENCH_PERIOD_MS=%d", uaBenchPeriod.Milliseconds()))
	case "gopcua":
		bin := filepath.Join(b.TempDir(), "uabench")
		if out, err := exec.Command("go", "build", "-o", bin, "./testdata/uabench").CombinedOutput(); err != nil {
			b.Fatalf("build the bench server: %v: %s", err, out)
		}
		child = exec.Command(bin, addr, fmt.Sprint(uaBenchItems), uaBenchPeriod.String())
	default:
		b.Fatalf("EDGEHMI_BENCH_UA_SERVER=%q: want node or gopcua", srv)
	}
	out, _ := child.StdoutPipe()
	stdin, _ := child.StdinPipe() // node-opcua's server stops when its stdin closes
	child.Stderr = io.Discard
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); child.Process.Kill(); child.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "ready") {
	}
	if sc.Err() != nil || !strings.HasPrefix(sc.Text(), "ready") {
		b.Fatalf("bench server did not start: %v", sc.Err())
	}
	go io.Copy(io.Discard, out) // its later output; ends when it exits

	p := &config.Project{Version: 1, Name: "bench", Server: config.Server{Listen: "127.0.0.1:0"}}
	p.Devices = append(p.Devices, config.Device{Name: "ua", Driver: config.DriverOPCUA, Endpoint: "opc.tcp://" + addr,
		Security: "none", QueueSize: 1, Timeout: config.Duration{Duration: 5 * time.Second}, Scan: config.Duration{Duration: uaBenchPeriod}})
	var watched []string
	for i := range uaBenchItems {
		name := fmt.Sprintf("ua.Bench.%05d", i)
		p.Tags = append(p.Tags, config.Tag{Name: name, Device: "ua", Address: fmt.Sprintf("ns=2;s=Bench.%d", i), Type: "double"})
		if i%uaBenchSample == 0 {
			watched = append(watched, name)
		}
	}
	rec := &arrivals{at: map[float64]time.Time{}}
	ua := opcua.Kind()
	newUA := ua.New
	ua.New = func(dev config.Device, env driver.Env) (driver.Driver, error) {
		d, err := newUA(dev, env)
		if err != nil {
			return nil, err
		}
		return stampedDriver{Driver: d.(*opcua.Driver), rec: rec}, nil
	}
	e, err := Start(context.Background(), Options{Project: p, DataDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Drivers: driver.NewRegistry(modbus.Kind(), ua)})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.URL(), "http")+"/ws", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	sub, _ := json.Marshal(map[string]any{"type": "subscribe", "tags": watched})
	if err := ws.WriteMessage(websocket.TextMessage, sub); err != nil {
		b.Fatal(err)
	}
	var latMu sync.Mutex
	var lats []time.Duration
	measuring := false
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ws.Close() // ends the reader
	wg.Go(func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now()
			var m struct {
				Type string `json:"type"`
				Tags []struct {
					Value any `json:"value"`
				} `json:"tags"`
			}
			if json.Unmarshal(msg, &m) != nil || m.Type != "update" {
				continue
			}
			for _, t := range m.Tags {
				v, ok := t.Value.(float64)
				if !ok {
					continue
				}
				if at, ok := rec.take(v); ok {
					latMu.Lock()
					if measuring {
						lats = append(lats, now.Sub(at))
					}
					latMu.Unlock()
				}
			}
		}
	})

	time.Sleep(5 * time.Second) // connect, subscribe and settle
	for b.Loop() {
		latMu.Lock()
		measuring, lats = true, lats[:0]
		latMu.Unlock()
		readings0, changes0, cpu0, srv0, t0 := rec.count(), e.db.Changes(), cpuTime(), procCPU(child.Process.Pid), time.Now()
		time.Sleep(10 * time.Second)
		wall := time.Since(t0)
		cpu := cpuTime() - cpu0
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
		b.ReportMetric(100*(procCPU(child.Process.Pid)-srv0).Seconds()/wall.Seconds(), "server-%core")
		b.ReportMetric(float64(rec.count()-readings0)/wall.Seconds(), "received/s")
		b.ReportMetric(float64(e.db.Changes()-changes0)/wall.Seconds(), "updates/s")
		latMu.Lock()
		measuring = false
		ls := slices.Clone(lats)
		latMu.Unlock()
		slices.Sort(ls)
		if len(ls) == 0 {
			st := e.order[0].Stats()
			b.Fatalf("no value reached the websocket client (driver delivered %d readings, %d tag changes; device connected %v, last error %q)",
				rec.count(), e.db.Changes(), st.Connected, st.LastError)
		}
		q := func(f float64) float64 { return float64(ls[int(f*float64(len(ls)-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.5), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
		b.ReportMetric(float64(len(ls))/wall.Seconds(), "frames-values/s")
	}
	b.ReportMetric(rssMB(), "RSS-MB")
	st := e.order[0].Stats()
	b.ReportMetric(float64(st.Errors), "errors")
}

// procCPU is the CPU time (user and system) a process has used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
}
