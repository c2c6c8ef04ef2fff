// Package driver defines what every protocol driver provides to the poller:
// the Driver interface, the Point a driver reads, and a Registry of driver
// kinds. It holds no protocol code; drivers live in its children.
package driver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// ErrNotConnected is returned (wrapped) by Read, Write and Subscribe when the
// link to the device is down. The poller then calls Connect again, with
// backoff, before any other call.
var ErrNotConnected = errors.New("not connected")

// ErrTimeout is returned (wrapped) when a device does not answer in time.
var ErrTimeout = errors.New("device did not answer in time")

// A write refused for a reason the client can act on wraps one of these
// (see Refused): the value is out of range or of the wrong type for the
// address (ErrBadValue), or the address cannot be written (ErrReadOnly).
var (
	ErrBadValue = errors.New("value refused")
	ErrReadOnly = errors.New("not writable")
)

// Refused marks err, a write's refusal, with kind (ErrBadValue or
// ErrReadOnly) for errors.Is, keeping err's message.
func Refused(kind, err error) error { return refused{kind: kind, err: err} }

type refused struct{ kind, err error }

func (r refused) Error() string   { return r.err.Error() }
func (r refused) Unwrap() []error { return []error{r.err, r.kind} }

// Point is one tag as a driver sees it: an address in the device's own syntax
// and the data type to decode there. Values are raw: scaling to engineering
// units is done by the tag database, not the driver.
type Point struct {
	// Index is the tag's index in the tag database; drivers copy it into
	// Readings and otherwise ignore it.
	Index int
	// Tag is the tag name, for error messages.
	Tag string
	// Address is the device address, e.g. "HR100" (Modbus) or "ns=2;s=TIC101.PV" (OPC UA).
	Address string
	// Type is the data type, e.g. "uint16", "float32", "bool", "double".
	Type string
	// Driver-specific options of the tag; zero values mean the device's.
	ByteOrder string // Modbus: ABCD, BADC, CDAB, DCBA
	UnitID    *int   // Modbus: the unit id behind a gateway
	Length    int    // string length in characters
	// Scan is the point's scan class period (0: the device's scan). The
	// poller reads the point at it; subscribing drivers (OPC UA) sample
	// the point at it.
	Scan time.Duration
	// Deadband filters changes at the source, for drivers whose devices
	// can (OPC UA data change filters): an absolute deadband in raw units,
	// or DeadbandPercent, a percent of the range the device knows for the
	// point (OPC UA's EURange). 0 filters nothing. The tag database applies
	// the tag's deadband in any case.
	Deadband        float64
	DeadbandPercent float64
}

// Reading is the raw result of reading one Point.
type Reading struct {
	Index  int
	Sample hmi.Sample
}

// Driver is one connection to one device. Its lifecycle:
//
//   - New builds it (from the registry) without I/O.
//   - Connect is called first, and again with backoff after any error that
//     wraps ErrNotConnected; no other method is called until it succeeds.
//   - Prepare is called once per tag set, before the first Read; the driver
//     plans its requests there (e.g. block reads) and keeps the plan.
//   - Read fills out[i] for each prepared point i. An error that wraps
//     ErrNotConnected means the link is lost; any other error means this read
//     failed but the link is up. Points a driver could not read get a Bad
//     sample with a reason.
//   - Write writes one raw value to one point.
//   - Close releases the connection. It is safe to call more than once.
//
// The poller calls a Driver from one goroutine at a time, so a driver needs no
// locking of its own.
type Driver interface {
	Connect(ctx context.Context) error
	Prepare(points []Point) error
	Read(ctx context.Context, out []Reading) error
	Write(ctx context.Context, p Point, v hmi.Value) error
	Close() error
}

// Subscriber is implemented by drivers whose devices push changes (OPC UA
// subscriptions). When a driver is a Subscriber the poller calls Subscribe
// after Connect and Prepare instead of calling Read every scan. Subscribe
// delivers readings with emit (from one goroutine at a time) until ctx ends or
// the subscription fails; it returns the error (wrapping ErrNotConnected if the
// link is lost). Writes may be called concurrently with a running Subscribe.
type Subscriber interface {
	Subscribe(ctx context.Context, emit func([]Reading)) error
}

// Grouped is implemented by drivers that read parts of their prepared
// points on their own schedules (scan classes). After Prepare the poller
// calls Group once with index lists into the prepared points (each point in
// exactly one group), then ReadGroup per group instead of Read. ReadGroup
// fills only its group's entries of out, which is as long as the prepared
// points; its errors mean what Read's do.
type Grouped interface {
	Group(groups [][]int) error
	ReadGroup(ctx context.Context, g int, out []Reading) error
}

// Env is what a driver may need from the installation beside its device's
// configuration.
type Env struct {
	// DataDir is the data directory (the serve command's --data): drivers
	// keep their own files under it, e.g. OPC UA certificates in
	// DataDir/opcua. "" means the driver may not keep files.
	DataDir string
}

// Kind describes one kind of driver: how to check its addresses without I/O
// and how to build a connection.
type Kind struct {
	// Name as written in the project file's device "driver" field.
	Name string
	// CheckAddress validates an address and data type without I/O.
	CheckAddress func(address, dataType string) error
	// New builds a driver for a device (no I/O).
	New func(dev config.Device, env Env) (Driver, error)
}

// Registry maps driver names to kinds. It is a value: tests build their own.
type Registry struct {
	kinds map[string]Kind
}

// NewRegistry returns a registry holding the given kinds.
func NewRegistry(kinds ...Kind) *Registry {
	r := &Registry{kinds: make(map[string]Kind, len(kinds))}
	for _, k := range kinds {
		r.kinds[k.Name] = k
	}
	return r
}

// Lookup returns the kind with the given name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the registered driver names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds a driver for dev.
func (r *Registry) New(dev config.Device, env Env) (Driver, error) {
	k, ok := r.kinds[dev.Driver]
	if !ok {
		return nil, fmt.Errorf("device %q: unknown driver %q", dev.Name, dev.Driver)
	}
	d, err := k.New(dev, env)
	if err != nil {
		return nil, fmt.Errorf("device %q: %w", dev.Name, err)
	}
	return d, nil
}

// CheckAddress validates an address and data type for a driver without I/O.
// It lets the registry serve as config.DriverChecker.
func (r *Registry) CheckAddress(driverName, address, dataType string) error {
	k, ok := r.kinds[driverName]
	if !ok {
		return fmt.Errorf("unknown driver %q", driverName)
	}
	if k.CheckAddress == nil {
		return nil
	}
	return k.CheckAddress(address, dataType)
}
