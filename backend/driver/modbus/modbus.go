// Package modbus is the Modbus TCP driver ("modbus-tcp"), built on
// github.com/goburrow/modbus.
//
// Addresses are 0-based protocol addresses with a table prefix: C<n> coil,
// DI<n> discrete input, IR<n> input register, HR<n> holding register (n in
// 0..65535), e.g. "HR100". Coils and discrete inputs hold bool; registers
// hold int16, uint16, int32, uint32, float32 or float64, multi-register
// values big-endian with the high word first (ABCD).
//
// Prepare plans block reads once; Read runs the plan. A Modbus exception
// answer marks the points of its block Bad and leaves the link up; any other
// failure (network error, timeout, garbled frame) closes the connection and
// returns an error wrapping driver.ErrNotConnected.
package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	gb "github.com/goburrow/modbus"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Name is the driver name used in project files.
const Name = "modbus-tcp"

// DefaultTimeout bounds one request (and connecting) when the device sets none.
const DefaultTimeout = time.Second

// Kind returns the modbus-tcp driver kind for the driver registry.
func Kind() driver.Kind {
	return driver.Kind{
		Name:         Name,
		CheckAddress: CheckAddress,
		New:          func(dev config.Device) (driver.Driver, error) { return New(dev) },
	}
}

// Driver is one Modbus TCP connection to one device (unit).
//
// The poller calls it from one goroutine, but Write may also be called from
// another goroutine at the same time as Read: a mutex serialises requests,
// since a goburrow handler must not be used concurrently.
type Driver struct {
	addr    string // host:port
	unit    byte
	timeout time.Duration

	mu      sync.Mutex
	handler *gb.TCPClientHandler // nil while not connected
	client  gb.Client
	points  []driver.Point
	addrs   []address
	blocks  []block
}

// New builds a driver for dev without I/O. It uses dev.Host, dev.Port,
// dev.UnitID (as given: the project file defaults it to 1, and 0 is a valid
// unit for some gateways) and dev.Timeout (1s if 0).
func New(dev config.Device) (*Driver, error) {
	if dev.Host == "" {
		return nil, errors.New("modbus-tcp: host is missing")
	}
	if dev.Port < 1 || dev.Port > 65535 {
		return nil, fmt.Errorf("modbus-tcp: port %d is out of range (1-65535)", dev.Port)
	}
	unit := dev.UnitID
	if unit < 0 || unit > 255 {
		return nil, fmt.Errorf("modbus-tcp: unit_id %d is out of range (0-255)", dev.UnitID)
	}
	timeout := dev.Timeout.Duration
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Driver{addr: dev.Addr(), unit: byte(unit), timeout: timeout}, nil
}

// Connect opens the TCP connection, closing any previous one.
func (d *Driver) Connect(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropLocked()
	timeout, err := d.requestTimeout(ctx)
	if err != nil {
		return fmt.Errorf("modbus %s: connect: %w", d.addr, err)
	}
	h := gb.NewTCPClientHandler(d.addr)
	h.Timeout = timeout
	h.SlaveId = d.unit
	// No idle timer: the poller owns the link, and goburrow's timer would
	// close the connection behind our back (and outlive Close).
	h.IdleTimeout = 0
	if err := h.Connect(); err != nil {
		if isTimeout(err) {
			return fmt.Errorf("modbus %s: connect: %w (%w)", d.addr, driver.ErrTimeout, err)
		}
		return fmt.Errorf("modbus %s: connect: %w", d.addr, err)
	}
	d.handler = h
	d.client = gb.NewClient(h)
	return nil
}

// Close closes the connection. It is safe to call more than once.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropLocked()
	return nil
}

// dropLocked closes the connection, if any. d.mu must be held.
func (d *Driver) dropLocked() {
	if d.handler != nil {
		_ = d.handler.Close() // the link is being abandoned; nothing to do with the error
		d.handler, d.client = nil, nil
	}
}

// Prepare parses the points and plans the block reads. On error the previous
// plan is kept.
func (d *Driver) Prepare(points []driver.Point) error {
	addrs := make([]address, len(points))
	var errs []error
	for i, p := range points {
		a, err := parseAddress(p.Address, p.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("tag %q: %w", p.Tag, err))
			continue
		}
		addrs[i] = a
	}
	if len(errs) > 0 {
		return fmt.Errorf("modbus %s: %w", d.addr, errors.Join(errs...))
	}
	blocks := plan(addrs)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.points = slices.Clone(points)
	d.addrs = addrs
	d.blocks = blocks
	return nil
}

