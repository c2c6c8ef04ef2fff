package engine

import (
	"fmt"
	"io"
	"strconv"

	"github.com/edgehmi/edgehmi/backend/control"
)

// loopMetrics writes the loops' and interlocks' Prometheus lines.
func (e *Engine) loopMetrics(w io.Writer, help func(name, typ, text string)) {
	loops := e.loops.Loops()
	stats := make([]control.LoopStats, len(loops)) // one snapshot per loop for the whole scrape
	failsafe := make([]bool, len(loops))
	for i, l := range loops {
		stats[i] = l.Stats()
		_, actual := l.Mode()
		failsafe[i] = actual == control.FailSafe
	}
	for _, m := range []struct {
		name, typ, text string
		value           func(i int) float64
	}{
		{"edgehmi_loop_runs_total", "counter", "Runs of the loop.", func(i int) float64 { return float64(stats[i].Runs) }},
		{"edgehmi_loop_overruns_total", "counter", "Runs skipped because the loop runner was more than a period late.", func(i int) float64 { return float64(stats[i].Overruns) }},
		{"edgehmi_loop_jitter_p50_seconds", "gauge", "Median of how late the last 256 runs started against the loop's fixed schedule.", func(i int) float64 { return stats[i].JitterP50.Seconds() }},
		{"edgehmi_loop_jitter_p99_seconds", "gauge", "99th percentile of how late the last 256 runs started against the loop's fixed schedule.", func(i int) float64 { return stats[i].JitterP99.Seconds() }},
		{"edgehmi_loop_jitter_max_seconds", "gauge", "Latest start of a loop run against its schedule since start.", func(i int) float64 { return stats[i].JitterMax.Seconds() }},
		{"edgehmi_loop_jitter_avg_seconds", "gauge", "Mean lateness of a loop run against its schedule since start.", func(i int) float64 { return stats[i].JitterAvg.Seconds() }},
		{"edgehmi_loop_write_p99_seconds", "gauge", "99th percentile, over the last 256 writes, of the time from a run to its output written.", func(i int) float64 { return stats[i].WriteP99.Seconds() }},
		{"edgehmi_loop_write_errors_total", "counter", "Output writes that failed.", func(i int) float64 { return float64(stats[i].WriteErrors) }},
		{"edgehmi_loop_failsafe", "gauge", "1 while the loop is in its fail-safe action (PV or SP unusable).", func(i int) float64 { return float64(b2i(failsafe[i])) }},
	} {
		help(m.name, m.typ, m.text)
		for i, l := range loops {
			fmt.Fprintf(w, "%s{loop=%q} %s\n", m.name, l.Name(), strconv.FormatFloat(m.value(i), 'g', -1, 64))
		}
	}
	help("edgehmi_loop_spin_seconds_total", "counter", "CPU time the loop runner spent waiting actively for runs to be due.")
	fmt.Fprintf(w, "edgehmi_loop_spin_seconds_total %g\n", e.loops.Spun().Seconds())
	help("edgehmi_interlock_active", "gauge", "1 while the interlock is active.")
	for _, st := range e.interlocks.States() {
		fmt.Fprintf(w, "edgehmi_interlock_active{interlock=%q} %d\n", st.Name, b2i(st.Active))
	}
}
