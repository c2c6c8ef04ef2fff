// Package modbus is the Modbus TCP driver ("modbus-tcp"), built on
// github.com/goburrow/modbus.
//
// Addresses are 0-based protocol addresses with a table prefix: C<n> coil,
// DI<n> discrete input, IR<n> input register, HR<n> holding register (n in
// 0..65535), e.g. "HR100", and bits inside a register, "HR10.3" (bit 0 the
// least significant). Coils, discrete inputs and register bits hold bool;
// registers hold int16, uint16, int32, uint32, int64, uint64, float32,
// float64 or fixed-length strings (2 characters per register, high byte
// first). 32- and 64-bit values follow the device's byte order (ABCD, BADC,
// CDAB or DCBA), which a tag may override, as it may the unit id.
//
// Prepare plans block reads once (sorted by unit, table and address, within
// the device's max_registers, max_bits and max_gap); Read runs the plan. A
// block answered with "illegal data address" is split in halves until the
// bad points are found: only they go Bad ("illegal address"), they are left
// out of later plans and retried alone every minute. Busy answers are
// retried once; a gateway that cannot reach a unit makes that unit's points
// Bad for the scan. Any other exception marks the points of its block Bad
// and leaves the link up; any other failure (network error, timeout, garbled
// frame) closes the connection and returns an error wrapping
// driver.ErrNotConnected.
package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
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

const (
	// busyRetryDelay is the wait before the one retry of a request answered
	// "acknowledge" or "busy".
	busyRetryDelay = 50 * time.Millisecond
	// badRetryPeriod is how often a point found at an illegal address (and a
	// learned illegal gap) is tried again.
	badRetryPeriod = time.Minute
)

// Kind returns the modbus-tcp driver kind for the driver registry.
func Kind() driver.Kind {
	return driver.Kind{
		Name:         Name,
		CheckAddress: CheckAddress,
		New:          func(dev config.Device, _ driver.Env) (driver.Driver, error) { return New(dev) },
	}
}

// Driver is one Modbus TCP connection to one device, and through a gateway
// to the units behind it.
//
// The poller calls it from one goroutine, but Write may also be called from
// another goroutine at the same time as Read: a mutex serialises requests,
// since a goburrow handler must not be used concurrently (and its unit id is
// set before each request).
type Driver struct {
	addr    string // host:port
	unit    byte   // the device's unit id; a point may override it
	order   byteOrder
	lim     limits
	timeout time.Duration

	// Test hooks: the clock, the wait before retrying a busy request and
	// the period of retries of illegal addresses.
	now        func() time.Time
	busyDelay  time.Duration
	retryAfter time.Duration

	mu      sync.Mutex
	handler *gb.TCPClientHandler // nil while not connected
	client  gb.Client
	index   []int // the tag index of each prepared point, for its Reading
	pts     []point
	// groups are the scan classes: indexes into points, each read on its
	// own schedule (driver.Grouped); one group of all points by default.
	groups [][]int
	member []int     // the group of each point
	blocks [][]block // the plan of each group
	// bad[i] is when point i, found at an illegal address, is tried again;
	// points in the plan have no entry.
	bad map[int]time.Time
	// gaps are illegal stretches between points learned by isolation; the
	// plan does not read across them until they expire.
	gaps   []learnedGap
	replan bool

	rtt driver.Durations // round trips of answered requests
}

// RequestTiming reports the count and round trips of answered read
// requests (driver.Timed).
func (d *Driver) RequestTiming() driver.Timing { return d.rtt.Timing() }

// learnedGap is a span no read may cover until it expires.
type learnedGap struct {
	span
	until time.Time
}

