package modbus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sv "github.com/simonvetter/modbus"

	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

func intp(n int) *int { return &n }

func TestReadOrdersBitsStringsUnits(t *testing.T) {
	plc := newFakePLC()
	addr := freeAddr(t)
	serve(t, addr, plc)
	dev := device(t, addr, 1, time.Second)
	dev.ByteOrder = "CDAB"
	d, err := New(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	plc.mu.Lock()
	plc.hr[0], plc.hr[1] = 0xE979, 0x42F6                                         // float32 123.456, CDAB
	plc.hr[2], plc.hr[3] = 0x42F6, 0xE979                                         // the same, ABCD
	plc.hr[4], plc.hr[5] = 0xF642, 0x79E9                                         // BADC
	plc.hr[6], plc.hr[7] = 0x79E9, 0xF642                                         // DCBA
	plc.hr[8], plc.hr[9], plc.hr[10], plc.hr[11] = 0xFB35, 0x8E04, 0xFEE0, 0xFFFF // int64 -1234567890123, CDAB
	plc.hr[12] = 0x8005                                                           // bits 0, 2, 15
	copy(plc.hr[13:], []uint16{'P'<<8 | 'U', 'M'<<8 | 'P', '1'<<8 | ' ', 0})
	plc.ir[0], plc.ir[1] = 0x0001, 0x1170 // uint32 70000 ABCD
	plc.mu.Unlock()
	ps := []driver.Point{
		{Index: 0, Tag: "f-cdab", Address: "HR0", Type: "float32"},
		{Index: 1, Tag: "f-abcd", Address: "HR2", Type: "float32", ByteOrder: "ABCD"},
		{Index: 2, Tag: "f-badc", Address: "HR4", Type: "float32", ByteOrder: "BADC"},
		{Index: 3, Tag: "f-dcba", Address: "HR6", Type: "float32", ByteOrder: "DCBA"},
		{Index: 4, Tag: "i64", Address: "HR8", Type: "int64"},
		{Index: 5, Tag: "b0", Address: "HR12.0", Type: "bool"},
		{Index: 6, Tag: "b1", Address: "HR12.1", Type: "bool"},
		{Index: 7, Tag: "b15", Address: "HR12.15", Type: "bool"},
		{Index: 8, Tag: "name", Address: "HR13", Type: "string", Length: 8},
		{Index: 9, Tag: "u32", Address: "IR0", Type: "uint32", ByteOrder: "ABCD"},
		{Index: 10, Tag: "unit7", Address: "HR0", Type: "uint16", UnitID: intp(7)},
		{Index: 11, Tag: "unit1", Address: "IR0", Type: "uint16", UnitID: intp(1)},
	}
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	out := read(t, d, len(ps))
	f := hmi.Number(float64(float32(123.456)))
	want := []hmi.Value{f, f, f, f, hmi.Number(-1234567890123), hmi.Bool(true), hmi.Bool(false), hmi.Bool(true),
		hmi.String("PUMP1"), hmi.Number(70000), hmi.Number(0xE979), hmi.Number(1)}
	for i, r := range out {
		if r.Sample.Quality != hmi.Good || r.Sample.Value != want[i] {
			t.Errorf("%s (%s %s): %v %v %q, want %v", ps[i].Tag, ps[i].Address, ps[i].Type, r.Sample.Value, r.Sample.Quality, r.Sample.Reason, want[i])
		}
	}
	// Unit 1: one HR block and one IR block; unit 7: one HR block.
	plc.mu.Lock()
	defer plc.mu.Unlock()
	if plc.units[1] != 2 || plc.units[7] != 1 || len(plc.units) != 2 {
		t.Errorf("requests per unit: %v", plc.units)
	}
}

func TestWriteOrdersBitsStrings(t *testing.T) {
	plc, d, _ := connected(t)
	ctx := context.Background()
	plc.mu.Lock()
	plc.hr[20] = 0x00F0
	plc.mu.Unlock()
	writes := []struct {
		p driver.Point
		v hmi.Value
	}{
		{driver.Point{Tag: "f", Address: "HR0", Type: "float32", ByteOrder: "CDAB"}, hmi.Number(123.456)},
		{driver.Point{Tag: "i", Address: "HR2", Type: "int32", ByteOrder: "DCBA"}, hmi.Number(-123456)},
		{driver.Point{Tag: "u64", Address: "HR4", Type: "uint64"}, hmi.String("18446744073709551615")},
		{driver.Point{Tag: "s", Address: "HR8", Type: "string", Length: 5}, hmi.String("AB")},
		{driver.Point{Tag: "set", Address: "HR20.0", Type: "bool"}, hmi.Bool(true)},
		{driver.Point{Tag: "clear", Address: "HR20.4", Type: "bool"}, hmi.Bool(false)},
		{driver.Point{Tag: "u3", Address: "HR30", Type: "uint16", UnitID: intp(3)}, hmi.Number(33)},
	}
	for _, w := range writes {
		if err := d.Write(ctx, w.p, w.v); err != nil {
			t.Fatalf("Write %s: %v", w.p.Tag, err)
		}
	}
	plc.mu.Lock()
	got := append([]uint16(nil), plc.hr[:31]...)
	units := plc.units[3]
	plc.mu.Unlock()
	want := map[int]uint16{0: 0xE979, 1: 0x42F6, 2: 0xC01D, 3: 0xFEFF, 4: 0xFFFF, 7: 0xFFFF, 8: 'A'<<8 | 'B', 9: 0, 10: 0, 20: 0x00E1, 30: 33}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("HR%d = %04X, want %04X", i, got[i], w)
		}
	}
	if units != 1 {
		t.Errorf("unit 3 saw %d requests", units)
	}
	if err := d.Write(ctx, driver.Point{Tag: "s", Address: "HR8", Type: "string", Length: 5}, hmi.String("TOOLONG")); err == nil ||
		!strings.Contains(err.Error(), "longer than the string's length 5") {
		t.Errorf("long string: %v", err)
	}
}

