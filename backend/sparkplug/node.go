// Package sparkplug is edgehmi's northbound side: a Sparkplug B edge node
// (Eclipse Sparkplug 3.0 over MQTT 3.1.1) that publishes the tag
// database's values to a broker, with store-and-forward while the broker
// is unreachable, and (when enabled) takes NCMD/DCMD writes through the
// API's checked and audited write path.
//
// Every edgehmi device is a Sparkplug device; tags without a device are
// metrics of the node. A tag's metric has alias AliasBase+index, its
// quality in the "Quality" property (OPC DA codes: 192, 64, 0).
package sparkplug

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/sparkplug/spb"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Writer is the checked, audited write path commands go through
// (api.Service).
type Writer interface {
	Write(ctx context.Context, who api.Principal, name string, v hmi.Value, reason string) (api.TagView, error)
}

// Options configure a Node.
type Options struct {
	Config *config.Sparkplug
	Tags   *tags.DB
	// DataDir holds the buffer (Config.Buffer.Path overrides it).
	DataDir string
	// Writer takes NCMD/DCMD writes when commands are enabled.
	Writer Writer
	Log    *slog.Logger
	// Event logs an event (the store's Log); nil logs none.
	Event func(hmi.Event)
}

// metric is one published tag.
type metric struct {
	tag    int
	name   string
	alias  uint64
	dtype  uint32
	device int // index in Node.devices; -1: a metric of the node
}

// device is one Sparkplug device: an edgehmi device with published tags.
type device struct {
	name    string // the edgehmi device
	id      string // the Sparkplug device id
	metrics []int  // tag indexes
}

// change is a tag's new sample seen on the change bus.
type change struct {
	tag int
	s   hmi.Sample
}

// window is how many data messages may await the broker's
// acknowledgement at once.
const window = 64

// maxPending bounds the live changes waiting for room in the window; past
// it they go to the store-and-forward buffer.
const maxPending = 100_000

// Node is a Sparkplug B edge node. Run runs it; Status may be called from
// any goroutine.
type Node struct {
	cfg     *config.Sparkplug
	db      *tags.DB
	w       Writer
	log     *slog.Logger
	event   func(hmi.Event)
	buf     *Buffer
	sub     *tags.Set // subscribed in New: no change is missed before Run
	metrics []metric  // by tag index; alias 0: not published
	devices []device
	byName  map[string]int // Sparkplug device id -> index
	qos     byte
	period  time.Duration
	bdSeq   uint8 // of the next session

	st      sync.Mutex
	status  Status
	out     atomic.Uint64 // messages published (acknowledged at QoS 1)
	metOut  atomic.Uint64 // metrics in them
	births  atomic.Uint64
	seen    atomic.Uint64 // changes taken from the change bus
	replay  atomic.Uint64 // buffered changes delivered
	cmdOK   atomic.Uint64
	cmdFail atomic.Uint64

	dropping bool // the buffer is dropping: the event was logged
}

// New builds a node and opens its buffer. Close it by running Run to
// its end, or with Close if Run is never called.
func New(ctx context.Context, o Options) (*Node, error) {
	c := o.Config
	n := &Node{cfg: c, db: o.Tags, w: o.Writer, log: o.Log, event: o.Event, byName: map[string]int{}, qos: byte(*c.QoS),
		period: c.PublishPeriod.Duration}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.log = n.log.With("northbound", "sparkplug")
	if n.event == nil {
		n.event = func(hmi.Event) {}
	}
	n.metrics = make([]metric, n.db.Len())
	devIdx := map[string]int{}
	for i := range n.metrics {
		def := n.db.Def(i)
		m := &n.metrics[i]
		m.tag, m.name, m.device = i, def.Name, -1
		if !c.Publishes(def.Name) {
			continue
		}
		m.alias, m.dtype = AliasBase+uint64(i), DataType(def.Type, def.Scale != nil)
		if def.Device == "" {
			continue
		}
		k, ok := devIdx[def.Device]
		if !ok {
			id := DeviceID(def.Device)
			if _, dup := n.byName[id]; dup {
				return nil, fmt.Errorf("sparkplug: devices %q and another map to the same Sparkplug device id %q", def.Device, id)
			}
			k = len(n.devices)
			devIdx[def.Device] = k
			n.byName[id] = k
			n.devices = append(n.devices, device{name: def.Device, id: id})
		}
		m.device = k
		n.devices[k].metrics = append(n.devices[k].metrics, i)
	}
	path := c.Buffer.Path
	if path == "" {
		path = filepath.Join(o.DataDir, BufferFile)
	}
	var err error
	if n.buf, err = OpenBuffer(ctx, path, c.Buffer.MaxRows); err != nil {
		return nil, err
	}
	if n.bdSeq, err = n.buf.BdSeq(ctx); err != nil {
		n.buf.Close()
		return nil, err
	}
	n.sub = n.db.Subscribe()
	n.status = Status{Enabled: true, State: StateOffline, GroupID: c.GroupID, EdgeNode: c.EdgeNode, PrimaryHost: c.PrimaryHost,
		Commands: c.Commands.Enabled}
	return n, nil
}

