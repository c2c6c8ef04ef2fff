// Package opcua is the OPC UA client driver ("opcua"), built on
// github.com/gopcua/opcua.
//
// Addresses are node ids: "ns=2;s=TIC101.PV", "i=2258", "ns=1;g=<guid>",
// "ns=1;b=<base64>", or with a namespace URI instead of its index,
// "nsu=urn:plant;s=TIC101.PV", resolved against the server's namespace
// array at each connect; "#<n>" after the node id selects element n of an
// array ("ns=2;s=Temps#3"). Data types are bool, sbyte, byte, int16,
// uint16, int32, uint32, int64, uint64, float, double, string and datetime
// (read as a number: Unix milliseconds).
//
// The driver implements driver.Subscriber: one OPC UA subscription per
// connection, publishing at the device's publish_interval (default: the
// fastest sampling interval), with a monitored item per tag sampled at the
// tag's scan class (or the device's scan), queue_size deep, with an
// absolute or percent deadband filter when the tag has a deadband. Tags
// whose item the server refuses (an unknown node, a filter it cannot
// apply) are read with polling Reads at their scan instead, and so is
// every tag of a server that refuses subscriptions.
//
// Security: modes none, sign and sign_and_encrypt with the policies of
// Policies; a client certificate made on first use in DATA/opcua; server
// certificates trusted explicitly through a PKI directory (see PKI);
// anonymous or user name and password logins. See Dial.
//
// Recovery is the poller's: gopcua's own auto-reconnect is off, so a lost
// link surfaces as an error wrapping driver.ErrNotConnected and the poller's
// next Connect builds a fresh gopcua client (a gopcua Client cannot be
// connected twice: it starts its monitor goroutines only once), whose
// subscription Subscribe creates anew. Whenever the driver gives up a
// client it closes it, which stops all of gopcua's goroutines for it.
package opcua

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Name is the driver name used in project files.
const Name = "opcua"

// Defaults for device settings left at zero.
const (
	DefaultTimeout = 2 * time.Second
	DefaultScan    = time.Second
)

const (
	// keepAliveTarget is the longest keep-alive interval asked of a
	// subscription: the server sends a keep-alive at least this often
	// (or every publishing interval, when that is longer), so a silent
	// server is noticed within it.
	keepAliveTarget = 5 * time.Second
	// maxKeepAliveCount caps the keep-alive count.
	maxKeepAliveCount = 10
	// lifetimeFactor: the subscription lifetime in keep-alive intervals
	// without a publish request (at least 3, Part 4 5.13.2).
	lifetimeFactor = 6
	// notifyBuffer is the depth of the channel gopcua delivers
	// notifications on; generous, so gopcua's publish loop never waits on us
	// for long and in-flight notifications fit when a subscription ends.
	notifyBuffer = 256
	// perCall is the most nodes one Read request carries (servers limit
	// them; 1000 is within common limits).
	perCall = 1000
	// itemsPerCall is the most monitored items one CreateMonitoredItems
	// request carries: a request of 500 stays within one 64 KiB message
	// chunk, which some servers (gopcua's) need.
	itemsPerCall = 500
)

// Kind returns the opcua driver kind for the driver registry.
func Kind() driver.Kind {
	return driver.Kind{
		Name:         Name,
		CheckAddress: CheckAddress,
		New:          func(dev config.Device, env driver.Env) (driver.Driver, error) { return New(dev, env) },
	}
}

// point is a prepared point: its parsed address and declared type.
type point struct {
	driver.Point
	addr address
	typ  dataType
}

// link is the current connection and the points resolved against its
// server's namespaces.
type link struct {
	c     *opcua.Client // nil while not connected
	ns    []string      // the server's namespace array
	pts   []point
	nodes []*ua.NodeID // per point; nil where the address does not resolve
	why   []string     // per point: why its node is nil
}

// Driver is one OPC UA session with one server.
//
// Read, Prepare, Connect and Close are called from one goroutine; Write may
// run concurrently with Subscribe. The current gopcua client is guarded by
// mu and used outside it (gopcua clients are safe for concurrent requests).
type Driver struct {
	s       session
	scan    time.Duration
	publish time.Duration // 0: the fastest sampling interval
	queue   uint32

	mu sync.Mutex
	ln link
}

