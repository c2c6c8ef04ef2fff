package opcua

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

const testScan = 50 * time.Millisecond

func newDriver(t *testing.T, endpoint string, timeout time.Duration) *Driver {
	t.Helper()
	d, err := New(config.Device{
		Name: "heater", Driver: Name, Endpoint: endpoint, Security: "none",
		Timeout: config.Duration{Duration: timeout}, Scan: config.Duration{Duration: testScan},
	}, driver.Env{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// started starts a test server and a driver connected to it.
func started(t *testing.T) (*testServer, *Driver) {
	t.Helper()
	ts := newTestServer(t)
	ts.start()
	d := newDriver(t, ts.endpoint(), time.Second)
	if err := d.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return ts, d
}

func pts(specs ...string) []driver.Point {
	ps := make([]driver.Point, len(specs))
	for i, s := range specs {
		addr, typ, _ := strings.Cut(s, " ")
		ps[i] = driver.Point{Index: 10 + i, Tag: "T" + addr, Address: addr, Type: typ}
	}
	return ps
}

func mustRead(t *testing.T, d *Driver, n int) []driver.Reading {
	t.Helper()
	out := make([]driver.Reading, n)
	if err := d.Read(context.Background(), out); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

var typedNodes = pts(
	"ns=2;s=Bool bool", "ns=2;s=Int16 int16", "ns=2;s=UInt16 uint16", "ns=2;s=Int32 int32",
	"ns=2;s=UInt32 uint32", "ns=2;s=Int64 int64", "ns=2;s=UInt64 uint64", "ns=2;s=Float float",
	"ns=2;s=Double double", "ns=2;s=String string",
)

func TestRead(t *testing.T) {
	t.Parallel()
	_, d := started(t)
	ps := append(typedNodes[:len(typedNodes):len(typedNodes)], pts(
		"ns=2;s=TIC101.PV double", "ns=2;s=Nope double", "ns=7;s=NoNamespace double",
		"ns=2;s=Uncertain double", "ns=2;s=BadSensor double", "ns=2;s=Override double",
		"ns=2;s=Stamped int32", "ns=2;s=String double", "i=2258 double",
	)...)
	for i := range ps {
		ps[i].Index = 100 + i
	}
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	out := mustRead(t, d, len(ps))
	good := []hmi.Value{
		hmi.Bool(true), hmi.Number(-5), hmi.Number(65000), hmi.Number(-70000), hmi.Number(4000000000),
		hmi.Number(-1 << 40), hmi.Number(1 << 60), hmi.Number(1.5), hmi.Number(2.25), hmi.String("hello"),
		hmi.Number(21.5),
	}
	for i, w := range good {
		s := out[i].Sample
		if out[i].Index != 100+i || s.Quality != hmi.Good || s.Value != w {
			t.Errorf("%s %s: %+v (index %d), want good %v", ps[i].Address, ps[i].Type, s, out[i].Index, w)
		}
		if s.TS.Before(before.Add(-time.Second)) {
			t.Errorf("%s: timestamp %v", ps[i].Address, s.TS)
		}
	}
	expect := func(i int, q hmi.Quality, reason string) hmi.Sample {
		t.Helper()
		s := out[i].Sample
		if s.Quality != q || !strings.Contains(s.Reason, reason) {
			t.Errorf("%s: %v %q, want %v %q", ps[i].Address, s.Quality, s.Reason, q, reason)
		}
		return s
	}
	n := len(good)
	expect(n, hmi.Bad, "BadNodeIdUnknown")
	expect(n+1, hmi.Bad, "Bad")
	if s := expect(n+2, hmi.Uncertain, "UncertainLastUsableValue"); s.Value.Float() != 1.25 {
		t.Errorf("uncertain value %v", s.Value)
	}
	expect(n+3, hmi.Bad, "BadSensorFailure")
	if s := expect(n+4, hmi.Good, ""); s.Value.Float() != 3 {
		t.Errorf("override value %v", s.Value)
	}
	if s := expect(n+5, hmi.Good, ""); !s.TS.Equal(time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)) || s.Value.Float() != 9 {
		t.Errorf("source timestamp not kept: %+v", s)
	}
	expect(n+6, hmi.Bad, "type mismatch: node holds String, tag declares double")
	// The server's clock is a DateTime: not a supported value type.
	expect(n+7, hmi.Bad, "DateTime")
}

func TestWriteReadBack(t *testing.T) {
	t.Parallel()
	_, d := started(t)
	ctx := context.Background()
	values := []hmi.Value{
		hmi.Bool(false), hmi.Number(-32768), hmi.Number(65535), hmi.Number(-2147483648),
		hmi.Number(4294967295), hmi.String("-9007199254740993"), hmi.Number(1 << 62), hmi.Number(-0.25),
		hmi.Number(-273.15), hmi.String("world"),
	}
	for i, p := range typedNodes {
		if err := d.Write(ctx, p, values[i]); err != nil {
			t.Fatalf("Write %s %v: %v", p.Address, values[i], err)
		}
	}
	if err := d.Prepare(typedNodes); err != nil {
		t.Fatal(err)
	}
	out := mustRead(t, d, len(typedNodes))
	for i, r := range out {
		want := values[i]
		if i == 5 { // int64 written exactly, read back as the nearest float64
			want = hmi.Number(-9007199254740993)
		}
		if r.Sample.Quality != hmi.Good || r.Sample.Value != want {
			t.Errorf("%s read back %+v, want %v", typedNodes[i].Address, r.Sample, want)
		}
	}

	bad := []struct {
		p   driver.Point
		v   hmi.Value
		err string
	}{
		{driver.Point{Tag: "SP", Address: "ns=2;s=Int16", Type: "int16"}, hmi.Number(70000), "out of range for int16"},
		{driver.Point{Tag: "SP", Address: "ns=2;s=Int16", Type: "int16"}, hmi.Number(1.5), "not a whole number"},
		{driver.Point{Tag: "SP", Address: "ns=2;s=ReadOnly", Type: "double"}, hmi.Number(1), "server refused: access denied for this user (BadUserAccessDenied)"},
		{driver.Point{Tag: "SP", Address: "ns=2;s=Nope", Type: "double"}, hmi.Number(1), "server refused: unknown node (BadNodeIdUnknown)"},
		{driver.Point{Tag: "SP", Address: "Nope", Type: "double"}, hmi.Number(1), "not an OPC UA node id"},
	}
	for _, b := range bad {
		err := d.Write(ctx, b.p, b.v)
		if err == nil || !strings.Contains(err.Error(), b.err) || !strings.Contains(err.Error(), `tag "SP"`) {
			t.Errorf("Write %s %v: %v, want %q naming the tag", b.p.Address, b.v, err, b.err)
		}
		if errors.Is(err, driver.ErrNotConnected) {
			t.Errorf("Write %s dropped the link: %v", b.p.Address, err)
		}
	}
	mustRead(t, d, len(typedNodes)) // still connected
}

// collector gathers emitted readings for a test.
type collector struct {
	mu      sync.Mutex
	got     []driver.Reading
	changed chan struct{} // closed and replaced on every emit
}

func newCollector() *collector { return &collector{changed: make(chan struct{})} }

func (c *collector) emit(rs []driver.Reading) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, rs...)
	close(c.changed)
	c.changed = make(chan struct{})
}

// await waits for a reading of index that satisfies ok, among all readings
// emitted so far and later.
func (c *collector) await(t *testing.T, index int, what string, ok func(hmi.Sample) bool) hmi.Sample {
	t.Helper()
	timeout := time.After(5 * time.Second)
	seen := 0
	for {
		c.mu.Lock()
		for _, r := range c.got[seen:] {
			if r.Index == index && ok(r.Sample) {
				c.mu.Unlock()
				return r.Sample
			}
		}
		seen = len(c.got)
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			c.mu.Lock()
			var last []hmi.Sample
			for _, r := range c.got {
				if r.Index == index {
					last = append(last, r.Sample)
				}
			}
			c.mu.Unlock()
			if len(last) > 3 {
				last = last[len(last)-3:]
			}
			t.Fatalf("no reading of index %d: %s (last readings of it: %+v)", index, what, last)
			return hmi.Sample{}
		}
	}
}

