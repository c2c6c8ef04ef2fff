// Command edgehmi is a supervisory HMI for factory lines: it polls PLCs over
// Modbus TCP and OPC UA, evaluates alarms, runs control loops, logs to
// SQLite, and serves live screens to browsers and its desktop window.
//
// Subcommands: serve, check, sim, version (and desktop in desktop builds).
// See docs/ and API.md for the contract.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/engine"
	"github.com/edgehmi/edgehmi/backend/sim"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/examples"
	"github.com/edgehmi/edgehmi/frontend"
)

// Stamped by the build (-ldflags "-X main.version=... -X main.commit=... -X main.date=...").
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

const usage = `edgehmi: a supervisory HMI for factory lines

usage:
  edgehmi serve --config FILE [--listen ADDR] [--data DIR]   run a project
  edgehmi serve --demo [--listen ADDR] [--data DIR]          run the demo line against the built-in plant
  edgehmi check --config FILE                                validate a project file
  edgehmi sim [--modbus ADDR] [--opcua ADDR]                 run the demo plant alone
  edgehmi user add|passwd|disable|enable|list ... [--data DIR]   manage users (see edgehmi user)
  edgehmi browse ENDPOINT [--node ID] [--depth N] [--tags]    print an OPC UA server's address space (see edgehmi browse)
  edgehmi opcua certs|trust|untrust|client-cert ... [--data DIR]  OPC UA certificates (see edgehmi opcua)
  edgehmi backup --data DIR --out FILE                       copy the database, also while serving
  edgehmi restore --data DIR --in FILE                       put a backup back (the server stopped)
  edgehmi version                                            print version, commit and build date
`

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(engine.GCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage+desktopUsage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "check":
		return check(rest, stdout, stderr)
	case "sim":
		return runSim(ctx, rest, stdout, stderr)
	case "user":
		return userCmd(ctx, rest, os.Stdin, stdout, stderr)
	case "browse":
		return browseCmd(ctx, rest, os.Stdin, stdout, stderr)
	case "opcua":
		return opcuaCmd(ctx, rest, stdout, stderr)
	case "backup":
		return backupCmd(ctx, rest, stdout, stderr)
	case "restore":
		return restoreCmd(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "desktop":
		return desktop(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage+desktopUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "edgehmi: unknown command %q\n\n%s%s", cmd, usage, desktopUsage)
		return 2
	}
}

func versionLine() string {
	return fmt.Sprintf("edgehmi %s (commit %s, built %s, %s %s/%s)", version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edgehmi "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// serveFlags are shared by serve and desktop.
type serveFlags struct {
	config, listen, data, logLevel string
	demo                           bool
	// lock is the data directory's lock, held while the engine runs (see
	// store.Lock: restore refuses while it is held).
	lock *store.DirLock
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "project file (YAML)")
	fs.BoolVar(&f.demo, "demo", false, "run the demo project against the built-in plant")
	fs.StringVar(&f.listen, "listen", "", "address to serve on (default: the project's, or 127.0.0.1:8080)")
	fs.StringVar(&f.data, "data", "./data", "directory of the SQLite files")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
}

// options loads the project and builds the engine options. Problems in the
// project file are printed one per line and reported as an error.
func (f *serveFlags) options(stderr io.Writer) (engine.Options, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return engine.Options{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, logOptions(level)))
	routeStdLog(log)
	var p *config.Project
	var err error
	switch {
	case f.config != "":
		p, err = config.Load(f.config, engine.Drivers())
	case f.demo:
		p, err = config.Parse(examples.DemoFile, examples.Demo, engine.Drivers())
	default:
		return engine.Options{}, errors.New("give a project with --config FILE, or --demo")
	}
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{Project: p, DataDir: f.data, Listen: f.listen, Demo: f.demo, Version: version,
		Commit: commit, BuildDate: date,
		Static: frontend.Dist(), Log: log, DemoFiles: examples.FS, Source: demoSource(f.demo)}, nil
}

// routeStdLog sends what libraries print through the standard log package
// (gopcua's server prints its start-up chatter there) to log at debug level,
// so the process writes only structured lines.
func routeStdLog(log *slog.Logger) {
	stdlog.SetFlags(0)
	stdlog.SetOutput(debugWriter{log})
}

