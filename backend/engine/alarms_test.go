package engine

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// TestAlarmsFollowLinksQualityAndSetpoints runs the demo with a comm alarm
// on plc1, a bad-quality alarm on one of its tags and a deviation alarm
// between TIC101's PV and SP: the runner feeds them the device's link, the
// tags' quality and the setpoint, and journals their transitions.
func TestAlarmsFollowLinksQualityAndSetpoints(t *testing.T) {
	p := demoProject(t)
	p.Alarms = append(p.Alarms,
		config.Alarm{Name: "plc1.comm", Type: "comm", Device: "plc1", Priority: "critical"},
		config.Alarm{Name: "T101.Level.bad", Tag: "T101.Level", Type: "bad_quality"},
		config.Alarm{Name: "TIC101.dev", Tag: "TIC101.PV", Type: "deviation", Setpoint: "TIC101.SP", Limit: 1e-9},
	)
	dir := t.TempDir()
	e, err := Start(context.Background(), Options{Project: p, DataDir: dir, Listen: "127.0.0.1:0", Demo: true,
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
	state := func(name string) alarm.State {
		for _, a := range e.alarms.Alarms(true) {
			if a.Name == name {
				return a.State
			}
		}
		t.Fatalf("no alarm %s", name)
		return 0
	}
	waitFor(t, 10*time.Second, "T101.Level good", func() bool { return quality(e, "T101.Level") == hmi.Good })
	// PV and SP are never exactly equal: the deviation alarm needs both.
	waitFor(t, 10*time.Second, "the deviation alarm", func() bool { return state("TIC101.dev") != alarm.Normal })
	if s := state("plc1.comm"); s != alarm.Normal {
		t.Fatalf("plc1.comm is %v while connected", s)
	}

	if err := e.Sim().StopModbus(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the comm alarm", func() bool { return state("plc1.comm") == alarm.Unacked })
	waitFor(t, 5*time.Second, "the bad quality alarm", func() bool { return state("T101.Level.bad") == alarm.Unacked })
	// The published list has both, with the summary.
	var msg struct {
		Alarms  []alarm.Snapshot `json:"alarms"`
		Summary alarm.Summary    `json:"summary"`
	}
	e.alarms.mu.Lock()
	b := alarmsMessage(e.alarms.set.Active(), e.alarms.set.Summary())
	e.alarms.mu.Unlock()
	if err := json.Unmarshal(b, &msg); err != nil || msg.Summary.Unacked.Critical < 1 || !msg.Summary.Horn || len(msg.Alarms) < 2 {
		t.Fatalf("alarms message %s: %v", b, err)
	}

	if err := e.Sim().StartModbus(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the comm alarm's return", func() bool { return state("plc1.comm") == alarm.RTNUnacked })
	waitFor(t, 10*time.Second, "the bad quality alarm's return", func() bool { return state("T101.Level.bad") == alarm.RTNUnacked })

	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The alarm journal has them, and the event log lists them too.
	rows, err := st.JournalRows(context.Background(), store.JournalQuery{Alarm: "plc1.comm", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].Kind != "activate" || rows[0].Kind != "return" || rows[0].From != "unacked" || rows[0].To != "rtn_unacked" ||
		rows[0].Priority != "critical" || rows[0].Value != nil {
		t.Errorf("journal of plc1.comm: %+v", rows)
	}
	ev, err := st.Events(context.Background(), store.EventQuery{Kind: "alarm", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, x := range ev {
		seen[x.Source+"/"+x.Action+"/"+x.Old+">"+x.New]++
	}
	for _, want := range []string{"plc1.comm/activate/normal>unacked", "plc1.comm/return/unacked>rtn_unacked",
		"T101.Level.bad/activate/normal>unacked", "T101.Level.bad/return/unacked>rtn_unacked"} {
		if seen[want] != 1 {
			t.Errorf("event log has %d %s: %v", seen[want], want, seen)
		}
	}
}

func TestJournalEvent(t *testing.T) {
	at := time.UnixMilli(1740816000123)
	ev := journalEvent(alarm.Transition{Alarm: "T101.LevelHi", Kind: alarm.Ack, From: alarm.Unacked, To: alarm.Acked,
		Value: 86.5, At: at, User: "ann", Comment: "checking", Message: "Tank T101 level high", Flags: alarm.FlagFirstOut})
	if ev.Kind != "alarm" || ev.Source != "T101.LevelHi" || ev.Action != "ack" || ev.Old != "unacked" || ev.New != "acked" ||
		ev.Readback != "86.5" || ev.User != "ann" || ev.Reason != "checking" || ev.Detail != "Tank T101 level high (first_out)" || !ev.TS.Equal(at) {
		t.Errorf("journal event %+v", ev)
	}
	ev = journalEvent(alarm.Transition{Alarm: "plc1.comm", Kind: alarm.Activate, To: alarm.Unacked, Value: math.NaN(), Message: "m"})
	if ev.Readback != "" || ev.Detail != "m" {
		t.Errorf("no value: %+v", ev)
	}
}
