package web

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Hub fans tag changes out to websocket clients. One goroutine (Run) takes
// changes from the tag database, encodes each changed tag once into a JSON
// fragment, and marks it pending on every client subscribed to it. Each
// client's writer takes its pending set and writes one frame of the newest
// fragments: a client that falls behind holds each tag once and gets only
// its newest value, and never blocks the hub or other clients.
type Hub struct {
	view    atomic.Pointer[hubView] // the tag database served now
	rebound chan struct{}           // Rebind wakes Run

	mu      sync.Mutex // guards clients, and orders offers against Rebind
	clients map[*client]struct{}

	alarms atomic.Pointer[[]byte] // newest {"type":"alarms",...} message

	updates atomic.Uint64 // tag changes fanned out
}

// hubView is what the hub knows of one tag database: a project reload
// replaces it (Rebind), and with it every position-indexed table.
type hubView struct {
	db   *tags.DB
	sub  *tags.Set
	frag []atomic.Pointer[[]byte] // newest encoded {"name",...} per tag
}

func newView(db *tags.DB) *hubView {
	return &hubView{db: db, sub: db.Subscribe(), frag: make([]atomic.Pointer[[]byte], db.Len())}
}

// NewHub returns a hub over db. Call Run to start it.
func NewHub(db *tags.DB) *Hub {
	h := &Hub{clients: map[*client]struct{}{}, rebound: make(chan struct{}, 1)}
	h.view.Store(newView(db))
	empty := []byte(`{"type":"alarms","alarms":[]}`)
	h.alarms.Store(&empty)
	return h
}

// Rebind serves db from now on (a project reload built it): clients stay
// connected, keep their subscriptions (by name: tags no longer defined
// drop out; a "*" subscription takes the new tags too), and are sent
// notice, when not nil, followed by a snapshot of what they are subscribed
// to in db.
func (h *Hub) Rebind(db *tags.DB, notice []byte) {
	nv := newView(db)
	h.mu.Lock()
	old := h.view.Swap(nv)
	for c := range h.clients {
		c.rebind(nv, notice)
	}
	h.mu.Unlock()
	old.db.Unsubscribe(old.sub)
	select {
	case h.rebound <- struct{}{}:
	default:
	}
}

// Run fans changes out until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	defer func() {
		v := h.view.Load()
		v.db.Unsubscribe(v.sub)
	}()
	var ids []int
	var smp []hmi.Sample
	for {
		v := h.view.Load()
		select {
		case <-ctx.Done():
			return
		case <-h.rebound:
			continue
		case <-v.sub.C():
		}
		ids = v.sub.Take(ids[:0])
		h.mu.Lock()
		idle := len(h.clients) == 0
		h.mu.Unlock()
		if idle {
			// Nobody listens: encode nothing. A client that connects
			// later gets a snapshot encoded from the database, and
			// updates of what changes after it joined.
			continue
		}
		if cap(smp) < len(ids) {
			smp = make([]hmi.Sample, len(ids))
		}
		smp = smp[:len(ids)]
		v.db.Read(ids, smp)
		for k, i := range ids {
			v.encode(i, smp[k])
		}
		h.updates.Add(uint64(len(ids)))
		h.mu.Lock()
		if h.view.Load() == v { // else rebound meanwhile: the clients had a snapshot
			for c := range h.clients {
				c.offer(ids)
			}
		}
		h.mu.Unlock()
	}
}

// encode stores tag i's fragment.
func (v *hubView) encode(i int, s hmi.Sample) {
	b := appendTag(make([]byte, 0, 96), v.db.Def(i).Name, s)
	v.frag[i].Store(&b)
}

// appendTag appends {"name":..,"value":..,"quality":..,"reason"?:..,"ts":..}.
func appendTag(b []byte, name string, s hmi.Sample) []byte {
	b = append(b, `{"name":`...)
	b = strconv.AppendQuote(b, name)
	b = append(b, `,"value":`...)
	b = s.Value.AppendJSON(b)
	b = append(b, `,"quality":"`...)
	b = append(b, s.Quality.String()...)
	b = append(b, '"')
	if s.Reason != "" {
		b = append(b, `,"reason":`...)
		b = strconv.AppendQuote(b, s.Reason)
	}
	b = append(b, `,"ts":`...)
	var ts int64
	if !s.TS.IsZero() {
		ts = s.TS.UnixMilli()
	}
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '}')
}

// appendUpdate appends an update message holding ids' newest fragments.
func (v *hubView) appendUpdate(b []byte, ids []int) []byte {
	b = append(b, `{"type":"update","tags":[`...)
	n := 0
	for _, i := range ids {
		f := v.frag[i].Load()
		if f == nil {
			continue // changed before any client listened: not pending for anyone
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, *f...)
		n++
	}
	return append(b, "]}"...)
}

// snapshot returns a snapshot message of ids, encoded from the database.
func (v *hubView) snapshot(ids []int) []byte {
	smp := make([]hmi.Sample, len(ids))
	v.db.Read(ids, smp)
	b := make([]byte, 0, 64+96*len(ids))
	b = append(b, `{"type":"snapshot","tags":[`...)
	for k, i := range ids {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendTag(b, v.db.Def(i).Name, smp[k])
	}
	return append(b, "]}"...)
}

// SetAlarms publishes a new alarms message to every client.
func (h *Hub) SetAlarms(msg []byte) {
	h.alarms.Store(&msg)
	h.mu.Lock()
	for c := range h.clients {
		c.alarmsDirty.Store(true)
		c.poke()
	}
	h.mu.Unlock()
}

func (h *Hub) add(c *client) {
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// HubStats are the hub's counters, for metrics.
type HubStats struct {
	Clients int
	Updates uint64
	Pending int // tags pending over all clients
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := HubStats{Clients: len(h.clients), Updates: h.updates.Load()}
	for c := range h.clients {
		st.Pending += c.state.Load().pending.Len()
	}
	return st
}

// match reports whether a tag name matches a subscription pattern: a name,
// "*" for all, or a pattern with "*" wildcards such as "TIC101.*". Patterns
// are checked by validPattern first, which bounds the backtracking.
func match(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	rest, name := pattern[star+1:], name[star:]
	for k := 0; k <= len(name); k++ {
		if match(rest, name[k:]) {
			return true
		}
	}
	return false
}

// maxStars bounds the wildcards in one pattern.
const maxStars = 3

func validPattern(p string) bool {
	return p != "" && len(p) <= 256 && strings.Count(p, "*") <= maxStars
}

// pingEvery and pongWait keep idle connections alive and find dead ones.
const (
	pingEvery = 20 * time.Second
	pongWait  = 45 * time.Second
)
