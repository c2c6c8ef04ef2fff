// Package opcua is the OPC UA client driver ("opcua"), built on
// github.com/gopcua/opcua.
//
// Addresses are node ids as ua.ParseNodeID reads them ("ns=2;s=TIC101.PV",
// "i=2258", "ns=1;g=<guid>", "ns=1;b=<base64>"); data types are bool, int16,
// uint16, int32, uint32, int64, uint64, float, double and string.
//
// The driver implements driver.Subscriber: the poller gets changes from an
// OPC UA subscription, or from polling Read every scan when the server
// refuses subscriptions.
//
// Recovery is the poller's: gopcua's own auto-reconnect is off, so a lost
// link surfaces as an error wrapping driver.ErrNotConnected and the poller's
// next Connect builds a fresh gopcua client (a gopcua Client cannot be
// connected twice: it starts its monitor goroutines only once). Whenever the
// driver gives up a client it closes it, which stops all of gopcua's
// goroutines for it.
package opcua

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	// keepAliveCount is the subscription's max keep-alive count: the server
	// answers a publish request at least every keepAliveCount intervals.
	keepAliveCount = 10
	// lifetimeCount is the subscription lifetime in publishing intervals
	// without a publish request (at least 3 keep-alives, Part 4 5.13.2).
	lifetimeCount = 6 * keepAliveCount
	// notifyBuffer is the depth of the channel gopcua delivers
	// notifications on; generous, so gopcua's publish loop never waits on us
	// for long and in-flight notifications fit when a subscription ends.
	notifyBuffer = 256
)

// Kind returns the opcua driver kind for the driver registry.
func Kind() driver.Kind {
	return driver.Kind{
		Name:         Name,
		CheckAddress: CheckAddress,
		New:          func(dev config.Device, env driver.Env) (driver.Driver, error) { return New(dev) },
	}
}

// point is a prepared point: its parsed node id and declared type.
type point struct {
	driver.Point
	node *ua.NodeID
	typ  dataType
}

// Driver is one OPC UA session with one server.
//
// Read, Prepare, Connect and Close are called from one goroutine; Write may
// run concurrently with Subscribe. The current gopcua client is guarded by
// mu and used outside it (gopcua clients are safe for concurrent requests).
type Driver struct {
	endpoint string
	timeout  time.Duration
	scan     time.Duration

	mu      sync.Mutex
	client  *opcua.Client // nil while not connected
	points  []point
	readReq *ua.ReadRequest
}

// New builds a driver for dev without I/O. It uses dev.Endpoint,
// dev.Security ("none" or ""), dev.Timeout (2s if 0) and dev.Scan (1s if 0),
// the publishing and sampling interval of subscriptions.
func New(dev config.Device) (*Driver, error) {
	if dev.Endpoint == "" {
		return nil, errors.New("opcua: endpoint is missing (e.g. opc.tcp://192.168.0.10:4840)")
	}
	if s := strings.ToLower(dev.Security); s != "" && s != "none" {
		return nil, fmt.Errorf("opcua: security %q is not supported yet (only \"none\")", dev.Security)
	}
	d := &Driver{endpoint: dev.Endpoint, timeout: dev.Timeout.Duration, scan: dev.Scan.Duration}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	if d.scan <= 0 {
		d.scan = DefaultScan
	}
	return d, nil
}

