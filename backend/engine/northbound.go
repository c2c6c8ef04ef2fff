package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/edgehmi/edgehmi/backend/sparkplug"
)

// startNorthbound builds the generation's Sparkplug B edge node, if its
// project has one, and runs it on g.wg until runCtx ends. Commands go
// through g's checked and audited write path.
func (e *Engine) startNorthbound(ctx, runCtx context.Context, g *generation) error {
	c := g.project.Sparkplug
	if c == nil {
		return nil
	}
	node, err := sparkplug.New(ctx, sparkplug.Options{Config: c, Tags: g.db, DataDir: e.o.DataDir, Writer: g.svc, Log: e.log, Event: e.store.Log})
	if err != nil {
		return fmt.Errorf("sparkplug edge node: %w", err)
	}
	g.northbound = node
	g.wg.Go(func() { node.Run(runCtx) })
	return nil
}

// northboundStatus is the edge node's status for the diagnostics screen.
func (e *Engine) northboundStatus() any {
	e.mu.RLock()
	n := e.northbound
	e.mu.RUnlock()
	if n == nil {
		return sparkplug.Status{State: "disabled"}
	}
	return n.Status()
}

// northboundMetrics writes the edge node's Prometheus lines (none without one).
func (e *Engine) northboundMetrics(w io.Writer, help func(name, typ, text string)) {
	if e.northbound == nil {
		return
	}
	st := e.northbound.Status()
	for _, m := range []struct {
		name, typ, text string
		v               float64
	}{
		{"edgehmi_sparkplug_connected", "gauge", "1 while the Sparkplug B edge node is connected to the broker.", float64(b2i(st.Connected))},
		{"edgehmi_sparkplug_online", "gauge", "1 while the edge node is born (NBIRTH published).", float64(b2i(st.State == sparkplug.StateOnline))},
		{"edgehmi_sparkplug_messages_out_total", "counter", "Sparkplug messages published (data messages once the broker acknowledged them).", float64(st.MessagesOut)},
		{"edgehmi_sparkplug_metrics_out_total", "counter", "Metrics in the published messages.", float64(st.MetricsOut)},
		{"edgehmi_sparkplug_births_total", "counter", "Births (NBIRTH with its DBIRTHs) published.", float64(st.Births)},
		{"edgehmi_sparkplug_replayed_total", "counter", "Buffered changes delivered as historical data.", float64(st.Replayed)},
		{"edgehmi_sparkplug_commands_total", "counter", "NCMD/DCMD writes done.", float64(st.CommandsOK)},
		{"edgehmi_sparkplug_commands_refused_total", "counter", "NCMD/DCMD writes refused or failed.", float64(st.CommandsFail)},
		{"edgehmi_sparkplug_buffer_rows", "gauge", "Changes in the store-and-forward buffer.", float64(st.BufferRows)},
		{"edgehmi_sparkplug_buffer_oldest_age_seconds", "gauge", "Age of the oldest change in the store-and-forward buffer (0 when empty).", st.BufferAge(time.Now()).Seconds()},
		{"edgehmi_sparkplug_buffer_dropped_total", "counter", "Changes dropped because the store-and-forward buffer was full.", float64(st.BufferDropped)},
	} {
		help(m.name, m.typ, m.text)
		fmt.Fprintf(w, "%s %s\n", m.name, strconv.FormatFloat(m.v, 'f', -1, 64))
	}
}
