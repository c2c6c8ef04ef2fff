// Package sim is edgehmi's demo plant: a small mixing line simulated
// in-process (tank T101 with valve XV101 and pump P101, heater loop TIC101,
// conveyor CV201) and served over real protocols on loopback, so that
// edgehmi's own drivers talk to it exactly as they would to a real PLC:
//
//   - Modbus TCP (unit id 1): coils 0 XV101.Open, 1 P101.Running,
//     2 CV201.Running (all writable); discrete inputs 0 P101.Fault,
//     1 CV201.Jam; input registers 0 T101 level ×100, 1 spare (0),
//     2–3 CV201.Count (uint32, high word first); holding register 0
//     CV201 speed ×10 (writable, 0..1000).
//   - OPC UA (security None, anonymous): ns=2;s=TIC101.PV (Double, read-only),
//     ns=2;s=TIC101.SP and ns=2;s=TIC101.OUT (Double, read/write).
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/simonvetter/modbus"
)

// Defaults for Options.
const (
	DefaultModbusAddr = "127.0.0.1:1502"
	DefaultOPCUAAddr  = "127.0.0.1:4840"
	DefaultStep       = 100 * time.Millisecond
)

// ErrClosed is returned by StopModbus and StartModbus after the Sim was closed.
var ErrClosed = errors.New("sim: closed")

// Options configure Start. The zero value serves on the default addresses.
type Options struct {
	ModbusAddr string        // default "127.0.0.1:1502"; "127.0.0.1:0" picks a free port
	OPCUAAddr  string        // host:port, default "127.0.0.1:4840"; port 0 picks a free port
	Step       time.Duration // physics step, default 100ms
	Logger     *slog.Logger  // default slog.Default()
}

// Sim is a running demo plant with its Modbus TCP and OPC UA servers.
type Sim struct {
	plant  *Plant
	logger *slog.Logger
	step   time.Duration
	ua     *uaServer
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mbAddr string // listen address, fixed at Start

	mu     sync.Mutex // guards mb and closed
	mb     *modbus.ModbusServer
	closed bool

	closeErr error // set by shutdown before the run goroutine exits
}

// Start starts the physics goroutine and both servers, and returns once both
// listen. The Sim stops when ctx is done or Close is called.
func Start(ctx context.Context, opts Options) (*Sim, error) {
	if opts.ModbusAddr == "" {
		opts.ModbusAddr = DefaultModbusAddr
	}
	if opts.OPCUAAddr == "" {
		opts.OPCUAAddr = DefaultOPCUAAddr
	}
	if opts.Step <= 0 {
		opts.Step = DefaultStep
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	mbHost, mbPort, err := splitAddr("modbus", opts.ModbusAddr)
	if err != nil {
		return nil, err
	}
	uaHost, uaPort, err := splitAddr("opc ua", strings.TrimPrefix(opts.OPCUAAddr, "opc.tcp://"))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim: start: %w", err)
	}

	s := &Sim{
		plant:  NewPlant(),
		logger: opts.Logger.With("subsystem", "sim"),
		step:   opts.Step,
	}

	err = withPort(mbHost, mbPort, func(port int) error {
		s.mbAddr = net.JoinHostPort(mbHost, strconv.Itoa(port))
		mb, err := s.listenModbus()
		s.mb = mb
		return err
	})
	if err != nil {
		return nil, err
	}

	err = withPort(uaHost, uaPort, func(port int) error {
		u, err := startOPCUA(uaHost, port, s.plant, s.logger, s.step)
		s.ua = u
		return err
	})
	if err != nil {
		_ = s.mb.Stop()
		return nil, err
	}

	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.wg.Add(1)
	go s.run(runCtx)
	s.logger.Info("demo plant running", "modbus", s.ModbusAddr(), "opcua", s.OPCUAEndpoint(), "step", s.step)
	return s, nil
}

// run steps the physics until ctx is done, then shuts the servers down.
func (s *Sim) run(ctx context.Context) {
	defer s.wg.Done()
	defer s.shutdown()
	t := time.NewTicker(s.step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.plant.Step(s.step)
			s.ua.ns.update(now)
		}
	}
}

func (s *Sim) shutdown() {
	s.mu.Lock()
	s.closed = true
	mb := s.mb
	s.mb = nil
	s.mu.Unlock()

	var errs []error
	if mb != nil {
		if err := mb.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("sim: modbus server on %s: stop: %w", s.mbAddr, err))
		}
	}
	if err := s.ua.close(); err != nil {
		errs = append(errs, err)
	}
	s.closeErr = errors.Join(errs...)
	s.logger.Info("demo plant stopped")
}

// Close stops the physics and both servers and waits for the goroutines
// the Sim started. It is safe to call more than once.
func (s *Sim) Close() error {
	s.cancel()
	s.wg.Wait()
	return s.closeErr
}

// Plant returns the simulated plant, for fault injection and inspection.
func (s *Sim) Plant() *Plant { return s.plant }

// ModbusAddr returns the address the Modbus server listens on, as
// "127.0.0.1:PORT" (a wildcard host is reported as 127.0.0.1).
func (s *Sim) ModbusAddr() string {
	host, port, _ := net.SplitHostPort(s.mbAddr)
	return net.JoinHostPort(dialHost(host), port)
}

// OPCUAEndpoint returns the OPC UA endpoint URL, "opc.tcp://127.0.0.1:PORT".
func (s *Sim) OPCUAEndpoint() string { return s.ua.endpoint }

// StopModbus closes the Modbus server and drops its clients (fault
// injection). Stopping a stopped server does nothing.
func (s *Sim) StopModbus() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.mb == nil {
		return nil
	}
	err := s.mb.Stop()
	s.mb = nil
	if err != nil {
		return fmt.Errorf("sim: modbus server on %s: stop: %w", s.mbAddr, err)
	}
	s.logger.Info("modbus server stopped", "addr", s.mbAddr)
	return nil
}

// StartModbus listens again on the same address after StopModbus.
// Starting a running server does nothing.
func (s *Sim) StartModbus() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.mb != nil {
		return nil
	}
	mb, err := s.listenModbus()
	if err != nil {
		return err
	}
	s.mb = mb
	s.logger.Info("modbus server started", "addr", s.mbAddr)
	return nil
}

// listenModbus starts a new Modbus server on s.mbAddr. A fresh server is
// built every time: restarting a stopped library server would race with
// its previous accept goroutine.
func (s *Sim) listenModbus() (*modbus.ModbusServer, error) {
	mb, err := newModbusServer(s.mbAddr, s.plant, s.logger)
	if err != nil {
		return nil, fmt.Errorf("sim: modbus server on %s: %w", s.mbAddr, err)
	}
	if err := mb.Start(); err != nil {
		return nil, fmt.Errorf("sim: modbus server on %s: %w", s.mbAddr, err)
	}
	return mb, nil
}

// splitAddr parses host:port.
func splitAddr(what, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("sim: %s address %q: %w", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("sim: %s address %q: bad port %q", what, addr, p)
	}
	return host, port, nil
}

// withPort calls listen with port, or, when port is 0, with a free port
// found by the kernel. The libraries cannot report the port they bound, so
// the port is probed first and may be taken in between: then it retries.
func withPort(host string, port int, listen func(port int) error) error {
	if port != 0 {
		return listen(port)
	}
	var err error
	for range 5 {
		var p int
		if p, err = freePort(host); err != nil {
			return err
		}
		if err = listen(p); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
	}
	return err
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("sim: find a free port on %q: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// dialHost maps a wildcard listen host to the loopback address clients dial.
func dialHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return host
}