// Read runs the planned block reads and decodes every prepared point into
// out. A block answered with a Modbus exception gets Bad samples and the
// other blocks are still read; a link failure stops the read, closes the
// connection and returns an error wrapping driver.ErrNotConnected.
func (d *Driver) Read(ctx context.Context, out []driver.Reading) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(out) != len(d.points) {
		return fmt.Errorf("modbus %s: read: %d readings for %d prepared points", d.addr, len(out), len(d.points))
	}
	for i := range out {
		out[i] = driver.Reading{Index: d.points[i].Index}
	}
	for bi, b := range d.blocks {
		data, err := d.readBlock(ctx, b)
		now := time.Now()
		if err != nil {
			var exc *gb.ModbusError
			if errors.As(err, &exc) {
				reason := fmt.Sprintf("%s (exception %d reading %s)", exceptionReason(exc.ExceptionCode), exc.ExceptionCode, b)
				d.markBad(b, reason, now, out)
				continue
			}
			for _, rest := range d.blocks[bi:] {
				d.markBad(rest, "not read: "+err.Error(), now, out)
			}
			return err
		}
		d.decodeBlock(b, data, now, out)
	}
	return nil
}

// readBlock sends one block read. Errors other than Modbus exceptions come
// back already wrapped (see linkError / requestTimeout).
func (d *Driver) readBlock(ctx context.Context, b block) ([]byte, error) {
	op := "read " + b.String()
	if err := d.prepareRequest(ctx, op); err != nil {
		return nil, err
	}
	var (
		data []byte
		err  error
	)
	start, count := b.start, uint16(b.count)
	switch b.table {
	case coils:
		data, err = d.client.ReadCoils(start, count)
	case discreteInputs:
		data, err = d.client.ReadDiscreteInputs(start, count)
	case inputRegisters:
		data, err = d.client.ReadInputRegisters(start, count)
	default:
		data, err = d.client.ReadHoldingRegisters(start, count)
	}
	if err != nil {
		var exc *gb.ModbusError
		if errors.As(err, &exc) {
			return nil, err
		}
		return nil, d.linkError(ctx, op, err)
	}
	return data, nil
}

// prepareRequest checks the link and ctx before a request and bounds the
// request by the device timeout or ctx's deadline, whichever comes first.
func (d *Driver) prepareRequest(ctx context.Context, op string) error {
	if d.handler == nil {
		return fmt.Errorf("modbus %s: %s: %w", d.addr, op, driver.ErrNotConnected)
	}
	timeout, err := d.requestTimeout(ctx)
	if err != nil {
		return fmt.Errorf("modbus %s: %s: %w", d.addr, op, err)
	}
	// goburrow reads Timeout under its own lock inside the request, which
	// runs on this goroutine while d.mu is held.
	d.handler.Timeout = timeout
	return nil
}

// requestTimeout is the device timeout, shortened to ctx's deadline.
func (d *Driver) requestTimeout(ctx context.Context) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	timeout := d.timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return 0, context.DeadlineExceeded
		}
		timeout = min(timeout, left)
	}
	return timeout, nil
}

// linkError closes the connection after a failed request and returns the
// error wrapping driver.ErrNotConnected (and driver.ErrTimeout, or ctx's
// error, when the device did not answer in time). goburrow gives no way to
// resynchronise a stream after a timeout or a garbled frame (a late answer
// would be taken for the next one), so every such failure drops the link.
func (d *Driver) linkError(ctx context.Context, op string, err error) error {
	d.dropLocked()
	if isTimeout(err) {
		if cerr := ctxDone(ctx); cerr != nil {
			return fmt.Errorf("modbus %s: %s: %w, %w (%w)", d.addr, op, cerr, driver.ErrNotConnected, err)
		}
		return fmt.Errorf("modbus %s: %s: %w, %w (%w)", d.addr, op, driver.ErrTimeout, driver.ErrNotConnected, err)
	}
	return fmt.Errorf("modbus %s: %s: %w (%w)", d.addr, op, driver.ErrNotConnected, err)
}