// New builds a driver for dev without I/O. It uses dev.Endpoint, the
// security settings (security, security_policy, username, password or
// password_env), dev.Timeout (2s if 0), dev.Scan (1s if 0: the sampling
// interval of tags without a scan class), dev.PublishInterval and
// dev.QueueSize (1 if 0). env.DataDir keeps the client certificate and
// the PKI under DATA/opcua.
func New(dev config.Device, env driver.Env) (*Driver, error) {
	s, err := newSession(dev, env)
	if err != nil {
		return nil, err
	}
	d := &Driver{s: s, scan: dev.Scan.Duration, publish: dev.PublishInterval.Duration, queue: uint32(max(dev.QueueSize, 1))}
	if d.scan <= 0 {
		d.scan = DefaultScan
	}
	d.s.sessionTimeout = max(time.Minute, 10*d.scan)
	return d, nil
}

// Connect opens a secure channel and a session, closing any previous
// client first, and resolves the prepared addresses against the server's
// namespaces. It gives up after the device timeout.
func (d *Driver) Connect(ctx context.Context) error {
	d.mu.Lock()
	old := d.ln.c
	d.ln.c = nil
	d.mu.Unlock()
	if old != nil {
		closeClient(old, d.s.timeout, false)
	}
	cctx, cancel := context.WithTimeout(ctx, d.s.timeout)
	defer cancel()
	c, err := d.s.dial(cctx)
	if err != nil {
		return fmt.Errorf("opcua %s: connect: %w", d.s.endpoint, err)
	}
	d.mu.Lock()
	d.ln.c, d.ln.ns = c, c.Namespaces()
	d.resolveLocked()
	d.mu.Unlock()
	return nil
}

// resolveLocked resolves the prepared points' addresses against the
// server's namespaces.
func (d *Driver) resolveLocked() {
	ln := &d.ln
	ln.nodes = make([]*ua.NodeID, len(ln.pts))
	ln.why = make([]string, len(ln.pts))
	for i, p := range ln.pts {
		n, err := p.addr.resolve(ln.ns)
		if err != nil {
			ln.why[i] = err.Error()
			continue
		}
		ln.nodes[i] = n
	}
}

// Close closes the session and the connection. It is safe to call more than
// once, and stops every goroutine the driver's gopcua client started.
func (d *Driver) Close() error {
	d.mu.Lock()
	c := d.ln.c
	d.ln.c = nil
	d.mu.Unlock()
	if c != nil {
		closeClient(c, d.s.timeout, false)
	}
	return nil
}

// ctxDone is ctx.Err(), also reporting a deadline that has passed but whose
// timer has not fired yet.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// current returns the connection and its resolved points.
func (d *Driver) current() link {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ln
}

// client returns the connected client, or nil.
func (d *Driver) client() *opcua.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ln.c
}

// drop gives up c after a failure, unless another call already did. When
// the link is known to be lost the session is abandoned; otherwise it is
// closed (which deletes its subscriptions) within the device timeout.
func (d *Driver) drop(c *opcua.Client, linkLost bool) {
	d.mu.Lock()
	mine := d.ln.c == c
	if mine {
		d.ln.c = nil
	}
	d.mu.Unlock()
	if mine {
		closeClient(c, d.s.timeout, linkLost)
	}
}

// Prepare parses the points. On error the previous tag set is kept.
func (d *Driver) Prepare(points []driver.Point) error {
	pts := make([]point, len(points))
	var errs []error
	for i, p := range points {
		a, typ, err := parsePoint(p.Address, p.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("tag %q: %w", p.Tag, err))
			continue
		}
		pts[i] = point{Point: p, addr: a, typ: typ}
	}
	if len(errs) > 0 {
		return fmt.Errorf("opcua %s: %w", d.s.endpoint, errors.Join(errs...))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ln.pts = pts
	d.resolveLocked()
	return nil
}

// Read reads the values of all prepared nodes.
func (d *Driver) Read(ctx context.Context, out []driver.Reading) error {
	ln := d.current()
	if len(out) != len(ln.pts) {
		return fmt.Errorf("opcua %s: read: %d readings for %d prepared points", d.s.endpoint, len(out), len(ln.pts))
	}
	all := make([]int, len(ln.pts))
	for i := range all {
		all[i] = i
	}
	rs, err := d.read(ctx, ln, all)
	if err != nil {
		now := time.Now()
		for i := range out {
			out[i] = driver.Reading{Index: ln.pts[i].Index, Sample: hmi.BadSample("not read: "+err.Error(), now)}
		}
		return err
	}
	copy(out, rs)
	return nil
}

