package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sv "github.com/simonvetter/modbus"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// plcSize is the number of elements in each table of the test PLC; reads
// past it are answered with "illegal data address".
const plcSize = 1000

// fakePLC is an in-memory Modbus device served by simonvetter/modbus.
type fakePLC struct {
	mu     sync.Mutex
	coils  [plcSize]bool
	di     [plcSize]bool
	ir     [plcSize]uint16
	hr     [plcSize]uint16
	units  map[uint8]int // requests seen per unit id
	delay  time.Duration // answer this late
	busyIR bool          // answer input register reads with "device busy"
	// hrHook, if set, may refuse a holding register request with an
	// exception error before it is served.
	hrHook func(unit uint8, addr, qty uint16, write bool) error
	// hrReads counts holding register reads per "unit:addr+qty".
	hrReads map[string]int
}

func newFakePLC() *fakePLC { return &fakePLC{units: map[uint8]int{}} }

func (p *fakePLC) begin(unit uint8, addr, qty uint16) (time.Duration, error) {
	p.mu.Lock()
	p.units[unit]++
	d := p.delay
	p.mu.Unlock()
	if int(addr)+int(qty) > plcSize {
		return d, sv.ErrIllegalDataAddress
	}
	return d, nil
}

func (p *fakePLC) wait(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

func (p *fakePLC) HandleCoils(req *sv.CoilsRequest) ([]bool, error) {
	d, err := p.begin(req.UnitId, req.Addr, req.Quantity)
	p.wait(d)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if req.IsWrite {
		copy(p.coils[req.Addr:], req.Args)
		return nil, nil
	}
	return append([]bool(nil), p.coils[req.Addr:int(req.Addr)+int(req.Quantity)]...), nil
}

func (p *fakePLC) HandleDiscreteInputs(req *sv.DiscreteInputsRequest) ([]bool, error) {
	d, err := p.begin(req.UnitId, req.Addr, req.Quantity)
	p.wait(d)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bool(nil), p.di[req.Addr:int(req.Addr)+int(req.Quantity)]...), nil
}

func (p *fakePLC) HandleHoldingRegisters(req *sv.HoldingRegistersRequest) ([]uint16, error) {
	d, err := p.begin(req.UnitId, req.Addr, req.Quantity)
	p.wait(d)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !req.IsWrite {
		if p.hrReads == nil {
			p.hrReads = map[string]int{}
		}
		p.hrReads[fmt.Sprintf("%d:%d+%d", req.UnitId, req.Addr, req.Quantity)]++
	}
	if p.hrHook != nil {
		if err := p.hrHook(req.UnitId, req.Addr, req.Quantity, req.IsWrite); err != nil {
			return nil, err
		}
	}
	if req.IsWrite {
		copy(p.hr[req.Addr:], req.Args)
		return nil, nil
	}
	return append([]uint16(nil), p.hr[req.Addr:int(req.Addr)+int(req.Quantity)]...), nil
}

func (p *fakePLC) HandleInputRegisters(req *sv.InputRegistersRequest) ([]uint16, error) {
	d, err := p.begin(req.UnitId, req.Addr, req.Quantity)
	p.wait(d)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busyIR {
		return nil, sv.ErrServerDeviceBusy
	}
	return append([]uint16(nil), p.ir[req.Addr:int(req.Addr)+int(req.Quantity)]...), nil
}

