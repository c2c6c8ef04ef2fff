package tags

import (
	"errors"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

func ptr(f float64) *float64 { return &f }

func testDB() *DB {
	return New([]config.Tag{
		{Name: "level", Device: "plc", Type: "uint16", Scale: &config.Scale{RawLow: 0, RawHigh: 10000, EngLow: 0, EngHigh: 100}, Deadband: 0.5},
		{Name: "valve", Device: "plc", Type: "bool", Writable: true},
		{Name: "sp", Device: "ua", Type: "double", Writable: true, Low: ptr(20), High: ptr(110), Unit: "°C"},
	})
}

func rd(i int, v hmi.Value) driver.Reading {
	return driver.Reading{Index: i, Sample: hmi.Sample{Value: v, Quality: hmi.Good, TS: time.UnixMilli(1)}}
}

func TestIngestScalesAndAppliesDeadband(t *testing.T) {
	db := testDB()
	sub := db.Subscribe()
	db.Ingest([]driver.Reading{rd(0, hmi.Number(5000))}, nil)
	if got := db.Get(0); got.Value.Float() != 50 || got.Quality != hmi.Good {
		t.Fatalf("level = %+v, want 50 good", got)
	}
	if got := sub.Take(nil); len(got) != 1 || got[0] != 0 {
		t.Fatalf("first read: changed %v, want [0]", got)
	}
	// 50 -> 50.3: inside the 0.5 deadband: stored, not published.
	db.Ingest([]driver.Reading{rd(0, hmi.Number(5030))}, nil)
	if got := sub.Take(nil); len(got) != 0 {
		t.Errorf("change inside deadband published: %v", got)
	}
	if got := db.Get(0).Value.Float(); got != 50.3 {
		t.Errorf("current = %v, want 50.3 stored", got)
	}
	// 50 -> 50.6: outside the deadband measured from the last published value.
	db.Ingest([]driver.Reading{rd(0, hmi.Number(5060))}, nil)
	if got := sub.Take(nil); len(got) != 1 {
		t.Errorf("change past deadband not published: %v", got)
	}
}

func TestMarkBadKeepsValueAndPublishesOnce(t *testing.T) {
	db := testDB()
	db.Ingest([]driver.Reading{rd(1, hmi.Bool(true))}, nil)
	sub := db.Subscribe()
	db.MarkBad([]int{1}, "connection refused", time.UnixMilli(2))
	db.MarkBad([]int{1}, "connection refused", time.UnixMilli(3))
	if got := sub.Take(nil); len(got) != 1 {
		t.Errorf("changed %v, want one publication", got)
	}
	s := db.Get(1)
	if s.Quality != hmi.Bad || s.Reason != "connection refused" || !s.Value.Truth() {
		t.Errorf("sample = %+v, want Bad with reason and last value true", s)
	}
}

func TestSetConflates(t *testing.T) {
	s := NewSet(200)
	for range 1000 {
		s.Add(3, 150, 3)
	}
	select {
	case <-s.C():
	default:
		t.Fatal("no signal after Add")
	}
	if got := s.Take(nil); len(got) != 2 || got[0] != 3 || got[1] != 150 {
		t.Errorf("Take = %v, want [3 150]", got)
	}
	if s.Len() != 0 {
		t.Errorf("Len after Take = %d", s.Len())
	}
	s.Add(-1, 200, 9999) // out of range: ignored
	if s.Len() != 0 {
		t.Errorf("out-of-range indexes were added")
	}
}

func TestToRaw(t *testing.T) {
	db := testDB()
	cases := []struct {
		tag  int
		v    hmi.Value
		want hmi.Value
		err  error
	}{
		{2, hmi.Number(75), hmi.Number(75), nil},
		{2, hmi.Number(500), hmi.Value{}, ErrBadValue},
		{2, hmi.Number(19.9), hmi.Value{}, ErrBadValue},
		{2, hmi.String("hot"), hmi.Value{}, ErrBadValue},
		{1, hmi.Bool(true), hmi.Bool(true), nil},
		{1, hmi.Number(1), hmi.Value{}, ErrBadValue},
		{0, hmi.Number(5), hmi.Value{}, ErrNotWritable},
	}
	for _, c := range cases {
		got, err := db.ToRaw(c.tag, c.v)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("ToRaw(%s, %v) = %v, %v; want %v, %v", db.Def(c.tag).Name, c.v, got, err, c.want, c.err)
		}
	}
	// Scaled tags invert the scale.
	db2 := New([]config.Tag{{Name: "s", Type: "uint16", Writable: true, Scale: &config.Scale{RawHigh: 1000, EngHigh: 100}}})
	if got, _ := db2.ToRaw(0, hmi.Number(30)); got.Float() != 300 {
		t.Errorf("scaled ToRaw(30) = %v, want 300", got)
	}
}