type debugWriter struct{ log *slog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug(strings.TrimSpace(string(p)), "via", "log")
	return len(p), nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f serveFlags
	fs := newFlags("serve", stderr)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	e, o, ok := f.start(ctx, "serving", stdout, stderr)
	if !ok {
		return 1
	}
	defer f.lock.Unlock()
	// Under systemd: ready now (the engine runs and its listener is bound),
	// then the watchdog, fed while the scan loops are alive.
	defer reloadOnHUP(ctx, e, f.config, o.Log)() // before READY: a reload right after start must not kill it
	notifyReady(o.Log, e.URL())
	wctx, stopWatchdog := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchdog(wctx, e, o.Log)
	}()
	code := waitAndStop(ctx, e, stderr, func() {
		notifyStopping()
		stopWatchdog()
		<-done
	})
	stopWatchdog()
	<-done
	return code
}

// logOptions are the log handler's: under systemd (JOURNAL_STREAM set)
// without the time, which the journal records itself.
func logOptions(level slog.Level) *slog.HandlerOptions {
	o := &slog.HandlerOptions{Level: level}
	if os.Getenv("JOURNAL_STREAM") != "" {
		o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}
	}
	return o
}

// start loads the project, starts the engine and prints where it serves
// (what tests and scripts wait for). Problems are printed; ok is false then.
func (f *serveFlags) start(ctx context.Context, what string, stdout, stderr io.Writer) (*engine.Engine, engine.Options, bool) {
	o, err := f.options(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi:", err)
		return nil, o, false
	}
	if f.lock, err = store.Lock(f.data); err != nil {
		fmt.Fprintln(stderr, "edgehmi:", err)
		return nil, o, false
	}
	e, err := engine.Start(ctx, o)
	if err != nil {
		f.lock.Unlock()
		fmt.Fprintln(stderr, "edgehmi:", err)
		return nil, o, false
	}
	// Loading a large project file builds a YAML node tree many times the
	// file's size (330 MB for 100,000 tags); give that back to the OS now
	// rather than over the scavenger's minutes.
	debug.FreeOSMemory()
	mode := ""
	if f.demo {
		mode = " (demo: log in as operator/operator)"
	}
	fmt.Fprintf(stdout, "edgehmi: %s %s/%s\n", what, e.URL(), mode)
	return e, o, true
}

// waitAndStop runs until a signal or a fatal error, then stops the engine.
// Each of before runs first, once the server is to stop.
func waitAndStop(ctx context.Context, e *engine.Engine, stderr io.Writer, before ...func()) int {
	code := 0
	select {
	case <-ctx.Done():
	case err := <-e.Fatal():
		fmt.Fprintln(stderr, "edgehmi:", err)
		code = 1
	}
	for _, f := range before {
		f()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Stop(sctx); err != nil {
		fmt.Fprintln(stderr, "edgehmi: stop:", err)
		code = 1
	}
	return code
}

func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	file := fs.String("config", "", "project file to validate")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "edgehmi check: give the project with --config FILE")
		return 2
	}
	p, err := config.Load(*file, engine.Drivers())
	if err == nil {
		// The displays, beside the project file: bindings and commands
		// checked against its tags.
		dir := filepath.Dir(*file)
		_, err = config.LoadDisplays(p, os.DirFS(dir), filepath.ToSlash(dir))
	}
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			fmt.Fprintln(stderr, errs.Error())
			fmt.Fprintf(stderr, "%d problem%s found\n", len(errs), plural(len(errs)))
		} else {
			fmt.Fprintln(stderr, "edgehmi check:", err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok: %s, %d displays\n", *file, p.Summary(), len(p.Displays))
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sim", stderr)
	mb := fs.String("modbus", "127.0.0.1:1502", "Modbus TCP address to serve")
	ua := fs.String("opcua", "127.0.0.1:4840", "OPC UA address (host:port) to serve")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	routeStdLog(log)
	s, err := sim.Start(ctx, sim.Options{ModbusAddr: *mb, OPCUAAddr: strings.TrimPrefix(*ua, "opc.tcp://"), Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi sim:", err)
		return 1
	}
	fmt.Fprintf(stdout, "edgehmi sim: Modbus TCP on %s (unit 1), OPC UA on %s\n", s.ModbusAddr(), s.OPCUAEndpoint())
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintln(stderr, "edgehmi sim:", err)
		return 1
	}
	return 0
}