// Connect opens a secure channel and an anonymous session, closing any
// previous client first. It gives up after the device timeout.
func (d *Driver) Connect(ctx context.Context) error {
	d.mu.Lock()
	old := d.client
	d.client = nil
	d.mu.Unlock()
	if old != nil {
		d.closeClient(old, false)
	}

	c, err := opcua.NewClient(d.endpoint,
		opcua.SecurityMode(ua.MessageSecurityModeNone),
		// No AuthAnonymous(): with no identity token configured gopcua sends
		// an anonymous token carrying the policy id the server announces,
		// where AuthAnonymous() would send an empty policy id.
		opcua.AutoReconnect(false),
		opcua.RequestTimeout(d.timeout),
		opcua.DialTimeout(d.timeout),
		opcua.SessionTimeout(max(time.Minute, 10*d.scan)),
		opcua.ApplicationName("edgehmi"),
		opcua.ApplicationURI("urn:edgehmi:client"),
		opcua.ProductURI("urn:edgehmi"),
		opcua.SessionName("edgehmi"),
	)
	if err != nil {
		return fmt.Errorf("opcua %s: connect: %w", d.endpoint, err)
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if err := c.Connect(cctx); err != nil {
		d.closeClient(c, true) // release whatever a half-done Connect left open
		if ctx.Err() == nil && timedOut(cctx, err) {
			return fmt.Errorf("opcua %s: connect: %w (%w)", d.endpoint, driver.ErrTimeout, err)
		}
		return fmt.Errorf("opcua %s: connect: %w", d.endpoint, err)
	}
	d.mu.Lock()
	d.client = c
	d.mu.Unlock()
	return nil
}

// Close closes the session and the connection. It is safe to call more than
// once, and stops every goroutine the driver's gopcua client started.
func (d *Driver) Close() error {
	d.mu.Lock()
	c := d.client
	d.client = nil
	d.mu.Unlock()
	if c != nil {
		d.closeClient(c, false)
	}
	return nil
}

// closeClient closes c within the device timeout. When the link is already
// lost the session is detached first, so that closing does not wait on a
// CloseSession answer that will never come.
func (d *Driver) closeClient(c *opcua.Client, linkLost bool) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	if linkLost {
		_, _ = c.DetachSession(ctx) // never fails
	}
	_ = c.Close(ctx) // gopcua ignores errors of the close handshake itself
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

// timedOut reports whether a call bounded by ctx failed for lack of time:
// ctx's deadline passed (the socket deadline gopcua sets from it can fire
// before ctx's own timer does) or the network timed out.
func timedOut(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// current returns the connected client, or nil.
func (d *Driver) current() *opcua.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.client
}

// drop gives up c after a failure, unless another call already did. When
// the link is known to be lost the session is abandoned; otherwise it is
// closed (which deletes its subscriptions) within the device timeout.
func (d *Driver) drop(c *opcua.Client, linkLost bool) {
	d.mu.Lock()
	mine := d.client == c
	if mine {
		d.client = nil
	}
	d.mu.Unlock()
	if mine {
		d.closeClient(c, linkLost)
	}
}

// Prepare parses the points and builds the read request. On error the
// previous tag set is kept.
func (d *Driver) Prepare(points []driver.Point) error {
	pts := make([]point, len(points))
	nodes := make([]*ua.ReadValueID, len(points))
	var errs []error
	for i, p := range points {
		node, typ, err := parsePoint(p.Address, p.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("tag %q: %w", p.Tag, err))
			continue
		}
		pts[i] = point{Point: p, node: node, typ: typ}
		nodes[i] = &ua.ReadValueID{NodeID: node, AttributeID: ua.AttributeIDValue, DataEncoding: &ua.QualifiedName{}}
	}
	if len(errs) > 0 {
		return fmt.Errorf("opcua %s: %w", d.endpoint, errors.Join(errs...))
	}
	req := &ua.ReadRequest{TimestampsToReturn: ua.TimestampsToReturnBoth, NodesToRead: nodes}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.points = pts
	d.readReq = req
	return nil
}

func (d *Driver) prepared() ([]point, *ua.ReadRequest) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.points, d.readReq
}

// Read reads the values of all prepared nodes in one Read request.
func (d *Driver) Read(ctx context.Context, out []driver.Reading) error {
	pts, req := d.prepared()
	if len(out) != len(pts) {
		return fmt.Errorf("opcua %s: read: %d readings for %d prepared points", d.endpoint, len(out), len(pts))
	}
	for i := range out {
		out[i] = driver.Reading{Index: pts[i].Index}
	}
	err := d.read(ctx, d.current(), pts, req, out)
	if err != nil {
		now := time.Now()
		for i := range out {
			out[i].Sample = hmi.BadSample("not read: "+err.Error(), now)
		}
	}
	return err
}