// New builds a driver for dev without I/O. It uses dev.Host, dev.Port,
// dev.UnitID (as given: the project file defaults it to 1, and 0 is a valid
// unit for some gateways), dev.Timeout (1s if 0), dev.ByteOrder ("" is
// ABCD) and the planner limits dev.MaxRegisters, dev.MaxBits and dev.MaxGap
// (0 takes the defaults 125, 2000 and 16).
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
	order, err := parseByteOrder(dev.ByteOrder)
	if err != nil {
		return nil, fmt.Errorf("modbus-tcp: %w", err)
	}
	switch {
	case dev.MaxRegisters < 0 || dev.MaxRegisters > 125:
		return nil, fmt.Errorf("modbus-tcp: max_registers %d is out of range (1-125)", dev.MaxRegisters)
	case dev.MaxBits < 0 || dev.MaxBits > 2000:
		return nil, fmt.Errorf("modbus-tcp: max_bits %d is out of range (1-2000)", dev.MaxBits)
	case dev.MaxGap < 0 || dev.MaxGap > 124:
		return nil, fmt.Errorf("modbus-tcp: max_gap %d is out of range (0-124)", dev.MaxGap)
	}
	// A project file fills every limit (max_gap 0 meaning "no gaps"); a
	// device built in code leaves them all 0 for the defaults.
	lim := limits{maxRegisters: dev.MaxRegisters, maxBits: dev.MaxBits, maxGap: dev.MaxGap}
	if lim.maxRegisters == 0 {
		lim.maxRegisters = defaultMaxRegisters
	}
	if lim.maxBits == 0 {
		lim.maxBits = defaultMaxBits
	}
	if dev.MaxGap == 0 && dev.MaxRegisters == 0 && dev.MaxBits == 0 {
		lim.maxGap = defaultMaxGap
	}
	timeout := dev.Timeout.Duration
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Driver{
		addr: dev.Addr(), unit: byte(unit), order: order, lim: lim, timeout: timeout,
		now: time.Now, busyDelay: busyRetryDelay, retryAfter: badRetryPeriod,
	}, nil
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
// plan is kept. Points found at illegal addresses and learned gaps are
// forgotten: the new tag set is read in full.
func (d *Driver) Prepare(points []driver.Point) error {
	pts := make([]point, len(points))
	var errs []error
	for i, p := range points {
		pt, err := d.resolve(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("tag %q: %w", p.Tag, err))
			continue
		}
		pts[i] = pt
	}
	if len(errs) > 0 {
		return fmt.Errorf("modbus %s: %w", d.addr, errors.Join(errs...))
	}
	all := make([]int, len(pts))
	for i := range all {
		all[i] = i
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.index = make([]int, len(points))
	for i, p := range points {
		d.index[i] = p.Index
	}
	d.pts = pts
	d.bad = map[int]time.Time{}
	d.gaps = nil
	d.setGroupsLocked([][]int{all})
	return nil
}

// Group splits the prepared points into groups read separately by
// ReadGroup (driver.Grouped): every point in exactly one group.
func (d *Driver) Group(groups [][]int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := make([]bool, len(d.pts))
	for _, g := range groups {
		for _, i := range g {
			if i < 0 || i >= len(d.pts) || seen[i] {
				return fmt.Errorf("modbus %s: group: point %d is out of range or in two groups", d.addr, i)
			}
			seen[i] = true
		}
	}
	if slices.Contains(seen, false) {
		return fmt.Errorf("modbus %s: group: a point is in no group", d.addr)
	}
	d.setGroupsLocked(groups)
	return nil
}

func (d *Driver) setGroupsLocked(groups [][]int) {
	d.groups = groups
	d.member = make([]int, len(d.pts))
	for g, idx := range groups {
		for _, i := range idx {
			d.member[i] = g
		}
	}
	d.planLocked()
}

// planLocked plans every group's block reads, leaving out points found at
// illegal addresses and not reading across learned illegal gaps.
func (d *Driver) planLocked() {
	skip, forbidden := d.skipped(), d.forbidden()
	d.blocks = make([][]block, len(d.groups))
	for g := range d.groups {
		gskip := make([]bool, len(d.pts))
		for i := range gskip {
			gskip[i] = d.member[i] != g || skip != nil && skip[i]
		}
		d.blocks[g] = plan(d.pts, gskip, d.lim, forbidden)
	}
	d.replan = false
}

