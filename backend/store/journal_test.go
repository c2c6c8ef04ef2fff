package store

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// base is a time on a 10-minute boundary of the Unix epoch
// (2026-01-01T00:00:00Z).
var base = time.UnixMilli(1_767_225_600_000)

func activate(name string, at time.Time) alarm.Transition {
	return alarm.Transition{Alarm: name, Kind: alarm.Activate, From: alarm.Normal, To: alarm.Unacked, Value: 1, At: at,
		Priority: alarm.High, Area: "area-" + name, Message: name + " is on"}
}

func TestJournalRowsAndFilters(t *testing.T) {
	s, _ := run(t, t.TempDir())
	ctx := context.Background()
	s.Journal(
		alarm.Transition{Alarm: "T101.LevelHi", Kind: alarm.Activate, From: alarm.Normal, To: alarm.Unacked, Value: 86.5, At: base,
			Priority: alarm.High, Area: "T101", Message: "Tank T101 level high", Flags: alarm.FlagFirstOut},
		alarm.Transition{Alarm: "T101.LevelHi", Kind: alarm.Ack, From: alarm.Unacked, To: alarm.Acked, Value: 86.5, At: base.Add(time.Second),
			User: "ann", Comment: "checking the inlet", Priority: alarm.High, Area: "T101", Message: "Tank T101 level high", Flags: alarm.FlagFirstOut},
		alarm.Transition{Alarm: "plc1/comm:x", Kind: alarm.Activate, From: alarm.Normal, To: alarm.Unacked, Value: math.NaN(), At: base.Add(2 * time.Second),
			Priority: alarm.Critical, Area: "plc1", Message: "PLC 1 lost"},
		alarm.Transition{Alarm: "plc1/comm:x", Kind: alarm.Shelve, From: alarm.Unacked, To: alarm.Unacked, Value: math.NaN(), At: base.Add(3 * time.Second),
			User: "bob", Comment: "=cable work", Priority: alarm.Critical, Area: "plc1", Message: "PLC 1 lost", Flags: alarm.FlagShelved | alarm.FlagFirstOut},
	)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := s.JournalRows(ctx, JournalQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("%d rows, want 4", len(all))
	}
	sh, ack := all[0], all[2]
	if sh.Kind != "shelve" || sh.User != "bob" || sh.Comment != "=cable work" || sh.Value != nil || !slices.Equal(sh.Flags, []string{"shelved", "first_out"}) ||
		sh.From != "unacked" || sh.To != "unacked" || sh.Priority != "critical" || !sh.TS.Equal(base.Add(3*time.Second)) {
		t.Errorf("newest row = %+v", sh)
	}
	if ack.Kind != "ack" || ack.User != "ann" || ack.Comment != "checking the inlet" || ack.Value == nil || *ack.Value != 86.5 ||
		ack.From != "unacked" || ack.To != "acked" || ack.Area != "T101" || ack.Message != "Tank T101 level high" {
		t.Errorf("ack row = %+v", ack)
	}
	if all[3].ID >= all[2].ID || all[2].ID >= all[1].ID {
		t.Errorf("ids not in the order written: %d %d %d", all[3].ID, all[2].ID, all[1].ID)
	}
	b, _ := ack.MarshalJSON()
	if !strings.Contains(string(b), `"ts":1767225601000`) || !strings.Contains(string(b), `"value":86.5`) || !strings.Contains(string(b), `"flags":["first_out"]`) {
		t.Errorf("JSON %s", b)
	}
	b, _ = all[1].MarshalJSON()
	if !strings.Contains(string(b), `"value":null`) || !strings.Contains(string(b), `"flags":[]`) {
		t.Errorf("JSON of a row without value or flags: %s", b)
	}

	for _, c := range []struct {
		name string
		q    JournalQuery
		want []string // kinds, newest first
	}{
		{"alarm", JournalQuery{Alarm: "T101.LevelHi"}, []string{"ack", "activate"}},
		{"alarm with a slash", JournalQuery{Alarm: "plc1/comm:x"}, []string{"shelve", "activate"}},
		{"area", JournalQuery{Area: "plc1"}, []string{"shelve", "activate"}},
		{"priority", JournalQuery{Priorities: []string{"high"}}, []string{"ack", "activate"}},
		{"priorities", JournalQuery{Priorities: []string{"high", "critical"}}, []string{"shelve", "activate", "ack", "activate"}},
		{"kind", JournalQuery{Kinds: []string{"activate"}}, []string{"activate", "activate"}},
		{"kinds", JournalQuery{Kinds: []string{"ack", "shelve"}}, []string{"shelve", "ack"}},
		{"from", JournalQuery{From: base.Add(time.Second)}, []string{"shelve", "activate", "ack"}},
		{"to", JournalQuery{To: base.Add(time.Second)}, []string{"ack", "activate"}},
		{"from to", JournalQuery{From: base.Add(time.Second), To: base.Add(2 * time.Second)}, []string{"activate", "ack"}},
		{"limit", JournalQuery{Limit: 1}, []string{"shelve"}},
		{"nothing", JournalQuery{Alarm: "nope"}, []string{}},
		{"combined", JournalQuery{Area: "T101", Kinds: []string{"ack"}, Priorities: []string{"high"}}, []string{"ack"}},
	} {
		rows, err := s.JournalRows(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := []string{}
		for _, r := range rows {
			got = append(got, r.Kind)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: kinds %v, want %v", c.name, got, c.want)
		}
	}
}

func TestJournalIsAppendOnly(t *testing.T) {
	s, _ := run(t, t.TempDir())
	s.Journal(activate("A", base))
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE alarm_journal SET user = 'mallory'", "DELETE FROM alarm_journal"} {
		if _, err := s.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
	rows, _ := s.JournalRows(context.Background(), JournalQuery{})
	if len(rows) != 1 || rows[0].User != "" {
		t.Errorf("rows after tampering attempts = %+v", rows)
	}
}

// TestJournalAndEventsShareTheWriter: events and journal entries queued in
// any order are all committed, by the one writer, and Stop commits what is
// queued.
func TestJournalAndEventsShareTheWriter(t *testing.T) {
	dir := t.TempDir()
	s, stop := run(t, dir)
	for i := range 3000 {
		s.Log(hmi.Event{Kind: hmi.EventSystem, Action: fmt.Sprint(i)})
		s.Journal(activate(fmt.Sprint("A", i), base.Add(time.Duration(i)*time.Millisecond)))
	}
	stop()
	if st := s.Stats(); st.Journaled != 3000 || st.Pending != 0 || st.Dropped != 0 || st.LastCommit.IsZero() {
		t.Errorf("stats after stop: %+v", st)
	}
	s2, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var events, journal int
	s2.db.QueryRow("SELECT count(*) FROM events").Scan(&events)
	s2.db.QueryRow("SELECT count(*) FROM alarm_journal").Scan(&journal)
	if events != 3000 || journal != 3000 {
		t.Errorf("%d events and %d journal rows in the file, want 3000 each", events, journal)
	}
}

// TestMigrationKeepsEvents opens a version 2 database holding events and
// migrates it: the events stay, the journal is empty.
func TestMigrationKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Back to version 2, as a database written before the journal was.
	for _, q := range []string{"DROP TABLE alarm_journal", "DROP TABLE history", "DROP TABLE history_1m", "DROP TABLE history_tags", "PRAGMA user_version = 2",
		"INSERT INTO events(ts, kind, source, action) VALUES (1, 'alarm', 'A', 'activate')"} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s, err = Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v, events, journal int
	s.db.QueryRow("PRAGMA user_version").Scan(&v)
	s.db.QueryRow("SELECT count(*) FROM events").Scan(&events)
	if err := s.db.QueryRow("SELECT count(*) FROM alarm_journal").Scan(&journal); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) || events != 1 || journal != 0 {
		t.Errorf("after migration: version %d, %d events, %d journal rows", v, events, journal)
	}
}

