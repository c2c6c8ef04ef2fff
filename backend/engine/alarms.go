package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
	"github.com/edgehmi/edgehmi/backend/web"
)

// alarmRunner evaluates the project's alarms on every tag change, journals
// each transition, and publishes the alarm list to websocket clients.
type alarmRunner struct {
	db    *tags.DB
	store *store.Store
	hub   *web.Hub
	log   *slog.Logger
	sub   *tags.Set

	mu  sync.Mutex // guards set, which is not safe for concurrent use
	set *alarm.Set
}

func newAlarmRunner(defs []config.Alarm, db *tags.DB, st *store.Store, hub *web.Hub, log *slog.Logger) (*alarmRunner, error) {
	set, err := alarm.NewSet(defs)
	if err != nil {
		return nil, err
	}
	return &alarmRunner{db: db, store: st, hub: hub, log: log, set: set, sub: db.Subscribe()}, nil
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
	var ids []int
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.sub.C():
		}
		ids = r.sub.Take(ids[:0])
		now := time.Now()
		var trs []alarm.Transition
		r.mu.Lock()
		for _, i := range ids {
			trs = append(trs, r.set.Evaluate(r.db.Def(i).Name, r.db.Get(i), now)...)
		}
		var msg []byte
		if len(trs) > 0 {
			msg = alarmsMessage(r.set.Active())
		}
		r.mu.Unlock()
		for _, tr := range trs {
			r.store.Log(hmi.Event{TS: tr.At, Kind: hmi.EventAlarm, Source: tr.Alarm, Action: tr.To.String(),
				Old: tr.From.String(), New: strconv.FormatFloat(tr.Value, 'g', -1, 64), User: tr.User, Detail: tr.Comment})
		}
		if msg != nil {
			r.hub.SetAlarms(msg)
		}
	}
}

func alarmsMessage(active []alarm.Snapshot) []byte {
	b, err := json.Marshal(struct {
		Type   string           `json:"type"`
		Alarms []alarm.Snapshot `json:"alarms"`
	}{"alarms", active})
	if err != nil {
		panic(err) // plain structs: cannot fail
	}
	return b
}
