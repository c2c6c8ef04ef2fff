package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	mbclient "github.com/goburrow/modbus"
	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
	"github.com/simonvetter/modbus"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startTestSim(t *testing.T) *Sim {
	t.Helper()
	s, err := Start(context.Background(), Options{
		ModbusAddr: "127.0.0.1:0",
		OPCUAAddr:  "127.0.0.1:0",
		Step:       20 * time.Millisecond,
		Logger:     quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func modbusClient(t *testing.T, addr string, unit byte) (mbclient.Client, *mbclient.TCPClientHandler) {
	t.Helper()
	h := mbclient.NewTCPClientHandler(addr)
	h.SlaveId = unit
	h.Timeout = 2 * time.Second
	t.Cleanup(func() { h.Close() })
	return mbclient.NewClient(h), h
}

func exceptionCode(err error) byte {
	var me *mbclient.ModbusError
	if errors.As(err, &me) {
		return me.ExceptionCode
	}
	return 0
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSim runs the integration tests against one Sim: starting one costs
// about 1.5 s under the race detector (the OPC UA library parses its
// standard node set), so they share it. Each subtest sets the plant state
// it relies on.
func TestSim(t *testing.T) {
	s := startTestSim(t)
	t.Run("addresses", func(t *testing.T) { testAddresses(t, s) })
	t.Run("modbus read/write", func(t *testing.T) { testModbusReadWrite(t, s) })
	t.Run("modbus exceptions", func(t *testing.T) { testModbusExceptions(t, s) })
	t.Run("modbus stop/start", func(t *testing.T) { testModbusStopStart(t, s) })
	t.Run("opc ua read/write", func(t *testing.T) { testOPCUAReadWrite(t, s) })
	t.Run("opc ua browse", func(t *testing.T) { testOPCUABrowse(t, s) })
	t.Run("opc ua subscription", func(t *testing.T) { testOPCUASubscription(t, s) })
	t.Run("opc ua subscription ids", func(t *testing.T) { testOPCUASubscriptionIDs(t, s) })
	t.Run("opc ua bad requests", func(t *testing.T) { testOPCUABadRequests(t, s) })
}

// resetPlant puts the shared plant back in its start state.
func resetPlant(p *Plant) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.level, p.valveOpen, p.pumpRunning, p.pumpFault = InitialLevel, true, false, false
	p.temp, p.sp, p.out = Ambient, InitialSP, 0
	p.convRunning, p.speed, p.jam, p.jamForced = true, InitialSpeed, false, false
	p.count, p.partsFrac, p.runTime, p.jamTime = 0, 0, 0, 0
}

func testAddresses(t *testing.T, s *Sim) {
	if !strings.HasPrefix(s.ModbusAddr(), "127.0.0.1:") || strings.HasSuffix(s.ModbusAddr(), ":0") {
		t.Errorf("ModbusAddr = %q", s.ModbusAddr())
	}
	if !strings.HasPrefix(s.OPCUAEndpoint(), "opc.tcp://127.0.0.1:") || strings.HasSuffix(s.OPCUAEndpoint(), ":0") {
		t.Errorf("OPCUAEndpoint = %q", s.OPCUAEndpoint())
	}
	if s.Plant() == nil {
		t.Fatal("Plant() = nil")
	}
	// The physics runs.
	start := s.Plant().HeaterPV()
	s.Plant().SetHeaterOut(100)
	eventually(t, "PV to rise", 5*time.Second, func() bool { return s.Plant().HeaterPV() > start+0.5 })
}

func testModbusReadWrite(t *testing.T, s *Sim) {
	p := s.Plant()
	resetPlant(p)
	c, _ := modbusClient(t, s.ModbusAddr(), 1)

	// Input registers: level ×100, spare, count (uint32 ABCD).
	b, err := c.ReadInputRegisters(0, 4)
	if err != nil {
		t.Fatal(err)
	}
	if lvl := float64(binary.BigEndian.Uint16(b[0:])) / 100; !near(lvl, p.Level(), 1) {
		t.Errorf("IR0 = %v %%, plant level %v", lvl, p.Level())
	}
	if spare := binary.BigEndian.Uint16(b[2:]); spare != 0 {
		t.Errorf("IR1 = %d, want 0", spare)
	}
	if n, pc := binary.BigEndian.Uint32(b[4:]), p.PartCount(); n > pc || pc-n > 20 {
		t.Errorf("IR2-3 = %d, plant count %d", n, pc)
	}

	// Coils: XV101 open, P101 stopped, CV201 running.
	b, err = c.ReadCoils(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0b101 {
		t.Errorf("coils = %03b, want 101", b[0])
	}
	if _, err := c.WriteSingleCoil(0, 0x0000); err != nil {
		t.Fatal(err)
	}
	if p.ValveOpen() {
		t.Error("writing coil 0 = false did not close XV101")
	}
	if _, err := c.WriteSingleCoil(1, 0xFF00); err != nil {
		t.Fatal(err)
	}
	if !p.PumpRunning() {
		t.Error("writing coil 1 = true did not start P101")
	}
	if _, err := c.WriteMultipleCoils(0, 3, []byte{0b001}); err != nil {
		t.Fatal(err)
	}
	if st := p.Snapshot(); !st.ValveOpen || st.PumpRunning || st.ConveyorRunning {
		t.Errorf("after writing coils 001: %+v", st)
	}

	// Push buttons: a press of start (coil 3) starts P101, a press of stop
	// (coil 4) stops it; each reads back as pressed until released.
	for _, step := range []struct {
		coil    uint16
		on      bool
		running bool
		buttons byte // coils 3 and 4
	}{{3, true, true, 0b01}, {3, false, true, 0b00}, {4, true, false, 0b10}, {3, true, false, 0b11}, {4, false, false, 0b01}, {3, false, false, 0b00}} {
		val := uint16(0)
		if step.on {
			val = 0xFF00
		}
		if _, err := c.WriteSingleCoil(step.coil, val); err != nil {
			t.Fatal(err)
		}
		b, err := c.ReadCoils(3, 2)
		if err != nil {
			t.Fatal(err)
		}
		if p.PumpRunning() != step.running || b[0] != step.buttons {
			t.Errorf("coil %d = %v: running %v, buttons %02b; want %v, %02b", step.coil, step.on, p.PumpRunning(), b[0], step.running, step.buttons)
		}
	}

	// Discrete inputs follow the plant's fault and jam bits.
	p.SetPumpFault(true)
	p.SetJam(true)
	b, err = c.ReadDiscreteInputs(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0b11 {
		t.Errorf("discrete inputs = %02b, want 11", b[0])
	}
	// A start command while faulted is accepted but ignored.
	if _, err := c.WriteSingleCoil(1, 0xFF00); err != nil {
		t.Fatal(err)
	}
	if b, _ := c.ReadCoils(1, 1); b[0] != 0 {
		t.Error("P101 started while faulted")
	}

	// Holding register 0: speed ×10.
	b, err = c.ReadHoldingRegisters(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint16(b); v != 300 {
		t.Errorf("HR0 = %d, want 300", v)
	}
	if _, err := c.WriteSingleRegister(0, 450); err != nil {
		t.Fatal(err)
	}
	if got := p.ConveyorSpeed(); got != 45 {
		t.Errorf("speed after HR0 = 450: %v, want 45", got)
	}
	if _, err := c.WriteSingleRegister(0, 1001); exceptionCode(err) != mbclient.ExceptionCodeIllegalDataValue {
		t.Errorf("HR0 = 1001: err = %v, want illegal data value", err)
	}
	if _, err := c.WriteMultipleRegisters(0, 1, []byte{0x00, 0x64}); err != nil {
		t.Fatal(err)
	}
	if got := p.ConveyorSpeed(); got != 10 {
		t.Errorf("speed after HR0 = 100: %v, want 10", got)
	}
}

func testModbusExceptions(t *testing.T, s *Sim) {
	c, _ := modbusClient(t, s.ModbusAddr(), 1)
	tests := []struct {
		name string
		call func() ([]byte, error)
		want byte
	}{
		{"coil 5", func() ([]byte, error) { return c.ReadCoils(5, 1) }, mbclient.ExceptionCodeIllegalDataAddress},
		{"coils 4..5", func() ([]byte, error) { return c.ReadCoils(4, 2) }, mbclient.ExceptionCodeIllegalDataAddress},
		{"write coil 5", func() ([]byte, error) { return c.WriteSingleCoil(5, 0xFF00) }, mbclient.ExceptionCodeIllegalDataAddress},
		{"discrete input 2", func() ([]byte, error) { return c.ReadDiscreteInputs(2, 1) }, mbclient.ExceptionCodeIllegalDataAddress},
		{"input registers 3..4", func() ([]byte, error) { return c.ReadInputRegisters(3, 2) }, mbclient.ExceptionCodeIllegalDataAddress},
		{"holding register 1", func() ([]byte, error) { return c.ReadHoldingRegisters(1, 1) }, mbclient.ExceptionCodeIllegalDataAddress},
		{"write holding register 7", func() ([]byte, error) { return c.WriteSingleRegister(7, 1) }, mbclient.ExceptionCodeIllegalDataAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.call(); exceptionCode(err) != tt.want {
				t.Fatalf("err = %v, want exception %d", err, tt.want)
			}
		})
	}

	other, _ := modbusClient(t, s.ModbusAddr(), 2)
	if _, err := other.ReadCoils(0, 1); exceptionCode(err) != mbclient.ExceptionCodeGatewayTargetDeviceFailedToRespond {
		t.Errorf("unit 2: err = %v, want gateway target device failed to respond", err)
	}
}

func TestModbusHandlerCount32(t *testing.T) {
	p := NewPlant()
	p.count = 0x12345678
	h := &modbusHandler{plant: p}
	regs, err := h.HandleInputRegisters(&modbus.InputRegistersRequest{UnitId: 1, Addr: 2, Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(regs, []uint16{0x1234, 0x5678}) {
		t.Fatalf("IR2-3 = %04x, want [1234 5678]", regs)
	}
	p.SetLevel(100)
	regs, _ = h.HandleInputRegisters(&modbus.InputRegistersRequest{UnitId: 1, Addr: 0, Quantity: 1})
	if regs[0] != 10000 {
		t.Fatalf("IR0 at 100 %% = %d, want 10000", regs[0])
	}
}

func testModbusStopStart(t *testing.T, s *Sim) {
	c, h := modbusClient(t, s.ModbusAddr(), 1)
	if _, err := c.ReadCoils(0, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.StopModbus(); err != nil {
		t.Fatal(err)
	}
	if err := s.StopModbus(); err != nil {
		t.Fatalf("second StopModbus: %v", err)
	}
	// The open connection is dropped...
	if _, err := c.ReadCoils(0, 3); err == nil {
		t.Fatal("read succeeded on a stopped server")
	}
	// ...and new ones are refused.
	h.Close()
	if _, err := c.ReadCoils(0, 3); err == nil {
		t.Fatal("read succeeded after reconnecting to a stopped server")
	}

	if err := s.StartModbus(); err != nil {
		t.Fatal(err)
	}
	if err := s.StartModbus(); err != nil {
		t.Fatalf("second StartModbus: %v", err)
	}
	h.Close() // goburrow keeps a dead connection until closed
	if _, err := c.ReadCoils(0, 3); err != nil {
		t.Fatalf("read after StartModbus: %v", err)
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().String()

	for _, opts := range []Options{
		{ModbusAddr: busy, OPCUAAddr: "127.0.0.1:0"},
		{ModbusAddr: "127.0.0.1:0", OPCUAAddr: busy},
	} {
		opts.Logger = quietLogger()
		s, err := Start(context.Background(), opts)
		if err == nil {
			s.Close()
			t.Fatalf("Start(%+v) succeeded on a busy port", opts)
		}
		if !strings.Contains(err.Error(), busy) {
			t.Errorf("error %q does not name %s", err, busy)
		}
	}

	if _, err := Start(context.Background(), Options{ModbusAddr: "nonsense", Logger: quietLogger()}); err == nil {
		t.Error("Start accepted a bad address")
	}
}

// --- OPC UA ---

func opcuaClient(t *testing.T, ctx context.Context, endpoint string) *opcua.Client {
	t.Helper()
	c, err := opcua.NewClient(endpoint, opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func nodeID(name string) *ua.NodeID { return ua.NewStringNodeID(OPCUANamespace, name) }

func readAttr(t *testing.T, ctx context.Context, c *opcua.Client, nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	t.Helper()
	resp, err := c.Read(ctx, &ua.ReadRequest{
		NodesToRead:        []*ua.ReadValueID{{NodeID: nid, AttributeID: attr}},
		TimestampsToReturn: ua.TimestampsToReturnBoth,
	})
	if err != nil {
		t.Fatalf("read %s: %v", nid, err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("read %s: %d results", nid, len(resp.Results))
	}
	return resp.Results[0]
}

func readDouble(t *testing.T, ctx context.Context, c *opcua.Client, name string) float64 {
	t.Helper()
	dv := readAttr(t, ctx, c, nodeID(name), ua.AttributeIDValue)
	if dv.Status != ua.StatusOK {
		t.Fatalf("read %s: status %v", name, dv.Status)
	}
	f, ok := dv.Value.Value().(float64)
	if !ok {
		t.Fatalf("read %s: %T, want float64", name, dv.Value.Value())
	}
	return f
}

func write(t *testing.T, ctx context.Context, c *opcua.Client, nid *ua.NodeID, v any) ua.StatusCode {
	t.Helper()
	resp, err := c.Write(ctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      nid,
		AttributeID: ua.AttributeIDValue,
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)},
	}}})
	if err != nil {
		t.Fatalf("write %s: %v", nid, err)
	}
	return resp.Results[0]
}

func testOPCUAReadWrite(t *testing.T, s *Sim) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := opcuaClient(t, ctx, s.OPCUAEndpoint())
	resetPlant(s.Plant())
	eventually(t, "the server to see the reset", 5*time.Second, func() bool {
		return near(readDouble(t, ctx, c, NodeTIC101PV), 20, 0.5) && readDouble(t, ctx, c, NodeTIC101OUT) == 0
	})

	dv := readAttr(t, ctx, c, nodeID(NodeTIC101PV), ua.AttributeIDValue)
	if dv.Status != ua.StatusOK || dv.SourceTimestamp.IsZero() {
		t.Fatalf("PV: status %v, source timestamp %v", dv.Status, dv.SourceTimestamp)
	}
	if pv := dv.Value.Value().(float64); !near(pv, 20, 0.5) {
		t.Fatalf("PV = %v, want about 20", pv)
	}
	if sp := readDouble(t, ctx, c, NodeTIC101SP); sp != 60 {
		t.Fatalf("SP = %v, want 60", sp)
	}

	if code := write(t, ctx, c, nodeID(NodeTIC101OUT), 100.0); code != ua.StatusOK {
		t.Fatalf("write OUT: %v", code)
	}
	if got := s.Plant().HeaterOut(); got != 100 {
		t.Fatalf("plant OUT = %v, want 100", got)
	}
	if out := readDouble(t, ctx, c, NodeTIC101OUT); out != 100 {
		t.Fatalf("OUT read back = %v, want 100", out)
	}
	eventually(t, "PV to rise over OPC UA", 5*time.Second, func() bool { return readDouble(t, ctx, c, NodeTIC101PV) > 22 })

	if code := write(t, ctx, c, nodeID(NodeTIC101SP), 75.5); code != ua.StatusOK {
		t.Fatalf("write SP: %v", code)
	}
	if got := s.Plant().HeaterSP(); got != 75.5 {
		t.Fatalf("plant SP = %v, want 75.5", got)
	}
	if code := write(t, ctx, c, nodeID(NodeTIC101OUT), 150.0); code != ua.StatusOK || s.Plant().HeaterOut() != 100 {
		t.Fatalf("write OUT = 150: %v, plant OUT %v (want clamped to 100)", code, s.Plant().HeaterOut())
	}
	if code := write(t, ctx, c, nodeID(NodeTIC101OUT), float32(25)); code != ua.StatusOK || s.Plant().HeaterOut() != 25 {
		t.Fatalf("write OUT as Float: %v, plant OUT %v", code, s.Plant().HeaterOut())
	}

	bad := []struct {
		name string
		nid  *ua.NodeID
		v    any
		want ua.StatusCode
	}{
		{"PV is read-only", nodeID(NodeTIC101PV), 50.0, ua.StatusBadNotWritable},
		{"string into OUT", nodeID(NodeTIC101OUT), "hot", ua.StatusBadTypeMismatch},
		{"unknown node", nodeID("TIC101.XX"), 1.0, ua.StatusBadNodeIDUnknown},
		{"namespace 0", ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime), 1.0, ua.StatusBadNotWritable},
		{"unknown namespace", ua.NewStringNodeID(7, "x"), 1.0, ua.StatusBadNodeIDUnknown},
	}
	for _, tt := range bad {
		if code := write(t, ctx, c, tt.nid, tt.v); code != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, code, tt.want)
		}
	}
	if got := s.Plant().HeaterOut(); got != 25 {
		t.Errorf("a refused write changed OUT to %v", got)
	}

	// Attributes a client may look at.
	if dv := readAttr(t, ctx, c, nodeID("nope"), ua.AttributeIDValue); dv.Status != ua.StatusBadNodeIDUnknown {
		t.Errorf("unknown node: %v", dv.Status)
	}
	if dv := readAttr(t, ctx, c, nodeID(NodeTIC101PV), ua.AttributeIDDataType); dv.Value.NodeID().IntID() != id.Double {
		t.Errorf("PV DataType = %v, want i=11", dv.Value.Value())
	}
	for name, want := range map[string]byte{NodeTIC101PV: 1, NodeTIC101SP: 3, NodeTIC101OUT: 3} {
		if dv := readAttr(t, ctx, c, nodeID(name), ua.AttributeIDAccessLevel); dv.Value.Value() != want {
			t.Errorf("%s AccessLevel = %v, want %d", name, dv.Value.Value(), want)
		}
	}
	dv = readAttr(t, ctx, c, ua.NewNumericNodeID(0, id.Server_NamespaceArray), ua.AttributeIDValue)
	if nss, _ := dv.Value.Value().([]string); len(nss) < 3 || nss[OPCUANamespace] != OPCUANamespaceURI {
		t.Errorf("NamespaceArray = %v, want %s at index 2", dv.Value.Value(), OPCUANamespaceURI)
	}
}

func testOPCUABrowse(t *testing.T, s *Sim) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := opcuaClient(t, ctx, s.OPCUAEndpoint())

	browse := func(nid *ua.NodeID) []string {
		resp, err := c.Browse(ctx, &ua.BrowseRequest{
			NodesToBrowse: []*ua.BrowseDescription{{
				NodeID:          nid,
				BrowseDirection: ua.BrowseDirectionForward,
				ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
				IncludeSubtypes: true,
				ResultMask:      uint32(ua.BrowseResultMaskAll),
			}},
		})
		if err != nil {
			t.Fatalf("browse %s: %v", nid, err)
		}
		var ids []string
		for _, r := range resp.Results[0].References {
			ids = append(ids, r.NodeID.NodeID.String())
		}
		return ids
	}
	if got := browse(ua.NewNumericNodeID(0, id.ObjectsFolder)); !slices.Contains(got, "ns=2;s=TIC101") {
		t.Errorf("Objects has %v, want ns=2;s=TIC101 among them", got)
	}
	want := []string{"ns=2;s=TIC101.PV", "ns=2;s=TIC101.SP", "ns=2;s=TIC101.OUT"}
	if got := browse(ua.NewStringNodeID(OPCUANamespace, NodeTIC101)); !slices.Equal(got, want) {
		t.Errorf("TIC101 has %v, want %v", got, want)
	}
}

func testOPCUASubscription(t *testing.T, s *Sim) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := opcuaClient(t, ctx, s.OPCUAEndpoint())
	resetPlant(s.Plant())

	notes := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 50 * time.Millisecond}, notes)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth,
		opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID(NodeTIC101PV), ua.AttributeIDValue, 7),
		opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID(NodeTIC101OUT), ua.AttributeIDValue, 8),
	)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Results {
		if r.StatusCode != ua.StatusOK {
			t.Fatalf("monitored item %d: %v", i, r.StatusCode)
		}
	}

	if code := write(t, ctx, c, nodeID(NodeTIC101OUT), 100.0); code != ua.StatusOK {
		t.Fatalf("write OUT: %v", code)
	}

	var pvs []float64
	sawOut := false
	for len(pvs) < 3 || pvs[len(pvs)-1] < pvs[0]+1 || !sawOut {
		select {
		case <-ctx.Done():
			t.Fatalf("no data changes: PV %v, OUT seen %v", pvs, sawOut)
		case n := <-notes:
			if n.Error != nil {
				t.Fatalf("notification error: %v", n.Error)
			}
			dcn, ok := n.Value.(*ua.DataChangeNotification)
			if !ok {
				continue
			}
			for _, item := range dcn.MonitoredItems {
				v, _ := item.Value.Value.Value().(float64)
				switch item.ClientHandle {
				case 7:
					if item.Value.SourceTimestamp.IsZero() {
						t.Error("PV notification without source timestamp")
					}
					pvs = append(pvs, v)
				case 8:
					sawOut = sawOut || v == 100
				}
			}
		}
	}
	for i := 1; i < len(pvs); i++ {
		if pvs[i] < pvs[i-1] {
			t.Fatalf("PV fell while heating: %v", pvs)
		}
	}
	if err := sub.Cancel(ctx); err != nil {
		t.Fatalf("cancel subscription: %v", err)
	}
}

