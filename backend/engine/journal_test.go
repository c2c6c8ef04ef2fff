package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
	"github.com/edgehmi/edgehmi/backend/web"
)

// TestAlarmJournalEndToEnd runs the demo: the tank's level goes high, the
// alarm's activation is journaled; an operator acknowledges it over HTTP
// with a comment, journaled with the user and comment (and audited); the
// level comes back and the return is journaled.
func TestAlarmJournalEndToEnd(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(context.Background(), Options{Project: demoProject(t), DataDir: dir, Listen: "127.0.0.1:0", Demo: true,
		Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			e.Stop(context.Background())
		}
	}()
	state := func() alarm.State {
		for _, a := range e.alarms.Alarms(true) {
			if a.Name == "T101.LevelHi" {
				return a.State
			}
		}
		t.Fatal("no alarm T101.LevelHi")
		return 0
	}
	waitFor(t, 10*time.Second, "T101.Level good", func() bool { return quality(e, "T101.Level") == hmi.Good })
	e.Sim().Plant().SetLevel(90)
	waitFor(t, 5*time.Second, "T101.LevelHi active", func() bool { return state() == alarm.Unacked })

	post := func(path, body, token string) (int, []byte) {
		req, _ := http.NewRequest("POST", e.URL()+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := post("/api/v1/login", `{"user":"operator","password":"operator"}`, "")
	var me struct{ Token string }
	if err := json.Unmarshal(body, &me); code != 200 || err != nil {
		t.Fatalf("login: %d %s", code, body)
	}
	code, body = post("/api/v1/alarms/T101.LevelHi/ack", `{"comment":"inlet valve checked"}`, me.Token)
	var snap alarm.Snapshot
	if err := json.Unmarshal(body, &snap); code != 200 || err != nil || snap.State != alarm.Acked || snap.AckedBy != "operator" {
		t.Fatalf("ack: %d %s", code, body)
	}
	e.Sim().Plant().SetLevel(50)
	waitFor(t, 5*time.Second, "T101.LevelHi's return", func() bool { return state() == alarm.Normal })

	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.JournalRows(context.Background(), store.JournalQuery{Alarm: "T101.LevelHi"})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows)
	if len(rows) != 3 {
		t.Fatalf("journal of T101.LevelHi: %+v, want activate, ack, return", rows)
	}
	act, ack, ret := rows[0], rows[1], rows[2]
	if act.Kind != "activate" || act.From != "normal" || act.To != "unacked" || act.Value == nil || *act.Value < 85 || act.User != "" ||
		act.Priority != "high" || act.Area != "T101" || act.Message != "Tank T101 level high" {
		t.Errorf("activation journaled as %+v", act)
	}
	if ack.Kind != "ack" || ack.From != "unacked" || ack.To != "acked" || ack.User != "operator" || ack.Comment != "inlet valve checked" {
		t.Errorf("ack journaled as %+v", ack)
	}
	if ret.Kind != "return" || ret.From != "acked" || ret.To != "normal" || ret.Value == nil || *ret.Value >= 83 || ret.TS.Before(ack.TS) {
		t.Errorf("return journaled as %+v", ret)
	}
	audit, err := st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Action: "alarm.ack", Source: "T101.LevelHi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].User != "operator" || audit[0].Reason != "inlet valve checked" || audit[0].Result != "ok" ||
		audit[0].Old != "unacked" || audit[0].New != "acked" {
		t.Errorf("audit of the ack: %+v", audit)
	}
}

// TestJournalReplaysToState drives an alarm runner with random samples and
// random operator actions, then replays the journal: per alarm, each
// transition starts in the state the one before it ended in, the first in
// normal, and the last ends in the alarm's current state and hidden flags.
func TestJournalReplaysToState(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { replay(t, seed) })
	}
}

