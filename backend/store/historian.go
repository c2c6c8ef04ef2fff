package store

import (
	"context"
	"math"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Recorder decides which samples of which tags go into the history: a
// sample is recorded when its quality differs from the last recorded one,
// its value moved by more than the tag's history deadband since the last
// recorded value, or the tag's heartbeat has passed since the last
// recorded sample (then the current value is recorded again, at the
// heartbeat's time). It is pure: time is passed in. It is not safe for
// concurrent use.
type Recorder struct {
	names []string
	on    []bool
	dead  []float64
	beat  []int64 // heartbeat, ms
	last  []recorded
}

// recorded is the last recorded sample of a tag.
type recorded struct {
	ts    int64
	value float64
	q     hmi.Quality
	has   bool
}

// RecordSpec is how one tag is recorded.
type RecordSpec struct {
	Name      string
	On        bool
	Deadband  float64
	Heartbeat time.Duration
}

// NewRecorder returns a recorder for tags 0..len(specs)-1.
func NewRecorder(specs []RecordSpec) *Recorder {
	r := &Recorder{names: make([]string, len(specs)), on: make([]bool, len(specs)), dead: make([]float64, len(specs)),
		beat: make([]int64, len(specs)), last: make([]recorded, len(specs))}
	for i, s := range specs {
		r.names[i], r.on[i], r.dead[i], r.beat[i] = s.Name, s.On, s.Deadband, s.Heartbeat.Milliseconds()
	}
	return r
}

// SpecsOf are the record specs of a project's tags.
func SpecsOf(p *config.Project) []RecordSpec {
	specs := make([]RecordSpec, len(p.Tags))
	for i := range p.Tags {
		t := &p.Tags[i]
		specs[i] = RecordSpec{Name: t.Name, On: p.Historized(t), Deadband: t.HistoryDeadband(), Heartbeat: p.HistoryHeartbeat(t)}
	}
	return specs
}

// sampleValue is a sample's value as a number (NaN: none).
func sampleValue(s hmi.Sample) float64 {
	switch s.Value.Kind() {
	case hmi.KindNumber, hmi.KindBool:
		return s.Value.Float()
	default:
		return math.NaN()
	}
}

// Offer looks at a new sample of tag i (its source timestamp, or now if it
// has none or it is not after the last recorded one) and appends it to out
// if it is to be recorded.
func (r *Recorder) Offer(i int, s hmi.Sample, now time.Time, out []HistSample) []HistSample {
	if i < 0 || i >= len(r.on) || !r.on[i] {
		return out
	}
	v := sampleValue(s)
	l := &r.last[i]
	if l.has && l.q == s.Quality {
		switch {
		case math.IsNaN(v) && math.IsNaN(l.value):
			return out
		case math.IsNaN(v) != math.IsNaN(l.value):
		case math.Abs(v-l.value) <= r.dead[i]:
			return out
		}
	}
	ts := s.TS.UnixMilli()
	if s.TS.IsZero() || l.has && ts <= l.ts {
		ts = now.UnixMilli()
	}
	if l.has && ts <= l.ts {
		ts = l.ts + 1
	}
	return r.record(i, ts, v, s.Quality, out)
}

func (r *Recorder) record(i int, ts int64, v float64, q hmi.Quality, out []HistSample) []HistSample {
	r.last[i] = recorded{ts: ts, value: v, q: q, has: true}
	return append(out, HistSample{Tag: r.names[i], TS: ts, Value: v, Quality: q})
}

// Heartbeat appends the current sample (from cur) of every recorded tag
// whose last recorded sample is a heartbeat or more before now, stamped
// now; tags never recorded are recorded now too.
func (r *Recorder) Heartbeat(now time.Time, cur func(i int) hmi.Sample, out []HistSample) []HistSample {
	ms := now.UnixMilli()
	for i := range r.on {
		if !r.on[i] {
			continue
		}
		if l := &r.last[i]; !l.has || ms-l.ts >= r.beat[i] {
			if l.has && ms <= l.ts {
				continue
			}
			s := cur(i)
			out = r.record(i, ms, sampleValue(s), s.Quality, out)
		}
	}
	return out
}

// Historian records a tag database's changes into the store through a
// Recorder, and heartbeats every second. It hands samples to the store's
// writer at most once a second (or every historianBatch samples): with
// thousands of tags, each commit then adds several samples to each tag's
// last page instead of one, which keeps the writer's page writes down.
type Historian struct {
	db  *tags.DB
	st  *Store
	rec *Recorder
	sub *tags.Set
}

// NewHistorian subscribes to db's changes; Run records them.
func NewHistorian(db *tags.DB, st *Store, specs []RecordSpec) *Historian {
	return &Historian{db: db, st: st, rec: NewRecorder(specs), sub: db.Subscribe()}
}

// historianTick is how often heartbeats are looked for and samples handed
// to the writer; historianBatch hands them over sooner when this many wait.
const (
	historianTick  = time.Second
	historianBatch = 100_000
)

// Run records until ctx ends. Its caller owns it and waits for it.
func (h *Historian) Run(ctx context.Context) {
	defer h.db.Unsubscribe(h.sub)
	tick := time.NewTicker(historianTick)
	defer tick.Stop()
	var (
		ids  []int
		smp  []hmi.Sample
		out  []HistSample
		head = func(i int) hmi.Sample { return h.db.Get(i) }
	)
	out = h.rec.Heartbeat(time.Now(), head, out[:0]) // a first sample of every tag
	h.st.Record(out...)
	out = out[:0]
	for {
		select {
		case <-ctx.Done():
			h.st.Record(out...) // the writer outlives the historian
			return
		case <-h.sub.C():
			ids = h.sub.Take(ids[:0])
			smp = append(smp[:0], make([]hmi.Sample, len(ids))...)
			h.db.Read(ids, smp)
			now := time.Now()
			for k, i := range ids {
				out = h.rec.Offer(i, smp[k], now, out)
			}
			if len(out) >= historianBatch {
				h.st.Record(out...)
				out = out[:0]
			}
		case now := <-tick.C:
			out = h.rec.Heartbeat(now, head, out)
			h.st.Record(out...)
			out = out[:0]
		}
	}
}
