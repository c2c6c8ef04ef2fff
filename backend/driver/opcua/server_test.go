package opcua

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/server/attrs"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// testNS is the namespace index of the test nodes: ns=1 is a spare namespace
// so that the nodes sit in ns=2 like the demo project's.
const testNS = 2

// plant holds the values of the test server's "live" nodes, which the test
// changes behind the server's back (the server reads them through a value
// function, under plant.mu, so the race detector stays quiet).
type plant struct {
	mu   sync.Mutex
	vals map[string]*ua.DataValue
}

func (p *plant) set(name string, dv *ua.DataValue) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.vals[name] = dv
}

func (p *plant) get(name string) *ua.DataValue {
	p.mu.Lock()
	defer p.mu.Unlock()
	dv := *p.vals[name] // a copy: the server encodes it after we unlock
	return &dv
}

func liveValue(v any, status ua.StatusCode, source time.Time) *ua.DataValue {
	dv := &ua.DataValue{Status: status, SourceTimestamp: source}
	if v != nil {
		dv.Value = ua.MustVariant(v)
	}
	dv.UpdateMask()
	return dv
}

// testServer is an in-process gopcua server behind a TCP proxy on a fixed
// loopback port. The proxy is what makes "server stop" real for the client:
// gopcua v0.8.0's Server.Close closes its listener but not the accepted
// connections, so clients would never notice. Stopping the proxy closes
// every connection, as a server process going away does.
type testServer struct {
	t     *testing.T
	addr  string // host:port clients connect to
	plant *plant
	// refuseSubscriptions makes CreateSubscription answer BadServiceUnsupported.
	refuseSubscriptions bool
	// ticking changes Counter, Fine and Level every 100 ms, as the
	// node-opcua test server does (see testdata/nodeopcua/server.mjs).
	ticking bool
	// secure enables Basic256Sha256 (sign, sign and encrypt), Aes128 and
	// Aes256 (sign and encrypt) and user name logins, with a certificate
	// made at the first start and kept over restarts.
	secure   bool
	certDER  []byte
	certKey  *rsa.PrivateKey
	tickStop chan struct{}
	tickWG   sync.WaitGroup
	step     int

	srv    *server.Server
	ns     *server.NodeNameSpace
	cancel context.CancelFunc
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	frozen bool
}

func newTestServer(t *testing.T) *testServer {
	ts := &testServer{t: t, addr: "127.0.0.1:0", plant: &plant{vals: map[string]*ua.DataValue{}}}
	ts.plant.set("TIC101.PV", liveValue(21.5, ua.StatusOK, time.Time{}))
	ts.plant.set("Uncertain", liveValue(1.25, ua.StatusUncertainLastUsableValue, time.Time{}))
	ts.plant.set("BadSensor", liveValue(nil, ua.StatusBadSensorFailure, time.Time{}))
	ts.plant.set("Override", liveValue(3.0, ua.StatusGoodLocalOverride, time.Time{}))
	ts.plant.set("Stamped", liveValue(int32(9), ua.StatusOK, time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)))
	for _, n := range []string{"Counter", "Fine", "Level"} {
		ts.plant.set(n, liveValue(0.0, ua.StatusOK, time.Time{}))
	}
	return ts
}

func (ts *testServer) endpoint() string { return "opc.tcp://" + ts.addr }

func (ts *testServer) nodeID(name string) *ua.NodeID { return ua.NewStringNodeID(testNS, name) }