// run runs f in a goroutine the test owns; wait returns its error.
func run(f func() error) (wait func() error) {
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { err = f() })
	return func() error { wg.Wait(); return err }
}

func TestSubscribe(t *testing.T) {
	t.Parallel()
	ts, d := started(t)
	ps := pts("ns=2;s=TIC101.PV double", "ns=2;s=Nope double", "ns=2;s=Uncertain double", "ns=2;s=Bool bool")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := run(func() error { return d.Subscribe(ctx, col.emit) })

	col.await(t, 10, "initial PV", func(s hmi.Sample) bool { return s.Quality == hmi.Good && s.Value.Float() == 21.5 })
	col.await(t, 11, "bad node", func(s hmi.Sample) bool { return s.Quality == hmi.Bad && s.Reason == "BadNodeIdUnknown" })
	col.await(t, 12, "uncertain", func(s hmi.Sample) bool { return s.Quality == hmi.Uncertain && s.Value.Float() == 1.25 })
	col.await(t, 13, "bool", func(s hmi.Sample) bool { return s.Value == hmi.Bool(true) })

	ts.change("TIC101.PV", 22.75)
	col.await(t, 10, "PV change", func(s hmi.Sample) bool { return s.Value.Float() == 22.75 })
	ts.change("TIC101.PV", 23.0)
	col.await(t, 10, "second PV change", func(s hmi.Sample) bool { return s.Value.Float() == 23 })

	// Writes run beside a subscription.
	if err := d.Write(ctx, driver.Point{Tag: "SP", Address: "ns=2;s=TIC101.SP", Type: "double"}, hmi.Number(61)); err != nil {
		t.Fatalf("Write during Subscribe: %v", err)
	}
	if n := ts.subscriptions(); n != 1 {
		t.Errorf("server has %d subscriptions", n)
	}

	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Subscribe returned %v after ctx ended", err)
	}
	// The subscription is deleted on the server (which does so in the background).
	deadline := time.Now().Add(2 * time.Second)
	for ts.subscriptions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscription left on the server")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The link is still up for reads.
	mustRead(t, d, len(ps))
}

