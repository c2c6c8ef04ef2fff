// Package api is edgehmi's transport-agnostic service: the queries and
// commands that the HTTP server and the desktop shell both call. It checks
// roles and writes the audit trail; the transports hold no business logic.
package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/auth"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/control"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Code classifies an error for transports (HTTP maps it to a status).
type Code uint8

const (
	CodeInternal        Code = iota // 500
	CodeInvalid                     // 400: bad request or value
	CodeUnauthenticated             // 401
	CodeForbidden                   // 403
	CodeNotFound                    // 404
	CodeConflict                    // 409: e.g. tag not writable
	CodeUnavailable                 // 502: device error
	CodeTimeout                     // 504: device timeout
	CodeTooMany                     // 429
)

// Error is an error with a code and a sentence a person can act on.
type Error struct {
	Code Code
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func errorf(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of err (CodeInternal if it has none).
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Principal is who asks: a logged-in user (or none) and their address.
type Principal struct {
	User    string
	Role    hmi.Role
	Address string
}

// AlarmSource is the running alarm system: the engine's alarm runner,
// which owns the alarm set.
type AlarmSource interface {
	// Alarms returns the operator's list of alarms, or every alarm with
	// all.
	Alarms(all bool) []alarm.Snapshot
	// Act runs op on the alarm set under the runner's lock, at the
	// current time, journals every transition op returns (also with an
	// error: they may be timers that fired first), publishes the new
	// alarm list to clients, and returns op's error. op must not keep the
	// set.
	Act(op func(set *alarm.Set, now time.Time) ([]alarm.Transition, error)) error
}

// Info describes the running project.
type Info struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Demo    bool   `json:"demo"`
	// UIIdleLogoutS logs the page out after this many seconds without
	// input; 0 never does.
	UIIdleLogoutS int `json:"ui_idle_logout_s"`
}

// Service is the API over one running project.
type Service struct {
	info    Info
	db      *tags.DB
	devices map[string]*poll.Device
	store   *store.Store
	auth    *auth.Service
	alarms  AlarmSource
	env     driver.Env // the data directory: OPC UA certificates
	writer  *Writer    // the unaudited write path that commands share with loops
	// displays are the project's display files (displays.go); nil: none
	displays *Displays
	// loops and interlocks, set by SetControl (nil: the project has none)
	loops      *control.Runner
	interlocks *control.Interlocks
	projects   Projects // nil: projects cannot be loaded
}

// New returns the service. devices maps device names to their pollers.
// env is what the drivers got: the data directory, where the OPC UA
// screens find the client certificate and the server certificates.
func New(info Info, db *tags.DB, devices map[string]*poll.Device, st *store.Store, au *auth.Service, alarms AlarmSource, env driver.Env) *Service {
	return &Service{info: info, db: db, devices: devices, store: st, auth: au, alarms: alarms, env: env, writer: NewWriter(db, devices)}
}

// Info describes the running project.
func (s *Service) Info() Info { return s.info }

// TagView is a tag's current state as clients see it.
type TagView struct {
	Name        string      `json:"name"`
	Value       hmi.Value   `json:"value"`
	Quality     hmi.Quality `json:"quality"`
	Reason      string      `json:"reason,omitempty"`
	TS          int64       `json:"ts"` // Unix ms; 0 if never read
	Unit        string      `json:"unit"`
	Writable    bool        `json:"writable"`
	Low         *float64    `json:"low,omitempty"`
	High        *float64    `json:"high,omitempty"`
	WriteRole   string      `json:"write_role,omitempty"` // writable tags: the role a write needs
	Description string      `json:"description"`
	Device      string      `json:"device"`
	// MomentaryMS marks a push button: the default length of its pulse.
	MomentaryMS int64 `json:"momentary_ms,omitempty"`
	// ConfirmDelta: the page asks for a confirmation before a write that
	// changes the value by more than this.
	ConfirmDelta float64 `json:"confirm_delta,omitempty"`
}

// TagDetail adds a tag's definition to its state.
type TagDetail struct {
	TagView
	Address  string        `json:"address"`
	Type     string        `json:"type"`
	Scale    *config.Scale `json:"scale,omitempty"`
	Deadband float64       `json:"deadband"`
	// Interlocks are the active interlocks that block or force writes to
	// the tag, by name (empty when none).
	Interlocks []string `json:"interlocks"`
}

func (s *Service) view(i int, smp hmi.Sample) TagView {
	d := s.db.Def(i)
	v := TagView{Name: d.Name, Value: smp.Value, Quality: smp.Quality, Reason: smp.Reason, TS: unixMilli(smp.TS),
		Unit: d.Unit, Writable: d.Writable, Low: d.Low, High: d.High, Description: d.Description, Device: d.Device}
	if d.Writable {
		v.WriteRole = writeRole(d).String()
		v.MomentaryMS = d.Momentary.Milliseconds()
		v.ConfirmDelta = d.ConfirmDelta
	}
	return v
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Tags returns every tag.
func (s *Service) Tags() []TagView {
	out := make([]TagView, s.db.Len())
	for i := range out {
		out[i] = s.view(i, s.db.Get(i))
	}
	return out
}

// Tag returns one tag with its definition.
func (s *Service) Tag(name string) (TagDetail, error) {
	i, ok := s.db.Lookup(name)
	if !ok {
		return TagDetail{}, errorf(CodeNotFound, tags.ErrUnknownTag, "there is no tag %q", name)
	}
	d := s.db.Def(i)
	return TagDetail{TagView: s.view(i, s.db.Get(i)), Address: d.Address, Type: d.Type, Scale: d.Scale, Deadband: d.Deadband,
		Interlocks: s.interlocksOf(i)}, nil
}

// Alarms returns the current alarms (all, including normal ones, if all).
func (s *Service) Alarms(all bool) []alarm.Snapshot { return s.alarms.Alarms(all) }

// Events returns logged events, newest first, to a logged-in user.
func (s *Service) Events(ctx context.Context, who Principal, q store.EventQuery) ([]hmi.Event, error) {
	if err := require(who, hmi.RoleViewer, "read the event log"); err != nil {
		return nil, err
	}
	ev, err := s.store.Events(ctx, q)
	if err != nil {
		return nil, errorf(CodeInternal, err, "reading the event log failed: %v", err)
	}
	return ev, nil
}

// Login checks credentials, starts a session and audits the attempt.
func (s *Service) Login(ctx context.Context, user, password, addr string) (auth.Session, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "session", User: user, Address: addr, Action: "login", Result: "ok"}
	sess, err := s.auth.Login(ctx, user, password, addr)
	if err != nil {
		ev.Result = err.Error()
		s.store.Log(ev)
		switch {
		case errors.Is(err, auth.ErrTooManyFailures):
			return auth.Session{}, errorf(CodeTooMany, err, "%v", err)
		case errors.Is(err, auth.ErrBadCredentials):
			if ok, herr := s.auth.HasAdmin(ctx); herr == nil && !ok && !s.info.Demo {
				return auth.Session{}, errorf(CodeUnauthenticated, err, "%s", NoAdminHelp)
			}
			return auth.Session{}, errorf(CodeUnauthenticated, err, "wrong user name or password")
		}
		return auth.Session{}, errorf(CodeInternal, err, "login failed: %v", err)
	}
	s.store.Log(ev)
	return *sess, nil
}

// NoAdminHelp tells how to create the first admin of a project.
const NoAdminHelp = "no admin exists yet: create one with `edgehmi user add NAME --role admin --data DIR` (password on stdin)"

// Session returns the principal of a live session id.
func (s *Service) Session(ctx context.Context, id, addr string) (Principal, bool) {
	if id == "" {
		return Principal{Address: addr}, false
	}
	sess, ok := s.auth.Session(ctx, id)
	if !ok {
		return Principal{Address: addr}, false
	}
	return Principal{User: sess.User, Role: sess.Role, Address: addr}, true
}

// Logout ends a session and audits it.
func (s *Service) Logout(id string, who Principal) {
	s.auth.Logout(id)
	if who.User != "" {
		s.store.Log(hmi.Event{Kind: hmi.EventAudit, Source: "session", User: who.User, Address: who.Address, Action: "logout", Result: "ok"})
	}
}

// require checks that who may do what needs role need.
func require(who Principal, need hmi.Role, what string) error {
	if who.User == "" {
		return errorf(CodeUnauthenticated, nil, "log in to %s", what)
	}
	if !who.Role.Allows(need) {
		return errorf(CodeForbidden, nil, "%s may not %s: it needs the %s role", who.User, what, need)
	}
	return nil
}

// Write writes an operator's value to a tag's device, waits for the value
// to be read back, and audits the write whatever its outcome.
func (s *Service) Write(ctx context.Context, who Principal, name string, v hmi.Value, reason string) (TagView, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: name, User: who.User, Address: who.Address, Action: "write", New: v.Text(), Reason: reason}
	res, err := s.write(ctx, who, name, v, &ev)
	s.audit(ev, err)
	return res, err
}

