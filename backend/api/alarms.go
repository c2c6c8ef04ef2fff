package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// MaxAckNames bounds the alarms one "acknowledge all visible" names.
const MaxAckNames = 10000

// Audit actions of the alarm operations; the audited object is the
// alarm's name ("horn" for the silence, "alarms" for an "acknowledge all"
// refused as a whole).
const (
	ActionAlarmAck             = "alarm.ack"
	ActionAlarmShelve          = "alarm.shelve"
	ActionAlarmUnshelve        = "alarm.unshelve"
	ActionAlarmReset           = "alarm.reset"
	ActionAlarmOutOfService    = "alarm.out_of_service"
	ActionAlarmReturnToService = "alarm.return_to_service"
	ActionAlarmSilence         = "alarm.silence"

	alarmHornSource = "horn"
	alarmsSource    = "alarms"
)

// The KPI definitions (ISA-18.2, EEMUA 191), with one operator position:
// "per operator per 10 minutes" is per 10 minutes.
const (
	defaultKPISpan   = 24 * time.Hour   // the period when none is given
	kpiWindow        = 10 * time.Minute // fixed windows, aligned to the Unix epoch
	kpiFloodAbove    = 10               // activations in a window above which it is a flood
	kpiChatterBurst  = 3                // activations of one alarm ...
	kpiChatterWithin = time.Minute      // ... within this long make it chattering
	kpiStandingAfter = 24 * time.Hour   // active longer than this: standing
	kpiTop           = 10               // the most frequent alarms listed
)

// alarmOp is an operation on the alarm set, run under the alarm runner's
// lock at now.
type alarmOp = func(set *alarm.Set, now time.Time) ([]alarm.Transition, error)

// describeAlarm is an alarm's state for the audit trail: its state, and
// its flags in brackets, e.g. "unacked (shelved)".
func describeAlarm(s alarm.Snapshot) string {
	if f := s.Flags(); f != 0 {
		return s.State.String() + " (" + f.String() + ")"
	}
	return s.State.String()
}

// alarmError turns an error of the alarm set into one with a code.
func alarmError(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, alarm.ErrUnknownAlarm):
		return errorf(CodeNotFound, err, "there is no alarm %q", name)
	case errors.Is(err, alarm.ErrShelveDuration):
		return errorf(CodeInvalid, err, "%v", err)
	case errors.Is(err, alarm.ErrNothingToAck), errors.Is(err, alarm.ErrNothingToReset), errors.Is(err, alarm.ErrNotShelved),
		errors.Is(err, alarm.ErrAlreadyOutOfService), errors.Is(err, alarm.ErrNotOutOfService):
		return errorf(CodeConflict, err, "%v", err)
	}
	return errorf(CodeInternal, err, "alarm %q: %v", name, err)
}

// alarmAction runs op on the alarm called name for who, who needs role
// need; valid checks the request first. The action is audited whatever
// its outcome, with the alarm's state before and after.
func (s *Service) alarmAction(who Principal, need hmi.Role, action, what, name, comment string, valid func() error, op alarmOp, detail func(after alarm.Snapshot) string) (alarm.Snapshot, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: name, User: who.User, Address: who.Address, Action: action, Reason: comment}
	after, err := s.alarmAct(who, need, what, name, valid, op, &ev)
	if err == nil && detail != nil {
		ev.Detail = detail(after)
	}
	s.audit(ev, err)
	return after, err
}

func (s *Service) alarmAct(who Principal, need hmi.Role, what, name string, valid func() error, op alarmOp, ev *hmi.Event) (alarm.Snapshot, error) {
	if err := require(who, need, what+" alarm "+quote(name)); err != nil {
		return alarm.Snapshot{}, err
	}
	if valid != nil {
		if err := valid(); err != nil {
			return alarm.Snapshot{}, err
		}
	}
	var before, after alarm.Snapshot
	err := s.alarms.Act(func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
		var ok bool
		if before, ok = set.Get(name); !ok {
			return nil, fmt.Errorf("alarm %q: %w", name, alarm.ErrUnknownAlarm)
		}
		trs, err := op(set, now)
		after, _ = set.Get(name)
		return trs, err
	})
	if before.Name != "" {
		ev.Old = describeAlarm(before)
		ev.New = describeAlarm(after)
	}
	if err != nil {
		return alarm.Snapshot{}, alarmError(name, err)
	}
	return after, nil
}

func quote(name string) string { return fmt.Sprintf("%q", name) }

// AckAlarm acknowledges an alarm (operator role), with an optional comment.
// 404 unknown alarm, 409 nothing to acknowledge.
func (s *Service) AckAlarm(ctx context.Context, who Principal, name, comment string) (alarm.Snapshot, error) {
	return s.alarmAction(who, hmi.RoleOperator, ActionAlarmAck, "acknowledge", name, comment, nil,
		func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			return set.Ack(name, who.User, comment, now)
		}, nil)
}