// read reads the points at positions pos of ln, in requests of at most
// perCall nodes, and returns their readings in the order of pos. Points
// whose address does not resolve get a Bad sample saying why.
func (d *Driver) read(ctx context.Context, ln link, pos []int) ([]driver.Reading, error) {
	if ln.c == nil {
		return nil, fmt.Errorf("opcua %s: read: %w", d.s.endpoint, driver.ErrNotConnected)
	}
	out := make([]driver.Reading, len(pos))
	var ask []int // indexes into pos of resolved points
	now := time.Now()
	for k, i := range pos {
		out[k].Index = ln.pts[i].Index
		if ln.nodes[i] == nil {
			out[k].Sample = hmi.BadSample(ln.why[i], now)
			continue
		}
		ask = append(ask, k)
	}
	for len(ask) > 0 {
		batch := ask[:min(len(ask), perCall)]
		ask = ask[len(batch):]
		req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnBoth, NodesToRead: make([]*ua.ReadValueID, len(batch))}
		for j, k := range batch {
			i := pos[k]
			req.NodesToRead[j] = &ua.ReadValueID{NodeID: ln.nodes[i], AttributeID: ua.AttributeIDValue,
				IndexRange: ln.pts[i].addr.indexRange(), DataEncoding: &ua.QualifiedName{}}
		}
		rctx, cancel := context.WithTimeout(ctx, d.s.timeout)
		res, err := ln.c.Read(rctx, req)
		cancel()
		if err != nil {
			return nil, d.requestError(ctx, ln.c, "read", err)
		}
		if len(res.Results) != len(batch) {
			return nil, fmt.Errorf("opcua %s: read: server answered %d values for %d nodes", d.s.endpoint, len(res.Results), len(batch))
		}
		now := time.Now()
		for j, dv := range res.Results {
			p := ln.pts[pos[batch[j]]]
			out[batch[j]].Sample = sample(p.typ, p.addr.element, dv, now)
		}
	}
	return out, nil
}

