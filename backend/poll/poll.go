// Package poll runs devices: one goroutine per device connects its driver,
// reads the device's tags every scan (or takes the driver's subscription),
// feeds the tag database, marks tags Bad with a reason when the device fails,
// reconnects with backoff, and carries writes to the device.
package poll

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Backoff between reconnect attempts: it doubles from MinBackoff to
// MaxBackoff, with ±20 % jitter so many gateways do not retry in step.
const (
	MinBackoff = 500 * time.Millisecond
	MaxBackoff = 30 * time.Second
)

// ErrStopped is returned by Write when the device's poller is not running.
var ErrStopped = errors.New("device poller is not running")

// EventSink receives device events (connect, disconnect).
type EventSink func(hmi.Event)

// Sink receives what a device's poller reads: the tag database. Ingest
// returns the changed indexes in changed's storage, for reuse. Point gives a
// tag's point as its driver reads it: the poller keeps only tag indexes, and
// builds points when it needs them (for Prepare and writes), so a large
// project's point lists are not held twice.
type Sink interface {
	Point(tag int) driver.Point
	Ingest(readings []driver.Reading, changed []int) []int
	MarkBad(ids []int, reason string, ts time.Time)
	// MarkStale makes Good tags Uncertain with a reason, keeping values.
	MarkStale(ids []int, reason string, ts time.Time)
}

// StaleScans is how many scan periods without a fresh read make a polled
// device's Good values Uncertain ("stale").
const StaleScans = 3

// staleReason is constant, so a stale tag is published once, not every scan.
var staleReason = fmt.Sprintf("stale: no fresh read within %d scan periods", StaleScans)

// Device polls one device. Create it with New and start Run in a goroutine.
type Device struct {
	cfg    config.Device
	drv    driver.Driver
	log    *slog.Logger
	events EventSink

	// bind guards db, ids and the classes' ids, which Rebind replaces
	// between scans when a project reload gives the device a new database.
	// A scan holds it from filling its buffer to ingesting it.
	bind sync.Mutex
	db   Sink
	ids  []int // tag indexes of this device, in its points' order
	// prepIDs are the indexes the driver was prepared with, which
	// subscription drivers copy into their readings; nil until a Rebind.
	prepIDs []int
	cls     []*class // scan classes, fastest first
	// grouped is the driver's group reading when it reads scan classes
	// on their own (more than one class); nil when every read takes all.
	grouped driver.Grouped

	writes  chan writeReq
	stopped chan struct{} // closed when Run returns
	stats   stats
}

type writeReq struct {
	ctx   context.Context
	point driver.Point
	pos   int // the point's position in the device's points
	value hmi.Value
	reply chan error
}

// stats are read by metrics while the poller writes them.
type stats struct {
	connected    atomic.Bool
	polls        atomic.Uint64
	errors       atomic.Uint64
	timeouts     atomic.Uint64
	overruns     atomic.Uint64
	reconnects   atomic.Uint64
	lastScanNano atomic.Int64
	scans        driver.Durations // scan times
	jitter       driver.Durations // how late each scan started against its schedule
	mu           sync.Mutex
	lastErr      string

	// scanEndNano is when the poll loop last finished a read (or, before
	// the first, connected), in Unix nanoseconds; 0 while it is not polling
	// (disconnected, or a subscribing driver).
	scanEndNano atomic.Int64
}

// Stats is a snapshot of a device's counters.
type Stats struct {
	Name       string        `json:"name"`
	Driver     string        `json:"driver"`
	Connected  bool          `json:"connected"`
	Polls      uint64        `json:"polls"`
	Errors     uint64        `json:"errors"`
	Timeouts   uint64        `json:"timeouts"`
	Overruns   uint64        `json:"overruns"`
	Reconnects uint64        `json:"reconnects"`
	Scan       time.Duration `json:"scan_period_ns"`
	LastScan   time.Duration `json:"last_scan_ns"`
	P99Scan    time.Duration `json:"p99_scan_ns"`   // over the last 128 scans
	P99Jitter  time.Duration `json:"p99_jitter_ns"` // scan starts against the period, last 128
	// Requests and round trips, from drivers that time them (Modbus).
	Requests  uint64        `json:"requests"`
	LastRTT   time.Duration `json:"last_rtt_ns"`
	P99RTT    time.Duration `json:"p99_rtt_ns"`
	LastError string        `json:"last_error,omitempty"`
}