// resolve parses a point's address and type and settles its unit id, byte
// order and string length against the device's.
func (d *Driver) resolve(p driver.Point) (point, error) {
	a, err := parseAddress(p.Address, p.Type)
	if err != nil {
		return point{}, err
	}
	if a.typ == typeString {
		if a, err = a.withLength(p.Length); err != nil {
			return point{}, err
		}
	}
	pt := point{address: a, unit: d.unit, order: d.order}
	if p.UnitID != nil {
		if *p.UnitID < 0 || *p.UnitID > 255 {
			return point{}, fmt.Errorf("unit_id %d is out of range (0-255)", *p.UnitID)
		}
		pt.unit = byte(*p.UnitID)
	}
	if p.ByteOrder != "" {
		if pt.order, err = parseByteOrder(p.ByteOrder); err != nil {
			return point{}, err
		}
	}
	return pt, nil
}

// Read runs the planned block reads and decodes every prepared point into
// out. A block answered with a Modbus exception gets Bad samples (after
// isolating illegal addresses, or retrying a busy device once) and the other
// blocks are still read; a gateway that cannot reach a unit makes the rest
// of that unit's points Bad for this scan; a link failure stops the read,
// closes the connection and returns an error wrapping
// driver.ErrNotConnected.
func (d *Driver) Read(ctx context.Context, out []driver.Reading) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkOut(out); err != nil {
		return err
	}
	for i := range out {
		out[i] = driver.Reading{Index: d.index[i]}
	}
	for g := range d.groups {
		if err := d.readGroupLocked(ctx, g, out); err != nil {
			for _, later := range d.blocks[g+1:] {
				d.markRest(later, err, d.now(), out)
			}
			return err
		}
	}
	return nil
}

// ReadGroup reads one group's points (driver.Grouped) into their places in
// out, which is as long as the prepared points; other entries are left.
func (d *Driver) ReadGroup(ctx context.Context, g int, out []driver.Reading) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkOut(out); err != nil {
		return err
	}
	if g < 0 || g >= len(d.groups) {
		return fmt.Errorf("modbus %s: read: no group %d", d.addr, g)
	}
	for _, i := range d.groups[g] {
		out[i] = driver.Reading{Index: d.index[i]}
	}
	return d.readGroupLocked(ctx, g, out)
}

func (d *Driver) checkOut(out []driver.Reading) error {
	if len(out) != len(d.index) {
		return fmt.Errorf("modbus %s: read: %d readings for %d prepared points", d.addr, len(out), len(d.index))
	}
	return nil
}

func (d *Driver) readGroupLocked(ctx context.Context, g int, out []driver.Reading) error {
	now := d.now()
	if err := d.retryBadLocked(ctx, g, now, out); err != nil {
		d.markRest(d.blocks[g], err, now, out)
		return err
	}
	d.expireGapsLocked(now)
	if d.replan {
		d.planLocked()
	}
	blocks := d.blocks[g]
	deadUnits := map[byte]string{}
	for bi, b := range blocks {
		if reason, dead := deadUnits[b.unit]; dead {
			d.markBad(b.points, reason, now, out)
			continue
		}
		data, err := d.readBlock(ctx, b)
		now = d.now()
		if err != nil {
			var exc *gb.ModbusError
			if !errors.As(err, &exc) {
				d.markRest(blocks[bi:], err, now, out)
				return err
			}
			switch exc.ExceptionCode {
			case gb.ExceptionCodeIllegalDataAddress:
				if _, err := d.isolate(ctx, b.unit, b.table, b.points, now, out); err != nil {
					d.markRest(blocks[bi+1:], err, now, out)
					return err
				}
			case gb.ExceptionCodeGatewayPathUnavailable, gb.ExceptionCodeGatewayTargetDeviceFailedToRespond:
				reason := exceptionText(exc.ExceptionCode, b)
				deadUnits[b.unit] = fmt.Sprintf("%s (exception %d on an earlier read of unit %d)", exceptionReason(exc.ExceptionCode), exc.ExceptionCode, b.unit)
				d.markBad(b.points, reason, now, out)
			default:
				d.markBad(b.points, exceptionText(exc.ExceptionCode, b), now, out)
			}
			continue
		}
		d.decodeBlock(b, data, now, out)
	}
	return nil
}

