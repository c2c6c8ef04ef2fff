package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
	"github.com/edgehmi/edgehmi/backend/web"
)

// alarmTick is how often the alarm runner brings the alarms' timers (on-
// and off-delays, shelve expiry, rates of change) up to date and looks at
// the devices' links for comm alarms.
const alarmTick = 250 * time.Millisecond

// alarmRunner evaluates the project's alarms on every tag change (value,
// quality, setpoints and suppression conditions alike) and on a tick,
// journals each transition, and publishes the alarm list to websocket
// clients.
type alarmRunner struct {
	db    *tags.DB
	store *store.Store
	hub   *web.Hub
	log   *slog.Logger
	sub   *tags.Set
	devs  []*poll.Device // the devices comm alarms watch

	mu  sync.Mutex // guards set, which is not safe for concurrent use, and trs
	set *alarm.Set
	trs []alarm.Transition // scratch for one evaluation
}

func newAlarmRunner(defs []config.Alarm, db *tags.DB, devices map[string]*poll.Device, st *store.Store, hub *web.Hub, log *slog.Logger) (*alarmRunner, error) {
	set, err := alarm.NewSet(defs)
	if err != nil {
		return nil, err
	}
	r := &alarmRunner{db: db, store: st, hub: hub, log: log, set: set, sub: db.Subscribe()}
	seen := map[string]bool{}
	for _, d := range defs {
		// A disabled device has no poller: its comm alarm stays normal.
		if dev := devices[d.Device]; d.Type == "comm" && dev != nil && !seen[d.Device] {
			seen[d.Device] = true
			r.devs = append(r.devs, dev)
		}
	}
	return r, nil
}

// Alarms implements api.AlarmSource.
func (r *alarmRunner) Alarms(all bool) []alarm.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if all {
		return r.set.All()
	}
	return r.set.Active()
}

func (r *alarmRunner) Run(ctx context.Context) {
	defer r.db.Unsubscribe(r.sub)
	tick := time.NewTicker(alarmTick)
	defer tick.Stop()
	var ids []int
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.sub.C():
			ids = r.sub.Take(ids[:0])
			r.update(func(trs []alarm.Transition, now time.Time) []alarm.Transition {
				for _, i := range ids {
					trs = r.set.Evaluate(trs, r.db.Def(i).Name, r.db.Get(i), now)
				}
				return trs
			})
		case <-tick.C:
			r.update(func(trs []alarm.Transition, now time.Time) []alarm.Transition {
				for _, d := range r.devs {
					trs = r.set.EvaluateDevice(trs, d.Name(), linkUp(d), now)
				}
				return r.set.Tick(trs, now)
			})
		}
	}
}

// linkUp tells a comm alarm whether a device's link is up: connected, or
// not failed yet (starting).
func linkUp(d *poll.Device) bool {
	st := d.Stats()
	return st.Connected || st.LastError == ""
}

// update runs eval on the set at the current time, then journals the
// transitions and publishes the alarm list if there were any.
func (r *alarmRunner) update(eval func([]alarm.Transition, time.Time) []alarm.Transition) {
	r.mu.Lock()
	trs := eval(r.trs[:0], time.Now())
	r.trs = trs
	var msg []byte
	if len(trs) > 0 {
		msg = alarmsMessage(r.set.Active(), r.set.Summary())
		for _, tr := range trs {
			r.store.Log(journalEvent(tr))
		}
	}
	r.mu.Unlock()
	if msg != nil {
		r.hub.SetAlarms(msg)
	}
}

// journalEvent is a transition as a line of the event log (kind alarm).
func journalEvent(tr alarm.Transition) hmi.Event {
	ev := hmi.Event{TS: tr.At, Kind: hmi.EventAlarm, Source: tr.Alarm, Action: tr.Kind.String(),
		Old: tr.From.String(), New: tr.To.String(), User: tr.User, Reason: tr.Comment, Detail: tr.Message}
	if !math.IsNaN(tr.Value) && !math.IsInf(tr.Value, 0) {
		ev.Readback = strconv.FormatFloat(tr.Value, 'g', -1, 64)
	}
	if tr.Flags != 0 {
		ev.Detail += " (" + tr.Flags.String() + ")"
	}
	return ev
}

func alarmsMessage(active []alarm.Snapshot, sum alarm.Summary) []byte {
	b, err := json.Marshal(struct {
		Type    string           `json:"type"`
		Alarms  []alarm.Snapshot `json:"alarms"`
		Summary alarm.Summary    `json:"summary"`
	}{"alarms", active, sum})
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}