// New prepares a poller for dev's points, whose readings go to sink. It
// does no I/O and keeps only the points' tag indexes and scan classes.
func New(dev config.Device, drv driver.Driver, points []driver.Point, sink Sink, log *slog.Logger, events EventSink) *Device {
	d := &Device{cfg: dev, drv: drv, db: sink, log: log.With("device", dev.Name), events: events,
		writes: make(chan writeReq), stopped: make(chan struct{})}
	d.ids = make([]int, len(points))
	for k, p := range points {
		d.ids[k] = p.Index
	}
	d.cls = classes(points, dev.Scan.Duration, d.ids)
	grouped, _ := drv.(driver.Grouped)
	switch {
	case len(d.cls) > 1 && grouped != nil:
		d.grouped = grouped
	case len(d.cls) > 1: // the driver reads all points at once: at the fastest class's period
		d.cls = []*class{{period: d.cls[0].period, ids: d.ids}}
	}
	return d
}

// points builds the device's points for the driver, each with its scan
// class's period.
func (d *Device) points() []driver.Point {
	d.bind.Lock()
	defer d.bind.Unlock()
	pts := make([]driver.Point, len(d.ids))
	for _, c := range d.cls {
		c.each(func(k int) {
			pts[k] = d.db.Point(d.ids[k])
			pts[k].Scan = c.period
		})
	}
	return pts
}

// Name is the device name.
func (d *Device) Name() string { return d.cfg.Name }

// Config is the device's configuration.
func (d *Device) Config() config.Device { return d.cfg }

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	d.stats.mu.Lock()
	lastErr := d.stats.lastErr
	d.stats.mu.Unlock()
	st := Stats{
		Name: d.cfg.Name, Driver: d.cfg.Driver,
		Connected: d.stats.connected.Load(), Polls: d.stats.polls.Load(), Errors: d.stats.errors.Load(),
		Timeouts: d.stats.timeouts.Load(), Overruns: d.stats.overruns.Load(), Reconnects: d.stats.reconnects.Load(),
		Scan: d.cfg.Scan.Duration, LastScan: time.Duration(d.stats.lastScanNano.Load()),
		P99Scan: d.stats.scans.Timing().P99, P99Jitter: d.stats.jitter.Timing().P99, LastError: lastErr,
	}
	if t, ok := d.drv.(driver.Timed); ok {
		rt := t.RequestTiming()
		st.Requests, st.LastRTT, st.P99RTT = rt.Count, rt.Last, rt.P99
	}
	return st
}

// StallScans is how many of its fastest scan periods, beyond its read
// timeout, a connected poller may go without finishing a read before it
// counts as stalled. A read that ends by its timeout is not a stall (the
// device is slow or gone, and the poller goes on); a read that never ends
// is (a hung driver): the process's watchdog stops being fed then.
const StallScans = 10

// Stalled tells whether the device's poll loop is connected and has not
// finished a read for longer than StallScans of its fastest period plus its
// read timeout, and how long since it last did. Devices that subscribe
// (OPC UA) or are not connected never count as stalled.
func (d *Device) Stalled(now time.Time) (since time.Duration, stalled bool) {
	end := d.stats.scanEndNano.Load()
	if end == 0 || len(d.cls) == 0 {
		return 0, false
	}
	since = now.Sub(time.Unix(0, end))
	limit := StallScans*d.cls[0].period + max(d.cfg.Timeout.Duration, time.Second)
	return since, since > limit
}

// position finds a tag's place in the device's points.
func (d *Device) position(tag int) (int, bool) {
	if k, ok := slices.BinarySearch(d.ids, tag); ok { // points come in tag order
		return k, true
	}
	k := slices.Index(d.ids, tag) // any order: a linear look
	return k, k >= 0
}

// Write writes a raw value to one of the device's tags, through the
// device's own goroutine (or, for subscription drivers, beside it). It
// returns when the device has answered.
func (d *Device) Write(ctx context.Context, tag int, raw hmi.Value) error {
	return d.WriteFrom(ctx, nil, tag, raw)
}

// ErrRebound is returned by WriteFrom when the device was rebound to another
// tag database (a project reload) after the caller looked the tag up there.
var ErrRebound = errors.New("the project was reloaded meanwhile: try again")