func TestSubscribeFallsBackToPolling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.refuseSubscriptions = true
	ts.start()
	d := newDriver(t, ts.endpoint(), time.Second)
	if err := d.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Prepare(pts("ns=2;s=TIC101.PV double", "ns=2;s=Nope double")); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := run(func() error { return d.Subscribe(ctx, col.emit) })
	col.await(t, 10, "polled PV", func(s hmi.Sample) bool { return s.Value.Float() == 21.5 })
	col.await(t, 11, "polled bad node", func(s hmi.Sample) bool { return s.Reason == "BadNodeIdUnknown" })
	ts.change("TIC101.PV", 30.0)
	col.await(t, 10, "polled change", func(s hmi.Sample) bool { return s.Value.Float() == 30 })
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("polling Subscribe returned %v", err)
	}
}

func TestServerRestart(t *testing.T) {
	base := countGoroutines()
	ts := newTestServer(t)
	ts.start()
	d := newDriver(t, ts.endpoint(), time.Second)
	ctx := context.Background()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	ps := pts("ns=2;s=TIC101.PV double", "ns=2;s=Double double")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	mustRead(t, d, len(ps))
	col := newCollector()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wait := run(func() error { return d.Subscribe(sctx, col.emit) })
	col.await(t, 10, "initial PV", func(s hmi.Sample) bool { return s.Quality == hmi.Good })

	ts.stop()
	start := time.Now()
	err := wait()
	if !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Subscribe after server stop: %v, want ErrNotConnected", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("link loss noticed after %v", el)
	}
	if !strings.Contains(err.Error(), ts.endpoint()) {
		t.Errorf("error %q does not name the endpoint", err)
	}
	out := make([]driver.Reading, len(ps))
	if err := d.Read(ctx, out); !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read after server stop: %v, want ErrNotConnected", err)
	}
	if out[0].Sample.Quality != hmi.Bad || out[0].Index != 10 {
		t.Errorf("sample after link loss: %+v", out[0])
	}
	if err := d.Subscribe(sctx, col.emit); !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Subscribe while down: %v", err)
	}
	if err := d.Connect(ctx); err == nil {
		t.Fatal("Connect succeeded with the server down")
	}

	ts.start() // a fresh server on the same port
	if err := d.Connect(ctx); err != nil {
		t.Fatalf("Connect after restart: %v", err)
	}
	out = mustRead(t, d, len(ps))
	if out[0].Sample.Value.Float() != 21.5 {
		t.Errorf("after restart: %+v", out[0].Sample)
	}
	wait = run(func() error { return d.Subscribe(sctx, col.emit) })
	ts.change("TIC101.PV", 40.0)
	col.await(t, 10, "PV change after restart", func(s hmi.Sample) bool { return s.Value.Float() == 40 })
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}

	// Lost again, this time noticed by a Read.
	ts.stop()
	if err := d.Read(ctx, out); !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read after second stop: %v, want ErrNotConnected", err)
	}
	// Nothing is left of the clients that lost their link (nor of the
	// stopped servers).
	base.check(t)
}