// audit logs an audit event with its outcome: "ok", or err's sentence.
func (s *Service) audit(ev hmi.Event, err error) {
	ev.Result = "ok"
	if err != nil {
		ev.Result = err.Error()
	}
	s.store.Log(ev)
}

func (s *Service) write(ctx context.Context, who Principal, name string, v hmi.Value, ev *hmi.Event) (TagView, error) {
	if err := require(who, hmi.RoleOperator, "write "+name); err != nil {
		return TagView{}, err
	}
	i, ok := s.db.Lookup(name)
	if !ok {
		return TagView{}, errorf(CodeNotFound, tags.ErrUnknownTag, "there is no tag %q", name)
	}
	if need := writeRole(s.db.Def(i)); !who.Role.Allows(need) {
		return TagView{}, errorf(CodeForbidden, nil, "%s may not write %s: it needs the %s role", who.User, name, need)
	}
	ev.Old = s.db.Get(i).Value.Text()
	if err := s.interlocked(i, v); err != nil {
		return TagView{}, err
	}
	return s.writeReadBack(ctx, i, v, ev)
}

// writeReadBack writes through the shared write path, waits for the
// read-back and notes it in ev.
func (s *Service) writeReadBack(ctx context.Context, i int, v hmi.Value, ev *hmi.Event) (TagView, error) {
	// Watch for the read-back before writing, so a fast answer is not missed.
	watch := s.db.Subscribe()
	defer s.db.Unsubscribe(watch)
	raw, err := s.writer.Write(ctx, i, v)
	if err != nil {
		return TagView{}, err
	}
	smp := s.readBack(ctx, i, s.db.ToEng(i, raw), watch, s.db.Def(i).Device)
	ev.Readback = smp.Value.Text()
	return s.view(i, smp), nil
}