// WriteFrom is Write for a tag index of the database from (nil: the
// device's current one): a caller holding an index of an earlier project
// gets ErrRebound rather than writing whichever tag has that index now.
func (d *Device) WriteFrom(ctx context.Context, from Sink, tag int, raw hmi.Value) error {
	d.bind.Lock()
	if from != nil && from != d.db {
		d.bind.Unlock()
		return fmt.Errorf("write to device %q: %w", d.cfg.Name, ErrRebound)
	}
	k, ok := d.position(tag)
	var point driver.Point
	if ok {
		point = d.db.Point(tag)
	}
	d.bind.Unlock()
	if !ok {
		return fmt.Errorf("device %q has no tag %d", d.cfg.Name, tag)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.Duration+time.Second)
	defer cancel()
	req := writeReq{ctx: ctx, point: point, pos: k, value: raw, reply: make(chan error, 1)}
	select {
	case d.writes <- req:
	case <-d.stopped:
		return fmt.Errorf("write %s: device %q: %w", req.point.Tag, d.cfg.Name, ErrStopped)
	case <-ctx.Done():
		return fmt.Errorf("write %s: device %q is busy: %w", req.point.Tag, d.cfg.Name, driver.ErrTimeout)
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("write %s: device %q did not answer: %w", req.point.Tag, d.cfg.Name, driver.ErrTimeout)
	}
}

// Run polls until ctx ends, then closes the driver. It never returns early:
// a failing device is retried with backoff.
func (d *Device) Run(ctx context.Context) {
	defer close(d.stopped)
	defer d.drv.Close()
	if len(d.ids) == 0 {
		d.idle(ctx)
		return
	}
	prepared := false
	backoff := MinBackoff
	for ctx.Err() == nil {
		err := d.connect(ctx)
		if err == nil && !prepared {
			if err = d.drv.Prepare(d.points()); err == nil {
				prepared = true
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.failed(fmt.Sprintf("cannot connect: %v", err), err)
			d.waitServingWrites(ctx, jitter(backoff))
			backoff = min(backoff*2, MaxBackoff)
			continue
		}
		backoff = MinBackoff
		d.stats.connected.Store(true)
		d.log.Info("device connected")
		d.events(hmi.Event{Kind: hmi.EventDevice, Source: d.cfg.Name, Action: "connect", Result: "ok"})
		if sub, ok := d.drv.(driver.Subscriber); ok {
			err = d.subscribe(ctx, sub)
		} else {
			err = d.poll(ctx)
		}
		d.stats.connected.Store(false)
		d.drv.Close()
		if ctx.Err() != nil {
			return
		}
		d.stats.reconnects.Add(1)
		d.failed(fmt.Sprintf("connection lost: %v", err), err)
		d.waitServingWrites(ctx, jitter(MinBackoff))
	}
}

func (d *Device) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.Duration)
	defer cancel()
	return d.drv.Connect(ctx)
}

// failed marks the device's tags Bad and logs the failure once per change
// of reason.
func (d *Device) failed(reason string, err error) {
	d.stats.errors.Add(1)
	if errors.Is(err, driver.ErrTimeout) {
		d.stats.timeouts.Add(1)
	}
	d.stats.mu.Lock()
	same := d.stats.lastErr == reason
	d.stats.lastErr = reason
	d.stats.mu.Unlock()
	d.bind.Lock()
	d.db.MarkBad(d.ids, reason, time.Now())
	d.bind.Unlock()
	if !same {
		d.log.Warn("device down", "err", err)
		d.events(hmi.Event{Kind: hmi.EventDevice, Source: d.cfg.Name, Action: "disconnect", Result: "error", Detail: reason})
	}
}

// class is one scan class of a device: the points read at one period.
type class struct {
	period   time.Duration
	pos      []int // positions in the device's points; nil: all of them
	ids      []int // their tag indexes
	lastGood atomic.Int64
}

// each calls f with each of the class's positions.
func (c *class) each(f func(k int)) {
	if c.pos == nil {
		for k := range c.ids {
			f(k)
		}
		return
	}
	for _, k := range c.pos {
		f(k)
	}
}

// has reports whether the class reads position k.
func (c *class) has(k int) bool { return c.pos == nil || slices.Contains(c.pos, k) }

// classes groups a device's points by scan period (a point's Scan, or the
// device's), fastest first. A single class holds all points without
// position lists, sharing ids (the points' tag indexes).
func classes(points []driver.Point, scan time.Duration, ids []int) []*class {
	if !slices.ContainsFunc(points, func(p driver.Point) bool { return p.Scan > 0 && p.Scan != scan }) {
		return []*class{{period: scan, ids: ids}}
	}
	byPeriod := map[time.Duration]*class{}
	var out []*class
	for k, p := range points {
		period := p.Scan
		if period <= 0 {
			period = scan
		}
		c := byPeriod[period]
		if c == nil {
			c = &class{period: period}
			byPeriod[period] = c
			out = append(out, c)
		}
		c.pos = append(c.pos, k)
		c.ids = append(c.ids, p.Index)
	}
	slices.SortFunc(out, func(a, b *class) int { return cmp.Compare(a.period, b.period) })
	return out
}