// TestIsolateIllegalAddress: one register in the middle of a block is
// illegal; its neighbours stay Good, later scans leave it out, and it is
// tried alone every retry period until it answers.
func TestIsolateIllegalAddress(t *testing.T) {
	plc, d, _ := connected(t)
	var illegal atomic.Bool
	illegal.Store(true)
	plc.mu.Lock()
	for i := range 21 {
		plc.hr[i] = uint16(100 + i)
	}
	plc.hrHook = func(_ uint8, addr, qty uint16, _ bool) error {
		if illegal.Load() && addr <= 10 && 10 < addr+qty {
			return sv.ErrIllegalDataAddress
		}
		return nil
	}
	plc.mu.Unlock()
	now := time.Now()
	d.now = func() time.Time { return now }
	var specs []string
	for i := range 21 {
		specs = append(specs, "HR"+strconv.Itoa(i)+" uint16")
	}
	ps := points(specs...)
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	reads := func() int {
		plc.mu.Lock()
		defer plc.mu.Unlock()
		n := 0
		for _, c := range plc.hrReads {
			n += c
		}
		plc.hrReads = nil
		return n
	}
	check := func(round string, badWant bool) {
		t.Helper()
		out := read(t, d, len(ps))
		for i, r := range out {
			s := r.Sample
			if i == 10 && badWant {
				if s.Quality != hmi.Bad || !strings.HasPrefix(s.Reason, "illegal address (exception 2 reading HR10") {
					t.Errorf("%s: HR10 %v %q, want Bad illegal address", round, s.Quality, s.Reason)
				}
				continue
			}
			if s.Quality != hmi.Good || s.Value.Float() != float64(100+i) {
				t.Errorf("%s: HR%d %v %v %q, want Good %d", round, i, s.Value, s.Quality, s.Reason, 100+i)
			}
		}
	}
	check("first scan", true)
	if n := reads(); n < 3 || n > 12 {
		t.Errorf("first scan: %d reads to isolate one register in 21", n)
	}
	check("second scan", true)
	if n := reads(); n != 2 {
		t.Errorf("second scan: %d reads, want 2 (around HR10)", n)
	}
	now = now.Add(time.Minute)
	check("retry, still illegal", true)
	plc.mu.Lock()
	if n := plc.hrReads["1:10+1"]; n != 1 {
		t.Errorf("retry: HR10 read alone %d times", n)
	}
	plc.mu.Unlock()
	reads()
	illegal.Store(false)
	now = now.Add(30 * time.Second)
	check("before the next retry", true)
	reads()
	now = now.Add(30 * time.Second)
	check("retry, now legal", false)
	reads()
	check("back in the plan", false)
	if n := reads(); n != 1 {
		t.Errorf("back in the plan: %d reads, want 1", n)
	}
}

