package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/auth"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
	"github.com/edgehmi/edgehmi/backend/web"
)

// stormAlarms is the size of the alarm storm of PRODUCT.md.
const stormAlarms = 10000

// BenchmarkAlarmStorm raises 10,000 alarms within one second through the
// engine's path: tag changes ("1s": 100 batches of 100, as drivers deliver
// them, 10 ms apart) → the alarm runner's set → the alarm journal in SQLite →
// the websocket hub's alarms message, read by a client over a real
// websocket. It reports how long after the last triggering change the
// last journal entry was committed and the client had the message listing
// all 10,000, and checks that every activation is in the journal. The
// time per op is the storm's, from its first change until both are done.
//
// "at_once" delivers the 10,000 changes in one batch instead.
func BenchmarkAlarmStorm(b *testing.B) {
	for _, c := range []struct {
		name    string
		batches int
	}{{"1s", 100}, {"at_once", 1}} {
		b.Run(c.name, func(b *testing.B) {
			var last stormResult
			for b.Loop() {
				last = storm(b, c.batches)
			}
			b.ReportMetric(float64(last.journaled), "journaled")
			b.ReportMetric(float64(last.dropped), "dropped")
			b.ReportMetric(last.spread.Seconds()*1000, "storm-ms")
			b.ReportMetric(last.commit.Seconds()*1000, "commit-ms")
			b.ReportMetric(last.message.Seconds()*1000, "message-ms")
			b.ReportMetric(float64(last.messageBytes)/1e6, "message-MB")
			b.ReportMetric(last.cpu.Seconds()*1000, "cpu-ms")
		})
	}
}

type stormResult struct {
	journaled, dropped int
	spread             time.Duration // from the first triggering change to the last
	commit, message    time.Duration // from the last triggering change
	messageBytes       int
	cpu                time.Duration // CPU time of the process, from the first change until both are done
}

func storm(b *testing.B, batches int) stormResult {
	b.StopTimer()
	defs := make([]config.Tag, stormAlarms)
	alarms := make([]config.Alarm, stormAlarms)
	for i := range defs {
		name := fmt.Sprintf("Line%02d.Unit%04d.Temp", i%50, i)
		defs[i] = config.Tag{Name: name, Device: "plc", Type: "double"}
		alarms[i] = config.Alarm{Name: name + ".Hi", Tag: name, Type: "hi", Limit: 80, Deadband: 2, Priority: []string{"low", "medium", "high", "critical"}[i%4],
			Area: fmt.Sprintf("Line%02d", i%50), Message: name + " high"}
	}
	db := tags.New(defs)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := b.TempDir()
	st, err := store.Open(context.Background(), dir, log)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.Run(ctx) })
	hub := web.NewHub(db)
	r, err := newAlarmRunner(alarms, db, nil, st, hub, log)
	if err != nil {
		b.Fatal(err)
	}
	au := auth.New(st, auth.Options{Cost: bcrypt.MinCost})
	svc := api.New(api.Info{Name: "storm"}, db, nil, st, au, r, driver.Env{DataDir: dir})
	srv := httptest.NewServer(web.New(svc, hub, web.Options{Log: log, Health: func() []string { return nil }}).Handler())
	wg.Go(func() { hub.Run(ctx) })
	wg.Go(func() { r.Run(ctx) })
	defer func() { srv.Close(); cancel(); wg.Wait(); st.Close() }()

	// Every tag at 20 first: the alarms know their value, and are normal.
	readings := make([]driver.Reading, stormAlarms)
	for i := range readings {
		readings[i] = driver.Reading{Index: i, Sample: hmi.Sample{Value: hmi.Number(20), Quality: hmi.Good, TS: time.Now()}}
	}
	db.Ingest(readings, nil)
	if err := st.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetReadLimit(64 << 20)
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","tags":["Line00.Unit0000.Temp"]}`)); err != nil {
		b.Fatal(err)
	}
	type frame struct {
		at   time.Time
		size int
	}
	all := make(chan frame, 1)
	wg.Go(func() {
		want := []byte(fmt.Sprintf(`"alarms":%d,`, stormAlarms)) // in the summary
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if bytes.HasPrefix(data, []byte(`{"type":"alarms"`)) && bytes.Contains(data, want) {
				all <- frame{time.Now(), len(data)}
				return
			}
		}
	})
	time.Sleep(100 * time.Millisecond) // the client's snapshot and first alarms message
	journaled0 := st.Stats().Journaled

	b.StartTimer()
	cpu0 := cpuTime()
	first := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(batches))
	batch := stormAlarms / batches
	var lastChange time.Time
	for k := 0; k < stormAlarms; k += batch {
		for i := k; i < k+batch; i++ {
			readings[i-k] = driver.Reading{Index: i, Sample: hmi.Sample{Value: hmi.Number(90), Quality: hmi.Good, TS: time.Now()}}
		}
		lastChange = time.Now()
		db.Ingest(readings[:batch], nil)
		if k+batch < stormAlarms {
			<-tick.C
		}
	}
	tick.Stop()
	var msg frame
	select {
	case msg = <-all:
	case <-time.After(30 * time.Second):
		b.Fatal("no alarms message with all 10,000 alarms in 30 s")
	}
	for st.Stats().Journaled-journaled0 < stormAlarms {
		if time.Since(lastChange) > 30*time.Second {
			b.Fatalf("%d of %d activations journaled after 30 s", st.Stats().Journaled-journaled0, stormAlarms)
		}
		time.Sleep(time.Millisecond)
	}
	stats := st.Stats()
	cpu := cpuTime() - cpu0
	b.StopTimer()

	rows, err := st.JournalRows(context.Background(), store.JournalQuery{Kinds: []string{"activate"}, From: first, Limit: store.JournalLimit})
	if err != nil {
		b.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, row := range rows {
		distinct[row.Alarm] = true
	}
	if len(rows) != stormAlarms || len(distinct) != stormAlarms || stats.Dropped != 0 {
		b.Fatalf("journal holds %d activations of %d alarms (%d dropped), want %d", len(rows), len(distinct), stats.Dropped, stormAlarms)
	}
	b.StartTimer() // b.Loop wants it running
	return stormResult{journaled: len(rows), dropped: int(stats.Dropped), spread: lastChange.Sub(first),
		commit: stats.LastCommit.Sub(lastChange), message: msg.at.Sub(lastChange), messageBytes: msg.size, cpu: cpu}
}
