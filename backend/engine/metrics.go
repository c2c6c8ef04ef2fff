package engine

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// metrics writes the engine's Prometheus lines: devices, tags, event log,
// loops and the process.
func (e *Engine) metrics(w io.Writer) {
	help := func(name, typ, text string) { fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, typ) }
	help("edgehmi_device_connected", "gauge", "1 when the device's link is up.")
	for _, d := range e.order {
		st := d.Stats()
		fmt.Fprintf(w, "edgehmi_device_connected{device=%q} %d\n", st.Name, b2i(st.Connected))
	}
	for _, m := range []struct {
		name, text string
		get        func(i int) uint64
	}{
		{"edgehmi_device_polls_total", "Reads (or subscription deliveries) per device.", func(i int) uint64 { return e.order[i].Stats().Polls }},
		{"edgehmi_device_errors_total", "Failed connects and reads per device.", func(i int) uint64 { return e.order[i].Stats().Errors }},
		{"edgehmi_device_timeouts_total", "Requests the device did not answer in time.", func(i int) uint64 { return e.order[i].Stats().Timeouts }},
		{"edgehmi_device_overruns_total", "Scans that took longer than the scan period.", func(i int) uint64 { return e.order[i].Stats().Overruns }},
		{"edgehmi_device_reconnects_total", "Links lost and re-established.", func(i int) uint64 { return e.order[i].Stats().Reconnects }},
	} {
		help(m.name, "counter", m.text)
		for i, d := range e.order {
			fmt.Fprintf(w, "%s{device=%q} %d\n", m.name, d.Name(), m.get(i))
		}
	}
	help("edgehmi_device_scan_seconds", "gauge", "Duration of the device's last scan.")
	for _, d := range e.order {
		fmt.Fprintf(w, "edgehmi_device_scan_seconds{device=%q} %g\n", d.Name(), d.Stats().LastScan.Seconds())
	}
	help("edgehmi_device_scan_p99_seconds", "gauge", "99th percentile of the device's last 128 scans.")
	for _, d := range e.order {
		fmt.Fprintf(w, "edgehmi_device_scan_p99_seconds{device=%q} %g\n", d.Name(), d.Stats().P99Scan.Seconds())
	}
	help("edgehmi_device_scan_jitter_p99_seconds", "gauge", "99th percentile of how far the last 128 scans started from their period.")
	for _, d := range e.order {
		fmt.Fprintf(w, "edgehmi_device_scan_jitter_p99_seconds{device=%q} %g\n", d.Name(), d.Stats().P99Jitter.Seconds())
	}
	help("edgehmi_device_requests_total", "counter", "Requests the device answered (drivers that time them).")
	for _, d := range e.order {
		fmt.Fprintf(w, "edgehmi_device_requests_total{device=%q} %d\n", d.Name(), d.Stats().Requests)
	}
	help("edgehmi_device_rtt_p99_seconds", "gauge", "99th percentile round trip of the device's last 128 requests.")
	for _, d := range e.order {
		fmt.Fprintf(w, "edgehmi_device_rtt_p99_seconds{device=%q} %g\n", d.Name(), d.Stats().P99RTT.Seconds())
	}
	help("edgehmi_device_scan_period_seconds", "gauge", "The device's configured scan period.")
	for _, d := range e.order {
		fmt.Fprintf(w, "edgehmi_device_scan_period_seconds{device=%q} %g\n", d.Name(), d.Stats().Scan.Seconds())
	}
	help("edgehmi_tags", "gauge", "Tags in the project.")
	fmt.Fprintf(w, "edgehmi_tags %d\n", e.db.Len())
	help("edgehmi_tag_changes_total", "counter", "Tag changes published.")
	fmt.Fprintf(w, "edgehmi_tag_changes_total %d\n", e.db.Changes())
	help("edgehmi_events_pending", "gauge", "Events waiting for the event log writer.")
	fmt.Fprintf(w, "edgehmi_events_pending %d\n", e.store.Pending())
	help("edgehmi_events_dropped_total", "counter", "Events dropped because the event log queue was full.")
	fmt.Fprintf(w, "edgehmi_events_dropped_total %d\n", e.store.Dropped())
	help("edgehmi_loop_jitter_max_seconds", "gauge", "Largest deviation of a loop run from its period.")
	for _, l := range e.loops {
		st := l.Stats()
		fmt.Fprintf(w, "edgehmi_loop_jitter_max_seconds{loop=%q} %g\n", st.Name, st.JitterMax.Seconds())
	}
	help("edgehmi_loop_jitter_avg_seconds", "gauge", "Mean deviation of a loop run from its period.")
	for _, l := range e.loops {
		st := l.Stats()
		fmt.Fprintf(w, "edgehmi_loop_jitter_avg_seconds{loop=%q} %g\n", st.Name, st.JitterAvg.Seconds())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	help("edgehmi_go_heap_bytes", "gauge", "Go heap in use.")
	fmt.Fprintf(w, "edgehmi_go_heap_bytes %d\n", ms.HeapInuse)
	help("edgehmi_goroutines", "gauge", "Goroutines.")
	fmt.Fprintf(w, "edgehmi_goroutines %d\n", runtime.NumGoroutine())
	help("edgehmi_uptime_seconds", "gauge", "Seconds since start.")
	fmt.Fprintf(w, "edgehmi_uptime_seconds %g\n", time.Since(e.started).Seconds())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