// read reads pts with req on c into out (whose indexes are set).
func (d *Driver) read(ctx context.Context, c *opcua.Client, pts []point, req *ua.ReadRequest, out []driver.Reading) error {
	if c == nil {
		return fmt.Errorf("opcua %s: read: %w", d.endpoint, driver.ErrNotConnected)
	}
	if len(pts) == 0 {
		return ctx.Err()
	}
	rctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	res, err := c.Read(rctx, req)
	if err != nil {
		return d.requestError(ctx, c, "read", err)
	}
	if len(res.Results) != len(pts) {
		return fmt.Errorf("opcua %s: read: server answered %d values for %d nodes", d.endpoint, len(res.Results), len(pts))
	}
	now := time.Now()
	for i, dv := range res.Results {
		out[i].Sample = sample(pts[i].typ, dv, now)
	}
	return nil
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
		return fmt.Errorf("opcua %s: %s: %w (%w)", d.endpoint, op, cerr, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ua.StatusBadTimeout) || errors.Is(err, ua.StatusBadRequestTimeout) {
		d.drop(c, true)
		return fmt.Errorf("opcua %s: %s: %w, %w (%w)", d.endpoint, op, driver.ErrTimeout, driver.ErrNotConnected, err)
	}
	if linkError(err) {
		d.drop(c, true)
		return fmt.Errorf("opcua %s: %s: %w (%w)", d.endpoint, op, driver.ErrNotConnected, err)
	}
	return fmt.Errorf("opcua %s: %s: %w", d.endpoint, op, err)
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

// Write writes one value, as a variant of the point's declared type.
func (d *Driver) Write(ctx context.Context, p driver.Point, v hmi.Value) error {
	node, typ, err := parsePoint(p.Address, p.Type)
	if err != nil {
		return fmt.Errorf("opcua %s: write tag %q: %w", d.endpoint, p.Tag, err)
	}
	op := fmt.Sprintf("write tag %q (%s)", p.Tag, p.Address)
	variant, err := newVariant(typ, v)
	if err != nil {
		return fmt.Errorf("opcua %s: %s as %s: %w", d.endpoint, op, typ, err)
	}
	c := d.current()
	if c == nil {
		return fmt.Errorf("opcua %s: %s: %w", d.endpoint, op, driver.ErrNotConnected)
	}
	req := &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID:      node,
		AttributeID: ua.AttributeIDValue,
		Value:       &ua.DataValue{EncodingMask: ua.DataValueValue, Value: variant},
	}}}
	wctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	res, err := c.Write(wctx, req)
	if err != nil {
		return d.requestError(ctx, c, op, err)
	}
	if len(res.Results) != 1 {
		return fmt.Errorf("opcua %s: %s: server answered %d results for 1 write", d.endpoint, op, len(res.Results))
	}
	if q, _ := quality(res.Results[0]); q == hmi.Bad {
		return fmt.Errorf("opcua %s: %s: server refused: %s", d.endpoint, op, statusName(res.Results[0]))
	}
	return nil
}