// Close closes the buffer of a node whose Run was never called.
func (n *Node) Close() error {
	n.db.Unsubscribe(n.sub)
	return n.buf.Close()
}

// alias looks up a metric by alias.
func (n *Node) byAlias(a uint64) (*metric, bool) {
	if a < AliasBase || a-AliasBase >= uint64(len(n.metrics)) {
		return nil, false
	}
	m := &n.metrics[a-AliasBase]
	return m, m.alias != 0
}

// session is one MQTT connection.
type session struct {
	c      mqtt.Client
	broker string
	lost   chan error
	in     chan inbound
	seq    uint8 // of the next message
	bd     uint8
	born   bool
	// host: the primary host's state (always online without one); hostTS
	// the timestamp of its last STATE, older ones are ignored.
	hostOnline bool
	hostTS     int64
	// replaying: buffered changes are being sent; live changes go to the
	// buffer behind them until it is empty.
	replaying bool
	cursor    int64   // last buffered row sent
	acked     int64   // last buffered row acknowledged
	deleted   int64   // last buffered row deleted
	rows      []Row   // buffered rows read (storage reused)
	queue     []batch // batches of buffered rows, not yet sent
	flight    []flight
	pending   []change // live changes to publish
}

// flight is a data message the broker has not acknowledged yet.
type flight struct {
	tok     mqtt.Token
	live    []change // its live changes (buffered if it fails)
	lastRow int64    // replay: buffered rows up to this one are delivered with it
	// historical: it carries buffered changes (counted as replayed)
	historical bool
	metrics    int
}

// inbound is a message from the broker.
type inbound struct {
	typ     MessageType // NCMD, DCMD or "STATE"
	device  string
	payload *spb.Payload
	state   hostState
}

type hostState struct {
	Online    bool  `json:"online"`
	Timestamp int64 `json:"timestamp"`
}

// Run connects, publishes and buffers until ctx ends; it then publishes
// NDEATH, disconnects, writes what it holds to the buffer and closes it.
// Its caller owns it and waits for it.
func (n *Node) Run(ctx context.Context) {
	sub := n.sub
	defer n.db.Unsubscribe(sub)
	cmds := make(chan inbound, 64)
	var wg sync.WaitGroup
	cmdCtx, stopCmds := context.WithCancel(ctx)
	wg.Go(func() { n.commands(cmdCtx, cmds) })
	defer func() {
		stopCmds()
		wg.Wait()
		n.add(n.take(sub, nil))
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.flush(fctx)
		n.buf.Close()
		n.setState(StateStopped, "")
	}()
	tick := time.NewTicker(n.tickPeriod())
	defer tick.Stop()
	retry := time.Second
	for ctx.Err() == nil {
		if n.session(ctx, sub, tick.C, cmds) {
			retry = time.Second
		}
		if ctx.Err() != nil {
			return
		}
		n.offline(ctx, sub, tick.C, retry)
		retry = min(retry*2, n.cfg.RetryMax.Duration)
	}
}

func (n *Node) tickPeriod() time.Duration {
	if n.period > 0 {
		return n.period
	}
	return 100 * time.Millisecond
}

// take reads the changes pending on the change bus (published tags only).
func (n *Node) take(sub *tags.Set, out []change) []change {
	ids := sub.Take(nil)
	if len(ids) == 0 {
		return out
	}
	smp := make([]hmi.Sample, len(ids))
	n.db.Read(ids, smp)
	n.seen.Add(uint64(len(ids)))
	for k, i := range ids {
		if n.metrics[i].alias != 0 {
			out = append(out, change{tag: i, s: smp[k]})
		}
	}
	return out
}

