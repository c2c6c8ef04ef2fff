package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/control"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// SetControl gives the service the project's loops and interlocks (either
// may be nil). Call it before serving.
func (s *Service) SetControl(loops *control.Runner, interlocks *control.Interlocks) {
	s.loops, s.interlocks = loops, interlocks
}

// interlocksOf names the active interlocks that block or force tag i.
func (s *Service) interlocksOf(i int) []string {
	if s.interlocks == nil {
		return []string{}
	}
	return s.interlocks.ForTag(i)
}

// interlocked refuses a command writing v to tag i while an active
// interlock blocks it (or forces the tag to another value).
func (s *Service) interlocked(i int, v hmi.Value) error {
	if s.interlocks == nil {
		return nil
	}
	if r, ok := s.interlocks.Blocking(i, v); ok {
		return errorf(CodeConflict, r, "%s: %v", s.db.Def(i).Name, r)
	}
	return nil
}

// Num is a number that crosses the wire as null when it is not finite
// (not known yet, or no limit).
type Num float64

// MarshalJSON writes the number, or null.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// InterlockView is an interlock's state as clients see it.
type InterlockView struct {
	Name    string `json:"name"`
	Active  bool   `json:"active"`
	Message string `json:"message"`
	// Reason is why it is active: the condition with the values it saw
	// ("T101.Level < 10 (T101.Level = 4.2)"), or a tag that cannot be
	// trusted ("T101.Level is Bad (connection refused)"); "" when not.
	Reason string             `json:"reason"`
	When   string             `json:"when"`
	Blocks []InterlockCommand `json:"blocks"`
	Forces []InterlockCommand `json:"forces"`
	// Since is when it last became active or cleared, Unix ms (0: not
	// since start).
	Since int64 `json:"since"`
}

// InterlockCommand is a blocked or forced write: a value of a tag (no
// value: a block of every write to it).
type InterlockCommand struct {
	Tag   string   `json:"tag"`
	Value *float64 `json:"value,omitempty"`
}

// Interlocks returns every interlock's state, in the project's order.
func (s *Service) Interlocks() []InterlockView {
	out := []InterlockView{}
	if s.interlocks == nil {
		return out
	}
	conv := func(as []config.InterlockAction) []InterlockCommand {
		cs := make([]InterlockCommand, len(as))
		for i, a := range as {
			cs[i] = InterlockCommand{Tag: a.Tag, Value: a.Value}
		}
		return cs
	}
	for _, st := range s.interlocks.States() {
		out = append(out, InterlockView{Name: st.Name, Active: st.Active, Message: st.Message, Reason: st.Reason,
			When: st.When, Blocks: conv(st.Blocks), Forces: conv(st.Forces), Since: unixMilli(st.Since)})
	}
	return out
}