func TestServerHangs(t *testing.T) {
	base := countGoroutines()
	ts := newTestServer(t)
	ts.start()
	d := newDriver(t, ts.endpoint(), 300*time.Millisecond)
	ctx := context.Background()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	ps := pts("ns=2;s=TIC101.PV double")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	wait := run(func() error { return d.Subscribe(ctx, col.emit) })
	col.await(t, 10, "initial PV", func(s hmi.Sample) bool { return s.Quality == hmi.Good })

	// A hung server sends no keep-alives; the probe finds out.
	ts.freeze()
	err := wait()
	if !errors.Is(err, driver.ErrNotConnected) || !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("Subscribe on a hung server: %v, want ErrTimeout and ErrNotConnected", err)
	}
	if err := d.Connect(ctx); !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("Connect to a hung server: %v, want ErrTimeout", err)
	}
	ts.thaw()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	ts.freeze()
	start := time.Now()
	out := make([]driver.Reading, 1)
	if err := d.Read(ctx, out); !errors.Is(err, driver.ErrNotConnected) || !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("Read on a hung server: %v, want ErrTimeout and ErrNotConnected", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Read took %v with a 300ms timeout", el)
	}
	ts.stop()
	base.check(t)
}

func TestConnectTimeout(t *testing.T) {
	// A listener that accepts and never answers: Connect times out.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Go(func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	})
	d := newDriver(t, "opc.tcp://"+ln.Addr().String(), 200*time.Millisecond)
	start := time.Now()
	err = d.Connect(context.Background())
	if !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("Connect to a silent server: %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Connect took %v", el)
	}
}

func TestNotConnected(t *testing.T) {
	d := newDriver(t, "opc.tcp://127.0.0.1:1", time.Second)
	if err := d.Prepare(pts("ns=2;s=X double")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := make([]driver.Reading, 1)
	if err := d.Read(ctx, out); !errors.Is(err, driver.ErrNotConnected) {
		t.Errorf("Read: %v", err)
	}
	if out[0].Sample.Quality != hmi.Bad || out[0].Index != 10 {
		t.Errorf("sample: %+v", out[0])
	}
	if err := d.Read(ctx, make([]driver.Reading, 3)); err == nil || errors.Is(err, driver.ErrNotConnected) {
		t.Errorf("Read with a wrong-sized out: %v", err)
	}
	if err := d.Write(ctx, driver.Point{Tag: "x", Address: "ns=2;s=X", Type: "double"}, hmi.Number(1)); !errors.Is(err, driver.ErrNotConnected) {
		t.Errorf("Write: %v", err)
	}
	if err := d.Subscribe(ctx, func([]driver.Reading) {}); !errors.Is(err, driver.ErrNotConnected) {
		t.Errorf("Subscribe: %v", err)
	}
	if err := d.Connect(ctx); err == nil {
		t.Error("Connect to a closed port succeeded")
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
}

func TestPrepareRejects(t *testing.T) {
	d := newDriver(t, "opc.tcp://127.0.0.1:1", time.Second)
	err := d.Prepare([]driver.Point{
		{Tag: "ok", Address: "ns=2;s=A", Type: "double"},
		{Tag: "bad1", Address: "A", Type: "double"},
		{Tag: "bad2", Address: "ns=2;s=A", Type: "float32"},
	})
	if err == nil || !strings.Contains(err.Error(), `tag "bad1"`) || !strings.Contains(err.Error(), `tag "bad2"`) {
		t.Fatalf("Prepare: %v", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	base := countGoroutines()
	ts := newTestServer(t)
	ts.start()
	d := newDriver(t, ts.endpoint(), time.Second)
	ctx := context.Background()
	for range 2 { // reconnecting releases the previous client too
		if err := d.Connect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ps := pts("ns=2;s=TIC101.PV double")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	mustRead(t, d, 1)
	if err := d.Write(ctx, driver.Point{Tag: "SP", Address: "ns=2;s=TIC101.SP", Type: "double"}, hmi.Number(1)); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	sctx, cancel := context.WithCancel(ctx)
	wait := run(func() error { return d.Subscribe(sctx, col.emit) })
	col.await(t, 10, "initial PV", func(s hmi.Sample) bool { return s.Quality == hmi.Good })
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ts.stop()
	base.check(t)
}