// AckResult is what "acknowledge all visible" did: the alarms acknowledged,
// and why the others were not.
type AckResult struct {
	Acked   []string          `json:"acked"`
	Skipped map[string]string `json:"skipped"`
}

// AckAlarms acknowledges the named alarms (the ones an operator sees; at
// most MaxAckNames) that wait for an acknowledgement, and skips the others
// with the reason (someone may have acknowledged them meanwhile). Each
// alarm's acknowledgement is audited, skipped ones too.
func (s *Service) AckAlarms(ctx context.Context, who Principal, names []string, comment string) (AckResult, error) {
	res := AckResult{Acked: []string{}, Skipped: map[string]string{}}
	refuse := func(err error) (AckResult, error) {
		s.store.Log(hmi.Event{Kind: hmi.EventAudit, Source: alarmsSource, User: who.User, Address: who.Address, Action: ActionAlarmAck,
			Reason: comment, Result: err.Error(), Detail: fmt.Sprintf("acknowledge %d alarms", len(names))})
		return AckResult{}, err
	}
	if err := require(who, hmi.RoleOperator, "acknowledge alarms"); err != nil {
		return refuse(err)
	}
	switch {
	case len(names) == 0:
		return refuse(errorf(CodeInvalid, nil, `name the alarms to acknowledge in "names"`))
	case len(names) > MaxAckNames:
		return refuse(errorf(CodeInvalid, nil, "acknowledge at most %d alarms at once, not %d", MaxAckNames, len(names)))
	}
	var audit []hmi.Event
	err := s.alarms.Act(func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
		var trs []alarm.Transition
		seen := make(map[string]bool, len(names))
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			ev := hmi.Event{Kind: hmi.EventAudit, Source: name, User: who.User, Address: who.Address, Action: ActionAlarmAck, Reason: comment}
			before, ok := set.Get(name)
			if !ok {
				res.Skipped[name] = alarm.ErrUnknownAlarm.Error()
				ev.Result = fmt.Sprintf("there is no alarm %q", name)
				audit = append(audit, ev)
				continue
			}
			got, err := set.Ack(name, who.User, comment, now)
			trs = append(trs, got...)
			after, _ := set.Get(name)
			ev.Old, ev.New = describeAlarm(before), describeAlarm(after)
			switch {
			case errors.Is(err, alarm.ErrNothingToAck):
				res.Skipped[name] = alarm.ErrNothingToAck.Error()
				ev.Result = err.Error()
			case err != nil:
				res.Skipped[name] = err.Error()
				ev.Result = err.Error()
			default:
				res.Acked = append(res.Acked, name)
				ev.Result = "ok"
			}
			audit = append(audit, ev)
		}
		return trs, nil
	})
	for _, ev := range audit {
		s.store.Log(ev)
	}
	if err != nil {
		return AckResult{}, errorf(CodeInternal, err, "acknowledging alarms failed: %v", err)
	}
	return res, nil
}

// ShelveRequest is an operator's shelve: for Minutes, or one-shot (until
// the alarm next returns to normal, at most its max_shelve; Minutes is
// then not used), with a reason.
type ShelveRequest struct {
	Minutes float64
	OneShot bool
	Reason  string
}

// ShelveAlarm shelves an alarm (operator role). The reason is required;
// the duration must be above 0 (unless one-shot) and at most the alarm's
// max_shelve.
func (s *Service) ShelveAlarm(ctx context.Context, who Principal, name string, req ShelveRequest) (alarm.Snapshot, error) {
	reason := strings.TrimSpace(req.Reason)
	d := alarm.OneShot
	if !req.OneShot {
		d = time.Duration(math.MaxInt64) // longer than any maximum
		if m := req.Minutes * float64(time.Minute); m < math.MaxInt64 {
			d = time.Duration(m)
		}
	}
	valid := func() error {
		switch {
		case reason == "":
			return errorf(CodeInvalid, nil, "give a reason to shelve alarm %q", name)
		case !req.OneShot && !(d > 0):
			return errorf(CodeInvalid, nil, "shelve alarm %q for more than 0 minutes, or one-shot", name)
		}
		return nil
	}
	return s.alarmAction(who, hmi.RoleOperator, ActionAlarmShelve, "shelve", name, reason, valid,
		func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			return set.Shelve(name, who.User, reason, d, now)
		},
		func(after alarm.Snapshot) string {
			until := time.UnixMilli(after.ShelvedUntil).UTC().Format(time.RFC3339)
			if req.OneShot {
				return "one-shot: until the alarm returns to normal, at the latest " + until
			}
			return fmt.Sprintf("for %s, until %s", d, until)
		})
}