func BenchmarkIngest(b *testing.B) {
	defs := make([]config.Tag, 1000)
	for i := range defs {
		defs[i] = config.Tag{Name: string(rune('a'+i%26)) + string(rune(i)), Type: "uint16"}
	}
	db := New(defs)
	sub := db.Subscribe()
	rs := make([]driver.Reading, len(defs))
	var changed []int
	var buf []int
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		for i := range rs {
			rs[i] = rd(i, hmi.Number(float64(n+i)))
		}
		changed = db.Ingest(rs, changed)
		buf = sub.Take(buf[:0])
	}
	b.ReportMetric(float64(len(defs)), "values/op")
}

func TestDeadbandPercentOfSpan(t *testing.T) {
	db := New([]config.Tag{{Name: "p", Type: "double", Low: ptr(0), High: ptr(200), DeadbandPercent: 1}}) // 2 units
	sub := db.Subscribe()
	for _, c := range []struct {
		v       float64
		publish bool
	}{{100, true}, {101.9, false}, {98.1, false}, {102.1, true}, {100.2, false}, {100, true}} {
		db.Ingest([]driver.Reading{rd(0, hmi.Number(c.v))}, nil)
		if got := len(sub.Take(nil)) == 1; got != c.publish {
			t.Errorf("value %v: published %v, want %v", c.v, got, c.publish)
		}
	}
}

// The database keeps samples compactly (time as Unix nanoseconds, the
// deadband reference as a number); what comes out must be what went in.
func TestSamplesKeepTimeAndKindChangesPublish(t *testing.T) {
	db := New([]config.Tag{{Name: "x", Device: "ua", Type: "variant", Deadband: 10}})
	if got := db.Get(0); !got.TS.IsZero() || got.Quality != hmi.Bad || got.Reason == "" {
		t.Fatalf("before the first read: %+v, want Bad with a reason and no time", got)
	}
	sub := db.Subscribe()
	ts := time.Date(2026, 11, 25, 8, 0, 0, 123456789, time.UTC)
	steps := []struct {
		v       hmi.Value
		publish bool
	}{
		{hmi.Number(1), true},
		{hmi.Number(5), false},      // inside the deadband of 1
		{hmi.String("five"), true},  // a change of kind always publishes
		{hmi.String("five"), false}, // the same text
		{hmi.String("six"), true},
		{hmi.Number(5), true}, // back to a number: a change of kind again
		{hmi.Number(14), false},
		{hmi.Number(16), true}, // past 10 from the 5 last published
	}
	for k, st := range steps {
		ts = ts.Add(time.Second)
		db.Ingest([]driver.Reading{{Index: 0, Sample: hmi.Sample{Value: st.v, Quality: hmi.Good, TS: ts}}}, nil)
		if got := len(sub.Take(nil)) == 1; got != st.publish {
			t.Errorf("step %d (%v): published %v, want %v", k, st.v.Text(), got, st.publish)
		}
		if got := db.Get(0); got.Value != st.v || !got.TS.Equal(ts) {
			t.Errorf("step %d: sample %v at %v, want %v at %v", k, got.Value.Text(), got.TS, st.v.Text(), ts)
		}
	}
}

func TestCarryOver(t *testing.T) {
	old := New([]config.Tag{{Name: "a", Type: "uint16"}, {Name: "b", Type: "uint16"}, {Name: "c", Type: "uint16"}})
	now := time.Now()
	old.Ingest([]driver.Reading{
		{Index: 0, Sample: hmi.Sample{Value: hmi.Number(1), Quality: hmi.Good, TS: now}},
		{Index: 1, Sample: hmi.Sample{Value: hmi.Number(2), Quality: hmi.Good, TS: now}},
		{Index: 2, Sample: hmi.Sample{Value: hmi.Number(3), Quality: hmi.Good, TS: now}},
	}, nil)
	db := New([]config.Tag{{Name: "new", Type: "uint16"}, {Name: "c", Type: "uint16"}, {Name: "b", Type: "float32"}, {Name: "a", Type: "uint16"}})
	db.Ingest([]driver.Reading{{Index: 3, Sample: hmi.Sample{Value: hmi.Number(9), Quality: hmi.Good, TS: now}}}, nil)
	if n := db.CarryOver(old); n != 1 {
		t.Fatalf("carried %d, want 1 (c: b changed type, a was read already)", n)
	}
	for name, want := range map[string]float64{"a": 9, "c": 3} {
		if s, _ := db.GetByName(name); s.Value.Float() != want || s.Quality != hmi.Good {
			t.Errorf("%s = %+v, want %v", name, s, want)
		}
	}
	for _, name := range []string{"b", "new"} {
		if s, _ := db.GetByName(name); s.Quality != hmi.Bad {
			t.Errorf("%s = %+v, want not read yet", name, s)
		}
	}
}
