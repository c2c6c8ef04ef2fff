package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// Limits on the subscription parameters a client may ask for.
const (
	minPublishMs     = 50.0      // publishing interval, ms
	maxPublishMs     = 3600000.0 // publishing interval, ms (1 h)
	defaultKeepAlive = 10        // keep-alive count, when a client asks for 0
	maxKeepAlive     = 100000    // keep-alive count
)

// uaServer is the running OPC UA server.
//
// The gopcua v0.8.0 server cannot drop its clients: Server.Close sends them
// a CloseSecureChannel request but leaves the TCP connections open, and
// its per-connection goroutines then block forever (and Close itself waits
// 10 s for them). So the library listens on a private loopback port and
// clients connect through a small TCP front that we own: closing the front
// closes every connection, after which the library's goroutines end.
type uaServer struct {
	srv      *server.Server
	ns       *plantNS
	front    *tcpFront
	logger   *slog.Logger
	addr     string   // public listen address, host:port
	endpoint string   // opc.tcp://dialable-host:port
	urls     []string // public endpoint URLs
	internal string   // the library's private endpoint URL
	cancel   context.CancelFunc

	public atomic.Pointer[[]*ua.EndpointDescription] // endpoints as advertised, set after Start

	fillers uint32 // placeholder subscriptions added; guarded by srv.SubscriptionService.Mu
}

// startOPCUA listens on host:port (port 0 picks one), starts the library's
// server on a private loopback port and the front between them.
func startOPCUA(host string, port int, plant *Plant, logger *slog.Logger, step time.Duration) (*uaServer, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: opc ua server on %s: %w", addr, err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	addr = net.JoinHostPort(host, strconv.Itoa(port))
	dial := dialHost(host)
	u := &uaServer{
		logger:   logger,
		addr:     addr,
		endpoint: "opc.tcp://" + net.JoinHostPort(dial, strconv.Itoa(port)),
	}
	u.urls = []string{u.endpoint}
	if ip := net.ParseIP(dial); ip != nil && ip.IsLoopback() {
		u.urls = append(u.urls, "opc.tcp://"+net.JoinHostPort("localhost", strconv.Itoa(port)))
	}

	var backend string
	err = withPort("127.0.0.1", 0, func(iport int) error {
		backend = net.JoinHostPort("127.0.0.1", strconv.Itoa(iport))
		return u.startLibrary(iport, plant, step)
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("sim: opc ua server on %s: %w", addr, err)
	}
	u.front = newTCPFront(ln, backend, logger)
	return u, nil
}

// startLibrary builds the gopcua server for the private port iport, with
// namespace 2 and our handlers, and starts it.
func (u *uaServer) startLibrary(iport int, plant *Plant, step time.Duration) error {
	u.internal = "opc.tcp://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(iport))
	opts := []server.Option{
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		server.EndPoint("127.0.0.1", iport), // the first endpoint is the one the library listens on
		server.ServerName("edgehmi demo plant"),
		server.ManufacturerName("edgehmi"),
		server.ProductName("edgehmi sim"),
		server.SetLogger(uaLogger{u.logger}),
	}
	for _, url := range u.urls {
		h, p, _ := net.SplitHostPort(strings.TrimPrefix(url, "opc.tcp://"))
		pn, _ := strconv.Atoi(p)
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		opts = append(opts, server.EndPoint(h, pn))
	}
	srv := server.New(opts...)

	// Namespace 1 is the server's own; the plant goes to 2.
	server.NewNodeNameSpace(srv, opcuaLocalNamespaceURI)
	ns := newPlantNS(srv, plant, u.logger, step)
	if idx := srv.AddNamespace(ns); idx != OPCUANamespace {
		return fmt.Errorf("plant namespace got index %d, want %d", idx, OPCUANamespace)
	}
	// Objects (ns=0) organizes the TIC101 folder, so clients can browse to it.
	if ns0, err := srv.Namespace(0); err == nil {
		if objects := ns0.Objects(); objects != nil {
			objects.AddRef(ns.folder, server.RefTypeIDOrganizes, true)
		}
	}
	u.srv, u.ns = srv, ns
	u.registerHandlers()

	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		return err
	}
	u.cancel = cancel

	// The advertised endpoints: the public ones, naming only public URLs.
	var public []*ua.EndpointDescription
	for _, ep := range srv.Endpoints() {
		if ep.EndpointURL == u.internal {
			continue
		}
		cp := *ep
		if ep.Server != nil {
			app := *ep.Server
			app.DiscoveryURLs = u.urls
			cp.Server = &app
		}
		public = append(public, &cp)
	}
	u.public.Store(&public)
	return nil
}