// TestIllegalGapLearned: the tags are fine but a register between them is
// not; the read is split there and later scans no longer read across it.
func TestIllegalGapLearned(t *testing.T) {
	plc, d, _ := connected(t)
	plc.mu.Lock()
	plc.hr[0], plc.hr[1], plc.hr[6] = 1, 2, 7
	plc.hrHook = func(_ uint8, addr, qty uint16, _ bool) error {
		if addr <= 3 && 3 < addr+qty {
			return sv.ErrIllegalDataAddress
		}
		return nil
	}
	plc.mu.Unlock()
	ps := points("HR0 uint16", "HR1 uint16", "HR6 uint16")
	if err := d.Prepare(ps); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		out := read(t, d, len(ps))
		for i, want := range []float64{1, 2, 7} {
			if s := out[i].Sample; s.Quality != hmi.Good || s.Value.Float() != want {
				t.Errorf("round %d: %s %+v", round, ps[i].Address, s)
			}
		}
	}
	plc.mu.Lock()
	defer plc.mu.Unlock()
	// Round 0: HR0-HR6 (refused), HR0, HR1-HR6 (refused), HR1, HR6;
	// round 1: HR0-HR1, HR6.
	if plc.hrReads["1:0+7"] != 1 || plc.hrReads["1:0+2"] != 1 || plc.hrReads["1:6+1"] != 2 {
		t.Errorf("reads: %v", plc.hrReads)
	}
}

func TestExceptionReasons(t *testing.T) {
	tests := []struct {
		err    error
		reason string
		tries  int // reads of the failing block
	}{
		{sv.ErrIllegalFunction, "illegal function (exception 1 reading HR0-HR1)", 1},
		{sv.ErrIllegalDataValue, "illegal data value (exception 3 reading HR0-HR1)", 1},
		{sv.ErrServerDeviceFailure, "device failure (exception 4 reading HR0-HR1)", 1},
		{sv.ErrAcknowledge, "device busy (exception 5 reading HR0-HR1)", 2},
		{sv.ErrServerDeviceBusy, "device busy (exception 6 reading HR0-HR1)", 2},
		{sv.ErrMemoryParityError, "memory parity error (exception 8 reading HR0-HR1)", 1},
		{sv.ErrGWPathUnavailable, "gateway path unavailable (exception 10 reading HR0-HR1)", 1},
		{sv.ErrGWTargetFailedToRespond, "gateway target failed to respond (exception 11 reading HR0-HR1)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			plc, d, _ := connected(t)
			plc.mu.Lock()
			plc.hrHook = func(unit uint8, _, _ uint16, _ bool) error {
				if unit == 1 {
					return tt.err
				}
				return nil
			}
			plc.mu.Unlock()
			ps := []driver.Point{
				{Tag: "a", Address: "HR0", Type: "uint16"},
				{Tag: "b", Address: "HR1", Type: "uint16"},
				{Tag: "c", Address: "HR500", Type: "uint16"},
				{Tag: "d", Address: "IR0", Type: "uint16"},
				{Tag: "e", Address: "HR0", Type: "uint16", UnitID: intp(2)},
			}
			if err := d.Prepare(ps); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out := read(t, d, len(ps))
			if s := out[0].Sample; s.Quality != hmi.Bad || s.Reason != tt.reason {
				t.Errorf("HR0: %v %q, want Bad %q", s.Quality, s.Reason, tt.reason)
			}
			gateway := strings.HasPrefix(tt.reason, "gateway")
			// A gateway failure makes the rest of the unit Bad without asking.
			if s := out[2].Sample; s.Quality != hmi.Bad || (gateway && !strings.Contains(s.Reason, "earlier read of unit 1")) {
				t.Errorf("HR500: %v %q", s.Quality, s.Reason)
			}
			// IR0 is read before the holding registers: its answer stands.
			if s := out[3].Sample; s.Quality != hmi.Good {
				t.Errorf("IR0 (unit 1): %v %q", s.Quality, s.Reason)
			}
			if s := out[4].Sample; s.Quality != hmi.Good {
				t.Errorf("unit 2 HR0: %v %q, want Good", s.Quality, s.Reason)
			}
			plc.mu.Lock()
			tries, far := plc.hrReads["1:0+2"], plc.hrReads["1:500+1"]
			plc.mu.Unlock()
			if tries != tt.tries {
				t.Errorf("block read %d times, want %d", tries, tt.tries)
			}
			if gateway && far != 0 {
				t.Errorf("HR500 of the unreachable unit was still read")
			}
			if tt.tries == 2 && time.Since(start) < busyRetryDelay {
				t.Errorf("busy retry came after %v", time.Since(start))
			}
		})
	}
}