func replay(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	ms := func(n int) config.Duration { return config.Duration{Duration: time.Duration(n) * time.Millisecond} }
	defs := []config.Alarm{
		{Name: "L.Hi", Tag: "L", Type: "hi", Limit: 80, Deadband: 2, Group: "g"},
		{Name: "L.HiHi", Tag: "L", Type: "hihi", Limit: 90, Latched: true, Group: "g", OnDelay: ms(2)},
		{Name: "L.Lo", Tag: "L", Type: "lo", Limit: 10, OffDelay: ms(3), SuppressedBy: &config.Condition{Tag: "Run", Equals: 0}},
		{Name: "Fault", Tag: "F", Type: "discrete", Equals: 1, Latched: true, MaxShelve: ms(5)},
		{Name: "L.Bad", Tag: "L", Type: "bad_quality"},
		{Name: "L.Dev", Tag: "L", Type: "deviation", Setpoint: "SP", Limit: 30, Direction: "both"},
	}
	db := tags.New([]config.Tag{{Name: "L", Device: "d", Type: "double"}, {Name: "Run", Device: "d", Type: "bool"},
		{Name: "F", Device: "d", Type: "bool"}, {Name: "SP", Device: "d", Type: "double"}})
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.Run(ctx) })
	defer func() { cancel(); wg.Wait(); st.Close() }()
	hub := web.NewHub(db)
	r, err := newAlarmRunner(defs, db, nil, st, hub, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Unsubscribe(r.sub)

	names := []string{"L.Hi", "L.HiHi", "L.Lo", "Fault", "L.Bad", "L.Dev", "nope"}
	users := []string{"ann", "bob"}
	for step := range 3000 {
		if rng.IntN(10) < 6 {
			tag := []string{"L", "L", "L", "Run", "F", "SP"}[rng.IntN(6)]
			i, _ := db.Lookup(tag)
			smp := hmi.Sample{Value: hmi.Number(float64(rng.IntN(101))), Quality: hmi.Good, TS: time.Now()}
			switch {
			case tag == "Run" || tag == "F":
				smp.Value = hmi.Number(float64(rng.IntN(2)))
			case rng.IntN(8) == 0:
				smp.Quality = hmi.Bad
			}
			db.Ingest([]driver.Reading{{Index: i, Sample: smp}}, nil)
			r.update(func(trs []alarm.Transition, now time.Time) []alarm.Transition {
				return r.set.Evaluate(trs, tag, db.Get(i), now)
			})
			continue
		}
		name, user := names[rng.IntN(len(names))], users[rng.IntN(2)]
		comment := fmt.Sprint("step ", step)
		r.Act(func(set *alarm.Set, now time.Time) ([]alarm.Transition, error) {
			switch rng.IntN(8) {
			case 0, 1:
				return set.Ack(name, user, comment, now)
			case 2:
				return set.Reset(name, user, comment, now)
			case 3:
				d := alarm.OneShot
				if rng.IntN(2) == 0 {
					d = time.Duration(rng.IntN(6)) * time.Millisecond
				}
				return set.Shelve(name, user, comment, d, now)
			case 4:
				return set.Unshelve(name, user, comment, now)
			case 5:
				return set.RemoveFromService(name, user, comment, now)
			case 6:
				return set.ReturnToService(name, user, comment, now)
			default:
				set.Silence(now)
				return set.Tick(nil, now), nil
			}
		})
		if rng.IntN(20) == 0 {
			time.Sleep(time.Millisecond) // let delays and shelves run out
		}
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.Stats().Dropped != 0 {
		t.Fatal("journal entries dropped")
	}
	for _, a := range r.Alarms(true) {
		rows, err := st.JournalRows(context.Background(), store.JournalQuery{Alarm: a.Name, Limit: store.JournalLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == store.JournalLimit {
			t.Fatalf("%s: more rows than a query returns", a.Name)
		}
		slices.SortFunc(rows, func(x, y store.JournalRow) int { return int(x.ID - y.ID) })
		state, flags := "normal", alarm.Flags(0)
		for k, row := range rows {
			if row.From != state {
				t.Fatalf("%s: row %d (%s) starts in %s, but the journal left it in %s", a.Name, k, row.Kind, row.From, state)
			}
			if k > 0 && row.TS.Before(rows[k-1].TS) {
				t.Fatalf("%s: row %d is older than the one before", a.Name, k)
			}
			state = row.To
			if err := flags.UnmarshalText([]byte(strings.Join(row.Flags, ","))); err != nil {
				t.Fatal(err)
			}
		}
		hidden := alarm.FlagShelved | alarm.FlagSuppressed | alarm.FlagOutOfService
		if state != a.State.String() || flags&hidden != a.Flags()&hidden {
			t.Errorf("%s: the journal (%d rows) replays to %s (%s), the alarm is %s (%s)", a.Name, len(rows), state, flags&hidden, a.State, a.Flags()&hidden)
		}
		if len(rows) < 5 {
			t.Errorf("%s: only %d transitions: the sequence does not exercise it", a.Name, len(rows))
		}
	}
}