// close drops the clients (closing the front), then stops the library's
// server while its dispatcher still drains the dying channels, then the
// dispatcher, then every subscription's publishing goroutine.
func (u *uaServer) close() error {
	u.front.close()
	err := u.srv.Close()
	u.cancel()
	if ss := u.srv.SubscriptionService; ss != nil {
		ss.Mu.Lock()
		ids := make([]uint32, 0, len(ss.Subs))
		for id := range ss.Subs {
			ids = append(ids, id)
		}
		ss.Mu.Unlock()
		for _, id := range ids {
			ss.DeleteSubscription(id)
		}
	}
	if err != nil {
		return fmt.Errorf("sim: opc ua server on %s: close: %w", u.addr, err)
	}
	return nil
}

// endpoints returns the advertised endpoints matching url, or all of them
// when none matches (a client may have used another name for the host).
func (u *uaServer) endpoints(url string) []*ua.EndpointDescription {
	p := u.public.Load()
	if p == nil {
		return nil
	}
	var match []*ua.EndpointDescription
	for _, ep := range *p {
		if strings.EqualFold(strings.TrimSuffix(ep.EndpointURL, "/"), strings.TrimSuffix(url, "/")) {
			match = append(match, ep)
		}
	}
	if len(match) == 0 {
		return *p
	}
	return match
}

