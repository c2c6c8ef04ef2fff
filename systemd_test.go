package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/driver/modbus"
	"github.com/edgehmi/edgehmi/backend/driver/opcua"
	"github.com/edgehmi/edgehmi/backend/engine"
	"github.com/edgehmi/edgehmi/examples"
)

// notifySocket is a stub of systemd's notification socket: a unixgram
// socket in a temp dir whose messages arrive on a channel, each with when it
// came.
type notifySocket struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, msgs: make(chan string, 1024)}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			for line := range strings.SplitSeq(string(buf[:k]), "\n") {
				select {
				case n.msgs <- line:
				default:
				}
			}
		}
	})
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return n
}

// next waits for a message that starts with prefix, dropping others.
func (n *notifySocket) next(t *testing.T, prefix string, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-n.msgs:
			if strings.HasPrefix(m, prefix) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeNotifiesReadyAfterHealthz runs the serve command under a stub
// systemd: READY=1 comes only once /healthz answers, the watchdog is fed,
// and STOPPING=1 comes on shutdown.
func TestServeNotifiesReadyAfterHealthz(t *testing.T) {
	sock := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock.path)
	t.Setenv("WATCHDOG_USEC", "300000") // fed every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--listen", addr, "--data", t.TempDir(), "--log-level", "error"}, io.Discard, io.Discard)
	}()
	if !sock.next(t, "READY=1", 30*time.Second) {
		t.Fatal("no READY=1")
	}
	// At READY, the server answers at once.
	res, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("READY=1 came before /healthz answered: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz at READY: %d", res.StatusCode)
	}
	// The build is on /metrics (here: no -ldflags, the defaults).
	res, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want := fmt.Sprintf("edgehmi_build_info{version=%q,commit=%q,date=%q,goversion=%q,goarch=%q} 1\n", version, commit, date, runtime.Version(), runtime.GOARCH)
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics has no %q", want)
	}
	for range 3 {
		if !sock.next(t, "WATCHDOG=1", 2*time.Second) {
			t.Fatal("the watchdog is not fed")
		}
	}
	cancel()
	if !sock.next(t, "STOPPING=1", 15*time.Second) {
		t.Error("no STOPPING=1")
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

// stallable wraps a driver: while stalled is set, Read hangs, ignoring its
// context, as a driver stuck in a call that never returns would.
type stallable struct {
	driver.Driver
	stalled *atomic.Bool
	release <-chan struct{}
}

func (s stallable) Read(ctx context.Context, out []driver.Reading) error {
	if s.stalled.Load() {
		<-s.release
	}
	return s.Driver.Read(ctx, out)
}

// TestWatchdogStopsWhenPollerStalls runs the demo against the built-in
// plant with the Modbus device's driver made to hang: the watchdog is fed
// while it polls, no longer once its poller has finished no read for too
// long, and again once it recovers.
func TestWatchdogStopsWhenPollerStalls(t *testing.T) {
	sock := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sock.path)
	t.Setenv("WATCHDOG_USEC", "300000")
	t.Setenv("WATCHDOG_PID", "")
	var stalled atomic.Bool
	release := make(chan struct{})
	mb := modbus.Kind()
	newMB := mb.New
	mb.New = func(dev config.Device, env driver.Env) (driver.Driver, error) {
		d, err := newMB(dev, env)
		if err != nil {
			return nil, err
		}
		return stallable{Driver: d, stalled: &stalled, release: release}, nil
	}
	p, err := config.Parse(examples.DemoFile, examples.Demo, engine.Drivers())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := engine.Start(context.Background(), engine.Options{Project: p, DataDir: t.TempDir(), Listen: "127.0.0.1:0", Demo: true,
		Log: log, Drivers: driver.NewRegistry(mb, opcua.Kind())})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unstall := func() { once.Do(func() { stalled.Store(false); close(release) }) }
	defer func() {
		unstall()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { watchdog(ctx, e, log) })
	defer func() { cancel(); wg.Wait() }()

	for range 5 {
		if !sock.next(t, "WATCHDOG=1", 2*time.Second) {
			t.Fatalf("the watchdog is not fed while polling (stalled: %q)", e.Stalled(time.Now()))
		}
	}
	stalled.Store(true)
	at := time.Now()
	if !sock.next(t, "STATUS=stalled", 10*time.Second) {
		t.Fatal("a hung poller was not reported")
	}
	t.Logf("stall reported %s after the driver hung", time.Since(at).Round(time.Millisecond))
	drain(sock)
	// No WATCHDOG=1 for well past the watchdog's interval.
	if sock.next(t, "WATCHDOG=1", time.Second) {
		t.Fatal("the watchdog was fed while a poller was stalled")
	}
	unstall()
	if !sock.next(t, "WATCHDOG=1", 3*time.Second) {
		t.Fatal("the watchdog was not fed again after the poller recovered")
	}
}

func drain(n *notifySocket) {
	for {
		select {
		case <-n.msgs:
		default:
			return
		}
	}
}