// LoopView is a loop's state as clients (faceplates) see it.
type LoopView struct {
	Name   string `json:"name"`
	PVTag  string `json:"pv_tag"`
	SPTag  string `json:"sp_tag"`
	OutTag string `json:"out_tag,omitempty"`
	// Unit is the PV's (and setpoint's) unit, OutUnit the output's.
	Unit      string      `json:"unit"`
	OutUnit   string      `json:"out_unit"`
	PV        Num         `json:"pv"`
	PVQuality hmi.Quality `json:"pv_quality"`
	// SP is the setpoint asked for (clamped into the limits); SPWorking the
	// ramped setpoint the PID works with (they differ while it ramps).
	SP        Num `json:"sp"`
	SPWorking Num `json:"sp_working"`
	Out       Num `json:"out"`
	// Mode is what the loop does now: auto, manual, cascade or failsafe;
	// TargetMode what was asked for: auto, manual or cascade.
	Mode       string `json:"mode"`
	TargetMode string `json:"target_mode"`
	// Tracking: the output follows an interlock's forced value, or (a
	// cascade primary) the setpoint of its secondary out of cascade.
	Tracking bool `json:"tracking"`
	// Interlock is the active interlock forcing the output, if any.
	Interlock string `json:"interlock,omitempty"`
	// Reason says why Mode is not TargetMode, or why the loop tracks.
	Reason  string  `json:"reason,omitempty"`
	Kp      float64 `json:"kp"`
	Ti      float64 `json:"ti"`
	Td      float64 `json:"td"`
	DFilter float64 `json:"d_filter"`
	POn     string  `json:"p_on"`
	Reverse bool    `json:"reverse"`
	// SPLow and SPHigh are null when the setpoint has no such limit.
	SPLow     Num     `json:"sp_low"`
	SPHigh    Num     `json:"sp_high"`
	SPRamp    float64 `json:"sp_ramp"`
	OutLow    float64 `json:"out_low"`
	OutHigh   float64 `json:"out_high"`
	OutRate   float64 `json:"out_rate"`
	SPFrom    string  `json:"sp_from,omitempty"`
	Secondary string  `json:"secondary,omitempty"`
	// FailSafe is "hold" or the output value.
	FailSafe any     `json:"fail_safe"`
	PeriodMS float64 `json:"period_ms"`
	Runs     uint64  `json:"runs"`
	Overruns uint64  `json:"overruns"`
	// Jitter: how late runs started against the fixed schedule, over the
	// last 256 runs (max: since start).
	JitterP50MS float64 `json:"jitter_p50_ms"`
	JitterP99MS float64 `json:"jitter_p99_ms"`
	JitterMaxMS float64 `json:"jitter_max_ms"`
	// WriteP99MS is from a run to its output written, last 256 writes.
	WriteP99MS     float64 `json:"write_p99_ms"`
	WriteErrors    uint64  `json:"write_errors"`
	LastWriteError string  `json:"last_write_error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *Service) loopView(l *control.Loop) LoopView {
	st := l.State()
	v := LoopView{Name: st.Name, PVTag: st.PVTag, SPTag: st.SPTag, OutTag: st.OutTag,
		PV: Num(st.PV.Value.Float()), PVQuality: st.PV.Quality, SP: Num(st.SP), SPWorking: Num(st.SPWorking), Out: Num(st.Out),
		Mode: st.Mode.String(), TargetMode: st.Target.String(), Tracking: st.Tracking, Interlock: st.Interlock, Reason: st.Reason,
		Kp: st.Tuning.Kp, Ti: st.Tuning.Ti, Td: st.Tuning.Td, DFilter: st.DFilter, POn: st.POn, Reverse: st.Reverse,
		SPLow: Num(st.SPLow), SPHigh: Num(st.SPHigh), SPRamp: st.SPRamp, OutLow: st.OutLow, OutHigh: st.OutHigh, OutRate: st.OutRate,
		SPFrom: st.SPFrom, Secondary: st.Secondary, FailSafe: "hold", PeriodMS: ms(st.Period),
		Runs: st.Stats.Runs, Overruns: st.Stats.Overruns, JitterP50MS: ms(st.Stats.JitterP50), JitterP99MS: ms(st.Stats.JitterP99),
		JitterMaxMS: ms(st.Stats.JitterMax), WriteP99MS: ms(st.Stats.WriteP99), WriteErrors: st.Stats.WriteErrors,
		LastWriteError: st.Stats.LastWriteError}
	if st.FailSafe.Output {
		v.FailSafe = st.FailSafe.Value
	}
	// The PV, and the setpoint unless it comes from a primary, as they are
	// now: a faceplate sees a new setpoint at once, not after the next run.
	pv, sp, out := l.Tags()
	if smp := s.db.Get(pv); smp.Quality != hmi.Bad || smp.TS.After(st.PV.TS) {
		v.PV, v.PVQuality = Num(smp.Value.Float()), smp.Quality
	}
	if smp := s.db.Get(sp); st.Target != control.Cascade && smp.Quality == hmi.Good {
		lo, hi := l.SetpointLimits()
		v.SP = Num(math.Max(lo, math.Min(hi, smp.Value.Float())))
	}
	// In manual the output is what its tag reads (the loop follows it).
	if out >= 0 && st.Target == control.Manual && st.Interlock == "" {
		if smp := s.db.Get(out); smp.Quality == hmi.Good {
			v.Out = Num(smp.Value.Float())
		}
	}
	v.Unit = s.db.Def(pv).Unit
	if out >= 0 {
		v.OutUnit = s.db.Def(out).Unit
	}
	return v
}

// Loops returns every loop's state, in the project's order.
func (s *Service) Loops() []LoopView {
	out := []LoopView{}
	if s.loops == nil {
		return out
	}
	for _, l := range s.loops.Loops() {
		out = append(out, s.loopView(l))
	}
	return out
}

// Loop returns one loop's state.
func (s *Service) Loop(name string) (LoopView, error) {
	l, err := s.loop(name)
	if err != nil {
		return LoopView{}, err
	}
	return s.loopView(l), nil
}

func (s *Service) loop(name string) (*control.Loop, error) {
	if s.loops != nil {
		if l, ok := s.loops.Loop(name); ok {
			return l, nil
		}
	}
	return nil, errorf(CodeNotFound, nil, "there is no loop %q", name)
}

// loopCommand runs an audited loop command: the role check, then do, and
// the audit entry whatever the outcome.
func (s *Service) loopCommand(who Principal, name, action, asked, reason string, need hmi.Role, what string,
	do func(l *control.Loop, ev *hmi.Event) error) (LoopView, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: name, User: who.User, Address: who.Address, Action: action, New: asked, Reason: reason}
	err := require(who, need, what)
	var l *control.Loop
	if err == nil {
		l, err = s.loop(name)
	}
	if err == nil {
		err = do(l, &ev)
	}
	s.audit(ev, err)
	if err != nil {
		return LoopView{}, err
	}
	return s.loopView(l), nil
}

// LoopMode asks a loop for a mode: auto, manual or cascade. Operator role.
// Audited as loop.mode with the old and new mode asked for.
func (s *Service) LoopMode(who Principal, name, mode, reason string) (LoopView, error) {
	return s.loopCommand(who, name, "loop.mode", mode, reason, hmi.RoleOperator, "change the mode of loop "+name, func(l *control.Loop, ev *hmi.Event) error {
		target, _ := l.Mode()
		ev.Old = target.String()
		m, err := control.ParseMode(mode)
		if err != nil {
			return errorf(CodeInvalid, err, "%v", err)
		}
		if err := l.SetMode(m); err != nil {
			if errors.Is(err, control.ErrNoCascade) {
				return errorf(CodeInvalid, err, "loop %s has no primary (sp_from), so it cannot run in cascade", name)
			}
			return errorf(CodeInvalid, err, "%v", err)
		}
		return nil
	})
}

// LoopSetpoint writes a loop's setpoint (its SP tag) through the audited
// command path: operator role (or the SP tag's write role), within the
// loop's setpoint limits (400 outside), not while the loop takes its
// setpoint from its primary in cascade (409). Audited as loop.sp with the
// old, new and read-back value.
func (s *Service) LoopSetpoint(ctx context.Context, who Principal, name string, v float64, reason string) (LoopView, error) {
	return s.loopCommand(who, name, "loop.sp", number(v), reason, hmi.RoleOperator, "change the setpoint of loop "+name, func(l *control.Loop, ev *hmi.Event) error {
		_, sp, _ := l.Tags()
		def := s.db.Def(sp)
		ev.Old = s.db.Get(sp).Value.Text()
		if need := writeRole(def); !who.Role.Allows(need) {
			return errorf(CodeForbidden, nil, "%s may not change the setpoint of loop %s: it needs the %s role", who.User, name, need)
		}
		if target, _ := l.Mode(); target == control.Cascade {
			return errorf(CodeConflict, nil, "loop %s takes its setpoint from %s in cascade: switch it to auto first", name, l.Config().SPFrom)
		}
		lo, hi := l.SetpointLimits()
		if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
			return errorf(CodeInvalid, nil, "setpoint %s %s is outside the limits of loop %s (%s)", number(v), def.Unit, name, limitsText(lo, hi))
		}
		if err := s.interlocked(sp, hmi.Number(v)); err != nil {
			return err
		}
		_, err := s.writeReadBack(ctx, sp, hmi.Number(v), ev)
		return err
	})
}

// LoopOutput sets the output of a loop in manual (409 otherwise), within
// its output limits (400 outside): operator role (or the OUT tag's write
// role). Audited as loop.out with the old, new and read-back value.
func (s *Service) LoopOutput(ctx context.Context, who Principal, name string, v float64, reason string) (LoopView, error) {
	return s.loopCommand(who, name, "loop.out", number(v), reason, hmi.RoleOperator, "set the output of loop "+name, func(l *control.Loop, ev *hmi.Event) error {
		_, _, out := l.Tags()
		ev.Old = number(l.State().Out)
		if out >= 0 {
			if need := writeRole(s.db.Def(out)); !who.Role.Allows(need) {
				return errorf(CodeForbidden, nil, "%s may not set the output of loop %s: it needs the %s role", who.User, name, need)
			}
		}
		if target, _ := l.Mode(); target != control.Manual {
			return errorf(CodeConflict, control.ErrNotManual, "loop %s is in %s: switch it to manual to set its output", name, target)
		}
		lo, hi := l.OutputLimits()
		if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
			return errorf(CodeInvalid, nil, "output %s is outside the limits of loop %s (%s)", number(v), name, limitsText(lo, hi))
		}
		if out >= 0 {
			if err := s.interlocked(out, hmi.Number(v)); err != nil {
				return err
			}
		}
		if err := l.SetManualOutput(v); err != nil {
			return errorf(CodeConflict, err, "loop %s: %v", name, err)
		}
		if out < 0 {
			ev.Readback = ev.New
			return nil
		}
		_, err := s.writeReadBack(ctx, out, hmi.Number(v), ev)
		return err
	})
}

// TuningChange is a change of a loop's gains; nil fields keep theirs.
type TuningChange struct {
	Kp, Ti, Td *float64
}

// String lists the gains given, e.g. "kp=2 ti=20".
func (c TuningChange) String() string {
	var parts []string
	for _, f := range []struct {
		name string
		v    *float64
	}{{"kp", c.Kp}, {"ti", c.Ti}, {"td", c.Td}} {
		if f.v != nil {
			parts = append(parts, f.name+"="+number(*f.v))
		}
	}
	return strings.Join(parts, " ")
}

func number(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// LoopTuning changes a loop's gains, bumplessly: engineer role; kp finite
// and not 0, ti and td finite and 0 or more (ti 0: no integral). The
// change lasts until edgehmi restarts: put it into the project file to
// keep it. Audited as loop.tuning with the old and new gains.
func (s *Service) LoopTuning(who Principal, name string, c TuningChange, reason string) (LoopView, error) {
	return s.loopCommand(who, name, "loop.tuning", c.String(), reason, hmi.RoleEngineer, "tune loop "+name, func(l *control.Loop, ev *hmi.Event) error {
		old := l.Tuning()
		ev.Old = old.String()
		t := old
		for _, f := range []struct {
			name string
			in   *float64
			out  *float64
		}{{"kp", c.Kp, &t.Kp}, {"ti", c.Ti, &t.Ti}, {"td", c.Td, &t.Td}} {
			if f.in != nil {
				*f.out = *f.in
			}
		}
		ev.New = t.String()
		switch {
		case c.Kp == nil && c.Ti == nil && c.Td == nil:
			return errorf(CodeInvalid, nil, "give kp, ti or td")
		case !finite(t.Kp) || !finite(t.Ti) || !finite(t.Td):
			return errorf(CodeInvalid, nil, "kp, ti and td must be numbers")
		case t.Kp == 0:
			return errorf(CodeInvalid, nil, "kp must not be 0")
		case t.Ti < 0 || t.Td < 0:
			return errorf(CodeInvalid, nil, "ti and td must be 0 or more (ti 0 turns the integral off)")
		}
		l.SetTuning(t)
		return nil
	})
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func limitsText(lo, hi float64) string {
	f := func(v float64) string {
		if math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return f(lo) + ".." + f(hi)
}

// Pulse presses a push button: writes 1 (true) to a tag, then 0 (false)
// after d: 0 is the tag's momentary setting, or config.DefaultPulse;
// between config.MinPulse and MaxPulse. It checks roles and interlocks
// like a write, answers when the button is released, and is audited once,
// as pulse. The release is written even if the caller goes away.
func (s *Service) Pulse(ctx context.Context, who Principal, name string, d time.Duration, reason string) (TagView, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: name, User: who.User, Address: who.Address, Action: "pulse", New: "1", Reason: reason}
	res, err := s.pulse(ctx, who, name, d, &ev)
	s.audit(ev, err)
	return res, err
}

func (s *Service) pulse(ctx context.Context, who Principal, name string, d time.Duration, ev *hmi.Event) (TagView, error) {
	if err := require(who, hmi.RoleOperator, "press "+name); err != nil {
		return TagView{}, err
	}
	i, ok := s.db.Lookup(name)
	if !ok {
		return TagView{}, errorf(CodeNotFound, tags.ErrUnknownTag, "there is no tag %q", name)
	}
	def := s.db.Def(i)
	if need := writeRole(def); !who.Role.Allows(need) {
		return TagView{}, errorf(CodeForbidden, nil, "%s may not press %s: it needs the %s role", who.User, name, need)
	}
	switch {
	case d == 0 && def.Momentary.Duration > 0:
		d = def.Momentary.Duration
	case d == 0:
		d = config.DefaultPulse
	}
	if d < config.MinPulse || d > config.MaxPulse {
		return TagView{}, errorf(CodeInvalid, nil, "a pulse lasts %v to %v, not %v", config.MinPulse, config.MaxPulse, d)
	}
	ev.Old = s.db.Get(i).Value.Text()
	ev.Detail = fmt.Sprintf("pulse of %v", d)
	on, off := control.TagValue(def, 1), control.TagValue(def, 0)
	if err := s.interlocked(i, on); err != nil {
		return TagView{}, err
	}
	if _, err := s.writer.Write(ctx, i, on); err != nil {
		return TagView{}, err
	}
	// The release must happen, whatever the caller does meanwhile.
	t := time.NewTimer(d)
	<-t.C
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	watch := s.db.Subscribe()
	defer s.db.Unsubscribe(watch)
	raw, err := s.writer.Write(rctx, i, off)
	if err != nil {
		return TagView{}, errorf(CodeOf(err), err, "%s was pressed, but its release failed, so it may still be pressed: %v", name, err)
	}
	smp := s.readBack(rctx, i, s.db.ToEng(i, raw), watch, def.Device)
	ev.Readback = smp.Value.Text()
	return s.view(i, smp), nil
}
