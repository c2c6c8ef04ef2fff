package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// run opens a store in a temp dir and runs its writer until the test ends.
func run(t testing.TB, dir string) (*Store, context.CancelFunc) {
	t.Helper()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	for { // Flush refuses a writer that is not running yet
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if running {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(func() { stop(); s.Close() })
	return s, stop
}

func TestLogFlushQuery(t *testing.T) {
	s, _ := run(t, t.TempDir())
	base := time.UnixMilli(1_700_000_000_000)
	for i := range 5000 {
		kind := hmi.EventDevice
		if i%2 == 0 {
			kind = hmi.EventAudit
		}
		s.Log(hmi.Event{TS: base.Add(time.Duration(i) * time.Millisecond), Kind: kind, Source: fmt.Sprint("d", i%3), Action: "x", New: fmt.Sprint(i)})
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	all, err := s.Events(context.Background(), EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5000 {
		t.Fatalf("got %d events, want 5000", len(all))
	}
	if all[0].New != "4999" || !all[0].TS.Equal(base.Add(4999*time.Millisecond)) {
		t.Errorf("newest = %+v, want event 4999 first", all[0])
	}
	audit, err := s.Events(context.Background(), EventQuery{Kind: hmi.EventAudit, From: base.Add(1000 * time.Millisecond), To: base.Add(1999 * time.Millisecond), Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 500 {
		t.Errorf("audit events in [1000,1999] ms = %d, want 500", len(audit))
	}
	for _, e := range audit {
		if e.Kind != hmi.EventAudit {
			t.Fatalf("kind filter let %q through", e.Kind)
		}
	}
}

func TestStopCommitsPending(t *testing.T) {
	dir := t.TempDir()
	s, stop := run(t, dir)
	for i := range 1000 {
		s.Log(hmi.Event{Kind: hmi.EventSystem, Action: fmt.Sprint(i)})
	}
	stop() // like SIGTERM: the writer must commit everything queued
	s2, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Events(context.Background(), EventQuery{Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 {
		t.Errorf("after stop %d events in the file, want 1000", len(got))
	}
}

func TestMigrationIsIdempotentAndRefusesNewer(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		s, err := Open(context.Background(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	s, _ := Open(context.Background(), dir, nil)
	if _, err := s.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(context.Background(), dir, nil); err == nil {
		t.Fatal("opened a database with a newer schema")
	}
	if filepath.Base(filepath.Join(dir, FileName)) != "edgehmi.db" {
		t.Fatal("file name changed")
	}
}

func TestUsers(t *testing.T) {
	s, _ := run(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.User(ctx, "ann"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing user: err = %v, want ErrNotFound", err)
	}
	if err := s.PutUser(ctx, User{Name: "ann", Role: hmi.RoleOperator, Hash: "h1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUser(ctx, User{Name: "ann", Role: hmi.RoleEngineer, Hash: "h2", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != hmi.RoleEngineer || u.Hash != "h2" || !u.Disabled {
		t.Errorf("user = %+v", u)
	}
}

func BenchmarkLog(b *testing.B) {
	s, _ := run(b, b.TempDir())
	ev := hmi.Event{Kind: hmi.EventAlarm, Source: "T101.LevelHi", Action: "unacked", New: "87.5", Detail: "Tank T101 level high"}
	start := time.Now()
	for b.Loop() {
		s.Log(ev)
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func TestAuditTrailIsAppendOnly(t *testing.T) {
	s, _ := run(t, t.TempDir())
	ctx := context.Background()
	if err := s.Append(ctx, hmi.Event{Kind: hmi.EventAudit, Source: "TIC101.SP", User: "op", Action: "write", Old: "60", New: "70"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, hmi.Event{Kind: hmi.EventDevice, Source: "plc1", Action: "connect"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE events SET new = '99' WHERE kind = 'audit'", "DELETE FROM events WHERE kind = 'audit'"} {
		if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
	if _, err := s.db.Exec("DELETE FROM events WHERE kind = 'device'"); err != nil {
		t.Errorf("other events must stay deletable (retention): %v", err)
	}
	got, _ := s.Events(ctx, EventQuery{User: "op", Action: "write"})
	if len(got) != 1 || got[0].New != "70" {
		t.Errorf("audit row after tampering attempts = %+v", got)
	}
}

// BenchmarkAuditLatency measures what the audit trail adds to a write: the
// Log call on the write path (the insert itself happens in the writer's
// batch), while the writer commits a steady stream of other events.
func BenchmarkAuditLatency(b *testing.B) {
	s, _ := run(b, b.TempDir())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // background load: 10,000 events/s
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				for range 10 {
					s.Log(hmi.Event{Kind: hmi.EventDevice, Source: "plc1", Action: "poll"})
				}
			}
		}
	})
	lat := make([]time.Duration, 0, b.N)
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "TIC101.SP", User: "operator", Address: "10.0.0.7", Action: "write", Old: "60", New: "75", Readback: "75", Result: "ok"}
	for b.Loop() {
		t0 := time.Now()
		s.Log(ev)
		lat = append(lat, time.Since(t0))
		time.Sleep(100 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1000, "max-µs")
}
