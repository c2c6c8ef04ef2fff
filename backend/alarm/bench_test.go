package alarm

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// BenchmarkEvaluate is one tag update through Set.Evaluate: a set of 10,000
// alarms on 10,000 tags, one update per op. "steady" values stay normal (the
// common case); "transitions" raise or clear the alarm on every update;
// the other cases are one alarm of each kind with values that stay normal.
func BenchmarkEvaluate(b *testing.B) {
	const n = 10000
	cases := []struct {
		name   string
		def    func(i int) config.Alarm
		values []float64
	}{
		{"steady", func(i int) config.Alarm { return config.Alarm{Type: "hi", Limit: 80, Deadband: 1} }, []float64{50, 51}},
		{"transitions", func(i int) config.Alarm { return config.Alarm{Type: "hi", Limit: 80} }, []float64{50, 90}},
		{"delays", func(i int) config.Alarm {
			return config.Alarm{Type: "hi", Limit: 80, OnDelay: dur("5s"), OffDelay: dur("5s"), Group: fmt.Sprint(i % 10)}
		}, []float64{50, 51}},
		{"deviation", func(i int) config.Alarm { return config.Alarm{Type: "deviation", Setpoint: "sp", Limit: 5} }, []float64{50, 51}},
		{"roc", func(i int) config.Alarm { return config.Alarm{Type: "roc", Limit: 100, Window: dur("10s")} }, []float64{50, 51}},
		{"discrete", func(i int) config.Alarm { return config.Alarm{Type: "discrete", Equals: 1} }, []float64{0, 2}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			defs := make([]config.Alarm, n)
			tags := make([]string, n)
			for i := range defs {
				defs[i] = c.def(i)
				tags[i] = fmt.Sprintf("T%05d", i)
				defs[i].Name, defs[i].Tag = tags[i]+".alarm", tags[i]
			}
			s, err := NewSet(defs)
			if err != nil {
				b.Fatal(err)
			}
			s.Evaluate(nil, "sp", good(50), t0)
			dst := make([]Transition, 0, 16)
			now := t0
			smp := []hmi.Sample{good(c.values[0]), good(c.values[1])}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k := i % n
				if k == 0 {
					now = now.Add(100 * time.Millisecond)
				}
				dst = s.Evaluate(dst[:0], tags[k], smp[(i/n)%2], now)
			}
		})
	}
}

// BenchmarkTick is a Tick of 10,000 alarms with on-delays, none due.
func BenchmarkTick(b *testing.B) {
	defs := make([]config.Alarm, 10000)
	for i := range defs {
		defs[i] = config.Alarm{Name: fmt.Sprint(i), Tag: fmt.Sprint(i), Type: "hi", Limit: 80, OnDelay: dur("1h")}
	}
	s, err := NewSet(defs)
	if err != nil {
		b.Fatal(err)
	}
	for i := range defs {
		s.Evaluate(nil, defs[i].Tag, good(90), t0)
	}
	b.ReportAllocs()
	now := t0
	for b.Loop() {
		now = now.Add(time.Millisecond)
		s.Tick(nil, now)
	}
}