// waitChange waits for a data change of the monitored item with handle on notes.
func waitChange(t *testing.T, ctx context.Context, notes <-chan *opcua.PublishNotificationData, handle uint32) {
	t.Helper()
	for {
		select {
		case <-ctx.Done():
			t.Fatalf("no data change for handle %d", handle)
		case n := <-notes:
			if dcn, ok := n.Value.(*ua.DataChangeNotification); ok {
				for _, item := range dcn.MonitoredItems {
					if item.ClientHandle == handle {
						return
					}
				}
			}
		}
	}
}

func monitorPV(t *testing.T, ctx context.Context, c *opcua.Client, handle uint32) (*opcua.Subscription, chan *opcua.PublishNotificationData) {
	t.Helper()
	notes := make(chan *opcua.PublishNotificationData, 64)
	sub, err := c.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: 50 * time.Millisecond}, notes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth,
		opcua.NewMonitoredItemCreateRequestWithDefaults(nodeID(NodeTIC101PV), ua.AttributeIDValue, handle)); err != nil {
		t.Fatal(err)
	}
	return sub, notes
}

// The library numbers subscriptions len(Subs)+1; after deleting the first
// of two, a third must not take the id of the second.
func testOPCUASubscriptionIDs(t *testing.T, s *Sim) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := opcuaClient(t, ctx, s.OPCUAEndpoint())
	resetPlant(s.Plant())
	s.Plant().SetHeaterOut(100) // PV changes every step

	a, _ := monitorPV(t, ctx, c, 1)
	b, notesB := monitorPV(t, ctx, c, 2)
	if err := a.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	d, notesD := monitorPV(t, ctx, c, 3)
	if d.SubscriptionID == b.SubscriptionID {
		t.Fatalf("new subscription reused live id %d", b.SubscriptionID)
	}
	// Drain what B had queued, then both must still be fed.
	for len(notesB) > 0 {
		<-notesB
	}
	waitChange(t, ctx, notesB, 2)
	waitChange(t, ctx, notesD, 3)
	b.Cancel(ctx)
	d.Cancel(ctx)
}