// Subscribe creates a subscription (publishing interval = scan) with a
// monitored item (sampling interval = scan) per prepared node and emits the
// changes until ctx ends, then deletes the subscription and returns nil. If
// the link or the subscription fails it returns an error wrapping
// driver.ErrNotConnected. If the server refuses subscriptions it polls Read
// every scan instead.
func (d *Driver) Subscribe(ctx context.Context, emit func([]driver.Reading)) error {
	c := d.current()
	if c == nil {
		return fmt.Errorf("opcua %s: subscribe: %w", d.endpoint, driver.ErrNotConnected)
	}
	if s := c.State(); s != opcua.Connected {
		// gopcua's publish loop is gone (see watch); a subscription on this
		// client would never deliver, and gopcua's Subscribe could block.
		d.drop(c, false)
		return fmt.Errorf("opcua %s: subscribe: %w (connection %s)", d.endpoint, driver.ErrNotConnected, strings.ToLower(s.String()))
	}
	pts, req := d.prepared()
	if len(pts) == 0 {
		return d.watch(ctx, c, nil, nil, emit)
	}

	notifs := make(chan *opcua.PublishNotificationData, notifyBuffer)
	sctx, cancel := context.WithTimeout(ctx, d.timeout)
	sub, err := c.Subscribe(sctx, &opcua.SubscriptionParameters{
		Interval:          d.scan,
		MaxKeepAliveCount: keepAliveCount,
		LifetimeCount:     lifetimeCount,
	}, notifs)
	cancel()
	if err != nil {
		err = d.requestError(ctx, c, "create subscription", err)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, driver.ErrNotConnected) {
			return err
		}
		return d.poll(ctx, c, pts, req, emit)
	}
	bad, err := d.monitor(ctx, c, sub, pts)
	if err != nil || len(bad) == len(pts) {
		// Monitored items refused, or not one could be monitored: poll, so
		// the points at least get read (and say why they are bad) every scan.
		d.cancelSubscription(c, sub, notifs)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, driver.ErrNotConnected):
			return err
		}
		return d.poll(ctx, c, pts, req, emit)
	}
	defer d.cancelSubscription(c, sub, notifs)
	if len(bad) > 0 {
		emit(bad)
	}
	return d.watch(ctx, c, pts, notifs, emit)
}

// monitor creates a monitored item per point (client handle = point
// position) and returns Bad readings for the items the server refused.
//
// It sends the request itself rather than with Subscription.Monitor, which
// indexes the results without checking their count; gopcua would only need
// its record of the items to recreate them on auto-reconnect, which is off.
func (d *Driver) monitor(ctx context.Context, c *opcua.Client, sub *opcua.Subscription, pts []point) ([]driver.Reading, error) {
	interval := float64(d.scan) / float64(time.Millisecond)
	items := make([]*ua.MonitoredItemCreateRequest, len(pts))
	for i, p := range pts {
		items[i] = &ua.MonitoredItemCreateRequest{
			ItemToMonitor:  &ua.ReadValueID{NodeID: p.node, AttributeID: ua.AttributeIDValue, DataEncoding: &ua.QualifiedName{}},
			MonitoringMode: ua.MonitoringModeReporting,
			RequestedParameters: &ua.MonitoringParameters{
				ClientHandle:     uint32(i),
				SamplingInterval: interval,
				QueueSize:        1,
				DiscardOldest:    true,
			},
		}
	}
	req := &ua.CreateMonitoredItemsRequest{
		SubscriptionID:     sub.SubscriptionID,
		TimestampsToReturn: ua.TimestampsToReturnBoth,
		ItemsToCreate:      items,
	}
	var res *ua.CreateMonitoredItemsResponse
	mctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	err := c.Send(mctx, req, func(r ua.Response) error {
		v, ok := r.(*ua.CreateMonitoredItemsResponse)
		if !ok {
			return fmt.Errorf("unexpected answer %T to CreateMonitoredItems", r)
		}
		res = v
		return nil
	})
	if err != nil {
		return nil, d.requestError(ctx, c, "create monitored items", err)
	}
	if len(res.Results) != len(items) {
		return nil, fmt.Errorf("opcua %s: create monitored items: server answered %d results for %d items", d.endpoint, len(res.Results), len(items))
	}
	var bad []driver.Reading
	now := time.Now()
	for i, r := range res.Results {
		if r == nil {
			bad = append(bad, driver.Reading{Index: pts[i].Index, Sample: hmi.BadSample("server gave no monitored item result", now)})
			continue
		}
		if q, reason := quality(r.StatusCode); q != hmi.Good {
			bad = append(bad, driver.Reading{Index: pts[i].Index, Sample: hmi.BadSample("cannot monitor: "+reason, now)})
		}
	}
	return bad, nil
}