func TestBusyOnceRecovers(t *testing.T) {
	plc, d, _ := connected(t)
	var busy atomic.Int32
	busy.Store(1)
	plc.mu.Lock()
	plc.hr[0] = 9
	plc.hrHook = func(uint8, uint16, uint16, bool) error {
		if busy.Add(-1) >= 0 {
			return sv.ErrServerDeviceBusy
		}
		return nil
	}
	plc.mu.Unlock()
	if err := d.Prepare(points("HR0 uint16")); err != nil {
		t.Fatal(err)
	}
	if s := read(t, d, 1)[0].Sample; s.Quality != hmi.Good || s.Value.Float() != 9 {
		t.Errorf("after one busy answer: %+v", s)
	}
	busy.Store(1)
	if err := d.Write(context.Background(), driver.Point{Tag: "w", Address: "HR0", Type: "uint16"}, hmi.Number(5)); err != nil {
		t.Errorf("write after one busy answer: %v", err)
	}
}

func TestExceptionWords(t *testing.T) {
	for code, want := range map[byte]string{
		1: "illegal function (exception 1)", 2: "illegal address: illegal data address (exception 2)",
		5: "device busy: acknowledge (exception 5)", 6: "device busy: server device busy (exception 6)",
		7: "device busy: negative acknowledge (exception 7)", 11: "gateway target failed to respond: gateway target device failed to respond (exception 11)",
		99: "exception code 99 (exception 99)",
	} {
		if got := refusal(code); got != want {
			t.Errorf("refusal(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestNewLimitsAndOrder(t *testing.T) {
	d, err := New(device(t, "127.0.0.1:502", 1, 0))
	if err != nil || d.lim != defaultLimits || d.order != orderABCD {
		t.Fatalf("code-built device: %+v %v, %v", d.lim, d.order, err)
	}
	dev := device(t, "127.0.0.1:502", 1, 0)
	dev.MaxRegisters, dev.MaxBits, dev.MaxGap, dev.ByteOrder = 60, 800, 0, "DCBA"
	if d, err = New(dev); err != nil || d.lim != (limits{60, 800, 0}) || d.order != orderDCBA {
		t.Fatalf("project device: %+v %v, %v", d.lim, d.order, err)
	}
	for _, bad := range []func(){
		func() { dev.ByteOrder = "XYZW" },
		func() { dev.ByteOrder, dev.MaxRegisters = "", 126 },
		func() { dev.MaxRegisters, dev.MaxBits = 10, 2001 },
		func() { dev.MaxBits, dev.MaxGap = 10, 125 },
	} {
		bad()
		if _, err := New(dev); err == nil {
			t.Errorf("New accepted %+v", dev)
		}
	}
	d, _ = New(device(t, "127.0.0.1:502", 1, 0))
	err = d.Prepare([]driver.Point{
		{Tag: "s", Address: "HR0", Type: "string"},
		{Tag: "u", Address: "HR0", Type: "uint16", UnitID: intp(300)},
		{Tag: "o", Address: "HR0", Type: "float32", ByteOrder: "ABDC"},
	})
	for _, want := range []string{`tag "s": address HR0: string length 0`, `tag "u": unit_id 300`, `tag "o": byte order "ABDC"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Prepare: %v, want %q", err, want)
		}
	}
}

// A device refusing a written value (exception 3) is the client's to
// correct (the API's 400); other exceptions are the device's (502).
func TestWriteRefusedValue(t *testing.T) {
	plc, d, _ := connected(t)
	plc.mu.Lock()
	plc.hrHook = func(_ uint8, addr, _ uint16, write bool) error {
		switch {
		case write && addr == 0:
			return sv.ErrIllegalDataValue
		case write && addr == 1:
			return sv.ErrServerDeviceFailure
		}
		return nil
	}
	plc.mu.Unlock()
	err := d.Write(context.Background(), driver.Point{Tag: "SP", Address: "HR0", Type: "uint16"}, hmi.Number(9000))
	if !errors.Is(err, driver.ErrBadValue) || !strings.Contains(err.Error(), "illegal data value (exception 3)") {
		t.Errorf("write refused with exception 3: %v, want ErrBadValue naming the exception", err)
	}
	err = d.Write(context.Background(), driver.Point{Tag: "SP", Address: "HR1", Type: "uint16"}, hmi.Number(1))
	if err == nil || errors.Is(err, driver.ErrBadValue) || errors.Is(err, driver.ErrReadOnly) {
		t.Errorf("write refused with exception 4: %v, want a device error, not the value's", err)
	}
}