// Requests that make the v0.8.0 library dereference nil are answered with
// an error, and the server keeps serving.
func testOPCUABadRequests(t *testing.T, s *Sim) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := opcuaClient(t, ctx, s.OPCUAEndpoint())
	sub, _ := monitorPV(t, ctx, c, 1)
	defer sub.Cancel(ctx)

	if _, err := sub.Unmonitor(ctx, 999999); err == nil {
		t.Error("deleting an unknown monitored item succeeded")
	}
	if _, err := sub.SetMonitoringMode(ctx, ua.MonitoringModeReporting, 999999); err == nil {
		t.Error("setting the mode of an unknown monitored item succeeded")
	}
	// The server still answers.
	readDouble(t, ctx, c, NodeTIC101PV)

	// Requests without a session are refused before they reach the library.
	resp, err := s.ua.guard("test", func(*uasc.SecureChannel, ua.Request, uint32) (ua.Response, error) {
		panic("must not be called")
	})(nil, &ua.DeleteMonitoredItemsRequest{RequestHeader: &ua.RequestHeader{AuthenticationToken: ua.NewNumericNodeID(0, 12345)}}, 1)
	if resp != nil || !errors.Is(err, ua.StatusBadSessionIDInvalid) {
		t.Errorf("request without a session: %v, %v", resp, err)
	}
}

