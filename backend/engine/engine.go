// Package engine is edgehmi's composition root: it builds the store, tag
// database, drivers and pollers, alarms, loops, API and web server from a
// project, runs them, and stops them in order.
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/auth"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/control"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/driver/modbus"
	"github.com/edgehmi/edgehmi/backend/driver/opcua"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/sim"
	"github.com/edgehmi/edgehmi/backend/sparkplug"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
	"github.com/edgehmi/edgehmi/backend/web"
)

// Drivers returns the registry of every driver edgehmi has.
func Drivers() *driver.Registry {
	return driver.NewRegistry(modbus.Kind(), opcua.Kind())
}

// Options configure an engine.
type Options struct {
	Project *config.Project
	DataDir string
	// Listen overrides the project's server.listen when set.
	Listen string
	// Demo starts the built-in plant on loopback, points the project's
	// Modbus and OPC UA devices at it, and creates the demo users.
	Demo    bool
	Version string
	Static  fs.FS // the built frontend
	Log     *slog.Logger
	// Drivers builds the devices' drivers; nil is Drivers(). Tests and
	// benchmarks pass their own (e.g. to time what drivers deliver).
	Drivers *driver.Registry

	// Commit and BuildDate are stamped by the build, like Version (the
	// edgehmi_build_info metric reports them).
	Commit, BuildDate string
	// DemoFiles is the embedded demo project's folder (examples.FS), where
	// the demo's displays are read from.
	DemoFiles fs.FS
	// Source is the project file's text, kept as the first project
	// version; nil reads Project.File.
	Source []byte
}

// Engine is one running project.
type Engine struct {
	o     Options
	log   *slog.Logger
	store *store.Store
	db    *tags.DB
	hub   *web.Hub
	web   *web.Server
	http  *http.Server
	ln    net.Listener // the web server's address (HTTPS under TLS)
	// redirect serves plain HTTP redirects to HTTPS on server.listen when
	// TLS is configured (nil otherwise).
	redirect   *http.Server
	redirectLn net.Listener
	secure     bool
	sim        *sim.Sim
	alarms     *alarmRunner
	historian  *store.Historian // nil when the project records no history
	northbound *sparkplug.Node  // nil without a sparkplug section
	loops      *control.Runner
	interlocks *control.Interlocks
	devs       map[string]*poll.Device
	order      []*poll.Device
	auth       *auth.Service

	// mu guards the fields above that a project reload replaces (db,
	// devs, order, alarms, historian, northbound, loops, interlocks, web)
	// for readers outside the reload: metrics and status. reloadMu
	// serialises reloads; gen is the running project's generation.
	mu       sync.RWMutex
	reloadMu sync.Mutex
	gen      *generation
	devRun   map[*poll.Device]*devRun // guarded by reloadMu after Start
	handler  atomic.Pointer[http.Handler]
	runCtx   context.Context

	cancel    context.CancelFunc // stops everything but the store writer
	stopStore context.CancelFunc
	wg        sync.WaitGroup // everything but the store writer
	storeDone chan struct{}
	fatal     chan error
	stopOnce  sync.Once
	stopping  chan struct{}
	started   time.Time
}

