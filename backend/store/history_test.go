package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

func TestRecorderDeadbandAndHeartbeat(t *testing.T) {
	r := NewRecorder([]RecordSpec{
		{Name: "A", On: true, Deadband: 0.5, Heartbeat: 10 * time.Second},
		{Name: "Off", On: false, Heartbeat: time.Second},
		{Name: "B", On: true, Heartbeat: 5 * time.Second},
	})
	t0 := time.UnixMilli(1_700_000_000_000)
	at := func(ms int64) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	good := func(v float64, ms int64) hmi.Sample {
		return hmi.Sample{Value: hmi.Number(v), Quality: hmi.Good, TS: at(ms)}
	}
	cur := map[int]hmi.Sample{0: good(0, 0), 1: good(0, 0), 2: {Value: hmi.Bool(false), Quality: hmi.Good, TS: at(0)}}
	get := func(i int) hmi.Sample { return cur[i] }
	type step struct {
		tag  int
		s    hmi.Sample
		now  int64
		beat bool // a heartbeat pass at now instead of an offer
	}
	steps := []step{
		{beat: true, now: 0},                  // first samples of A and B, not Off
		{tag: 0, s: good(0.4, 100), now: 100}, // within the deadband
		{tag: 0, s: good(0.6, 200), now: 200}, // 0.6 > 0.5: recorded
		{tag: 0, s: good(1.0, 300), now: 300}, // 0.4 from 0.6: not
		{tag: 0, s: good(1.2, 400), now: 400}, // 0.6 from 0.6: recorded
		{tag: 1, s: good(99, 400), now: 400},  // history off
		{tag: 0, s: hmi.Sample{Value: hmi.Number(1.2), Quality: hmi.Bad, Reason: "x", TS: at(500)}, now: 500}, // quality: recorded
		{tag: 0, s: hmi.Sample{Value: hmi.Number(1.2), Quality: hmi.Good, TS: at(400)}, now: 600},             // quality back; its TS is old: stamped now
		{tag: 2, s: hmi.Sample{Value: hmi.Bool(true), Quality: hmi.Good, TS: at(700)}, now: 700},              // a bool change
		{beat: true, now: 5000},  // B's last at 700: not yet (5 s heartbeat)
		{beat: true, now: 5700},  // B again at 5700
		{beat: true, now: 10600}, // A's last at 600: heartbeat at 10600; B at 10600 too (4900 < 5000? no: 10600-5700=4900)
		{beat: true, now: 10700}, // B: 5000 since 5700
	}
	var got []HistSample
	for _, s := range steps {
		if s.beat {
			got = r.Heartbeat(at(s.now), get, got)
			continue
		}
		cur[s.tag] = s.s
		got = r.Offer(s.tag, s.s, at(s.now), got)
	}
	base := t0.UnixMilli()
	want := []HistSample{
		{Tag: "A", TS: base, Value: 0, Quality: hmi.Good},
		{Tag: "B", TS: base, Value: 0, Quality: hmi.Good},
		{Tag: "A", TS: base + 200, Value: 0.6, Quality: hmi.Good},
		{Tag: "A", TS: base + 400, Value: 1.2, Quality: hmi.Good},
		{Tag: "A", TS: base + 500, Value: 1.2, Quality: hmi.Bad},
		{Tag: "A", TS: base + 600, Value: 1.2, Quality: hmi.Good},
		{Tag: "B", TS: base + 700, Value: 1, Quality: hmi.Good},
		{Tag: "B", TS: base + 5700, Value: 1, Quality: hmi.Good},
		{Tag: "A", TS: base + 10600, Value: 1.2, Quality: hmi.Good},
		{Tag: "B", TS: base + 10700, Value: 1, Quality: hmi.Good},
	}
	if !slices.Equal(got, want) {
		t.Errorf("recorded\n%v\nwant\n%v", got, want)
	}
}

