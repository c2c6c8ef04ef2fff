package sparkplug

import (
	"context"
	"fmt"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/sparkplug/spb"
)

// States of the edge node (Status.State).
const (
	StateConnecting  = "connecting"
	StateWaitingHost = "waiting for primary host"
	StateOnline      = "online"
	StateOffline     = "offline"
	StateStopped     = "stopped"
)

// Status is the edge node's state for the diagnostics screen and /metrics.
// Times are Unix milliseconds (0: none).
type Status struct {
	Enabled     bool   `json:"enabled"`
	State       string `json:"state"`
	Connected   bool   `json:"connected"`
	Broker      string `json:"broker,omitempty"`
	GroupID     string `json:"group_id"`
	EdgeNode    string `json:"edge_node"`
	PrimaryHost string `json:"primary_host,omitempty"`
	Commands    bool   `json:"commands"`
	BdSeq       int    `json:"bdseq"`
	Since       int64  `json:"since"`
	LastBirth   int64  `json:"last_birth"`
	LastError   string `json:"last_error,omitempty"`
	LastErrorTS int64  `json:"last_error_ts"`

	MessagesOut  uint64 `json:"messages_out"`
	MetricsOut   uint64 `json:"metrics_out"`
	Births       uint64 `json:"births"`
	Changes      uint64 `json:"changes"`
	Replayed     uint64 `json:"replayed"`
	CommandsOK   uint64 `json:"commands_ok"`
	CommandsFail uint64 `json:"commands_failed"`

	BufferRows    int    `json:"buffer_rows"`
	BufferOldest  int64  `json:"buffer_oldest_ts"`
	BufferDropped uint64 `json:"buffer_dropped"`
}

// BufferAge is how old the oldest buffered change is at now.
func (s *Status) BufferAge(now time.Time) time.Duration {
	if s.BufferOldest == 0 || s.BufferRows == 0 {
		return 0
	}
	return max(0, now.Sub(time.UnixMilli(s.BufferOldest)))
}

// Status is a snapshot of the node's state and counters.
func (n *Node) Status() Status {
	n.st.Lock()
	st := n.status
	n.st.Unlock()
	st.MessagesOut, st.MetricsOut, st.Births, st.Changes = n.out.Load(), n.metOut.Load(), n.births.Load(), n.seen.Load()
	st.Replayed, st.CommandsOK, st.CommandsFail = n.replay.Load(), n.cmdOK.Load(), n.cmdFail.Load()
	st.BufferRows, st.BufferOldest, st.BufferDropped = n.buf.Len(), n.buf.Oldest(), n.buf.Dropped()
	return st
}

func (n *Node) setStatus(f func(*Status)) {
	n.st.Lock()
	f(&n.status)
	n.st.Unlock()
}

func (n *Node) setState(state, _ string) {
	n.setStatus(func(st *Status) { st.State = state })
}

func (n *Node) setError(err error) {
	n.setStatus(func(st *Status) { st.LastError, st.LastErrorTS = err.Error(), time.Now().UnixMilli() })
}

// commandTimeout bounds one command's write (with its read-back).
const commandTimeout = 15 * time.Second

// commands writes NCMD/DCMD metrics, one at a time, until ctx ends.
func (n *Node) commands(ctx context.Context, in <-chan inbound) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			for _, pm := range m.payload.GetMetrics() {
				n.commandMetric(ctx, m, pm)
			}
		}
	}
}

// principal is who Sparkplug commands write as.
func (n *Node) principal() api.Principal {
	c := n.cfg
	user := c.Commands.User
	if user == "" {
		host := c.PrimaryHost
		if host == "" {
			host = c.GroupID
		}
		user = "sparkplug:" + host
	}
	return api.Principal{User: user, Role: c.CommandRole(), Address: c.Brokers[0]}
}

// commandMetric writes one command metric, or audits why it did not.
func (n *Node) commandMetric(ctx context.Context, m inbound, pm *spb.Payload_Metric) {
	name := pm.GetName()
	tag := -1
	if name != "" {
		if i, ok := n.db.Lookup(name); ok && n.metrics[i].alias != 0 {
			tag = i
		}
	} else if mt, ok := n.byAlias(pm.GetAlias()); ok {
		tag, name = mt.tag, mt.name
	}
	if name == "" {
		name = fmt.Sprintf("alias %d", pm.GetAlias())
	}
	who := n.principal()
	refuse := func(why string) {
		n.cmdFail.Add(1)
		n.log.Warn("Sparkplug command refused", "type", m.typ, "device", m.device, "metric", name, "why", why)
		n.event(hmi.Event{Kind: hmi.EventAudit, Source: name, User: who.User, Address: who.Address, Action: "write",
			Reason: "Sparkplug " + string(m.typ), Result: why})
	}
	switch {
	case !n.cfg.Commands.Enabled:
		refuse("Sparkplug commands are disabled (sparkplug.commands.enabled)")
		return
	case tag < 0:
		refuse("no published metric " + name)
		return
	}
	mt := &n.metrics[tag]
	if m.typ == DCmd && (mt.device < 0 || n.devices[mt.device].id != m.device) || m.typ == NCmd && mt.device >= 0 {
		refuse(fmt.Sprintf("metric %s is not a metric of %s %s", name, m.typ, m.device))
		return
	}
	v, err := CommandValue(pm)
	if err != nil {
		refuse(fmt.Sprintf("metric %s: %v", name, err))
		return
	}
	if n.w == nil {
		refuse("no write path")
		return
	}
	wctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	// The write path checks the role and interlocks, writes, waits for the
	// read-back and audits the outcome.
	if _, err := n.w.Write(wctx, who, mt.name, v, "Sparkplug "+string(m.typ)); err != nil {
		n.cmdFail.Add(1)
		n.log.Warn("Sparkplug command failed", "metric", mt.name, "err", err)
		return
	}
	n.cmdOK.Add(1)
}