// add buffers changes.
func (n *Node) add(chs []change) {
	for _, c := range chs {
		n.buf.Add(rowOf(n.metrics[c.tag].name, c.s))
	}
}

// flush writes the buffered changes; when it starts dropping the oldest,
// it logs an event once until the buffer has emptied.
func (n *Node) flush(ctx context.Context) {
	dropped, err := n.buf.Flush(ctx)
	if err != nil {
		n.log.Error("store-and-forward buffer", "err", err)
		n.setError(err)
		return
	}
	if dropped > 0 && !n.dropping {
		n.dropping = true
		n.log.Warn("store-and-forward buffer full: dropping the oldest changes", "max_rows", n.cfg.Buffer.MaxRows)
		n.event(hmi.Event{Kind: hmi.EventSystem, Source: "sparkplug", Action: "buffer.drop", Result: "dropping",
			Detail: fmt.Sprintf("the store-and-forward buffer holds its maximum of %d changes: the oldest are dropped", n.cfg.Buffer.MaxRows)})
	}
	if n.buf.Len() == 0 {
		n.dropping = false
	}
}

// offline buffers changes for d.
func (n *Node) offline(ctx context.Context, sub *tags.Set, tick <-chan time.Time, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-sub.C():
			n.add(n.take(sub, nil))
		case <-tick:
			n.flush(ctx)
		}
	}
}

// password is the broker password: given, from the environment, or from
// a file (trailing newline removed).
func (n *Node) password() (string, error) {
	c := n.cfg
	switch {
	case c.PasswordEnv != "":
		v, ok := os.LookupEnv(c.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("sparkplug: environment variable %s (password_env) is not set", c.PasswordEnv)
		}
		return v, nil
	case c.PasswordFile != "":
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("sparkplug: password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return c.Password, nil
}

// TLSConfig is the broker TLS configuration of c.
func TLSConfig(c *config.SparkplugTLS) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // configurable, off by default
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("sparkplug: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sparkplug: tls ca %q holds no PEM certificate", c.CA)
		}
		t.RootCAs = pool
	}
	if c.Cert != "" {
		cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("sparkplug: tls client certificate %q: %w", c.Cert, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// connect starts an MQTT connection with the NDEATH of bdSeq bd as its will.
func (n *Node) connect(s *session) (mqtt.Token, error) {
	c := n.cfg
	will, err := DeathPayload(s.bd, time.Now())
	if err != nil {
		return nil, err
	}
	o := mqtt.NewClientOptions()
	for _, b := range c.Brokers {
		o.AddBroker(b)
	}
	o.SetClientID(c.ClientID).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(c.KeepAlive.Duration).SetConnectTimeout(c.ConnectTimeout.Duration).SetWriteTimeout(c.ConnectTimeout.Duration).
		SetProtocolVersion(4).SetBinaryWill(Topic(c.GroupID, NDeath, c.EdgeNode, ""), will, 1, false).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case s.lost <- err:
			default:
			}
		})
	if c.Username != "" {
		pw, err := n.password()
		if err != nil {
			return nil, err
		}
		o.SetUsername(c.Username).SetPassword(pw)
	}
	for _, b := range c.Brokers {
		if strings.HasPrefix(b, "ssl://") || strings.HasPrefix(b, "tls://") || strings.HasPrefix(b, "mqtts://") {
			t, err := TLSConfig(&c.TLS)
			if err != nil {
				return nil, err
			}
			o.SetTLSConfig(t)
			break
		}
	}
	s.c = mqtt.NewClient(o)
	return s.c.Connect(), nil
}