// markRest marks the points of blocks not read because of err Bad.
func (d *Driver) markRest(blocks []block, err error, ts time.Time, out []driver.Reading) {
	for _, b := range blocks {
		d.markBad(b.points, "not read: "+err.Error(), ts, out)
	}
}

// exceptionText is a sample's reason for an exception answer to a read.
func exceptionText(code byte, b block) string {
	return fmt.Sprintf("%s (exception %d reading %s)", exceptionReason(code), code, b)
}

// retryBadLocked marks the points found at illegal addresses Bad and reads
// those whose retry is due, alone; a point that answers goes back into the
// plan.
func (d *Driver) retryBadLocked(ctx context.Context, g int, now time.Time, out []driver.Reading) error {
	for _, i := range slices.Sorted(maps.Keys(d.bad)) { // few: the points found at illegal addresses
		at := d.bad[i]
		if d.member[i] != g {
			continue
		}
		p := d.pts[i]
		if now.Before(at) {
			out[i].Sample = hmi.BadSample(fmt.Sprintf("illegal address (exception 2 reading %s; tried again every %s)", p.address, d.retryAfter), now)
			continue
		}
		b := block{unit: p.unit, table: p.table, start: p.offset, count: p.size(), points: []int{i}}
		data, err := d.readBlock(ctx, b)
		ts := d.now()
		if err != nil {
			var exc *gb.ModbusError
			if !errors.As(err, &exc) {
				out[i].Sample = hmi.BadSample("not read: "+err.Error(), ts)
				return err
			}
			d.bad[i] = ts.Add(d.retryAfter)
			out[i].Sample = hmi.BadSample(exceptionText(exc.ExceptionCode, b), ts)
			continue
		}
		delete(d.bad, i)
		d.replan = true
		d.decodeBlock(b, data, ts, out)
	}
	return nil
}

// expireGapsLocked forgets learned illegal gaps that are due for a retry.
func (d *Driver) expireGapsLocked(now time.Time) {
	n := len(d.gaps)
	d.gaps = slices.DeleteFunc(d.gaps, func(g learnedGap) bool { return !now.Before(g.until) })
	if len(d.gaps) != n {
		d.replan = true
	}
}

// skipped reports the points left out of the plan (found at illegal
// addresses), or nil when there are none.
func (d *Driver) skipped() []bool {
	if len(d.bad) == 0 {
		return nil
	}
	skip := make([]bool, len(d.pts))
	for i := range d.bad {
		skip[i] = true
	}
	return skip
}

// forbidden is what no planned read may cover: the points found at illegal
// addresses and the learned gaps.
func (d *Driver) forbidden() []span {
	var f []span
	for _, i := range slices.Sorted(maps.Keys(d.bad)) {
		p := d.pts[i]
		f = append(f, span{unit: p.unit, table: p.table, lo: int(p.offset), hi: p.end()})
	}
	for _, g := range d.gaps {
		f = append(f, g.span)
	}
	return f
}