func TestRecorderNoValue(t *testing.T) {
	r := NewRecorder([]RecordSpec{{Name: "A", On: true, Heartbeat: time.Minute}})
	now := time.UnixMilli(1_000_000)
	var got []HistSample
	got = r.Offer(0, hmi.Sample{Quality: hmi.Bad, Reason: "not read yet"}, now, got)
	got = r.Offer(0, hmi.Sample{Quality: hmi.Bad, Reason: "down"}, now.Add(time.Second), got) // same quality, no value: not again
	got = r.Offer(0, hmi.Sample{Value: hmi.Number(3), Quality: hmi.Bad}, now.Add(2*time.Second), got)
	if len(got) != 2 || !math.IsNaN(got[0].Value) || got[0].TS != 1_000_000 || got[1].Value != 3 || got[1].TS != 1_002_000 {
		t.Errorf("recorded %v", got)
	}
}

// record commits samples and waits for them.
func record(t testing.TB, s *Store, hs []HistSample) {
	t.Helper()
	s.Record(hs...)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// brute is the reference downsampling: bucket by bucket over raw samples.
func brute(raw []HistSample, start, width, to int64) Series {
	out := Series{}
	k := int64(-1)
	for _, h := range raw {
		if h.TS < start || h.TS >= to {
			continue
		}
		if b := (h.TS - start) / width; b != k {
			k = b
			out.T = append(out.T, start+b*width)
			out.Min, out.Max, out.Last = append(out.Min, math.NaN()), append(out.Max, math.NaN()), append(out.Last, math.NaN())
			out.Q, out.N = append(out.Q, int8(h.Quality)), append(out.N, 0)
		}
		j := len(out.T) - 1
		if v := h.Value; !math.IsNaN(v) {
			if math.IsNaN(out.Min[j]) || v < out.Min[j] {
				out.Min[j] = v
			}
			if math.IsNaN(out.Max[j]) || v > out.Max[j] {
				out.Max[j] = v
			}
		}
		out.Last[j] = h.Value
		out.N[j]++
		out.Q[j] = min(out.Q[j], int8(h.Quality))
	}
	return out
}

func sameFloats(a, b Floats) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

func TestHistoryDownsampleKeepsMinMax(t *testing.T) {
	s, _ := run(t, t.TempDir())
	rng := rand.New(rand.NewPCG(9, 9))
	const base = 1_700_000_000_000
	var raw []HistSample
	ts := int64(base)
	v := 50.0
	for range 15_000 {
		ts += 1 + rng.Int64N(3000)
		v += rng.NormFloat64()
		h := HistSample{Tag: "T", TS: ts, Value: v, Quality: hmi.Good}
		switch rng.IntN(200) {
		case 0:
			h.Value = v + 1000 // a spike
		case 1:
			h.Quality = hmi.Uncertain
		case 2:
			h.Value, h.Quality = math.NaN(), hmi.Bad
		}
		raw = append(raw, h)
	}
	// Another tag interleaved, which must not leak in.
	var other []HistSample
	for i := range 1000 {
		other = append(other, HistSample{Tag: "U", TS: base + int64(i)*1000, Value: -1e9, Quality: hmi.Good})
	}
	record(t, s, other)
	for c := range slices.Chunk(raw, 3000) {
		record(t, s, c)
	}
	ctx := context.Background()
	for i := range 60 {
		from := base + rng.Int64N(ts-base)
		to := from + 1 + rng.Int64N(ts-from+10_000)
		points := 1 + rng.IntN(3000)
		if i%10 == 0 {
			from, to = base, ts+1
		}
		got, width, err := s.History(ctx, "T", from, to, points)
		if err != nil {
			t.Fatal(err)
		}
		start, w, rollup := Buckets(from, to, points)
		if w != width {
			t.Fatalf("width %d, Buckets says %d", width, w)
		}
		if n := (to - start + width - 1) / width; n > int64(points) {
			t.Fatalf("from %d to %d points %d: %d buckets", from, to, points, n)
		}
		if len(got.T) > points {
			t.Fatalf("%d buckets for %d points", len(got.T), points)
		}
		want := brute(raw, start, width, to)
		if rollup {
			// The rollup reads whole minutes: the last may hold samples up to
			// the end of its minute.
			end := to - mod(to, rollupMS)
			if end < to {
				end += rollupMS
			}
			want = brute(raw, start, width, end)
		}
		if !slices.Equal(got.T, want.T) || !sameFloats(got.Min, want.Min) || !sameFloats(got.Max, want.Max) ||
			!sameFloats(got.Last, want.Last) || !slices.Equal(got.Q, want.Q) || !slices.Equal(got.N, want.N) {
			t.Fatalf("from %d to %d points %d (rollup %v, width %d): got %d buckets, want %d\ngot  %v %v\nwant %v %v",
				from, to, points, rollup, width, len(got.T), len(want.T), got.T[:min(5, len(got.T))], got.Max[:min(5, len(got.Max))],
				want.T[:min(5, len(want.T))], want.Max[:min(5, len(want.Max))])
		}
	}
	// Unknown tag: empty; a reversed range: an error.
	if got, _, err := s.History(ctx, "nope", base, ts, 10); err != nil || len(got.T) != 0 {
		t.Errorf("unknown tag: %v %v", got, err)
	}
	if _, _, err := s.History(ctx, "T", ts, base, 10); err == nil {
		t.Error("reversed range accepted")
	}
}

func TestBuckets(t *testing.T) {
	for _, c := range []struct {
		from, to     int64
		points       int
		start, width int64
		rollup       bool
	}{
		{0, 1000, 10, 0, 100, false},
		{5, 6, 1000, 5, 1, false},
		{1000, 1001000, 1000, 1000, 1000, false},
		{30_000, 7*86_400_000 + 30_000, 2000, 0, 360_000, true},
		{59_999, 59_999 + 600_000, 10, 0, 120_000, true},
	} {
		start, width, rollup := Buckets(c.from, c.to, c.points)
		if start != c.start || width != c.width || rollup != c.rollup {
			t.Errorf("Buckets(%d, %d, %d) = %d %d %v, want %d %d %v", c.from, c.to, c.points, start, width, rollup, c.start, c.width, c.rollup)
		}
	}
}

func TestHistoryQueryPlans(t *testing.T) {
	s, _ := run(t, t.TempDir())
	ctx := context.Background()
	for _, q := range []string{
		`SELECT ts, min, max, last, n, quality FROM history_1m WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts`,
		`SELECT ts, value, value, value, 1, quality FROM history WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts`,
		`SELECT ts, value, quality FROM history WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts`,
		`DELETE FROM history WHERE tag = ? AND ts < ?`,
	} {
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, 1, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "USING PRIMARY KEY (tag=? AND ts") || strings.Contains(p, "SCAN") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\nplan: %s (want a primary key range, no scan, no sort)", q, p)
		}
	}
}