// Start builds and starts everything, and returns once the HTTP server
// listens. On error nothing is left running.
func Start(ctx context.Context, o Options) (_ *Engine, err error) {
	e := &Engine{o: o, log: o.Log, devs: map[string]*poll.Device{}, devRun: map[*poll.Device]*devRun{}, fatal: make(chan error, 1),
		stopping: make(chan struct{}), storeDone: make(chan struct{}), started: time.Now()}
	if e.log == nil {
		e.log = slog.Default()
	}
	p := o.Project
	listen := p.Server.Listen
	if o.Listen != "" {
		listen = o.Listen
	}
	// Listen first: a port in use is the most common start failure, and
	// finding it before opening anything else leaves nothing to undo.
	webListen := listen
	if p.Server.TLS != nil {
		webListen = p.Server.TLS.Listen
		e.secure = true
		if e.redirectLn, err = net.Listen("tcp", listen); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", listen, err)
		}
	}
	if e.ln, err = net.Listen("tcp", webListen); err != nil {
		if e.redirectLn != nil {
			e.redirectLn.Close()
		}
		return nil, fmt.Errorf("listen on %s: %w", webListen, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	e.runCtx = runCtx
	defer func() {
		if err != nil {
			e.shutdown(context.Background())
		}
	}()

	if e.store, err = store.Open(ctx, o.DataDir, e.log); err != nil {
		return nil, err
	}
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	e.stopStore = stopStore
	go func() {
		defer close(e.storeDone)
		e.store.Run(storeCtx)
	}()
	e.store.Log(hmi.Event{Kind: hmi.EventSystem, Source: "edgehmi", Action: "start", Result: "ok",
		Detail: fmt.Sprintf("version %s, project %q", o.Version, p.Name)})
	e.store.Log(hmi.Event{Kind: hmi.EventAudit, Source: p.File, User: "edgehmi", Address: "local", Action: "project.load",
		New: p.Hash, Result: "ok", Detail: fmt.Sprintf("project %q, sha256 %s", p.Name, p.Hash)})

	var tlsConf *tls.Config
	if p.Server.TLS != nil {
		if tlsConf, err = tlsConfig(p.Server.TLS, o.DataDir); err != nil {
			return nil, err
		}
	}
	au := auth.New(e.store, auth.Options{Idle: p.Server.SessionIdle.Duration, Absolute: p.Server.SessionLifetime.Duration})
	if o.Demo {
		if e.sim, err = sim.Start(runCtx, sim.Options{ModbusAddr: "127.0.0.1:0", OPCUAAddr: "127.0.0.1:0", Logger: e.log}); err != nil {
			return nil, fmt.Errorf("demo plant: %w", err)
		}
		p = pointAtSim(p, e.sim)
		if err = au.SeedDemoUsers(ctx); err != nil {
			return nil, err
		}
	} else if ok, err := au.HasAdmin(ctx); err != nil {
		return nil, err
	} else if !ok {
		e.log.Warn("no users can log in, so nothing can be written: " + api.NoAdminHelp)
	}

	e.auth = au
	source := o.Source
	if source == nil {
		source, _ = os.ReadFile(o.Project.File) // nil: not a file (tests); no version is kept
	}
	g, err := e.build(ctx, p, source, nil)
	if err != nil {
		return nil, err
	}
	g.version = api.ProjectVersion{Name: p.Name, Hash: p.Hash, File: p.File, Current: true}
	if source != nil {
		if v, kerr := e.keep(o.Project, source); kerr != nil {
			e.log.Warn("project version not kept", "err", kerr)
		} else {
			g.version = v
		}
	}
	e.http = g.web.HTTPServer()
	e.http.Handler = e.swapHandler()
	e.http.TLSConfig = tlsConf

	e.wg.Go(func() { e.hub.Run(runCtx) })
	// Retention runs even when nothing is recorded now: history an earlier
	// project recorded still ages out.
	policy := store.RetentionPolicy{MaxAge: p.History.Retention.Duration, MaxBytes: int64(p.History.MaxSize)}
	e.wg.Go(func() { e.store.RunRetention(runCtx, policy, historyRetentionEvery) })
	if err = e.run(ctx, g); err != nil {
		return nil, err
	}
	e.wg.Go(func() {
		serve := e.http.Serve
		if tlsConf != nil {
			serve = func(ln net.Listener) error { return e.http.ServeTLS(ln, "", "") }
		}
		if err := serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.failed(fmt.Errorf("http server: %w", err))
		}
	})
	if e.redirectLn != nil {
		_, port, _ := net.SplitHostPort(e.ln.Addr().String())
		e.redirect = &http.Server{Handler: web.RedirectToHTTPS(port), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
		e.wg.Go(func() {
			if err := e.redirect.Serve(e.redirectLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				e.failed(fmt.Errorf("http redirect server: %w", err))
			}
		})
	}
	e.log.Info("edgehmi started", "project", p.Name, "url", e.URL(), "devices", len(e.order),
		"tags", e.db.Len(), "demo", o.Demo, "startup", time.Since(e.started).Round(time.Microsecond))
	return e, nil
}

// historyRetentionEvery is how often the history's retention is enforced.
const historyRetentionEvery = 10 * time.Minute

// sourceDeadband is a tag's deadband for its device to apply: absolute in
// raw units (the engineering deadband through the tag's scale), or a
// percent of the device's range for the point.
func sourceDeadband(t *config.Tag) (abs, pct float64) {
	if t.DeadbandPercent > 0 {
		return 0, t.DeadbandPercent
	}
	abs = t.Deadband
	if s := t.Scale; s != nil && abs > 0 && s.EngHigh != s.EngLow {
		abs *= math.Abs((s.RawHigh - s.RawLow) / (s.EngHigh - s.EngLow))
	}
	return abs, 0
}

// pointAtSim returns a copy of the project whose Modbus and OPC UA devices
// talk to the built-in plant.
func pointAtSim(p *config.Project, s *sim.Sim) *config.Project {
	cp := *p
	cp.Devices = append([]config.Device(nil), p.Devices...)
	host, port, _ := net.SplitHostPort(s.ModbusAddr())
	portN, _ := strconv.Atoi(port)
	for i := range cp.Devices {
		switch cp.Devices[i].Driver {
		case config.DriverModbusTCP:
			cp.Devices[i].Host, cp.Devices[i].Port = host, portN
		case config.DriverOPCUA:
			cp.Devices[i].Endpoint = s.OPCUAEndpoint()
		}
	}
	return &cp
}

// Sim is the built-in plant in demo mode (nil otherwise), for fault
// injection in tests.
func (e *Engine) Sim() *sim.Sim { return e.sim }

// Tags is the tag database.
func (e *Engine) Tags() *tags.DB {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.db
}

// URL is where the web server listens, e.g. "http://127.0.0.1:8080", or
// "https://…" under TLS.
func (e *Engine) URL() string {
	if e.secure {
		return "https://" + e.ln.Addr().String()
	}
	return "http://" + e.ln.Addr().String()
}

// RedirectAddr is the plain HTTP address that redirects to HTTPS under
// TLS ("" without TLS).
func (e *Engine) RedirectAddr() string {
	if e.redirectLn == nil {
		return ""
	}
	return e.redirectLn.Addr().String()
}

// failed reports a fatal error once; later ones are logged.
func (e *Engine) failed(err error) {
	select {
	case e.fatal <- err:
	default:
		e.log.Error("engine", "err", err)
	}
}

// Handler is the web handler (the desktop shell serves it in its window).
func (e *Engine) Handler() http.Handler { return e.swapHandler() }

// Fatal delivers an error that stops the engine from serving (e.g. the HTTP
// server failed).
func (e *Engine) Fatal() <-chan error { return e.fatal }

func (e *Engine) health() []string {
	select {
	case <-e.stopping:
		return []string{"shutting down"}
	case <-e.storeDone:
		return []string{"event log writer stopped"}
	default:
		return nil
	}
}

// Stop stops everything in order: the HTTP server (graceful, bounded by
// ctx), the pollers, hub, alarms and loops, then the event log writer after
// it has committed every pending event, and closes the database.
func (e *Engine) Stop(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() { err = e.shutdown(ctx) })
	return err
}

func (e *Engine) shutdown(ctx context.Context) error {
	close(e.stopping)
	var errs []error
	if e.http != nil {
		if err := e.http.Shutdown(ctx); err != nil {
			e.http.Close()
		}
	} else if e.ln != nil {
		e.ln.Close()
	}
	if e.redirect != nil {
		e.redirect.Close()
	} else if e.redirectLn != nil {
		e.redirectLn.Close()
	}
	e.reloadMu.Lock() // no reload half done
	if e.cancel != nil {
		e.cancel()
	}
	if e.gen != nil {
		e.gen.retire()
	}
	e.wg.Wait()
	e.reloadMu.Unlock()
	if e.sim != nil {
		if err := e.sim.Close(); err != nil {
			errs = append(errs, fmt.Errorf("demo plant: %w", err))
		}
	}
	if e.store != nil {
		e.store.Log(hmi.Event{Kind: hmi.EventSystem, Source: "edgehmi", Action: "stop", Result: "ok"})
		e.stopStore()
		<-e.storeDone
		if err := e.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	e.log.Info("edgehmi stopped")
	return errors.Join(errs...)
}