// freeAddr returns a loopback address with a port the kernel just handed out.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// serve starts a Modbus TCP server for plc on addr; it stops at test end.
func serve(t *testing.T, addr string, plc *fakePLC) *sv.ModbusServer {
	t.Helper()
	srv, err := sv.NewServer(&sv.ServerConfiguration{
		URL:        "tcp://" + addr,
		Timeout:    30 * time.Second,
		MaxClients: 8,
		Logger:     log.New(io.Discard, "", 0),
	}, plc)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func device(t *testing.T, addr string, unit int, timeout time.Duration) config.Device {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return config.Device{Name: "plc", Driver: Name, Host: host, Port: p, UnitID: unit, Timeout: config.Duration{Duration: timeout}}
}

// connected starts a fake PLC and a driver connected to it.
func connected(t *testing.T) (*fakePLC, *Driver, string) {
	t.Helper()
	plc := newFakePLC()
	addr := freeAddr(t)
	serve(t, addr, plc)
	d, err := New(device(t, addr, 1, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return plc, d, addr
}

func points(specs ...string) []driver.Point {
	ps := make([]driver.Point, len(specs))
	for i, s := range specs {
		addr, typ, _ := strings.Cut(s, " ")
		ps[i] = driver.Point{Index: 100 + i, Tag: "tag" + strconv.Itoa(i), Address: addr, Type: typ}
	}
	return ps
}

func read(t *testing.T, d *Driver, n int) []driver.Reading {
	t.Helper()
	out := make([]driver.Reading, n)
	if err := d.Read(context.Background(), out); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

func TestReadEveryTable(t *testing.T) {
	plc, d, _ := connected(t)
	plc.mu.Lock()
	plc.coils[0], plc.coils[2] = true, true
	plc.di[1] = true
	plc.ir[0] = 7500
	plc.ir[2], plc.ir[3] = 0x0001, 0x1170 // 70000
	plc.hr[0] = 1234
	plc.hr[1] = uint16(0xFF9C)                                                  // int16 -100
	plc.hr[2], plc.hr[3] = 0xFFFE, 0x1DC0                                       // int32 -123456
	plc.hr[4], plc.hr[5] = 0x42F6, 0xE979                                       // float32 123.456
	plc.hr[6], plc.hr[7], plc.hr[8], plc.hr[9] = 0xC0C8, 0x1CD6, 0xE631, 0xF8A1 // float64 -12345.6789
	plc.hr[40] = 9
	plc.mu.Unlock()

	ps := points("C0 bool", "C1 bool", "C2 bool", "DI0 bool", "DI1 bool",
		"IR0 uint16", "IR2 uint32",
		"HR0 uint16", "HR1 int16", "HR2 int32", "HR4 float32", "HR6 float64", "HR40 uint16")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	out := read(t, d, len(ps))
	want := []hmi.Value{
		hmi.Bool(true), hmi.Bool(false), hmi.Bool(true), hmi.Bool(false), hmi.Bool(true),
		hmi.Number(7500), hmi.Number(70000),
		hmi.Number(1234), hmi.Number(-100), hmi.Number(-123456), hmi.Number(float64(float32(123.456))),
		hmi.Number(-12345.6789), hmi.Number(9),
	}
	for i, r := range out {
		if r.Index != ps[i].Index {
			t.Errorf("%s: index %d, want %d", ps[i].Address, r.Index, ps[i].Index)
		}
		if r.Sample.Quality != hmi.Good || r.Sample.Value != want[i] {
			t.Errorf("%s %s = %v (%v %q), want %v", ps[i].Address, ps[i].Type, r.Sample.Value, r.Sample.Quality, r.Sample.Reason, want[i])
		}
		if r.Sample.TS.Before(before) || time.Since(r.Sample.TS) > time.Minute {
			t.Errorf("%s: timestamp %v", ps[i].Address, r.Sample.TS)
		}
	}
	// The plan: C0-C2, DI0-DI1, IR0-IR3, HR0-HR9, HR40 (gap of 30 > 16).
	if len(d.blocks) != 1 || len(d.blocks[0]) != 5 {
		t.Errorf("planned %v, want one group of 5 blocks", d.blocks)
	}
	// The unit id given (1) is the one sent.
	plc.mu.Lock()
	defer plc.mu.Unlock()
	if plc.units[1] == 0 || len(plc.units) != 1 {
		t.Errorf("unit ids seen: %v", plc.units)
	}
}

func TestUnitID(t *testing.T) {
	plc := newFakePLC()
	addr := freeAddr(t)
	serve(t, addr, plc)
	d, err := New(device(t, addr, 17, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Prepare(points("HR0 uint16")); err != nil {
		t.Fatal(err)
	}
	read(t, d, 1)
	if rt := d.RequestTiming(); rt.Count != 1 || rt.Last <= 0 || rt.P99 != rt.Last {
		t.Errorf("request timing after one read = %+v", rt)
	}
	plc.mu.Lock()
	defer plc.mu.Unlock()
	if plc.units[17] != 1 {
		t.Errorf("unit ids seen: %v", plc.units)
	}
}

func TestExceptionMarksOnlyItsBlock(t *testing.T) {
	plc, d, _ := connected(t)
	plc.mu.Lock()
	plc.hr[0], plc.hr[1], plc.hr[900] = 1, 2, 3
	plc.mu.Unlock()
	// HR998 float64 runs past the PLC's 1000 registers: its block (with
	// HR999) is refused; HR900 is a block of its own.
	ps := points("HR0 uint16", "HR1 uint16", "HR998 float64", "HR999 uint16", "HR900 uint16", "IR0 uint16", "C0 bool")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	plc.mu.Lock()
	plc.busyIR = true
	plc.mu.Unlock()
	out := make([]driver.Reading, len(ps))
	if err := d.Read(context.Background(), out); err != nil {
		t.Fatalf("Read with exceptions: %v", err)
	}
	// Isolation reads HR999 alone: only HR998 float64 is Bad.
	wantGood := map[int]float64{0: 1, 1: 2, 3: 0, 4: 3, 6: 0}
	for i, r := range out {
		if w, ok := wantGood[i]; ok {
			if r.Sample.Quality != hmi.Good || r.Sample.Value.Float() != w {
				t.Errorf("%s: %+v, want good %v", ps[i].Address, r.Sample, w)
			}
			continue
		}
		if r.Sample.Quality != hmi.Bad {
			t.Errorf("%s: quality %v, want bad", ps[i].Address, r.Sample.Quality)
		}
	}
	if r := out[2].Sample.Reason; r != "illegal address (exception 2 reading HR998-HR1001)" {
		t.Errorf("%s reason %q", ps[2].Address, r)
	}
	if r := out[5].Sample.Reason; !strings.Contains(r, "device busy") || !strings.Contains(r, "IR0") {
		t.Errorf("IR0 reason %q", r)
	}
	// The link stays up: the next read needs no Connect.
	plc.mu.Lock()
	plc.busyIR = false
	plc.mu.Unlock()
	out = read(t, d, len(ps))
	if out[5].Sample.Quality != hmi.Good {
		t.Errorf("IR0 after busy: %+v", out[5].Sample)
	}
}

func TestIllegalAddressBlock(t *testing.T) {
	plc, d, _ := connected(t)
	plc.mu.Lock()
	plc.hr[10] = 42
	plc.mu.Unlock()
	ps := points("HR10 uint16", "HR1200 uint16", "HR1201 int16", "HR5000 float32")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	out := make([]driver.Reading, len(ps))
	if err := d.Read(context.Background(), out); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if s := out[0].Sample; s.Quality != hmi.Good || s.Value.Float() != 42 {
		t.Errorf("HR10: %+v", s)
	}
	for _, i := range []int{1, 2, 3} {
		s := out[i].Sample
		if s.Quality != hmi.Bad || !strings.HasPrefix(s.Reason, "illegal address") {
			t.Errorf("%s: %+v", ps[i].Address, s)
		}
	}
	if r := out[1].Sample.Reason; r != "illegal address (exception 2 reading HR1200)" {
		t.Errorf("reason %q does not name the read", r)
	}
}

func TestWrite(t *testing.T) {
	plc, d, _ := connected(t)
	ctx := context.Background()
	writes := []struct {
		addr, typ string
		v         hmi.Value
	}{
		{"C3", "bool", hmi.Bool(true)},
		{"C4", "bool", hmi.Number(1)},
		{"HR0", "uint16", hmi.Number(65535)},
		{"HR1", "int16", hmi.Number(-2)},
		{"HR2", "int32", hmi.Number(-123456)},
		{"HR4", "uint32", hmi.Number(70000)},
		{"HR6", "float32", hmi.Number(-1.25)},
		{"HR8", "float64", hmi.Number(math.Pi)},
	}
	var ps []driver.Point
	for i, w := range writes {
		p := driver.Point{Index: i, Tag: "w" + strconv.Itoa(i), Address: w.addr, Type: w.typ}
		ps = append(ps, p)
		if err := d.Write(ctx, p, w.v); err != nil {
			t.Fatalf("Write %s %s %v: %v", w.addr, w.typ, w.v, err)
		}
	}
	plc.mu.Lock()
	if !plc.coils[3] || !plc.coils[4] || plc.hr[0] != 65535 || plc.hr[1] != 0xFFFE ||
		plc.hr[2] != 0xFFFE || plc.hr[3] != 0x1DC0 || plc.hr[4] != 1 || plc.hr[5] != 0x1170 ||
		plc.hr[6] != 0xBFA0 || plc.hr[7] != 0 || plc.hr[8] != 0x4009 || plc.hr[11] != 0x2D18 {
		t.Errorf("device after writes: coils %v hr %04X", plc.coils[:5], plc.hr[:12])
	}
	plc.mu.Unlock()
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	out := read(t, d, len(ps))
	for i, w := range writes {
		if out[i].Sample.Value.Float() != w.v.Float() {
			t.Errorf("read back %s = %v, want %v", w.addr, out[i].Sample.Value, w.v)
		}
	}
	// A write of false clears the coil.
	if err := d.Write(ctx, ps[0], hmi.Bool(false)); err != nil {
		t.Fatal(err)
	}
	plc.mu.Lock()
	if plc.coils[3] {
		t.Error("coil 3 still set")
	}
	plc.mu.Unlock()
}

func TestWriteRejects(t *testing.T) {
	_, d, _ := connected(t)
	ctx := context.Background()
	tests := []struct {
		addr, typ string
		v         hmi.Value
		err       string
		kind      error // ErrBadValue or ErrReadOnly for the API's 400 and 409; nil: neither
	}{
		{"DI0", "bool", hmi.Bool(true), `address "DI0" is read-only`, driver.ErrReadOnly},
		{"IR5", "uint16", hmi.Number(1), `address "IR5" is read-only`, driver.ErrReadOnly},
		{"HR0", "uint16", hmi.Number(70000), "out of range for uint16", driver.ErrBadValue},
		{"HR0", "int16", hmi.Number(1.5), "not a whole number", driver.ErrBadValue},
		{"C0", "bool", hmi.Number(3), "does not fit a coil", driver.ErrBadValue},
		{"HR70000", "uint16", hmi.Number(1), "register out of range", nil},
		{"HR5000", "uint16", hmi.Number(1), "device refused: illegal address: illegal data address (exception 2)", nil},
		{"HR5000", "float32", hmi.Number(1), "device refused: illegal address", nil},
		{"C5000", "bool", hmi.Bool(true), "device refused: illegal address", nil},
		{"IR5.1", "bool", hmi.Bool(true), `address "IR5.1" is read-only`, driver.ErrReadOnly},
		{"HR0.1", "bool", hmi.Number(2), "does not fit a coil", driver.ErrBadValue},
		{"HR0", "string", hmi.String("x"), "string length 0 is out of range", nil},
		{"HR5000.1", "bool", hmi.Bool(true), "device refused: illegal address", nil},
	}
	for _, tt := range tests {
		err := d.Write(ctx, driver.Point{Tag: "T1", Address: tt.addr, Type: tt.typ}, tt.v)
		if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), `"T1"`) {
			t.Errorf("Write %s %s %v: %v, want %q naming the tag", tt.addr, tt.typ, tt.v, err, tt.err)
		}
		if errors.Is(err, driver.ErrNotConnected) {
			t.Errorf("Write %s: %v must not drop the link", tt.addr, err)
		}
		for _, kind := range []error{driver.ErrBadValue, driver.ErrReadOnly} {
			if errors.Is(err, kind) != (kind == tt.kind) {
				t.Errorf("Write %s %s %v: errors.Is(%v, %v) = %v", tt.addr, tt.typ, tt.v, err, kind, !(kind == tt.kind))
			}
		}
	}
	// Refused writes leave the link up.
	if err := d.Prepare(points("HR0 uint16")); err != nil {
		t.Fatal(err)
	}
	read(t, d, 1)
}

func TestServerRestart(t *testing.T) {
	plc := newFakePLC()
	plc.hr[0] = 5
	addr := freeAddr(t)
	srv := serve(t, addr, plc)
	d, err := New(device(t, addr, 1, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	ps := points("HR0 uint16", "C0 bool")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	read(t, d, len(ps))

	srv.Stop()
	out := make([]driver.Reading, len(ps))
	err = d.Read(ctx, out)
	if !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read after server stop: %v, want ErrNotConnected", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the device", err)
	}
	for _, r := range out {
		if r.Sample.Quality != hmi.Bad || r.Sample.Reason == "" {
			t.Errorf("sample after link loss: %+v", r.Sample)
		}
	}
	// Until Connect succeeds every call says not connected.
	if err := d.Read(ctx, out); !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("second Read: %v", err)
	}
	if err := d.Write(ctx, ps[0], hmi.Number(1)); !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Write while down: %v", err)
	}
	if err := d.Connect(ctx); err == nil {
		t.Fatal("Connect succeeded with the server down")
	}

	serve(t, addr, plc) // back on the same port
	if err := d.Connect(ctx); err != nil {
		t.Fatalf("Connect after restart: %v", err)
	}
	out = read(t, d, len(ps))
	if out[0].Sample.Value.Float() != 5 {
		t.Errorf("after restart: %+v", out[0].Sample)
	}
}

func TestTimeout(t *testing.T) {
	plc := newFakePLC()
	addr := freeAddr(t)
	serve(t, addr, plc)
	d, err := New(device(t, addr, 1, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Prepare(points("HR0 uint16")); err != nil {
		t.Fatal(err)
	}
	plc.mu.Lock()
	plc.delay = 400 * time.Millisecond
	plc.mu.Unlock()
	start := time.Now()
	err = d.Read(ctx, make([]driver.Reading, 1))
	if !errors.Is(err, driver.ErrTimeout) || !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read from a slow device: %v, want ErrTimeout and ErrNotConnected", err)
	}
	if el := time.Since(start); el > 350*time.Millisecond {
		t.Errorf("timeout took %v", el)
	}
	plc.mu.Lock()
	plc.delay = 0
	plc.mu.Unlock()
	if err := d.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	read(t, d, 1)
}

func TestContext(t *testing.T) {
	plc, d, _ := connected(t)
	if err := d.Prepare(points("HR0 uint16")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := make([]driver.Reading, 1)
	err := d.Read(ctx, out)
	if !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read with cancelled ctx: %v", err)
	}
	if err := d.Write(ctx, driver.Point{Tag: "x", Address: "HR0", Type: "uint16"}, hmi.Number(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with cancelled ctx: %v", err)
	}
	// A deadline shorter than the device timeout bounds the request.
	plc.mu.Lock()
	plc.delay = 300 * time.Millisecond
	plc.mu.Unlock()
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = d.Read(ctx, out)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read past ctx deadline: %v", err)
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Errorf("ctx deadline ignored: read took %v", el)
	}
}

func TestWriteDuringRead(t *testing.T) {
	_, d, _ := connected(t)
	ps := points("HR0 uint16", "HR1 uint16", "C0 bool")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		out := make([]driver.Reading, len(ps))
		for range 50 {
			if err := d.Read(ctx, out); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for i := range 50 {
			if err := d.Write(ctx, ps[1], hmi.Number(float64(i))); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNotConnected(t *testing.T) {
	d, err := New(config.Device{Host: "127.0.0.1", Port: 1502})
	if err != nil {
		t.Fatal(err)
	}
	if d.timeout != DefaultTimeout || d.unit != 0 {
		t.Errorf("defaults: timeout %v unit %d (want 1s and the unit as given)", d.timeout, d.unit)
	}
	if err := d.Prepare(points("HR0 uint16")); err != nil {
		t.Fatal(err)
	}
	out := make([]driver.Reading, 1)
	if err := d.Read(context.Background(), out); !errors.Is(err, driver.ErrNotConnected) {
		t.Fatalf("Read before Connect: %v", err)
	}
	if out[0].Sample.Quality != hmi.Bad || out[0].Index != 100 {
		t.Errorf("sample: %+v", out[0])
	}
	if err := d.Read(context.Background(), make([]driver.Reading, 2)); err == nil {
		t.Error("Read accepted a wrong-sized out")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareRejects(t *testing.T) {
	d, err := New(config.Device{Host: "127.0.0.1", Port: 1502})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Prepare([]driver.Point{
		{Tag: "ok", Address: "HR0", Type: "uint16"},
		{Tag: "bad1", Address: "HR70000", Type: "uint16"},
		{Tag: "bad2", Address: "C0", Type: "float32"},
	})
	if err == nil || !strings.Contains(err.Error(), `tag "bad1"`) || !strings.Contains(err.Error(), `tag "bad2"`) {
		t.Fatalf("Prepare: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, dev := range []config.Device{
		{Port: 502},
		{Host: "h", Port: 0},
		{Host: "h", Port: 70000},
		{Host: "h", Port: 502, UnitID: 256},
	} {
		if _, err := New(dev); err == nil {
			t.Errorf("New(%+v) accepted", dev)
		}
	}
	k := Kind()
	drv, err := k.New(config.Device{Host: "h", Port: 502}, driver.Env{})
	if err != nil || drv == nil {
		t.Fatalf("Kind().New: %v", err)
	}
}

// TestGroups reads two scan classes of one device separately: each read
// asks only for its own group's blocks and fills only its points.
func TestGroups(t *testing.T) {
	plc := newFakePLC()
	addr := freeAddr(t)
	serve(t, addr, plc)
	d, err := New(device(t, addr, 1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	ps := points("HR0 uint16", "HR1 uint16", "HR100 uint16", "C0 bool")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	if err := d.Group([][]int{{0, 2}, {1, 3}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Group([][]int{{0, 1}, {1, 2}}); err == nil {
		t.Error("a point in two groups and one in none was accepted")
	}
	d.Group([][]int{{0, 2}, {1, 3}})
	out := make([]driver.Reading, len(ps))
	before := d.RequestTiming().Count
	if err := d.ReadGroup(context.Background(), 0, out); err != nil {
		t.Fatal(err)
	}
	if got := d.RequestTiming().Count - before; got != 2 { // HR0 and HR100: too far apart for one read
		t.Errorf("group 0 took %d requests, want 2", got)
	}
	if out[0].Sample.Quality != hmi.Good || out[2].Sample.Quality != hmi.Good {
		t.Errorf("group 0 points not read: %+v", out)
	}
	if out[1] != (driver.Reading{}) || out[3] != (driver.Reading{}) {
		t.Errorf("group 0 read touched group 1's points: %+v", out)
	}
	if err := d.ReadGroup(context.Background(), 1, out); err != nil {
		t.Fatal(err)
	}
	if out[1].Sample.Quality != hmi.Good || out[3].Sample.Quality != hmi.Good {
		t.Errorf("group 1 points not read: %+v", out)
	}
	if err := d.ReadGroup(context.Background(), 2, out); err == nil {
		t.Error("read of a group that does not exist")
	}
}