// isolate finds the points among idx (sorted by address, all of one unit
// and table) whose read answered "illegal data address": it reads the two
// halves, each over only its own points, and splits again whatever fails,
// down to single points. Points that read are decoded into out; the bad ones
// are marked Bad ("illegal address") and left out of the plan until their
// retry. When both halves read but together they did not, the illegal
// registers lie between them: that gap is learned so that the plan stops
// reading across it. It reports whether it explained the failure (found a
// bad point or a gap), and returns link errors.
func (d *Driver) isolate(ctx context.Context, unit byte, t table, idx []int, now time.Time, out []driver.Reading) (bool, error) {
	b := d.spanOf(unit, t, idx)
	if len(idx) == 1 || d.sameExtent(idx) {
		reason := fmt.Sprintf("illegal address (exception 2 reading %s)", b)
		for _, i := range idx {
			d.bad[i] = now.Add(d.retryAfter)
			out[i].Sample = hmi.BadSample(reason, now)
		}
		d.replan = true
		return true, nil
	}
	mid := len(idx) / 2
	halves := [2][]int{idx[:mid], idx[mid:]}
	var explained [2]bool
	for h, part := range halves {
		sub := d.spanOf(unit, t, part)
		data, err := d.readBlock(ctx, sub)
		ts := d.now()
		if err == nil {
			d.decodeBlock(sub, data, ts, out)
			continue
		}
		var exc *gb.ModbusError
		switch {
		case !errors.As(err, &exc):
			d.markBad(part, "not read: "+err.Error(), ts, out)
			if h == 0 {
				d.markBad(halves[1], "not read: "+err.Error(), ts, out)
			}
			return false, err
		case exc.ExceptionCode == gb.ExceptionCodeIllegalDataAddress:
			if explained[h], err = d.isolate(ctx, unit, t, part, ts, out); err != nil {
				if h == 0 {
					d.markBad(halves[1], "not read: "+err.Error(), ts, out)
				}
				return false, err
			}
		default:
			d.markBad(part, exceptionText(exc.ExceptionCode, sub), ts, out)
			explained[h] = true // not ours to learn from
		}
	}
	if explained[0] || explained[1] {
		return true, nil
	}
	left, right := d.spanOf(unit, t, halves[0]), d.spanOf(unit, t, halves[1])
	if lo, hi := int(left.start)+left.count, int(right.start); lo <= hi {
		d.gaps = append(d.gaps, learnedGap{span: span{unit: unit, table: t, lo: lo, hi: hi}, until: now.Add(d.retryAfter)})
		d.replan = true
		return true, nil
	}
	return false, nil
}

// spanOf is the smallest block holding the points idx.
func (d *Driver) spanOf(unit byte, t table, idx []int) block {
	lo, hi := 65536, 0
	for _, i := range idx {
		lo = min(lo, int(d.pts[i].offset))
		hi = max(hi, d.pts[i].end())
	}
	return block{unit: unit, table: t, start: uint16(lo), count: hi - lo, points: idx}
}

// sameExtent reports whether the points idx all cover the same elements.
func (d *Driver) sameExtent(idx []int) bool {
	for _, i := range idx[1:] {
		if d.pts[i].offset != d.pts[idx[0]].offset || d.pts[i].size() != d.pts[idx[0]].size() {
			return false
		}
	}
	return true
}

// readBlock sends one block read, once more after a short wait if the device
// answers "acknowledge" or "busy". Errors other than Modbus exceptions come
// back already wrapped (see linkError / requestTimeout).
func (d *Driver) readBlock(ctx context.Context, b block) ([]byte, error) {
	op := "read " + b.String()
	if b.unit != d.unit {
		op = fmt.Sprintf("read unit %d %s", b.unit, b)
	}
	return retryBusy(ctx, d.busyDelay, func() ([]byte, error) {
		if err := d.prepareRequest(ctx, op, b.unit); err != nil {
			return nil, err
		}
		var (
			data []byte
			err  error
		)
		start, count := b.start, uint16(b.count)
		t0 := time.Now()
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
				d.rtt.Add(time.Since(t0)) // an exception is an answer too
				return nil, err
			}
			return nil, d.linkError(ctx, op, err)
		}
		d.rtt.Add(time.Since(t0))
		return data, nil
	})
}