// start starts the server and the proxy (on the same port as before, after
// a stop).
func (ts *testServer) start() {
	t := ts.t
	t.Helper()
	backend := freePort(t)
	opts := []server.Option{
		server.EndPoint("127.0.0.1", backend),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
	}
	if ts.secure {
		if ts.certDER == nil {
			certPEM, keyPEM, err := newClientCert()
			if err != nil {
				t.Fatal(err)
			}
			cb, _ := pem.Decode(certPEM)
			kb, _ := pem.Decode(keyPEM)
			key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			ts.certDER, ts.certKey = cb.Bytes, key
		}
		opts = append(opts, server.Certificate(ts.certDER), server.PrivateKey(ts.certKey),
			server.EnableSecurity("Basic256Sha256", ua.MessageSecurityModeSign),
			server.EnableSecurity("Basic256Sha256", ua.MessageSecurityModeSignAndEncrypt),
			server.EnableSecurity("Aes128_Sha256_RsaOaep", ua.MessageSecurityModeSignAndEncrypt),
			server.EnableSecurity("Aes256_Sha256_RsaPss", ua.MessageSecurityModeSignAndEncrypt),
			server.EnableAuthMode(ua.UserTokenTypeUserName))
	}
	srv := server.New(opts...)
	if ts.refuseSubscriptions {
		srv.RegisterHandler(id.CreateSubscriptionRequest_Encoding_DefaultBinary,
			func(*uasc.SecureChannel, ua.Request, uint32) (ua.Response, error) {
				return nil, ua.StatusBadServiceUnsupported
			})
	}
	server.NewNodeNameSpace(srv, "urn:edgehmi:test:spare")
	ns := server.NewNodeNameSpace(srv, "urn:edgehmi:test")
	if ns.ID() != testNS {
		t.Fatalf("test namespace is ns=%d", ns.ID())
	}
	root, _ := srv.Namespace(0)
	root.Objects().AddRef(ns.Objects(), id.HasComponent, true)
	add := func(n *server.Node) { ns.Objects().AddRef(n, id.HasComponent, true) }

	for _, name := range []string{"TIC101.PV", "Uncertain", "BadSensor", "Override", "Stamped", "Counter", "Fine", "Level"} {
		add(ns.AddNewVariableStringNode(name, func() *ua.DataValue { return ts.plant.get(name) }))
	}
	for name, v := range map[string]any{
		"TIC101.SP": 50.0,
		"Bool":      true,
		"Int16":     int16(-5),
		"UInt16":    uint16(65000),
		"Int32":     int32(-70000),
		"UInt32":    uint32(4000000000),
		"Int64":     int64(-1 << 40),
		"UInt64":    uint64(1 << 60),
		"Float":     float32(1.5),
		"Double":    2.25,
		"String":    "hello",
		"SByte":     int8(-100),
		"Byte":      uint8(200),
		"DateTime":  time.Date(2024, 5, 1, 12, 30, 0, 123e6, time.UTC),
		"Array":     []float64{1.5, 2.5, 3.5, 4.5, 5.5},
		"Setpoint":  50.0,
	} {
		add(ns.AddNewVariableStringNode(name, v))
	}
	ro := server.NewNode(ts.nodeID("ReadOnly"), map[ua.AttributeID]*ua.DataValue{
		ua.AttributeIDAccessLevel:     server.DataValueFromValue(byte(ua.AccessLevelTypeCurrentRead)),
		ua.AttributeIDUserAccessLevel: server.DataValueFromValue(byte(ua.AccessLevelTypeCurrentRead)),
		ua.AttributeIDBrowseName:      server.DataValueFromValue(attrs.BrowseName("ReadOnly")),
		ua.AttributeIDNodeClass:       server.DataValueFromValue(uint32(ua.NodeClassVariable)),
	}, nil, func() *ua.DataValue { return server.DataValueFromValue(7.0) })
	ns.AddNode(ro)
	add(ro)
	uro := server.NewNode(ts.nodeID("UserReadOnly"), map[ua.AttributeID]*ua.DataValue{
		ua.AttributeIDAccessLevel:     server.DataValueFromValue(byte(ua.AccessLevelTypeCurrentRead | ua.AccessLevelTypeCurrentWrite)),
		ua.AttributeIDUserAccessLevel: server.DataValueFromValue(byte(ua.AccessLevelTypeCurrentRead)),
		ua.AttributeIDBrowseName:      server.DataValueFromValue(attrs.BrowseName("UserReadOnly")),
		ua.AttributeIDNodeClass:       server.DataValueFromValue(uint32(ua.NodeClassVariable)),
	}, nil, func() *ua.DataValue { return server.DataValueFromValue(8.0) })
	ns.AddNode(uro)
	add(uro)

	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		t.Fatalf("start OPC UA server: %v", err)
	}
	ln, err := net.Listen("tcp", ts.addr)
	if err != nil {
		srv.Close()
		cancel()
		t.Fatalf("proxy listen on %s: %v", ts.addr, err)
	}
	ts.addr = ln.Addr().String()
	ts.srv, ts.ns, ts.cancel, ts.ln = srv, ns, cancel, ln
	ts.conns = map[net.Conn]struct{}{}
	backendAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(backend))
	ts.wg.Go(func() { ts.accept(ln, backendAddr) })
	if ts.ticking {
		stop := make(chan struct{})
		ts.tickStop = stop
		ts.tickWG.Go(func() { ts.tick(stop) })
	}
	t.Cleanup(ts.stop)
}