// session connects, births, replays the buffer and publishes live data
// until the link fails, the primary host goes offline or ctx ends. It
// reports whether it got connected.
func (n *Node) session(ctx context.Context, sub *tags.Set, tick <-chan time.Time, cmds chan<- inbound) bool {
	c := n.cfg
	s := &session{lost: make(chan error, 1), in: make(chan inbound, 256), bd: n.bdSeq, broker: c.Brokers[0], hostOnline: c.PrimaryHost == ""}
	// The next session has the next bdSeq, kept before this one starts so
	// that a restart does not reuse it.
	n.bdSeq++
	if err := n.buf.SetBdSeq(ctx, n.bdSeq); err != nil {
		n.setError(err)
	}
	n.setState(StateConnecting, "")
	tok, err := n.connect(s)
	if err != nil {
		n.setError(err)
		return false
	}
	if !n.await(ctx, s, tok, sub, tick) {
		s.c.Disconnect(0)
		return false
	}
	if err := tok.Error(); err != nil {
		n.log.Warn("broker connection failed", "brokers", c.Brokers, "err", err)
		n.setError(fmt.Errorf("connect to %s: %w", strings.Join(c.Brokers, ", "), err))
		return false
	}
	n.log.Info("connected to the broker", "brokers", c.Brokers, "bdSeq", s.bd)
	defer s.c.Disconnect(250)
	handler := func(_ mqtt.Client, m mqtt.Message) { n.receive(s, m) }
	filters := map[string]byte{Topic(c.GroupID, NCmd, c.EdgeNode, ""): 1, Topic(c.GroupID, DCmd, c.EdgeNode, "+"): 1}
	if c.PrimaryHost != "" {
		filters[StateTopic(c.PrimaryHost)] = 1
	}
	stok := s.c.SubscribeMultiple(filters, handler)
	if !n.await(ctx, s, stok, sub, tick) || stok.Error() != nil {
		n.setError(fmt.Errorf("subscribe to commands: %w", errors.Join(stok.Error(), ctx.Err())))
		return true
	}
	n.setStatus(func(st *Status) {
		st.Connected, st.Broker, st.BdSeq, st.Since = true, s.broker, int(s.bd), time.Now().UnixMilli()
		st.State = StateWaitingHost
	})
	defer n.setStatus(func(st *Status) { st.Connected, st.Since = false, 0 })
	for {
		if s.hostOnline && !s.born {
			if err := n.birth(s); err != nil {
				n.setError(err)
				n.endSession(s)
				return true
			}
		}
		if s.born {
			n.pump(ctx, s)
		}
		var head <-chan struct{}
		if len(s.flight) > 0 {
			head = s.flight[0].tok.Done()
		}
		select {
		case <-ctx.Done():
			n.endSession(s)
			if s.born {
				n.publishDeath(s)
			}
			return true
		case err := <-s.lost:
			n.log.Warn("broker connection lost", "err", err)
			n.setError(fmt.Errorf("connection lost: %w", err))
			n.endSession(s)
			return true
		case <-head:
			if !n.reap(ctx, s) {
				n.endSession(s)
				return true
			}
		case m := <-s.in:
			switch m.typ {
			case "STATE":
				if m.state.Timestamp < s.hostTS {
					continue // an older STATE than the last one
				}
				s.hostTS = m.state.Timestamp
				if m.state.Online {
					s.hostOnline = true
					continue
				}
				s.hostOnline = false
				if s.born {
					// Sparkplug 3.0: the primary host went offline: NDEATH,
					// disconnect, and wait for it in a new session.
					n.log.Info("primary host offline: disconnecting", "host", c.PrimaryHost)
					n.endSession(s)
					n.publishDeath(s)
					return true
				}
			case NCmd:
				if rebirth(m.payload) {
					if s.born && s.hostOnline {
						n.log.Info("rebirth requested")
						if err := n.birth(s); err != nil {
							n.setError(err)
							n.endSession(s)
							return true
						}
					}
					continue
				}
				n.command(cmds, m)
			case DCmd:
				n.command(cmds, m)
			}
		case <-sub.C():
			chs := n.take(sub, nil)
			switch {
			case !s.born || s.replaying:
				n.add(chs)
			case len(s.pending)+len(chs) > maxPending:
				// The broker does not keep up: what waits goes to the
				// buffer, in order, and is sent from there (historical).
				n.log.Warn("the broker does not keep up: changes go to the buffer", "pending", len(s.pending)+len(chs))
				n.add(s.pending)
				n.add(chs)
				s.pending = nil
				s.replaying = true
			default:
				s.pending = append(s.pending, chs...)
				if n.period == 0 {
					n.publishLive(s)
				}
			}
		case <-tick:
			if s.born && !s.replaying {
				n.publishLive(s)
			}
			n.flush(ctx)
			n.deleteAcked(ctx, s)
		}
	}
}