// readBack waits until tag i reads want, or for a scan and a timeout of its
// device, and returns its sample then.
func (s *Service) readBack(ctx context.Context, i int, want hmi.Value, watch *tags.Set, device string) hmi.Sample {
	wait := 3 * time.Second
	if dev, ok := s.devices[device]; ok {
		c := dev.Config()
		wait = min(max(2*c.Scan.Duration+c.Timeout.Duration, 500*time.Millisecond), 10*time.Second)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	var buf []int
	for {
		smp := s.db.Get(i)
		if agrees(smp.Value, want) && smp.Quality == hmi.Good {
			return smp
		}
		select {
		case <-ctx.Done():
			return smp
		case <-t.C:
			return smp
		case <-watch.C():
			buf = watch.Take(buf[:0])
		}
	}
}

// writeRole is the role a write of the tag needs (validated by config).
func writeRole(d *config.Tag) hmi.Role {
	if r, err := hmi.ParseRole(d.WriteRole); err == nil && r > hmi.RoleOperator {
		return r
	}
	return hmi.RoleOperator
}

func agrees(got, want hmi.Value) bool {
	if got.Kind() == hmi.KindNumber && want.Kind() == hmi.KindNumber {
		return math.Abs(got.Float()-want.Float()) <= 1e-6*math.Max(1, math.Abs(want.Float()))
	}
	return got == want
}

// Devices returns every device's counters.
func (s *Service) Devices() []poll.Stats {
	out := make([]poll.Stats, 0, len(s.devices))
	for _, d := range s.devices {
		out = append(out, d.Stats())
	}
	return out
}