// UnshelveAlarm ends a shelve (operator role). 409 if not shelved.
func (s *Service) UnshelveAlarm(ctx context.Context, who Principal, name, reason string) (alarm.Snapshot, error) {
	return s.alarmAction(who, hmi.RoleOperator, ActionAlarmUnshelve, "unshelve", name, reason, nil,
		func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			return set.Unshelve(name, who.User, reason, now)
		}, nil)
}

// ResetAlarm resets a latched alarm that has returned and been
// acknowledged (operator role). 409 if there is nothing to reset.
func (s *Service) ResetAlarm(ctx context.Context, who Principal, name, comment string) (alarm.Snapshot, error) {
	return s.alarmAction(who, hmi.RoleOperator, ActionAlarmReset, "reset", name, comment, nil,
		func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			return set.Reset(name, who.User, comment, now)
		}, nil)
}

// RemoveAlarmFromService takes an alarm out of service (engineer role); the
// reason is required. 409 if it is out of service already.
func (s *Service) RemoveAlarmFromService(ctx context.Context, who Principal, name, reason string) (alarm.Snapshot, error) {
	reason = strings.TrimSpace(reason)
	valid := func() error {
		if reason == "" {
			return errorf(CodeInvalid, nil, "give a reason to take alarm %q out of service", name)
		}
		return nil
	}
	return s.alarmAction(who, hmi.RoleEngineer, ActionAlarmOutOfService, "take out of service", name, reason, valid,
		func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			return set.RemoveFromService(name, who.User, reason, now)
		}, nil)
}

// ReturnAlarmToService returns an alarm to service (engineer role). 409
// if it is in service.
func (s *Service) ReturnAlarmToService(ctx context.Context, who Principal, name, reason string) (alarm.Snapshot, error) {
	return s.alarmAction(who, hmi.RoleEngineer, ActionAlarmReturnToService, "return to service", name, reason, nil,
		func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			return set.ReturnToService(name, who.User, reason, now)
		}, nil)
}

// SilenceHorn silences the horn until an alarm next activates (operator
// role), audited, and returns the summary.
func (s *Service) SilenceHorn(ctx context.Context, who Principal) (alarm.Summary, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: alarmHornSource, User: who.User, Address: who.Address, Action: ActionAlarmSilence}
	if err := require(who, hmi.RoleOperator, "silence the horn"); err != nil {
		ev.Result = err.Error()
		s.store.Log(ev)
		return alarm.Summary{}, err
	}
	var sum alarm.Summary
	err := s.alarms.Act(func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
		ev.Old, ev.New = "quiet", "quiet"
		if set.Silence(now) {
			ev.Old, ev.New = "sounding", "silenced"
		}
		sum = set.Summary()
		return nil, nil
	})
	s.audit(ev, err)
	if err != nil {
		return alarm.Summary{}, errorf(CodeInternal, err, "silencing the horn failed: %v", err)
	}
	return sum, nil
}

// AlarmHistory returns alarm journal rows, newest first, to a logged-in
// user.
func (s *Service) AlarmHistory(ctx context.Context, who Principal, q store.JournalQuery) ([]store.JournalRow, error) {
	if err := require(who, hmi.RoleViewer, "read the alarm history"); err != nil {
		return nil, err
	}
	rows, err := s.store.JournalRows(ctx, q)
	if err != nil {
		return nil, errorf(CodeInternal, err, "reading the alarm journal failed: %v", err)
	}
	return rows, nil
}

// AlarmKPI are the ISA-18.2 / EEMUA 191 performance figures of the alarm
// system over [From, To), from the alarm journal (docs/api.md defines
// them). Times are Unix milliseconds.
type AlarmKPI struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Activations the operator saw: those of alarms shelved, suppressed
	// or out of service at the time are in HiddenActivations only.
	Activations       int     `json:"activations"`
	HiddenActivations int     `json:"hidden_activations"`
	Per10MinAvg       float64 `json:"per_10min_avg"`
	Per10MinPeak      int     `json:"per_10min_peak"`
	// Per10MinPeakAt is when the (first) busiest window began; 0 if none.
	Per10MinPeakAt int64             `json:"per_10min_peak_at"`
	FloodPeriods   []FloodPeriod     `json:"flood_periods"`
	FloodPercent   float64           `json:"flood_percent"`
	Standing       []StandingAlarm   `json:"standing"`
	Chattering     []ChatteringAlarm `json:"chattering"`
	Top10          []FrequentAlarm   `json:"top10"`
}

// FloodPeriod is a run of adjacent 10-minute windows each with more than
// 10 activations.
type FloodPeriod struct {
	From  int64 `json:"from"`
	To    int64 `json:"to"`
	Count int   `json:"count"`
}