// command hands a command to the command worker without blocking.
func (n *Node) command(cmds chan<- inbound, m inbound) {
	select {
	case cmds <- m:
	default:
		n.log.Warn("commands arrive faster than they are written: one dropped", "type", m.typ, "device", m.device)
		n.cmdFail.Add(1)
	}
}

// rebirth tells whether an NCMD asks for a rebirth.
func rebirth(p *spb.Payload) bool {
	for _, m := range p.GetMetrics() {
		if (m.GetName() == MetricRebirth || m.GetName() == "" && m.GetAlias() == AliasRebirth) && m.GetBooleanValue() {
			return true
		}
	}
	return false
}

// await waits for a token while buffering changes; false when ctx ended
// or the link was lost.
func (n *Node) await(ctx context.Context, s *session, tok mqtt.Token, sub *tags.Set, tick <-chan time.Time) bool {
	for {
		select {
		case <-tok.Done():
			return true
		case <-ctx.Done():
			return false
		case err := <-s.lost:
			n.setError(fmt.Errorf("connection lost: %w", err))
			return false
		case <-sub.C():
			n.add(n.take(sub, nil))
		case <-tick:
			n.flush(ctx)
		}
	}
}

// receive is paho's handler: it decodes and queues, never blocks.
func (n *Node) receive(s *session, m mqtt.Message) {
	parts := strings.Split(m.Topic(), "/")
	var in inbound
	switch {
	case len(parts) == 3 && parts[1] == "STATE":
		in.typ = "STATE"
		if err := json.Unmarshal(m.Payload(), &in.state); err != nil {
			n.log.Warn("primary host STATE is not JSON", "topic", m.Topic(), "err", err)
			return
		}
	case len(parts) >= 4 && (parts[2] == string(NCmd) || parts[2] == string(DCmd)):
		in.typ = MessageType(parts[2])
		if len(parts) == 5 {
			in.device = parts[4]
		}
		in.payload = &spb.Payload{}
		if err := proto.Unmarshal(m.Payload(), in.payload); err != nil {
			n.log.Warn("command payload is not Sparkplug B", "topic", m.Topic(), "err", err)
			n.cmdFail.Add(1)
			return
		}
	default:
		return
	}
	select {
	case s.in <- in:
	default:
		n.log.Warn("broker messages arrive faster than they are handled: one dropped", "topic", m.Topic())
	}
}

// publish sends a payload with the session's next seq.
func (n *Node) publish(s *session, t MessageType, dev string, p *spb.Payload, qos byte) (mqtt.Token, error) {
	p.Seq = proto.Uint64(uint64(s.seq))
	b, err := proto.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	s.seq++ // uint8: 255 wraps to 0
	return s.c.Publish(Topic(n.cfg.GroupID, t, n.cfg.EdgeNode, dev), qos, false, b), nil
}

// birth publishes NBIRTH (seq 0) and a DBIRTH per device with every
// metric's current value, and starts the replay of the buffer.
func (n *Node) birth(s *session) error {
	now := time.Now()
	ts := uint64(now.UnixMilli())
	s.seq = 0
	nb := &spb.Payload{Timestamp: proto.Uint64(ts), Metrics: []*spb.Payload_Metric{
		bdSeqMetric(s.bd, ts),
		{Name: proto.String(MetricRebirth), Alias: proto.Uint64(AliasRebirth), Timestamp: proto.Uint64(ts), Datatype: proto.Uint32(TypeBoolean),
			Value: &spb.Payload_Metric_BooleanValue{BooleanValue: false}},
	}}
	for i := range n.metrics {
		if m := &n.metrics[i]; m.alias != 0 && m.device < 0 {
			nb.Metrics = append(nb.Metrics, n.birthMetric(m, now))
		}
	}
	births := []struct {
		t   MessageType
		dev string
		p   *spb.Payload
	}{{NBirth, "", nb}}
	for k := range n.devices {
		d := &n.devices[k]
		p := &spb.Payload{Timestamp: proto.Uint64(ts)}
		for _, i := range d.metrics {
			p.Metrics = append(p.Metrics, n.birthMetric(&n.metrics[i], now))
		}
		births = append(births, struct {
			t   MessageType
			dev string
			p   *spb.Payload
		}{DBirth, d.id, p})
	}
	for _, b := range births {
		if _, err := n.publish(s, b.t, b.dev, b.p, 0); err != nil {
			return err
		}
		n.out.Add(1)
		n.metOut.Add(uint64(len(b.p.Metrics)))
	}
	n.births.Add(1)
	s.born = true
	// Buffered changes go out before live ones; live changes wait in the
	// buffer behind them. A rebirth keeps the replay where it is.
	if !s.replaying && n.buf.Len() > 0 {
		s.replaying = true
	}
	n.setStatus(func(st *Status) { st.State, st.LastBirth = StateOnline, now.UnixMilli() })
	return nil
}