// TestJournalQueryPlans checks that every journal query reads an index,
// never the whole table.
func TestJournalQueryPlans(t *testing.T) {
	s, _ := run(t, t.TempDir())
	type plan struct {
		query string
		args  []any
		index string
	}
	plans := []plan{
		{activationsHiddenSQL, []any{0, 1}, "COVERING INDEX alarm_journal_activations"},
		{activationsSQL, []any{0, 1}, "COVERING INDEX alarm_journal_activations"},
		{describeAlarmSQL, []any{"A", 0, 1}, "INDEX alarm_journal_alarm_ts"},
	}
	for _, c := range []struct {
		q     JournalQuery
		index string
	}{
		{JournalQuery{From: base, To: base.Add(time.Hour)}, "INDEX alarm_journal_ts"},
		{JournalQuery{}, "INDEX alarm_journal_ts"},
		{JournalQuery{Alarm: "A", From: base}, "INDEX alarm_journal_alarm_ts"},
		{JournalQuery{Area: "T101", From: base}, "INDEX alarm_journal_area_ts"},
		{JournalQuery{Kinds: []string{"ack"}, From: base}, "INDEX alarm_journal_kind_ts"},
	} {
		q, args := journalSQL(c.q)
		plans = append(plans, plan{q, args, c.index})
	}
	for _, p := range plans {
		rows, err := s.db.Query("EXPLAIN QUERY PLAN "+p.query, p.args...)
		if err != nil {
			t.Fatalf("%s: %v", p.query, err)
		}
		var lines []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		rows.Close()
		all := strings.Join(lines, "; ")
		if !strings.Contains(all, p.index) {
			t.Errorf("%s\nplan: %s\nwant %s", p.query, all, p.index)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "SCAN alarm_journal") && !strings.Contains(l, "INDEX") {
				t.Errorf("%s\nscans the table: %s", p.query, all)
			}
		}
		if strings.Contains(p.query, "ORDER BY") && strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s\nsorts: %s", p.query, all)
		}
	}
}

