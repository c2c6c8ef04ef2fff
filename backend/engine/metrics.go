package engine

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"

	"github.com/edgehmi/edgehmi/backend/poll"
)

// metrics writes the engine's Prometheus lines: devices, tags, event log,
// loops and the process.
func (e *Engine) metrics(w io.Writer) {
	help := func(name, typ, text string) { fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, typ) }
	e.mu.RLock() // a project reload replaces what is measured
	defer e.mu.RUnlock()
	stats := make([]poll.Stats, len(e.order)) // one snapshot per device for the whole scrape
	for i, d := range e.order {
		stats[i] = d.Stats()
	}
	for _, m := range []struct {
		name, typ, text string
		value           func(st *poll.Stats) float64
	}{
		{"edgehmi_device_connected", "gauge", "1 when the device's link is up.", func(st *poll.Stats) float64 { return float64(b2i(st.Connected)) }},
		{"edgehmi_device_polls_total", "counter", "Reads (or subscription deliveries) per device.", func(st *poll.Stats) float64 { return float64(st.Polls) }},
		{"edgehmi_device_errors_total", "counter", "Failed connects and reads per device.", func(st *poll.Stats) float64 { return float64(st.Errors) }},
		{"edgehmi_device_timeouts_total", "counter", "Requests the device did not answer in time.", func(st *poll.Stats) float64 { return float64(st.Timeouts) }},
		{"edgehmi_device_overruns_total", "counter", "Scans that missed their slot in the schedule.", func(st *poll.Stats) float64 { return float64(st.Overruns) }},
		{"edgehmi_device_reconnects_total", "counter", "Links lost and re-established.", func(st *poll.Stats) float64 { return float64(st.Reconnects) }},
		{"edgehmi_device_requests_total", "counter", "Requests the device answered (drivers that time them).", func(st *poll.Stats) float64 { return float64(st.Requests) }},
		{"edgehmi_device_scan_seconds", "gauge", "Duration of the device's last scan.", func(st *poll.Stats) float64 { return st.LastScan.Seconds() }},
		{"edgehmi_device_scan_p99_seconds", "gauge", "99th percentile of the device's last 128 scans.", func(st *poll.Stats) float64 { return st.P99Scan.Seconds() }},
		{"edgehmi_device_scan_jitter_p99_seconds", "gauge", "99th percentile of how late the last 128 scans started against their schedule.", func(st *poll.Stats) float64 { return st.P99Jitter.Seconds() }},
		{"edgehmi_device_rtt_p99_seconds", "gauge", "99th percentile round trip of the device's last 128 requests.", func(st *poll.Stats) float64 { return st.P99RTT.Seconds() }},
		{"edgehmi_device_scan_period_seconds", "gauge", "The device's configured scan period.", func(st *poll.Stats) float64 { return st.Scan.Seconds() }},
	} {
		help(m.name, m.typ, m.text)
		for i := range stats {
			fmt.Fprintf(w, "%s{device=%q} %s\n", m.name, stats[i].Name, strconv.FormatFloat(m.value(&stats[i]), 'f', -1, 64))
		}
	}
	help("edgehmi_tags", "gauge", "Tags in the project.")
	fmt.Fprintf(w, "edgehmi_tags %d\n", e.db.Len())
	help("edgehmi_tag_changes_total", "counter", "Tag changes published.")
	fmt.Fprintf(w, "edgehmi_tag_changes_total %d\n", e.db.Changes())
	help("edgehmi_events_pending", "gauge", "Events waiting for the event log writer.")
	fmt.Fprintf(w, "edgehmi_events_pending %d\n", e.store.Pending())
	help("edgehmi_events_dropped_total", "counter", "Events dropped because the event log queue was full.")
	fmt.Fprintf(w, "edgehmi_events_dropped_total %d\n", e.store.Dropped())
	help("edgehmi_history_samples_total", "counter", "History samples committed.")
	fmt.Fprintf(w, "edgehmi_history_samples_total %d\n", e.store.HistoryRecorded())
	help("edgehmi_history_dropped_total", "counter", "History samples dropped because the writer fell behind.")
	fmt.Fprintf(w, "edgehmi_history_dropped_total %d\n", e.store.HistoryDropped())
	e.loopMetrics(w, help)
	e.northboundMetrics(w, help)
	help("edgehmi_build_info", "gauge", "Always 1; the labels say which build is running.")
	fmt.Fprintf(w, "edgehmi_build_info{version=%q,commit=%q,date=%q,goversion=%q,goarch=%q} 1\n",
		e.o.Version, e.o.Commit, e.o.BuildDate, runtime.Version(), runtime.GOARCH)
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