// watch emits the notifications of a subscription (notifs may be nil when
// there is nothing to monitor) and watches the link: gopcua does not pass
// keep-alives on, so the client state is checked often and, when nothing was
// heard for a while, the server's clock is read as a probe.
//
// gopcua v0.8.0's connection monitor takes every error its secure channel
// receives as a broken connection, even a ServiceFault answering a single
// request (a refused write, say): with auto-reconnect off it then stops,
// and its publish loop with it, leaving the client state Closed while the
// channel itself still works. A subscription on such a client is dead, so
// any state but Connected ends it with driver.ErrNotConnected and the
// poller reconnects.
func (d *Driver) watch(ctx context.Context, c *opcua.Client, pts []point, notifs <-chan *opcua.PublishNotificationData, emit func([]driver.Reading)) error {
	tick := time.NewTicker(min(max(d.scan/2, 20*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	quiet := max(keepAliveCount*d.scan, 2*d.timeout)
	heard := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-notifs:
			heard = time.Now()
			if err := d.notification(c, pts, n, emit); err != nil {
				return err
			}
		case <-tick.C:
			if d.current() != c {
				return fmt.Errorf("opcua %s: subscription: %w (connection closed)", d.endpoint, driver.ErrNotConnected)
			}
			if s := c.State(); s != opcua.Connected {
				d.drop(c, false)
				return fmt.Errorf("opcua %s: subscription: %w (connection %s)", d.endpoint, driver.ErrNotConnected, strings.ToLower(s.String()))
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

// notification emits the data changes in n, or returns the failure it reports.
func (d *Driver) notification(c *opcua.Client, pts []point, n *opcua.PublishNotificationData, emit func([]driver.Reading)) error {
	if n.Error != nil {
		d.drop(c, false)
		return fmt.Errorf("opcua %s: subscription failed: %w (%w)", d.endpoint, driver.ErrNotConnected, n.Error)
	}
	switch v := n.Value.(type) {
	case *ua.DataChangeNotification:
		now := time.Now()
		readings := make([]driver.Reading, 0, len(v.MonitoredItems))
		for _, item := range v.MonitoredItems {
			if item == nil || int64(item.ClientHandle) >= int64(len(pts)) {
				continue
			}
			p := pts[item.ClientHandle]
			readings = append(readings, driver.Reading{Index: p.Index, Sample: sample(p.typ, item.Value, now)})
		}
		if len(readings) > 0 {
			emit(readings)
		}
	case *ua.StatusChangeNotification:
		// The server ended the subscription (e.g. BadTimeout).
		d.drop(c, false)
		return fmt.Errorf("opcua %s: subscription ended by the server: %w (%s)", d.endpoint, driver.ErrNotConnected, statusName(v.Status))
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
	pctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if _, err := c.Read(pctx, req); err != nil {
		err = d.requestError(ctx, c, "probe", err)
		if errors.Is(err, driver.ErrNotConnected) {
			return err
		}
	}
	return nil // a live server that will not tell the time is still live
}

// poll emits a Read of every point each scan: the fallback for servers that
// refuse subscriptions.
func (d *Driver) poll(ctx context.Context, c *opcua.Client, pts []point, req *ua.ReadRequest, emit func([]driver.Reading)) error {
	tick := time.NewTicker(d.scan)
	defer tick.Stop()
	for {
		out := make([]driver.Reading, len(pts))
		for i := range out {
			out[i].Index = pts[i].Index
		}
		if err := d.read(ctx, c, pts, req, out); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, driver.ErrNotConnected) {
				return err
			}
			now := time.Now()
			for i := range out {
				out[i].Sample = hmi.BadSample("not read: "+err.Error(), now)
			}
		}
		emit(out)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if d.current() != c {
			return fmt.Errorf("opcua %s: poll: %w (connection closed)", d.endpoint, driver.ErrNotConnected)
		}
	}
}

// cancelSubscription deletes sub on the server if the link is still up,
// then drains notifications that were in flight.
func (d *Driver) cancelSubscription(c *opcua.Client, sub *opcua.Subscription, notifs <-chan *opcua.PublishNotificationData) {
	if d.current() == c {
		ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
		_ = sub.Cancel(ctx) // best effort: the server drops it with the session anyway
		cancel()
	}
	for {
		select {
		case <-notifs:
		default:
			return
		}
	}
}

var (
	_ driver.Driver     = (*Driver)(nil)
	_ driver.Subscriber = (*Driver)(nil)
)