// TestActivations counts a crafted journal: windows, hidden activations,
// alarms by count, chattering at its boundary.
func TestActivations(t *testing.T) {
	s, _ := run(t, t.TempDir())
	at := func(m float64) time.Time { return base.Add(time.Duration(m * float64(time.Minute))) }
	var trs []alarm.Transition
	burst := func(name string, start time.Time, n int, every time.Duration) {
		for i := range n {
			trs = append(trs, activate(name, start.Add(time.Duration(i)*every)))
		}
	}
	burst("A", at(0), 12, 45*time.Second)                         // window 0: 12
	burst("B", at(10), 11, 50*time.Second)                        // window 1: 11
	burst("C", at(20), 3, 20*time.Second)                         // window 2: 3, chattering
	burst("A", at(40), 11, 50*time.Second)                        // window 4: 11
	burst("D", at(50), 10, 55*time.Second)                        // window 5: 10
	burst("E", at(60), 3, 30*time.Second)                         // window 6: the third 60 s after the first: chattering
	burst("F", at(61), 3, 30*time.Second)                         // window 6
	trs[len(trs)-1].At = trs[len(trs)-1].At.Add(time.Millisecond) // F: 60.001 s: not chattering
	hidden := activate("D", at(55))
	hidden.Flags = alarm.FlagShelved
	outOfService := activate("G", at(56))
	outOfService.Flags = alarm.FlagOutOfService | alarm.FlagFirstOut
	trs = append(trs, hidden, outOfService,
		activate("X", at(-0.001)), activate("X", at(70)), // outside [from, to)
		alarm.Transition{Alarm: "A", Kind: alarm.Return, At: at(1), Priority: alarm.High},
		alarm.Transition{Alarm: "A", Kind: alarm.Ack, At: at(2), Priority: alarm.High})
	// The journal is written in time order per alarm, not overall.
	s.Journal(trs...)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := s.Activations(context.Background(), ActivationQuery{From: at(0), To: at(70), Window: 10 * time.Minute,
		Burst: 3, BurstWithin: time.Minute, Describe: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a.Total != 53 || a.Hidden != 2 {
		t.Errorf("total %d hidden %d, want 53 and 2", a.Total, a.Hidden)
	}
	var windows []string
	for _, w := range a.Windows {
		windows = append(windows, fmt.Sprintf("%g:%d", w.Start.Sub(base).Minutes(), w.Count))
	}
	if got, want := strings.Join(windows, " "), "0:12 10:11 20:3 40:11 50:10 60:6"; got != want {
		t.Errorf("windows %s, want %s", got, want)
	}
	var alarms []string
	for _, c := range a.Alarms {
		alarms = append(alarms, fmt.Sprintf("%s:%d:%v", c.Alarm, c.Count, c.Chattering))
	}
	if got, want := strings.Join(alarms, " "), "A:23:false B:11:false D:10:false C:3:true E:3:true F:3:false"; got != want {
		t.Errorf("alarms %s, want %s", got, want)
	}
	if a.Alarms[0].Priority != "high" || a.Alarms[0].Area != "area-A" || a.Alarms[1].Area != "area-B" || a.Alarms[2].Area != "" {
		t.Errorf("described: %+v", a.Alarms[:3])
	}
	if _, err := s.Activations(context.Background(), ActivationQuery{From: at(0), To: at(70)}); err == nil {
		t.Error("no window: no error")
	}
}

// weekOfJournal writes n journal rows over the 7 days before end: alarm
// occurrences (activate, ack, return) of 2,000 alarms, a few alarms far
// more often than the rest, as plants have them; one occurrence in 20 of a
// shelved alarm.
func weekOfJournal(tb testing.TB, s *Store, n int, end time.Time) {
	tb.Helper()
	const alarms = 2000
	start := end.Add(-7 * 24 * time.Hour)
	step := 7 * 24 * time.Hour / time.Duration(n/3)
	batch := make([]alarm.Transition, 0, 3000)
	x := uint64(88172645463325252)
	for i := 0; i < n/3; i++ {
		x ^= x << 13 // xorshift: the same journal every run
		x ^= x >> 7
		x ^= x << 17
		k := int(x % alarms)
		if x%3 == 0 {
			k %= 20 // a third of the occurrences are of 20 bad actors
		}
		name := fmt.Sprintf("Area%02d.Alarm%04d", k%40, k)
		at := start.Add(time.Duration(i) * step)
		tr := alarm.Transition{Alarm: name, Kind: alarm.Activate, From: alarm.Normal, To: alarm.Unacked, Value: float64(k), At: at,
			Priority: alarm.Priority(k % 4), Area: fmt.Sprintf("Area%02d", k%40), Message: name + " high"}
		if x%20 == 0 {
			tr.Flags = alarm.FlagShelved
		}
		ack := tr
		ack.Kind, ack.From, ack.To, ack.At, ack.User, ack.Comment = alarm.Ack, alarm.Unacked, alarm.Acked, at.Add(step/3), "operator", "seen"
		ret := ack
		ret.Kind, ret.From, ret.To, ret.At, ret.User, ret.Comment = alarm.Return, alarm.Acked, alarm.Normal, at.Add(2*step/3), "", ""
		batch = append(batch, tr, ack, ret)
		if len(batch) == cap(batch) {
			s.Journal(batch...)
			batch = batch[:0]
			if s.Pending() > 200000 {
				if err := s.Flush(context.Background()); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	s.Journal(batch...)
	if err := s.Flush(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkJournal measures the alarm journal's write rate: transitions
// queued in batches of 100 (a busy alarm runner) and committed by the
// writer.
func BenchmarkJournal(b *testing.B) {
	s, _ := run(b, b.TempDir())
	trs := make([]alarm.Transition, 100)
	for i := range trs {
		trs[i] = activate(fmt.Sprint("Area.Alarm", i), base)
		trs[i].User, trs[i].Comment = "operator", "a comment of some length"
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		s.Journal(trs...)
		n += len(trs)
	}
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkJournalWeek queries a week of journal (EDGEHMI_BENCH_JOURNAL_ROWS
// rows, default 1,000,000): the KPIs' activations over the week and over
// its last day, and the history's newest 200 rows, unfiltered and by area,
// alarm and kind.
func BenchmarkJournalWeek(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("EDGEHMI_BENCH_JOURNAL_ROWS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	s, _ := run(b, b.TempDir())
	end := base.Add(7 * 24 * time.Hour)
	t0 := time.Now()
	weekOfJournal(b, s, n, end)
	b.Logf("%d journal rows written in %v", n, time.Since(t0).Round(time.Millisecond))
	for _, c := range []struct {
		name string
		from time.Time
	}{{"activations_week", base}, {"activations_day", end.Add(-24 * time.Hour)}} {
		b.Run(c.name, func(b *testing.B) {
			q := ActivationQuery{From: c.from, To: end, Window: 10 * time.Minute, Burst: 3, BurstWithin: time.Minute, Describe: 10}
			var a Activations
			for b.Loop() {
				var err error
				if a, err = s.Activations(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(a.Total+a.Hidden), "activations")
			b.ReportMetric(float64(len(a.Alarms)), "alarms")
		})
	}
	for _, c := range []struct {
		name string
		q    JournalQuery
	}{
		{"history", JournalQuery{From: base, To: end}},
		{"history_area", JournalQuery{From: base, To: end, Area: "Area07"}},
		{"history_alarm", JournalQuery{From: base, To: end, Alarm: "Area07.Alarm0007"}},
		{"history_rare_kind", JournalQuery{From: base, To: end, Kinds: []string{"shelve"}}},
		{"history_priority", JournalQuery{From: base, To: end, Priorities: []string{"critical"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var rows []JournalRow
			for b.Loop() {
				var err error
				if rows, err = s.JournalRows(context.Background(), c.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows)), "rows")
		})
	}
}