// poll reads each scan class at its period until the link fails or ctx
// ends. Drivers that read groups (driver.Grouped) read each class on its
// own; for others every read takes all points, at the fastest class's
// period. A write is served before the next read (writes jump ahead of
// polling), and the written tag's class is read right after it: the
// write's read-back.
func (d *Device) poll(ctx context.Context) error {
	cls, grouped := d.cls, d.grouped
	if grouped != nil {
		groups := make([][]int, len(cls))
		for g, c := range cls {
			groups[g] = c.pos
		}
		if err := grouped.Group(groups); err != nil {
			return err
		}
	}
	classOf := func(k int) int { // a position's class, for a write's read-back
		return max(slices.IndexFunc(cls, func(c *class) bool { return c.has(k) }), 0)
	}
	var buf []driver.Reading // one class's readings, gathered for Ingest
	var changed []int
	var wg sync.WaitGroup
	wctx, stopWatch := context.WithCancel(ctx)
	defer func() { stopWatch(); wg.Wait() }()
	now := time.Now()
	next := make([]time.Time, len(cls))
	for g, c := range cls {
		c.lastGood.Store(now.UnixNano())
		next[g] = now
	}
	d.stats.scanEndNano.Store(now.UnixNano())
	defer d.stats.scanEndNano.Store(0)
	wg.Go(func() { d.watchStale(wctx, cls) })
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		g := 0
		for k := range next {
			if next[k].Before(next[g]) {
				g = k
			}
		}
		if wait := time.Until(next[g]); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
			case req := <-d.writes:
				next[classOf(req.pos)] = time.Now() // read it back at once
				d.doWrite(req)
				continue
			}
		}
		select { // a waiting write goes first
		case req := <-d.writes:
			next[classOf(req.pos)] = time.Now()
			d.doWrite(req)
			continue
		default:
		}
		c := cls[g]
		start := time.Now()
		d.stats.jitter.Add(start.Sub(next[g]))
		d.bind.Lock()
		out := d.borrow(c)
		d.bind.Unlock()
		rctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.Duration)
		var err error
		if grouped != nil {
			err = grouped.ReadGroup(rctx, g, *out)
		} else {
			err = d.drv.Read(rctx, *out)
		}
		if err != nil && rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil && !errors.Is(err, driver.ErrTimeout) {
			// The read's own deadline ran out: say so in words, and count it.
			err = fmt.Errorf("%w: %w", driver.ErrTimeout, err)
		}
		cancel()
		done := time.Now()
		d.scanned(done.Sub(start))
		d.stats.scanEndNano.Store(done.UnixNano())
		next[g] = next[g].Add(c.period)
		if next[g].Before(done) {
			d.stats.overruns.Add(1) // missed its slot: skip to the next one from now
			next[g] = done.Add(c.period)
		}
		switch {
		case errors.Is(err, driver.ErrNotConnected), ctx.Err() != nil:
			readings.Put(out)
			if errors.Is(err, driver.ErrTimeout) {
				d.stats.timeouts.Add(1)
			}
			return err
		case err != nil:
			d.failed(fmt.Sprintf("read failed: %v", err), err)
		default:
			d.clearError()
			c.lastGood.Store(done.UnixNano())
			d.bind.Lock()
			if d.prepIDs != nil {
				// Rebound: drivers copy the indexes they were prepared
				// with, but fill readings by position.
				c.each(func(k int) { (*out)[k].Index = d.ids[k] })
			}
			if len(cls) == 1 {
				changed = d.db.Ingest(*out, changed) // every entry was just read
				break
			}
			buf = buf[:0]
			c.each(func(k int) { buf = append(buf, (*out)[k]) })
			changed = d.db.Ingest(buf, changed)
		}
		if err == nil {
			d.bind.Unlock()
		}
		readings.Put(out)
	}
}

// readings lends polled devices the buffers they read into. A device needs
// one only while it scans, so many devices share a few rather than each
// holding its own for good (100,000 tags held 8.8 MB of them). The pool
// holds no state that anyone can observe: what is taken is reset first.
var readings sync.Pool // of *[]driver.Reading