// Ending ctx (or calling Close) drops connected clients and stops every
// goroutine, including the libraries' ones serving those clients.
func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	s, err := Start(sctx, Options{ModbusAddr: "127.0.0.1:0", OPCUAAddr: "127.0.0.1:0", Step: 20 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	h := mbclient.NewTCPClientHandler(s.ModbusAddr())
	h.SlaveId, h.Timeout = 1, time.Second
	mb := mbclient.NewClient(h)
	if _, err := mb.ReadCoils(0, 3); err != nil {
		t.Fatal(err)
	}
	c, err := opcua.NewClient(s.OPCUAEndpoint(), opcua.SecurityMode(ua.MessageSecurityModeNone), opcua.AutoReconnect(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	_, notes := monitorPV(t, ctx, c, 1)
	waitChange(t, ctx, notes, 1)

	t0 := time.Now()
	stop() // ctx ends the Sim just like Close
	eventually(t, "the modbus port to close", 5*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", s.ModbusAddr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	if _, err := mb.ReadCoils(0, 3); err == nil {
		t.Error("modbus client still served after shutdown")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("shutdown took %v with clients connected", d)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.StartModbus(); !errors.Is(err, ErrClosed) {
		t.Fatalf("StartModbus after Close: %v, want ErrClosed", err)
	}
	if err := s.StopModbus(); !errors.Is(err, ErrClosed) {
		t.Fatalf("StopModbus after Close: %v, want ErrClosed", err)
	}

	h.Close()
	c.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if runtime.NumGoroutine() > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines left: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	}
}