// getEndpoints serves GetEndpoints with the public endpoints only.
func (u *uaServer) getEndpoints(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
	req, ok := r.(*ua.GetEndpointsRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	return &ua.GetEndpointsResponse{
		ResponseHeader: responseHeader(req.RequestHeader.RequestHandle, ua.StatusOK),
		Endpoints:      u.endpoints(req.EndpointURL),
	}, nil
}

// findServers serves FindServers with the public discovery URLs.
func (u *uaServer) findServers(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
	req, ok := r.(*ua.FindServersRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	var servers []*ua.ApplicationDescription
	if eps := u.endpoints(req.EndpointURL); len(eps) > 0 && eps[0].Server != nil {
		servers = append(servers, eps[0].Server)
	}
	return &ua.FindServersResponse{
		ResponseHeader: responseHeader(req.RequestHeader.RequestHandle, ua.StatusOK),
		Servers:        servers,
	}, nil
}

// tcpFront accepts clients on ln and pipes each one to backend. It owns
// every connection, so close can drop them all.
type tcpFront struct {
	ln      net.Listener
	backend string
	logger  *slog.Logger
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newTCPFront(ln net.Listener, backend string, logger *slog.Logger) *tcpFront {
	f := &tcpFront{ln: ln, backend: backend, logger: logger, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *tcpFront) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			f.logger.Warn("opc ua: accept failed", "addr", f.ln.Addr().String(), "err", err)
			time.Sleep(50 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		f.wg.Add(1)
		go f.pipe(c)
	}
}

// track registers conns; false if the front is closed.
func (f *tcpFront) track(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	for _, c := range conns {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *tcpFront) untrack(conns ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range conns {
		delete(f.conns, c)
	}
}

func (f *tcpFront) pipe(client net.Conn) {
	defer f.wg.Done()
	if !f.track(client) {
		client.Close()
		return
	}
	defer f.untrack(client)
	backend, err := net.DialTimeout("tcp", f.backend, 5*time.Second)
	if err != nil {
		f.logger.Warn("opc ua: cannot reach the server", "client", client.RemoteAddr().String(), "err", err)
		client.Close()
		return
	}
	if !f.track(backend) {
		client.Close()
		backend.Close()
		return
	}
	defer f.untrack(backend)

	var once sync.Once
	closeBoth := func() {
		client.Close()
		backend.Close()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		_, _ = io.Copy(backend, client)
		once.Do(closeBoth)
	}()
	_, _ = io.Copy(client, backend)
	once.Do(closeBoth)
}

// close stops accepting, closes every connection and waits for the front's goroutines.
func (f *tcpFront) close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// registerHandlers replaces some of the library's service handlers. It must
// run before Start: the library only registers handlers not yet present.
//   - GetEndpoints and FindServers advertise the public endpoints only.
//   - Write is our own (the library's panics on an unknown namespace index
//     and lets clients write namespace 0).
//   - The subscription and monitored-item services are the library's, behind
//     a session check and a recover, because v0.8.0 dereferences nil on
//     unknown sessions and item ids; CreateSubscription also gets its
//     parameters revised and its id clash fixed (see createSubscription).
func (u *uaServer) registerHandlers() {
	u.srv.RegisterHandler(id.GetEndpointsRequest_Encoding_DefaultBinary, u.getEndpoints)
	u.srv.RegisterHandler(id.FindServersRequest_Encoding_DefaultBinary, u.findServers)
	u.srv.RegisterHandler(id.WriteRequest_Encoding_DefaultBinary, u.guard("Write", u.write))
	u.srv.RegisterHandler(id.CreateSubscriptionRequest_Encoding_DefaultBinary, u.guard("CreateSubscription", u.createSubscription))
	u.srv.RegisterHandler(id.DeleteSubscriptionsRequest_Encoding_DefaultBinary, u.guard("DeleteSubscriptions",
		func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
			return u.srv.SubscriptionService.DeleteSubscriptions(sc, r, reqID)
		}))
	u.srv.RegisterHandler(id.CreateMonitoredItemsRequest_Encoding_DefaultBinary, u.guard("CreateMonitoredItems",
		func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
			return u.srv.MonitoredItemService.CreateMonitoredItems(sc, r, reqID)
		}))
	u.srv.RegisterHandler(id.SetMonitoringModeRequest_Encoding_DefaultBinary, u.guard("SetMonitoringMode",
		func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
			return u.srv.MonitoredItemService.SetMonitoringMode(sc, r, reqID)
		}))
	u.srv.RegisterHandler(id.DeleteMonitoredItemsRequest_Encoding_DefaultBinary, u.guard("DeleteMonitoredItems",
		func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
			return u.srv.MonitoredItemService.DeleteMonitoredItems(sc, r, reqID)
		}))
}

// guard rejects requests without a valid session and turns a panic in the
// handler into a service fault instead of a crash of the whole process.
func (u *uaServer) guard(name string, h server.Handler) server.Handler {
	return func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (resp ua.Response, err error) {
		if hdr := r.Header(); hdr == nil || u.srv.Session(hdr) == nil {
			return nil, ua.StatusBadSessionIDInvalid
		}
		defer func() {
			if p := recover(); p != nil {
				u.logger.Warn("opc ua: request failed", "service", name, "panic", fmt.Sprint(p))
				resp, err = nil, ua.StatusBadInternalError
			}
		}()
		return h(sc, r, reqID)
	}
}

func responseHeader(handle uint32, code ua.StatusCode) *ua.ResponseHeader {
	return &ua.ResponseHeader{
		Timestamp:          time.Now(),
		RequestHandle:      handle,
		ServiceResult:      code,
		ServiceDiagnostics: &ua.DiagnosticInfo{},
		StringTable:        []string{},
		AdditionalHeader:   ua.NewExtensionObject(nil),
	}
}