func TestHistoryRawAndEstimate(t *testing.T) {
	s, _ := run(t, t.TempDir())
	const base = 1_700_000_040_000 // on a minute
	var hs []HistSample
	for i := range 600 {
		hs = append(hs, HistSample{Tag: "T", TS: base + int64(i)*1000, Value: float64(i), Quality: hmi.Good})
	}
	record(t, s, hs)
	ctx := context.Background()
	var got []HistSample
	if err := s.HistoryRaw(ctx, "T", base+10_000, base+20_000, func(h HistSample) error { got = append(got, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, hs[10:20]) {
		t.Errorf("raw %v", got)
	}
	if n, err := s.HistoryEstimate(ctx, "T", base+60_000, base+180_000); err != nil || n != 120 {
		t.Errorf("estimate %d %v, want 120", n, err)
	}
	b, _ := json.Marshal(Floats{1, math.NaN(), 2.5})
	if string(b) != "[1,null,2.5]" {
		t.Errorf("json %s", b)
	}
}

func countHistory(t *testing.T, s *Store, tag string) (n int, oldest int64) {
	t.Helper()
	err := s.db.QueryRow(`SELECT count(*), coalesce(min(ts), 0) FROM history WHERE tag = (SELECT id FROM history_tags WHERE name = ?)`, tag).Scan(&n, &oldest)
	if err != nil {
		t.Fatal(err)
	}
	return n, oldest
}

func TestRetentionByAge(t *testing.T) {
	s, _ := run(t, t.TempDir())
	now := time.UnixMilli(1_700_000_000_000)
	var hs []HistSample
	for i := range 10_000 { // one every 10 s, the newest now
		for _, tag := range []string{"A", "B"} {
			hs = append(hs, HistSample{Tag: tag, TS: now.UnixMilli() - int64(i)*10_000, Value: float64(i), Quality: hmi.Good})
		}
	}
	record(t, s, hs)
	s.Log(hmi.Event{Kind: hmi.EventSystem, TS: now.Add(-1000 * time.Hour), Action: "old event"})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune(context.Background(), RetentionPolicy{MaxAge: 10 * time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: ages 0 to 36,000 s, i.e. i <= 3600 (the cutoff itself is kept).
	for _, tag := range []string{"A", "B"} {
		n, oldest := countHistory(t, s, tag)
		if n != 3601 || oldest != now.UnixMilli()-3600*10_000 {
			t.Errorf("%s: %d samples, oldest %d; want 3601, %d", tag, n, oldest, now.UnixMilli()-3600*10_000)
		}
	}
	if res.Deleted != 2*(10_000-3601) {
		t.Errorf("deleted %d", res.Deleted)
	}
	var minutes int
	s.db.QueryRow(`SELECT count(*) FROM history_1m WHERE ts < ?`, now.Add(-10*time.Hour).UnixMilli()-rollupMS).Scan(&minutes)
	if minutes != 0 {
		t.Errorf("%d rollup minutes left before the cutoff", minutes)
	}
	if ev, _ := s.Events(context.Background(), EventQuery{}); len(ev) != 1 {
		t.Errorf("events: %d, want the old one kept", len(ev))
	}
	// Again: nothing more to delete.
	if res, err := s.Prune(context.Background(), RetentionPolicy{MaxAge: 10 * time.Hour}, now); err != nil || res.Deleted != 0 {
		t.Errorf("second pass deleted %d %v", res.Deleted, err)
	}
}

func TestRetentionBySize(t *testing.T) {
	s, _ := run(t, t.TempDir())
	now := time.UnixMilli(1_700_000_000_000)
	const n = 60_000
	var hs []HistSample
	for i := range n {
		hs = append(hs, HistSample{Tag: fmt.Sprint("T", i%4), TS: now.UnixMilli() - int64(n-i)*1000, Value: float64(i), Quality: hmi.Good})
	}
	for c := range slices.Chunk(hs, 10_000) {
		record(t, s, c)
	}
	ctx := context.Background()
	before, err := s.UsedBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	limit := before / 2
	res, err := s.Prune(ctx, RetentionPolicy{MaxBytes: limit}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.UsedBytes > limit || res.Deleted == 0 || res.Deleted > n*3/4 {
		t.Errorf("used %d of limit %d (was %d), deleted %d", res.UsedBytes, limit, before, res.Deleted)
	}
	// What is left is the newest of each tag, with nothing missing after
	// the oldest kept sample.
	total := 0
	for k := range 4 {
		tag := fmt.Sprint("T", k)
		cnt, oldest := countHistory(t, s, tag)
		total += cnt
		newer := 0
		for _, h := range hs {
			if h.Tag == tag && h.TS >= oldest {
				newer++
			}
		}
		if cnt != newer {
			t.Errorf("%s: %d kept, but %d were at or after its oldest kept", tag, cnt, newer)
		}
	}
	if int64(total) != n-res.Deleted {
		t.Errorf("kept %d, deleted %d, of %d", total, res.Deleted, n)
	}
	// Under the bound: nothing deleted.
	if res, err := s.Prune(ctx, RetentionPolicy{MaxBytes: before * 2}, now); err != nil || res.Deleted != 0 {
		t.Errorf("under the bound: deleted %d %v", res.Deleted, err)
	}
}

// BenchmarkHistoryIngest: samples of 1,000 tags recorded and committed by
// the single writer (each op is one sample); reports samples/s and bytes
// on disk per million samples.
func BenchmarkHistoryIngest(b *testing.B) {
	s, _ := run(b, b.TempDir())
	const tags = 1000
	names := make([]string, tags)
	for i := range names {
		names[i] = fmt.Sprint("Tag", i)
	}
	base := int64(1_700_000_000_000)
	buf := make([]HistSample, 0, 10_000)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		buf = append(buf, HistSample{Tag: names[i%tags], TS: base + int64(i/tags)*1000, Value: float64(i % 977), Quality: hmi.Good})
		if len(buf) == cap(buf) {
			s.Record(buf...)
			buf = buf[:0]
		}
	}
	s.Record(buf...)
	if err := s.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "samples/s")
	if b.N >= 100_000 {
		used, _ := s.UsedBytes(context.Background())
		b.ReportMetric(float64(used)/float64(b.N)*1e6/1e6, "MB/Msamples")
	}
}

// BenchmarkHistoryQuery7d: 7 days of one tag at one sample a second
// (604,800 samples), downsampled to 2,000 points.
func BenchmarkHistoryQuery7d(b *testing.B) {
	s, _ := run(b, b.TempDir())
	const n = 7 * 86_400
	base := int64(1_700_000_000_000)
	hs := make([]HistSample, 0, 50_000)
	for i := range n {
		hs = append(hs, HistSample{Tag: "T101.Level", TS: base + int64(i)*1000, Value: 50 + 40*math.Sin(float64(i)/3600), Quality: hmi.Good})
		if len(hs) == cap(hs) || i == n-1 {
			record(b, s, hs)
			hs = hs[:0]
		}
	}
	ctx := context.Background()
	used, err := s.UsedBytes(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, _, err := s.History(ctx, "T101.Level", base, base+n*1000, 2000)
		if err != nil || len(got.T) < 1000 {
			b.Fatal(len(got.T), err)
		}
	}
	b.ReportMetric(float64(used)/n, "MB/Msamples")
}

// BenchmarkHistoryQuery1h: one hour of 1-second data (raw samples,
// 3,600) in 1,000 points.
func BenchmarkHistoryQuery1h(b *testing.B) {
	s, _ := run(b, b.TempDir())
	base := int64(1_700_000_000_000)
	var hs []HistSample
	for i := range 3600 {
		hs = append(hs, HistSample{Tag: "T", TS: base + int64(i)*1000, Value: float64(i), Quality: hmi.Good})
	}
	record(b, s, hs)
	ctx := context.Background()
	for b.Loop() {
		if got, _, err := s.History(ctx, "T", base, base+3_600_000, 1000); err != nil || len(got.T) != 1000 {
			b.Fatal(len(got.T), err)
		}
	}
}

// BenchmarkHistoryQuery24h: a day of 1-second data (86,400 raw samples)
// in 2,000 points: 44 s buckets, below a minute, so from the raw rows.
func BenchmarkHistoryQuery24h(b *testing.B) {
	s, _ := run(b, b.TempDir())
	const n = 86_400
	base := int64(1_700_000_000_000)
	hs := make([]HistSample, 0, n)
	for i := range n {
		hs = append(hs, HistSample{Tag: "T", TS: base + int64(i)*1000, Value: float64(i % 1000), Quality: hmi.Good})
	}
	record(b, s, hs)
	ctx := context.Background()
	for b.Loop() {
		if got, _, err := s.History(ctx, "T", base, base+n*1000, 2000); err != nil || len(got.T) < 1900 {
			b.Fatal(len(got.T), err)
		}
	}
}