func (n *Node) birthMetric(m *metric, now time.Time) *spb.Payload_Metric {
	smp := n.db.Get(m.tag)
	return newMetric(m.name, m.alias, m.dtype, true, smp.Value, smp.Quality, ms(smp.TS, now))
}

// batch is one data message: one device's metrics (or the node's), in
// the order they changed.
type batch struct {
	dev     int // index in Node.devices; -1: the node's own metrics
	metrics []*spb.Payload_Metric
	live    []change // its live changes (buffered again if the message fails)
	lastRow int64    // replay: the last row of the rows read, on their last batch
}

// batcher groups metrics by device into batches of at most max metrics,
// in the order of each device's first metric. A metric's changes keep
// their order (a metric belongs to one device), which is the order that
// Sparkplug hosts rely on.
type batcher struct {
	max   int
	open  map[int]int // device -> its batch still filling
	batch []batch
}

func (b *batcher) add(dev int, m *spb.Payload_Metric, live *change) {
	k, ok := b.open[dev]
	if !ok || len(b.batch[k].metrics) >= b.max {
		if b.open == nil {
			b.open = map[int]int{}
		}
		k = len(b.batch)
		b.open[dev] = k
		b.batch = append(b.batch, batch{dev: dev})
	}
	bt := &b.batch[k]
	bt.metrics = append(bt.metrics, m)
	if live != nil {
		bt.live = append(bt.live, *live)
	}
}

// send publishes a batch as NDATA or DDATA and puts it in the window.
func (n *Node) send(s *session, b batch, historical bool) error {
	p := &spb.Payload{Timestamp: proto.Uint64(uint64(time.Now().UnixMilli())), Metrics: b.metrics}
	t, id := NData, ""
	if b.dev >= 0 {
		t, id = DData, n.devices[b.dev].id
	}
	tok, err := n.publish(s, t, id, p, n.qos)
	if err != nil {
		return err
	}
	s.flight = append(s.flight, flight{tok: tok, live: b.live, lastRow: b.lastRow, historical: historical, metrics: len(b.metrics)})
	return nil
}

// publishLive publishes the pending live changes, one device's changes
// per message, at most MaxMetrics per message, while the window has room;
// what does not fit stays pending, in order.
func (n *Node) publishLive(s *session) {
	if len(s.pending) == 0 || len(s.flight) >= window {
		return
	}
	now := time.Now()
	bs := batcher{max: n.cfg.MaxMetrics}
	for k := range s.pending {
		c := &s.pending[k]
		m := &n.metrics[c.tag]
		bs.add(m.device, newMetric(m.name, m.alias, m.dtype, false, c.s.Value, c.s.Quality, ms(c.s.TS, now)), c)
	}
	var rest []change
	for _, b := range bs.batch {
		if len(s.flight) >= window {
			rest = append(rest, b.live...)
			continue
		}
		if err := n.send(s, b, false); err != nil {
			n.log.Error("publish", "err", err)
		}
	}
	s.pending = rest
}

// pump sends buffered changes (historical) while the window has room,
// and turns to live data once the buffer is empty.
func (n *Node) pump(ctx context.Context, s *session) {
	for s.replaying && len(s.flight) < window {
		if len(s.queue) == 0 {
			if !n.nextRows(ctx, s) {
				return
			}
			continue
		}
		if err := n.send(s, s.queue[0], true); err != nil {
			n.setError(err)
			return
		}
		s.queue = s.queue[1:]
	}
}