// requestError classifies a failed request on c. When ctx itself ended the
// error says so and the link is kept. A timeout or a failure of the
// connection, secure channel or session drops c and wraps
// driver.ErrNotConnected (and driver.ErrTimeout). Other status codes are the
// server refusing the service: the link stays up. (The client state is no
// guide here: gopcua marks the client Closed after any ServiceFault, see
// watch.)
func (d *Driver) requestError(ctx context.Context, c *opcua.Client, op string, err error) error {
	if cerr := ctxDone(ctx); cerr != nil {
		return fmt.Errorf("opcua %s: %s: %w (%w)", d.s.endpoint, op, cerr, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ua.StatusBadTimeout) || errors.Is(err, ua.StatusBadRequestTimeout) {
		d.drop(c, true)
		return fmt.Errorf("opcua %s: %s: %w, %w (%w)", d.s.endpoint, op, driver.ErrTimeout, driver.ErrNotConnected, err)
	}
	if linkError(err) {
		d.drop(c, true)
		return fmt.Errorf("opcua %s: %s: %w (%w)", d.s.endpoint, op, driver.ErrNotConnected, err)
	}
	return fmt.Errorf("opcua %s: %s: %w", d.s.endpoint, op, err)
}

// linkError reports whether err from gopcua means the connection, secure
// channel or session is gone. Status codes other than those are answers of
// a live server; any other error (EOF, network errors, a closed or
// unopened secure channel, undecodable messages) is taken as a lost link.
func linkError(err error) bool {
	var sc ua.StatusCode
	if !errors.As(err, &sc) {
		return true
	}
	switch sc {
	case ua.StatusBadServerNotConnected, ua.StatusBadNotConnected,
		ua.StatusBadConnectionClosed, ua.StatusBadConnectionRejected,
		ua.StatusBadDisconnect, ua.StatusBadCommunicationError,
		ua.StatusBadSecureChannelIDInvalid, ua.StatusBadSecureChannelClosed,
		ua.StatusBadSecureChannelTokenUnknown,
		ua.StatusBadSessionIDInvalid, ua.StatusBadSessionClosed, ua.StatusBadSessionNotActivated,
		ua.StatusBadServerHalted, ua.StatusBadShutdown,
		ua.StatusBadTCPInternalError, ua.StatusBadTCPServerTooBusy:
		return true
	}
	return false
}

// Write writes one value, as a variant of the point's declared type (an
// array of one element, with an IndexRange, for an array element). A
// refusal names the status code in words an operator can act on and wraps
// it (errors.Is(err, ua.StatusBadOutOfRange)); BadTimeout also wraps
// driver.ErrTimeout.
func (d *Driver) Write(ctx context.Context, p driver.Point, v hmi.Value) error {
	a, typ, err := parsePoint(p.Address, p.Type)
	if err != nil {
		return fmt.Errorf("opcua %s: write tag %q: %w", d.s.endpoint, p.Tag, err)
	}
	op := fmt.Sprintf("write tag %q (%s)", p.Tag, p.Address)
	variant, err := newVariant(typ, v)
	if err == nil && a.element >= 0 {
		variant, err = oneElementArray(variant)
	}
	if err != nil {
		return fmt.Errorf("opcua %s: %s as %s: %w", d.s.endpoint, op, typ, err)
	}
	ln := d.current()
	if ln.c == nil {
		return fmt.Errorf("opcua %s: %s: %w", d.s.endpoint, op, driver.ErrNotConnected)
	}
	node, err := a.resolve(ln.ns)
	if err != nil {
		return fmt.Errorf("opcua %s: %s: %w", d.s.endpoint, op, err)
	}
	req := &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      node,
		AttributeID: ua.AttributeIDValue,
		IndexRange:  a.indexRange(),
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: variant},
	}}}
	wctx, cancel := context.WithTimeout(ctx, d.s.timeout)
	defer cancel()
	res, err := ln.c.Write(wctx, req)
	if err != nil {
		return d.requestError(ctx, ln.c, op, err)
	}
	if len(res.Results) != 1 {
		return fmt.Errorf("opcua %s: %s: server answered %d results for 1 write", d.s.endpoint, op, len(res.Results))
	}
	sc := res.Results[0]
	switch q, _ := quality(sc); {
	case q != hmi.Bad:
		return nil
	case sc&0xFFFF0000 == ua.StatusBadTimeout:
		return fmt.Errorf("opcua %s: %s: %w: %s (%w)", d.s.endpoint, op, driver.ErrTimeout, refusal(sc), sc)
	}
	err = fmt.Errorf("opcua %s: %s: server refused: %s (%w)", d.s.endpoint, op, refusal(sc), sc)
	switch sc & 0xFFFF0000 {
	case ua.StatusBadOutOfRange, ua.StatusBadTypeMismatch, ua.StatusBadIndexRangeInvalid, ua.StatusBadIndexRangeNoData:
		return driver.Refused(driver.ErrBadValue, err)
	case ua.StatusBadNotWritable, ua.StatusBadWriteNotSupported, ua.StatusBadUserAccessDenied:
		return driver.Refused(driver.ErrReadOnly, err)
	}
	return err
}

// oneElementArray wraps a scalar variant into an array of one element.
func oneElementArray(v *ua.Variant) (*ua.Variant, error) {
	x := reflect.ValueOf(v.Value())
	arr := reflect.MakeSlice(reflect.SliceOf(x.Type()), 1, 1)
	arr.Index(0).Set(x)
	return ua.NewVariant(arr.Interface())
}