// StandingAlarm is an alarm active for more than 24 hours.
type StandingAlarm struct {
	Name     string         `json:"name"`
	Priority alarm.Priority `json:"priority"`
	Area     string         `json:"area"`
	Since    int64          `json:"since"`
}

// ChatteringAlarm is an alarm that activated 3 or more times within 60 s.
type ChatteringAlarm struct {
	Name  string `json:"name"`
	Count int    `json:"count"` // its activations in the period
}

// FrequentAlarm is one of the most frequent alarms.
type FrequentAlarm struct {
	Name     string `json:"name"`
	Priority string `json:"priority"`
	Area     string `json:"area"`
	Count    int    `json:"count"`
}

// AlarmKPIs computes the alarm system's performance figures over [from, to)
// for a logged-in user; zero times default to the last 24 hours before
// now (or before to, or from from to now).
func (s *Service) AlarmKPIs(ctx context.Context, who Principal, from, to time.Time) (AlarmKPI, error) {
	if err := require(who, hmi.RoleViewer, "read the alarm KPIs"); err != nil {
		return AlarmKPI{}, err
	}
	now := time.Now()
	switch {
	case from.IsZero() && to.IsZero():
		to = now
		from = to.Add(-defaultKPISpan)
	case from.IsZero():
		from = to.Add(-defaultKPISpan)
	case to.IsZero():
		to = now
	}
	if !from.Before(to) {
		return AlarmKPI{}, errorf(CodeInvalid, nil, "from (%s) must be before to (%s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	act, err := s.store.Activations(ctx, store.ActivationQuery{From: from, To: to, Window: kpiWindow,
		Burst: kpiChatterBurst, BurstWithin: kpiChatterWithin, Describe: kpiTop})
	if err != nil {
		return AlarmKPI{}, errorf(CodeInternal, err, "reading the alarm journal failed: %v", err)
	}
	k := computeKPI(act, from, to)
	k.Standing = standing(s.alarms.Alarms(true), now)
	return k, nil
}

// computeKPI turns the journal's counts over [from, to) into the figures.
func computeKPI(act store.Activations, from, to time.Time) AlarmKPI {
	k := AlarmKPI{From: from.UnixMilli(), To: to.UnixMilli(), Activations: act.Total, HiddenActivations: act.Hidden,
		FloodPeriods: []FloodPeriod{}, Standing: []StandingAlarm{}, Chattering: []ChatteringAlarm{}, Top10: []FrequentAlarm{}}
	span := to.Sub(from)
	k.Per10MinAvg = round2(float64(act.Total) / (float64(span) / float64(kpiWindow)))
	var flooded time.Duration
	for _, w := range act.Windows {
		if w.Count > k.Per10MinPeak {
			k.Per10MinPeak, k.Per10MinPeakAt = w.Count, w.Start.UnixMilli()
		}
		if w.Count <= kpiFloodAbove {
			continue
		}
		// The window, clipped to the period.
		start, end := w.Start, w.Start.Add(kpiWindow)
		start, end = maxTime(start, from), minTime(end, to)
		flooded += end.Sub(start)
		if n := len(k.FloodPeriods); n > 0 && k.FloodPeriods[n-1].To == start.UnixMilli() {
			k.FloodPeriods[n-1].To = end.UnixMilli()
			k.FloodPeriods[n-1].Count += w.Count
			continue
		}
		k.FloodPeriods = append(k.FloodPeriods, FloodPeriod{From: start.UnixMilli(), To: end.UnixMilli(), Count: w.Count})
	}
	k.FloodPercent = round2(100 * float64(flooded) / float64(span))
	for i, a := range act.Alarms {
		if i < kpiTop {
			k.Top10 = append(k.Top10, FrequentAlarm{Name: a.Alarm, Priority: a.Priority, Area: a.Area, Count: a.Count})
		}
		if a.Chattering {
			k.Chattering = append(k.Chattering, ChatteringAlarm{Name: a.Alarm, Count: a.Count})
		}
	}
	return k
}

// standing lists the alarms the operator sees that have been active for
// more than a day at now, the oldest first.
func standing(all []alarm.Snapshot, now time.Time) []StandingAlarm {
	out := []StandingAlarm{}
	for _, a := range all {
		if a.Active && !a.Flags().Hidden() && a.Since > 0 && now.Sub(time.UnixMilli(a.Since)) > kpiStandingAfter {
			out = append(out, StandingAlarm{Name: a.Name, Priority: a.Priority, Area: a.Area, Since: a.Since})
		}
	}
	slices.SortFunc(out, func(x, y StandingAlarm) int {
		if c := cmp.Compare(x.Since, y.Since); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