// tick changes Counter (+1), Fine (+0.01, and +10 every 10th step) and
// Level (+1, 0 to 100) every 100 ms until stop closes.
func (ts *testServer) tick(stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ts.step++
		n := ts.step
		ts.change("Counter", float64(n))
		ts.change("Fine", math.Round((float64(n)*0.01+float64(n/10)*10)*100)/100)
		ts.change("Level", float64(n%101))
	}
}

func (ts *testServer) accept(ln net.Listener, backend string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", backend)
		if err != nil {
			c.Close()
			continue
		}
		ts.mu.Lock()
		ts.conns[c], ts.conns[b] = struct{}{}, struct{}{}
		ts.mu.Unlock()
		ts.wg.Go(func() { ts.pipe(b, c) })
		ts.wg.Go(func() { ts.pipe(c, b) })
	}
}

// pipe copies src to dst until either fails, holding data back while the
// proxy is frozen.
func (ts *testServer) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for ts.isFrozen() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// freeze makes the server hang: connections stay open but nothing passes
// until thaw or stop.
func (ts *testServer) freeze() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.frozen = true
}

// thaw lets data pass again.
func (ts *testServer) thaw() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.frozen = false
}

func (ts *testServer) isFrozen() bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.frozen
}

// stop closes every client connection and stops the server. It is safe to
// call more than once.
func (ts *testServer) stop() {
	if ts.ln == nil {
		return
	}
	if ts.tickStop != nil {
		close(ts.tickStop)
		ts.tickWG.Wait()
		ts.tickStop = nil
	}
	ts.ln.Close()
	ts.mu.Lock()
	for c := range ts.conns {
		c.Close()
	}
	ts.frozen = false
	ts.mu.Unlock()
	ts.wg.Wait()
	ts.srv.Close()
	ts.cancel()
	ts.ln = nil
}

// change sets a live node's value and notifies the server's subscriptions.
func (ts *testServer) change(name string, v any) {
	ts.plant.set(name, liveValue(v, ua.StatusOK, time.Time{}))
	ts.ns.ChangeNotification(ts.nodeID(name))
}

// subscriptions counts the server's subscriptions.
func (ts *testServer) subscriptions() int {
	ss := ts.srv.SubscriptionService
	ss.Mu.Lock()
	defer ss.Mu.Unlock()
	return len(ss.Subs)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// goroutines is a goroutine-leak check: countGoroutines records the count
// now, and check waits (up to a few seconds) for the count to come back to
// it, listing the goroutines on failure.
//
// The gopcua v0.8.0 server's per-subscription goroutines are not counted:
// the server does not stop them when a client's connection goes away (they
// live on until the subscription's lifetime runs out, ~30 s here), which is
// the server's business, not the driver's.
type goroutines int

func countGoroutines() goroutines {
	n, _ := goroutineStacks()
	return goroutines(n)
}

func goroutineStacks() (int, []string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "opcua/server.(*Subscription).run") {
			continue
		}
		keep = append(keep, g)
	}
	return len(keep), keep
}

func (base goroutines) check(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, stacks := goroutineStacks()
		if n <= int(base) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: leaked?\n%s", n, base, strings.Join(stacks, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