// Subscribe creates a subscription with a monitored item per prepared
// node and emits the changes until ctx ends, then deletes the
// subscription and returns nil. Points whose item the server refuses, and
// all points when it refuses subscriptions, are polled at their scan
// instead. If the link or the subscription fails it returns an error
// wrapping driver.ErrNotConnected.
func (d *Driver) Subscribe(ctx context.Context, emit func([]driver.Reading)) error {
	ln := d.current()
	if ln.c == nil {
		return fmt.Errorf("opcua %s: subscribe: %w", d.s.endpoint, driver.ErrNotConnected)
	}
	if s := ln.c.State(); s != opcua.Connected {
		// gopcua's publish loop is gone (see watch); a subscription on this
		// client would never deliver, and gopcua's Subscribe could block.
		d.drop(ln.c, false)
		return fmt.Errorf("opcua %s: subscribe: %w (connection %s)", d.s.endpoint, driver.ErrNotConnected, strings.ToLower(s.String()))
	}
	w := &watch{d: d, ln: ln, emit: emit}
	var bad []driver.Reading
	var items []int
	now := time.Now()
	for i, p := range ln.pts {
		if ln.nodes[i] == nil {
			bad = append(bad, driver.Reading{Index: p.Index, Sample: hmi.BadSample(ln.why[i], now)})
			continue
		}
		items = append(items, i)
	}
	if len(bad) > 0 {
		emit(bad)
	}
	if len(items) > 0 {
		if err := w.subscribe(ctx, items); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	defer w.cancel()
	return w.run(ctx)
}

// samplingInterval is a point's sampling interval: its scan class, else
// the device's scan.
func (d *Driver) samplingInterval(p driver.Point) time.Duration {
	if p.Scan > 0 {
		return p.Scan
	}
	return d.scan
}

// watch is one running Subscribe: the subscription (if any), the points
// polled instead, and the link's health.
type watch struct {
	d    *Driver
	ln   link
	emit func([]driver.Reading)

	sub    *opcua.Subscription
	notifs chan *opcua.PublishNotificationData
	polled []*pollGroup
}

// pollGroup is points polled at one period.
type pollGroup struct {
	period time.Duration
	pos    []int
	next   time.Time
}

// subscribe creates the subscription and its monitored items for the
// points at positions items. Refused items, or all of them when the
// server refuses subscriptions, are polled. It returns only errors that
// end the link (wrapping driver.ErrNotConnected) or ctx's.
func (w *watch) subscribe(ctx context.Context, items []int) error {
	d, c := w.d, w.ln.c
	publish := d.publish
	if publish <= 0 {
		publish = time.Duration(1<<63 - 1)
		for _, i := range items {
			publish = min(publish, d.samplingInterval(w.ln.pts[i].Point))
		}
	}
	keepAlive := uint32(max(1, min(maxKeepAliveCount, int(keepAliveTarget/publish))))
	notifs := make(chan *opcua.PublishNotificationData, notifyBuffer)
	sctx, cancel := context.WithTimeout(ctx, d.s.timeout)
	sub, err := c.Subscribe(sctx, &opcua.SubscriptionParameters{
		Interval:          publish,
		MaxKeepAliveCount: keepAlive,
		LifetimeCount:     lifetimeFactor * keepAlive,
	}, notifs)
	cancel()
	if err != nil {
		err = d.requestError(ctx, c, "create subscription", err)
		if errors.Is(err, driver.ErrNotConnected) || ctx.Err() != nil {
			return err
		}
		w.poll(items) // the server refuses subscriptions
		return nil
	}
	w.sub, w.notifs = sub, notifs
	refused, err := w.monitor(ctx, items)
	if err != nil {
		if errors.Is(err, driver.ErrNotConnected) || ctx.Err() != nil {
			w.cancel()
			return err
		}
		refused = items // monitored items refused as a whole
	}
	if len(refused) == len(items) {
		w.cancel() // nothing to watch on it
	}
	w.poll(refused)
	return nil
}

// monitor creates a monitored item per point (client handle = point
// position), itemsPerCall at a time, and returns the positions of the items the
// server refused.
//
// It sends the requests itself rather than with Subscription.Monitor, which
// indexes the results without checking their count; gopcua would only need
// its record of the items to recreate them on auto-reconnect, which is off.
func (w *watch) monitor(ctx context.Context, items []int) ([]int, error) {
	d, c := w.d, w.ln.c
	var refused []int
	for len(items) > 0 {
		batch := items[:min(len(items), itemsPerCall)]
		items = items[len(batch):]
		reqs := make([]*ua.MonitoredItemCreateRequest, len(batch))
		for j, i := range batch {
			p := w.ln.pts[i]
			reqs[j] = &ua.MonitoredItemCreateRequest{
				ItemToMonitor: &ua.ReadValueID{NodeID: w.ln.nodes[i], AttributeID: ua.AttributeIDValue,
					IndexRange: p.addr.indexRange(), DataEncoding: &ua.QualifiedName{}},
				MonitoringMode: ua.MonitoringModeReporting,
				RequestedParameters: &ua.MonitoringParameters{
					ClientHandle:     uint32(i),
					SamplingInterval: float64(d.samplingInterval(p.Point)) / float64(time.Millisecond),
					QueueSize:        d.queue,
					DiscardOldest:    true,
					Filter:           filter(p),
				},
			}
		}
		req := &ua.CreateMonitoredItemsRequest{
			SubscriptionID:     w.sub.SubscriptionID,
			TimestampsToReturn: ua.TimestampsToReturnBoth,
			ItemsToCreate:      reqs,
		}
		var res *ua.CreateMonitoredItemsResponse
		mctx, cancel := context.WithTimeout(ctx, d.s.timeout)
		err := c.Send(mctx, req, func(r ua.Response) error {
			v, ok := r.(*ua.CreateMonitoredItemsResponse)
			if !ok {
				return fmt.Errorf("unexpected answer %T to CreateMonitoredItems", r)
			}
			res = v
			return nil
		})
		cancel()
		if err != nil {
			return nil, d.requestError(ctx, c, "create monitored items", err)
		}
		if len(res.Results) != len(reqs) {
			return nil, fmt.Errorf("opcua %s: create monitored items: server answered %d results for %d items", d.s.endpoint, len(res.Results), len(reqs))
		}
		for j, r := range res.Results {
			if r == nil || uint32(r.StatusCode)>>30 != 0 {
				refused = append(refused, batch[j])
			}
		}
	}
	return refused, nil
}

// filter is a point's data change filter: an absolute or percent deadband
// on numeric values, or nil.
func filter(p point) *ua.ExtensionObject {
	if p.typ.kind() != hmi.KindNumber || p.typ == typeDateTime {
		return nil
	}
	f := &ua.DataChangeFilter{Trigger: ua.DataChangeTriggerStatusValue}
	switch {
	case p.DeadbandPercent > 0:
		f.DeadbandType, f.DeadbandValue = uint32(ua.DeadbandTypePercent), p.DeadbandPercent
	case p.Deadband > 0:
		f.DeadbandType, f.DeadbandValue = uint32(ua.DeadbandTypeAbsolute), p.Deadband
	default:
		return nil
	}
	return ua.NewExtensionObject(f)
}

// poll adds the points at positions pos to the polled groups, by period.
func (w *watch) poll(pos []int) {
	now := time.Now()
	for _, i := range pos {
		period := w.d.samplingInterval(w.ln.pts[i].Point)
		var g *pollGroup
		for _, x := range w.polled {
			if x.period == period {
				g = x
			}
		}
		if g == nil {
			g = &pollGroup{period: period, next: now}
			w.polled = append(w.polled, g)
		}
		g.pos = append(g.pos, i)
	}
}

// cancel deletes the subscription on the server if the link is still up,
// then drains notifications that were in flight.
func (w *watch) cancel() {
	if w.sub == nil {
		return
	}
	if w.d.client() == w.ln.c {
		ctx, cancel := context.WithTimeout(context.Background(), w.d.s.timeout)
		_ = w.sub.Cancel(ctx) // best effort: the server drops it with the session anyway
		cancel()
	}
	for {
		select {
		case <-w.notifs:
		default:
			w.sub, w.notifs = nil, nil
			return
		}
	}
}

// keepAlive is how long the server may stay silent on a healthy link: the
// subscription's keep-alive interval, else (polling or nothing to watch)
// ten scans.
func (w *watch) keepAlive() time.Duration {
	if w.sub != nil {
		return time.Duration(w.sub.RevisedMaxKeepAliveCount) * w.sub.RevisedPublishingInterval
	}
	return maxKeepAliveCount * w.d.scan
}

// run emits the notifications of the subscription and the polled points'
// readings, and watches the link: gopcua does not pass keep-alives on, so
// the client state is checked often and, when nothing was heard for a
// keep-alive interval, the server's clock is read as a probe.
//
// gopcua v0.8.0's connection monitor takes every error its secure channel
// receives as a broken connection, even a ServiceFault answering a single
// request: with auto-reconnect off it then stops, and its publish loop with
// it, leaving the client state Closed while the channel itself still works.
// A subscription on such a client is dead, so any state but Connected ends
// it with driver.ErrNotConnected and the poller reconnects. Without a
// subscription (a server that refuses them answers with a ServiceFault)
// the polled reads and probes tell whether the link works.
func (w *watch) run(ctx context.Context) error {
	d, c := w.d, w.ln.c
	tick := time.NewTicker(min(max(d.scan/2, 20*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	quiet := w.keepAlive() + d.s.timeout
	heard := time.Now()
	poll := time.NewTimer(time.Hour)
	defer poll.Stop()
	var pollC <-chan time.Time
	arm := func() {
		pollC = nil
		if len(w.polled) == 0 {
			return
		}
		next := w.polled[0].next
		for _, g := range w.polled[1:] {
			if g.next.Before(next) {
				next = g.next
			}
		}
		poll.Reset(time.Until(next))
		pollC = poll.C
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-w.notifs:
			heard = time.Now()
			if err := w.notification(n); err != nil {
				return err
			}
		case <-pollC:
			if err := w.pollDue(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			heard = time.Now()
			arm()
		case <-tick.C:
			if d.client() != c {
				return fmt.Errorf("opcua %s: subscription: %w (connection closed)", d.s.endpoint, driver.ErrNotConnected)
			}
			if s := c.State(); s != opcua.Connected && w.sub != nil {
				d.drop(c, false)
				return fmt.Errorf("opcua %s: subscription: %w (connection %s)", d.s.endpoint, driver.ErrNotConnected, strings.ToLower(s.String()))
			}
			if time.Since(heard) >= quiet {
				if err := d.probe(ctx, c); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				heard = time.Now()
			}
		}
	}
}

// pollDue reads the polled groups that are due and emits their readings.
func (w *watch) pollDue(ctx context.Context) error {
	now := time.Now()
	for _, g := range w.polled {
		if g.next.After(now) {
			continue
		}
		rs, err := w.d.read(ctx, w.ln, g.pos)
		if err != nil {
			if errors.Is(err, driver.ErrNotConnected) || ctx.Err() != nil {
				return err
			}
			t := time.Now()
			rs = make([]driver.Reading, len(g.pos))
			for k, i := range g.pos {
				rs[k] = driver.Reading{Index: w.ln.pts[i].Index, Sample: hmi.BadSample("not read: "+err.Error(), t)}
			}
		}
		w.emit(rs)
		g.next = g.next.Add(g.period)
		if t := time.Now(); g.next.Before(t) {
			g.next = t.Add(g.period)
		}
	}
	return nil
}

// notification emits the data changes in n, or returns the failure it reports.
func (w *watch) notification(n *opcua.PublishNotificationData) error {
	d, c := w.d, w.ln.c
	if n.Error != nil {
		d.drop(c, false)
		return fmt.Errorf("opcua %s: subscription failed: %w (%w)", d.s.endpoint, driver.ErrNotConnected, n.Error)
	}
	switch v := n.Value.(type) {
	case *ua.DataChangeNotification:
		now := time.Now()
		readings := make([]driver.Reading, 0, len(v.MonitoredItems))
		for _, item := range v.MonitoredItems {
			if item == nil || int64(item.ClientHandle) >= int64(len(w.ln.pts)) {
				continue
			}
			p := w.ln.pts[item.ClientHandle]
			readings = append(readings, driver.Reading{Index: p.Index, Sample: sample(p.typ, p.addr.element, item.Value, now)})
		}
		if len(readings) > 0 {
			w.emit(readings)
		}
	case *ua.StatusChangeNotification:
		// The server ended the subscription (e.g. BadTimeout).
		d.drop(c, false)
		return fmt.Errorf("opcua %s: subscription ended by the server: %w (%s)", d.s.endpoint, driver.ErrNotConnected, statusName(v.Status))
	}
	return nil
}

// probe reads the server's current time to check that the link is alive.
func (d *Driver) probe(ctx context.Context, c *opcua.Client) error {
	req := &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{
		NodeID:       ua.NewNumericNodeID(0, id.Server_ServerStatus_CurrentTime),
		AttributeID:  ua.AttributeIDValue,
		DataEncoding: &ua.QualifiedName{},
	}}}
	pctx, cancel := context.WithTimeout(ctx, d.s.timeout)
	defer cancel()
	if _, err := c.Read(pctx, req); err != nil {
		err = d.requestError(ctx, c, "probe", err)
		if errors.Is(err, driver.ErrNotConnected) {
			return err
		}
	}
	return nil // a live server that will not tell the time is still live
}

var (
	_ driver.Driver     = (*Driver)(nil)
	_ driver.Subscriber = (*Driver)(nil)
)