// nextRows reads the next buffered rows and batches them (false: nothing
// to send now: replay done, or an error).
func (n *Node) nextRows(ctx context.Context, s *session) bool {
	if n.buf.Pending() > 0 {
		n.flush(ctx)
	}
	rows, err := n.buf.Next(ctx, s.cursor, 20*n.cfg.MaxMetrics, s.rows[:0])
	if err != nil {
		n.setError(err)
		return false
	}
	s.rows = rows
	if len(rows) == 0 {
		// Everything buffered is sent: live data resumes.
		s.replaying = false
		n.log.Info("store-and-forward replay done", "replayed", n.replay.Load())
		return false
	}
	bs := batcher{max: n.cfg.MaxMetrics}
	for k := range rows {
		r := &rows[k]
		m, ok := n.rowMetric(r)
		if !ok {
			continue // a tag no longer in the project or not published
		}
		pm := newMetric(m.name, m.alias, m.dtype, false, r.Value(), r.Quality, uint64(max(r.TS, 0)))
		pm.IsHistorical = proto.Bool(true)
		bs.add(m.device, pm, nil)
	}
	last := rows[len(rows)-1].ID
	s.cursor = last
	switch {
	case len(bs.batch) > 0:
		// The rows count as delivered when their last batch is acknowledged
		// (the window is acknowledged in order).
		bs.batch[len(bs.batch)-1].lastRow = last
		s.queue = bs.batch
	case len(s.flight) > 0:
		s.flight[len(s.flight)-1].lastRow = last // nothing of these to send
	default:
		s.acked = max(s.acked, last)
	}
	return true
}

// rowMetric is the metric a buffered row belongs to (ok false: none).
func (n *Node) rowMetric(r *Row) (metric, bool) {
	i, ok := n.db.Lookup(r.Tag)
	if !ok || n.metrics[i].alias == 0 {
		return metric{device: -2}, false
	}
	return n.metrics[i], true
}

// reap takes the acknowledged messages off the head of the window; false
// when one failed (the link is gone).
func (n *Node) reap(ctx context.Context, s *session) bool {
	for len(s.flight) > 0 {
		f := &s.flight[0]
		select {
		case <-f.tok.Done():
		default:
			return true
		}
		if err := f.tok.Error(); err != nil {
			n.log.Warn("publish failed", "err", err)
			n.setError(fmt.Errorf("publish: %w", err))
			return false
		}
		n.out.Add(1)
		n.metOut.Add(uint64(f.metrics))
		n.delivered(s, f)
		s.flight = s.flight[1:]
	}
	if s.acked-s.deleted >= 10_000 {
		n.deleteAcked(ctx, s)
	}
	return true
}

// delivered counts an acknowledged historical message's metrics and the
// rows it completes.
func (n *Node) delivered(s *session, f *flight) {
	if f.historical {
		n.replay.Add(uint64(f.metrics))
	}
	if f.lastRow > 0 {
		s.acked = max(s.acked, f.lastRow)
	}
}

// deleteAcked deletes the buffered rows the broker has acknowledged.
func (n *Node) deleteAcked(ctx context.Context, s *session) {
	if s.acked <= s.deleted {
		return
	}
	if err := n.buf.Delete(ctx, s.acked); err != nil {
		n.setError(err)
		return
	}
	s.deleted = s.acked
	if n.buf.Len() == 0 {
		n.dropping = false
	}
}

// endSession ends a session's data: acknowledged rows are deleted; live
// changes not acknowledged, and those not yet sent, go to the buffer (to
// be sent again as historical); unacknowledged replayed rows stay in it.
func (n *Node) endSession(s *session) {
	gap := false // a message before this one is not acknowledged
	for k := range s.flight {
		f := &s.flight[k]
		select {
		case <-f.tok.Done():
			if f.tok.Error() == nil {
				n.out.Add(1)
				n.metOut.Add(uint64(f.metrics))
				if gap {
					// Its rows stay buffered behind the lost message's, so
					// they are sent again: at least once, never lost.
					f.lastRow = 0
				}
				n.delivered(s, f)
				continue
			}
		default:
		}
		gap = true
		n.add(f.live)
	}
	s.flight = nil
	n.add(s.pending)
	s.pending = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.deleteAcked(ctx, s)
	n.flush(ctx)
	n.setState(StateOffline, "")
}

// publishDeath publishes NDEATH before a deliberate disconnect (the will
// covers the others).
func (n *Node) publishDeath(s *session) {
	b, err := DeathPayload(s.bd, time.Now())
	if err != nil {
		return
	}
	tok := s.c.Publish(Topic(n.cfg.GroupID, NDeath, n.cfg.EdgeNode, ""), 1, false, b)
	tok.WaitTimeout(2 * time.Second)
}
