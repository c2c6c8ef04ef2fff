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

// alarmPublishEvery bounds how often evaluation publishes the alarm list:
// in a storm the list (megabytes of JSON for thousands of alarms) is built
// at most this often, and clients get the newest. Operators' actions
// publish at once.
const alarmPublishEvery = 100 * time.Millisecond

// alarmRunner evaluates the project's alarms on every tag change (value,
// quality, setpoints and suppression conditions alike) and on a tick,
// carries out operators' actions on them (Act), journals each transition
// in the alarm journal, and publishes the alarm list to websocket clients.
type alarmRunner struct {
	db    *tags.DB
	store *store.Store
	hub   *web.Hub
	log   *slog.Logger
	sub   *tags.Set
	devs  []*poll.Device // the devices comm alarms watch

	mu        sync.Mutex // guards set, which is not safe for concurrent use, trs, dirty and published
	set       *alarm.Set
	trs       []alarm.Transition // scratch for one evaluation
	dirty     bool               // the alarm list changed since it was last published
	published time.Time          // when it was

	pubMu sync.Mutex // publications one at a time: the newest list is published last
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

// Act implements api.AlarmSource: op runs on the set under the lock; its
// transitions are journaled, errors or not, and the alarm list is
// published at once (an action may change the summary alone, as a silence
// does).
func (r *alarmRunner) Act(op func(set *alarm.Set, now time.Time) ([]alarm.Transition, error)) error {
	var err error
	r.update(func(trs []alarm.Transition, now time.Time) []alarm.Transition {
		var got []alarm.Transition
		got, err = op(r.set, now)
		return append(trs, got...)
	})
	r.publish()
	return err
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

// Run evaluates the alarms on tag changes and ticks until ctx ends, and
// publishes the alarm list when it changed, at most every
// alarmPublishEvery.
func (r *alarmRunner) Run(ctx context.Context) {
	defer r.db.Unsubscribe(r.sub)
	tick := time.NewTicker(alarmTick)
	defer tick.Stop()
	pub := time.NewTimer(alarmPublishEvery)
	pub.Stop()
	defer pub.Stop()
	armed := false
	// settle publishes a changed list if the last publication is long
	// enough ago, or arms pub for when it will be.
	settle := func() {
		if wait, dirty := r.due(); dirty && !armed {
			if wait <= 0 {
				r.publish()
			} else {
				pub.Reset(wait)
				armed = true
			}
		}
	}
	r.publish() // the summary, for clients that connect before any change
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
		case <-pub.C:
			armed = false
		}
		settle()
	}
}

// linkUp tells a comm alarm whether a device's link is up: connected, or
// not failed yet (starting).
func linkUp(d *poll.Device) bool {
	st := d.Stats()
	return st.Connected || st.LastError == ""
}

// update runs eval on the set at the current time, then journals the
// transitions, and marks the alarm list changed if there were any.
// Journaling under the lock keeps each alarm's transitions in the journal
// in the order they happened.
func (r *alarmRunner) update(eval func([]alarm.Transition, time.Time) []alarm.Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	trs := eval(r.trs[:0], time.Now())
	r.trs = trs
	if len(trs) == 0 {
		return
	}
	r.dirty = true
	r.store.Journal(trs...)
	for _, tr := range trs {
		r.store.Log(journalEvent(tr))
	}
}

// due reports whether the alarm list changed since it was published, and
// how long until it may be published again.
func (r *alarmRunner) due() (wait time.Duration, dirty bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return alarmPublishEvery - time.Since(r.published), r.dirty
}

// publish sends the alarm list and summary to websocket clients.
func (r *alarmRunner) publish() {
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	r.mu.Lock()
	active, sum := r.set.Active(), r.set.Summary()
	r.dirty, r.published = false, time.Now()
	r.mu.Unlock()
	r.hub.SetAlarms(alarmsMessage(active, sum))
}

// journalEvent is a transition as a line of the event log (kind alarm),
// which API.md's events endpoint lists; the alarm journal is the record
// of alarm history and KPIs.
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