// borrow returns a buffer of a reading per point of the device, the
// entries of class c reset to their tag indexes and no sample. Give it
// back with readings.Put.
func (d *Device) borrow(c *class) *[]driver.Reading {
	out, _ := readings.Get().(*[]driver.Reading)
	if out == nil {
		out = new([]driver.Reading)
	}
	if cap(*out) < len(d.ids) {
		*out = make([]driver.Reading, len(d.ids))
	}
	*out = (*out)[:len(d.ids)]
	c.each(func(k int) { (*out)[k] = driver.Reading{Index: d.ids[k]} })
	return out
}

// scanned records one scan's duration.
func (d *Device) scanned(took time.Duration) {
	d.stats.lastScanNano.Store(int64(took))
	d.stats.polls.Add(1)
	d.stats.scans.Add(took)
}

// watchStale marks a class's Good values Uncertain when no fresh read has
// come for StaleScans of its periods: a device that answers slowly (or a
// read hanging until its timeout) shows as stale before it shows as Bad.
func (d *Device) watchStale(ctx context.Context, cls []*class) {
	t := time.NewTicker(cls[0].period) // the fastest class
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			d.bind.Lock()
			for _, c := range cls {
				if now.Sub(time.Unix(0, c.lastGood.Load())) > StaleScans*c.period {
					d.db.MarkStale(c.ids, staleReason, now)
				}
			}
			d.bind.Unlock()
		}
	}
}

func (d *Device) clearError() {
	d.stats.mu.Lock()
	d.stats.lastErr = ""
	d.stats.mu.Unlock()
}

// subscribe runs the driver's subscription beside a loop that serves writes.
func (d *Device) subscribe(ctx context.Context, sub driver.Subscriber) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		var changed []int
		errc <- sub.Subscribe(ctx, func(rs []driver.Reading) {
			d.stats.polls.Add(1)
			d.bind.Lock()
			d.remap(rs)
			changed = d.db.Ingest(rs, changed)
			d.bind.Unlock()
		})
	})
	defer wg.Wait()
	d.clearError()
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case req := <-d.writes:
			d.doWrite(req)
		}
	}
}

// Rebind points the device at a new tag database between scans, without
// stopping it: a project reload that kept the device's definition gives it
// the database of the new project, where its tags have the indexes ids (in
// the order of its points, as before). The connection, the driver's plan
// and the counters are kept.
func (d *Device) Rebind(sink Sink, ids []int) error {
	d.bind.Lock()
	defer d.bind.Unlock()
	if len(ids) != len(d.ids) {
		return fmt.Errorf("rebind device %q: %d tags, not %d", d.cfg.Name, len(ids), len(d.ids))
	}
	if d.prepIDs == nil {
		d.prepIDs = slices.Clone(d.ids)
	}
	copy(d.ids, ids) // a single class shares d.ids
	for _, c := range d.cls {
		if c.pos != nil {
			for j, k := range c.pos {
				c.ids[j] = ids[k]
			}
		}
	}
	d.db = sink
	return nil
}

// remap turns the indexes a subscription driver copied from its prepared
// points into the current ones. Called with d.bind held.
func (d *Device) remap(rs []driver.Reading) {
	if d.prepIDs == nil {
		return
	}
	for r := range rs {
		k, ok := slices.BinarySearch(d.prepIDs, rs[r].Index)
		if !ok {
			k = slices.Index(d.prepIDs, rs[r].Index)
		}
		if k >= 0 {
			rs[r].Index = d.ids[k]
		}
	}
}

func (d *Device) doWrite(req writeReq) {
	ctx, cancel := context.WithTimeout(req.ctx, d.cfg.Timeout.Duration)
	defer cancel()
	err := d.drv.Write(ctx, req.point, req.value)
	if err != nil {
		err = fmt.Errorf("write %s on device %q: %w", req.point.Tag, d.cfg.Name, err)
	}
	req.reply <- err
}

// waitServingWrites sleeps for dur while refusing writes at once, so an
// operator is told the device is down instead of waiting.
func (d *Device) waitServingWrites(ctx context.Context, dur time.Duration) {
	t := time.NewTimer(dur)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case req := <-d.writes:
			req.reply <- fmt.Errorf("write %s: device %q is not connected: %w", req.point.Tag, d.cfg.Name, driver.ErrNotConnected)
		}
	}
}

// idle serves a device without tags: nothing to poll, writes refused.
func (d *Device) idle(ctx context.Context) { d.waitServingWrites(ctx, time.Duration(1<<62)) }

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