// isBusy reports whether err is an exception a device sends while it cannot
// serve the request yet: 5 acknowledge, 6 busy, 7 negative acknowledge.
func isBusy(err error) bool {
	var exc *gb.ModbusError
	if !errors.As(err, &exc) {
		return false
	}
	switch exc.ExceptionCode {
	case gb.ExceptionCodeAcknowledge, gb.ExceptionCodeServerDeviceBusy, 7:
		return true
	}
	return false
}

// retryBusy runs req, and once more after delay if the device was busy.
func retryBusy(ctx context.Context, delay time.Duration, req func() ([]byte, error)) ([]byte, error) {
	data, err := req()
	if !isBusy(err) {
		return data, err
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, err
	case <-t.C:
	}
	return req()
}

// prepareRequest checks the link and ctx before a request and bounds the
// request by the device timeout or ctx's deadline, whichever comes first.
func (d *Driver) prepareRequest(ctx context.Context, op string, unit byte) error {
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
	d.handler.SlaveId = unit
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

func (d *Driver) markBad(idx []int, reason string, ts time.Time, out []driver.Reading) {
	for _, i := range idx {
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
		d.markBad(b.points, fmt.Sprintf("short answer reading %s: %d bytes, want %d", b, len(data), want), ts, out)
		return
	}
	for _, i := range b.points {
		p := d.pts[i]
		off := int(p.offset) - int(b.start)
		var (
			v   hmi.Value
			err error
		)
		switch {
		case b.table.bits():
			v = hmi.Bool(bitAt(data, off))
		case p.isBit():
			v = hmi.Bool(registerBit(data[2*off:], p.bit))
		case p.typ == typeString:
			v, err = decodeString(data[2*off:], p.length)
		default:
			v, err = decodeRegisters(p.typ, p.order, data[2*off:])
		}
		if err != nil { // cannot happen with a valid plan; keep the point honest anyway
			out[i].Sample = hmi.BadSample(err.Error(), ts)
			continue
		}
		out[i].Sample = hmi.Sample{Value: v, Quality: hmi.Good, TS: ts}
	}
}

// Write writes one value: a coil with Write Single Coil (05), a 16-bit
// holding register with Write Single Register (06), a 32/64-bit value or a
// string with Write Multiple Registers (16). A bit inside a holding register
// is a read-modify-write of that register (03 then 06) under the driver's
// lock: no other request of this driver comes between, but the device's own
// program may change the register's other bits in between. Discrete inputs
// and input registers are read-only. A busy device gets one retry.
func (d *Driver) Write(ctx context.Context, p driver.Point, v hmi.Value) error {
	pt, err := d.resolve(p)
	if err != nil {
		return fmt.Errorf("modbus %s: write tag %q: %w", d.addr, p.Tag, err)
	}
	if !pt.table.writable() {
		return driver.Refused(driver.ErrReadOnly, fmt.Errorf("modbus %s: write tag %q: address %q is read-only (%s)", d.addr, p.Tag, p.Address, pt.table))
	}
	var (
		on   bool
		regs []byte
	)
	switch {
	case pt.table == coils, pt.isBit():
		on, err = coilValue(v)
	case pt.typ == typeString:
		regs, err = encodeString(v, pt.length)
	default:
		regs, err = encodeRegisters(pt.typ, pt.order, v)
	}
	if err != nil {
		return driver.Refused(driver.ErrBadValue, fmt.Errorf("modbus %s: write tag %q (%s %s): %w", d.addr, p.Tag, p.Address, p.Type, err))
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	op := fmt.Sprintf("write tag %q (%s)", p.Tag, pt.address)
	if pt.unit != d.unit {
		op = fmt.Sprintf("write tag %q (unit %d %s)", p.Tag, pt.unit, pt.address)
	}
	request := func(send func() ([]byte, error)) ([]byte, error) {
		return retryBusy(ctx, d.busyDelay, func() ([]byte, error) {
			if err := d.prepareRequest(ctx, op, pt.unit); err != nil {
				return nil, err
			}
			data, err := send()
			var exc *gb.ModbusError
			if err != nil && !errors.As(err, &exc) {
				return nil, d.linkError(ctx, op, err)
			}
			return data, err
		})
	}
	switch {
	case pt.table == coils:
		state := uint16(0x0000)
		if on {
			state = 0xFF00
		}
		_, err = request(func() ([]byte, error) { return d.client.WriteSingleCoil(pt.offset, state) })
	case pt.isBit():
		var cur []byte
		cur, err = request(func() ([]byte, error) { return d.client.ReadHoldingRegisters(pt.offset, 1) })
		if err == nil && len(cur) < 2 {
			return fmt.Errorf("modbus %s: %s: short answer reading the register: %d bytes", d.addr, op, len(cur))
		}
		if err == nil {
			w := binary.BigEndian.Uint16(cur)
			if on {
				w |= 1 << uint(pt.bit)
			} else {
				w &^= 1 << uint(pt.bit)
			}
			_, err = request(func() ([]byte, error) { return d.client.WriteSingleRegister(pt.offset, w) })
		}
	case len(regs) == 2:
		_, err = request(func() ([]byte, error) { return d.client.WriteSingleRegister(pt.offset, binary.BigEndian.Uint16(regs)) })
	default:
		_, err = request(func() ([]byte, error) {
			return d.client.WriteMultipleRegisters(pt.offset, uint16(len(regs)/2), regs)
		})
	}
	if err != nil {
		var exc *gb.ModbusError
		if errors.As(err, &exc) {
			err := fmt.Errorf("modbus %s: %s: device refused: %s", d.addr, op, refusal(exc.ExceptionCode))
			if exc.ExceptionCode == gb.ExceptionCodeIllegalDataValue {
				return driver.Refused(driver.ErrBadValue, err)
			}
			return err
		}
		return err // wrapped by prepareRequest or linkError
	}
	return nil
}

// exceptionReason words a Modbus exception code for operators.
func exceptionReason(code byte) string {
	switch code {
	case gb.ExceptionCodeIllegalFunction:
		return "illegal function"
	case gb.ExceptionCodeIllegalDataAddress:
		return "illegal address"
	case gb.ExceptionCodeIllegalDataValue:
		return "illegal data value"
	case gb.ExceptionCodeServerDeviceFailure:
		return "device failure"
	case gb.ExceptionCodeAcknowledge, gb.ExceptionCodeServerDeviceBusy, 7:
		return "device busy"
	case gb.ExceptionCodeMemoryParityError:
		return "memory parity error"
	case gb.ExceptionCodeGatewayPathUnavailable:
		return "gateway path unavailable"
	case gb.ExceptionCodeGatewayTargetDeviceFailedToRespond:
		return "gateway target failed to respond"
	}
	return fmt.Sprintf("exception code %d", code)
}

// refusal words an exception answer to a write: the reason, the standard's
// name when it says more, and the code, e.g. "illegal address: illegal data
// address (exception 2)".
func refusal(code byte) string {
	reason := exceptionReason(code)
	if std := exceptionName(code); std != "" && std != reason {
		reason += ": " + std
	}
	return fmt.Sprintf("%s (exception %d)", reason, code)
}

// exceptionName is the Modbus application protocol's name of an exception
// code, or "".
func exceptionName(code byte) string {
	switch code {
	case 1:
		return "illegal function"
	case 2:
		return "illegal data address"
	case 3:
		return "illegal data value"
	case 4:
		return "server device failure"
	case 5:
		return "acknowledge"
	case 6:
		return "server device busy"
	case 7:
		return "negative acknowledge"
	case 8:
		return "memory parity error"
	case 10:
		return "gateway path unavailable"
	case 11:
		return "gateway target device failed to respond"
	}
	return ""
}

var _ driver.Driver = (*Driver)(nil)