// ctxDone is ctx.Err(), also reporting a deadline that has passed but whose
// timer has not fired yet (the socket deadline set from it can fire first).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (d *Driver) markBad(b block, reason string, ts time.Time, out []driver.Reading) {
	for _, i := range b.points {
		out[i].Sample = hmi.BadSample(reason, ts)
	}
}

// decodeBlock fills the samples of the points of b from its response data.
func (d *Driver) decodeBlock(b block, data []byte, ts time.Time, out []driver.Reading) {
	want := 2 * b.count
	if b.table.bits() {
		want = (b.count + 7) / 8
	}
	if len(data) < want {
		d.markBad(b, fmt.Sprintf("short answer reading %s: %d bytes, want %d", b, len(data), want), ts, out)
		return
	}
	for _, i := range b.points {
		a := d.addrs[i]
		off := int(a.offset) - int(b.start)
		var v hmi.Value
		if b.table.bits() {
			v = hmi.Bool(bitAt(data, off))
		} else {
			var err error
			v, err = decodeRegisters(a.typ, data[2*off:])
			if err != nil { // cannot happen with a valid plan; keep the point honest anyway
				out[i].Sample = hmi.BadSample(err.Error(), ts)
				continue
			}
		}
		out[i].Sample = hmi.Sample{Value: v, Quality: hmi.Good, TS: ts}
	}
}

// Write writes one value: a coil with Write Single Coil, a 16-bit holding
// register with Write Single Register, a 32/64-bit value with Write Multiple
// Registers. Discrete inputs and input registers are read-only.
func (d *Driver) Write(ctx context.Context, p driver.Point, v hmi.Value) error {
	a, err := parseAddress(p.Address, p.Type)
	if err != nil {
		return fmt.Errorf("modbus %s: write tag %q: %w", d.addr, p.Tag, err)
	}
	if !a.table.writable() {
		return fmt.Errorf("modbus %s: write tag %q: address %q is read-only (%s)", d.addr, p.Tag, p.Address, a.table)
	}
	var (
		coil bool
		regs []byte
	)
	if a.table == coils {
		coil, err = coilValue(v)
	} else {
		regs, err = encodeRegisters(a.typ, v)
	}
	if err != nil {
		return fmt.Errorf("modbus %s: write tag %q (%s %s): %w", d.addr, p.Tag, p.Address, p.Type, err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	op := fmt.Sprintf("write tag %q (%s)", p.Tag, a)
	if err := d.prepareRequest(ctx, op); err != nil {
		return err
	}
	switch {
	case a.table == coils:
		state := uint16(0x0000)
		if coil {
			state = 0xFF00
		}
		_, err = d.client.WriteSingleCoil(a.offset, state)
	case len(regs) == 2:
		_, err = d.client.WriteSingleRegister(a.offset, binary.BigEndian.Uint16(regs))
	default:
		_, err = d.client.WriteMultipleRegisters(a.offset, uint16(len(regs)/2), regs)
	}
	if err != nil {
		var exc *gb.ModbusError
		if errors.As(err, &exc) {
			return fmt.Errorf("modbus %s: %s: device refused: %s (exception %d)", d.addr, op, exceptionReason(exc.ExceptionCode), exc.ExceptionCode)
		}
		return d.linkError(ctx, op, err)
	}
	return nil
}

// exceptionReason words a Modbus exception code for operators.
func exceptionReason(code byte) string {
	switch code {
	case gb.ExceptionCodeIllegalFunction:
		return "illegal function"
	case gb.ExceptionCodeIllegalDataAddress:
		return "illegal data address"
	case gb.ExceptionCodeIllegalDataValue:
		return "illegal data value"
	case gb.ExceptionCodeServerDeviceFailure:
		return "device failure"
	case gb.ExceptionCodeAcknowledge:
		return "acknowledged, still processing"
	case gb.ExceptionCodeServerDeviceBusy:
		return "device busy"
	case gb.ExceptionCodeMemoryParityError:
		return "memory parity error"
	case gb.ExceptionCodeGatewayPathUnavailable:
		return "gateway path unavailable"
	case gb.ExceptionCodeGatewayTargetDeviceFailedToRespond:
		return "gateway target device failed to respond"
	}
	return fmt.Sprintf("exception code %d", code)
}

var _ driver.Driver = (*Driver)(nil)