// write serves the Write service for namespace 2; other namespaces are read-only.
func (u *uaServer) write(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
	req, ok := r.(*ua.WriteRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	results := make([]ua.StatusCode, len(req.NodesToWrite))
	for i, wv := range req.NodesToWrite {
		switch {
		case wv == nil || wv.NodeID == nil:
			results[i] = ua.StatusBadNodeIDInvalid
		case wv.NodeID.Namespace() == OPCUANamespace:
			results[i] = u.ns.SetAttribute(wv.NodeID, wv.AttributeID, wv.Value)
		case int(wv.NodeID.Namespace()) < len(u.srv.Namespaces()):
			results[i] = ua.StatusBadNotWritable
		default:
			results[i] = ua.StatusBadNodeIDUnknown
		}
		if wv != nil {
			var val any
			if wv.Value != nil && wv.Value.Value != nil {
				val = wv.Value.Value.Value()
			}
			u.logger.Debug("opc ua: write", "node", wv.NodeID.String(), "attribute", wv.AttributeID, "value", val, "result", results[i])
		}
	}
	return &ua.WriteResponse{
		ResponseHeader:  responseHeader(req.RequestHeader.RequestHandle, ua.StatusOK),
		Results:         results,
		DiagnosticInfos: []*ua.DiagnosticInfo{},
	}, nil
}

// createSubscription revises the requested parameters into sane bounds
// (v0.8.0 would panic on a zero publishing interval) and works around the library's id scheme:
// it numbers a new subscription len(Subs)+1, which after a deletion can be
// the id of a live subscription, silently replacing it. Inert placeholder
// entries with ids far above any real one keep len(Subs)+1 free.
func (u *uaServer) createSubscription(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
	req, ok := r.(*ua.CreateSubscriptionRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	switch pi := req.RequestedPublishingInterval; {
	case !(pi >= minPublishMs): // also NaN
		req.RequestedPublishingInterval = minPublishMs
	case pi > maxPublishMs:
		req.RequestedPublishingInterval = maxPublishMs
	}
	switch ka := req.RequestedMaxKeepAliveCount; {
	case ka == 0:
		req.RequestedMaxKeepAliveCount = defaultKeepAlive
	case ka > maxKeepAlive:
		req.RequestedMaxKeepAliveCount = maxKeepAlive
	}
	if req.RequestedLifetimeCount < 3*req.RequestedMaxKeepAliveCount {
		req.RequestedLifetimeCount = 3 * req.RequestedMaxKeepAliveCount
	}
	ss := u.srv.SubscriptionService
	ss.Mu.Lock()
	for {
		next := uint32(len(ss.Subs)) + 1
		if _, used := ss.Subs[next]; !used {
			break
		}
		u.fillers++
		ss.Subs[math.MaxUint32-u.fillers] = server.NewSubscription()
	}
	ss.Mu.Unlock()
	return ss.CreateSubscription(sc, r, reqID)
}

// uaLogger adapts slog to the library's printf-style logger. The library
// reports routine events (a client disconnecting, its listener closing at
// shutdown, quirks of its built-in node set) as warnings and errors, so
// everything is logged at debug level except errors, which are warnings
// unless known to be harmless.
type uaLogger struct {
	l *slog.Logger
}

func (x uaLogger) log(level slog.Level, msg string, args []any) {
	if !x.l.Enabled(context.Background(), level) {
		return
	}
	x.l.Log(context.Background(), level, "opc ua: "+fmt.Sprintf(msg, args...))
}

func (x uaLogger) Debug(msg string, args ...any) { x.log(slog.LevelDebug, msg, args) }
func (x uaLogger) Info(msg string, args ...any)  { x.log(slog.LevelDebug, msg, args) }
func (x uaLogger) Warn(msg string, args ...any)  { x.log(slog.LevelDebug, msg, args) }

func (x uaLogger) Error(msg string, args ...any) {
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "Duplicate reference type") || strings.HasPrefix(msg, "socket closed") {
		level = slog.LevelDebug
	}
	x.log(level, msg, args)
}
