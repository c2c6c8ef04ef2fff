package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/edgehmi/edgehmi/backend/tags"
)

// Limits per websocket connection.
const (
	maxMessage     = 64 << 10 // bytes in one client message
	ctrlQueue      = 16       // snapshots and error replies waiting to be sent
	writeWait      = 10 * time.Second
	msgRatePerSec  = 20 // client messages per second, sustained
	msgRateBurst   = 40
	maxSubscribed  = 256 // patterns in one subscribe message
	floodCloseCode = websocket.ClosePolicyViolation
)

// client is one websocket connection: a reader goroutine handling the
// client's messages and a writer goroutine sending frames. The hub marks
// tags pending; the writer sends their newest values.
type client struct {
	hub  *Hub
	conn *websocket.Conn
	log  *slog.Logger

	mu   sync.Mutex
	view *hubView // the database sub indexes; the hub's, but for Rebind
	all  bool     // subscribed to every tag
	sub  []uint64 // bitset of subscribed tags

	// state is the writer's: the pending tags with the view their indexes
	// belong to, replaced together by a rebind.
	state       atomic.Pointer[clientState]
	alarmsDirty atomic.Bool
	wake        chan struct{} // alarms changed
	ctrl        chan []byte   // snapshots and error replies, in order
	done        chan struct{} // closed when the reader ends
}

type clientState struct {
	view    *hubView
	pending *tags.Set
}

func newClient(h *Hub, conn *websocket.Conn, log *slog.Logger) *client {
	c := &client{hub: h, conn: conn, log: log, wake: make(chan struct{}, 1), ctrl: make(chan []byte, ctrlQueue), done: make(chan struct{})}
	h.mu.Lock() // not rebound meanwhile
	v := h.view.Load()
	c.view, c.sub = v, make([]uint64, (v.db.Len()+63)/64)
	c.state.Store(&clientState{view: v, pending: tags.NewSet(v.db.Len())})
	h.mu.Unlock()
	return c
}

// rebind moves the client to the view nv, keeping its subscription by
// name, and queues notice and a snapshot. Called by the hub, holding h.mu.
func (c *client) rebind(nv *hubView, notice []byte) {
	c.mu.Lock()
	old := c.view
	sub := make([]uint64, (nv.db.Len()+63)/64)
	var ids []int
	for i := range nv.db.Len() {
		j, ok := old.db.Lookup(nv.db.Def(i).Name)
		if c.all || ok && c.sub[j>>6]&(1<<(j&63)) != 0 {
			sub[i>>6] |= 1 << (i & 63)
			ids = append(ids, i)
		}
	}
	c.view, c.sub = nv, sub
	c.state.Store(&clientState{view: nv, pending: tags.NewSet(nv.db.Len())})
	c.mu.Unlock()
	if notice != nil {
		c.replyState(notice)
	}
	c.replyState(nv.snapshot(ids))
	c.alarmsDirty.Store(true)
	c.poke()
}

// offer marks the subscribed ones of ids pending. Called by the hub.
func (c *client) offer(ids []int) {
	c.mu.Lock()
	all := c.all
	pending := c.state.Load().pending
	if all {
		c.mu.Unlock()
		pending.Add(ids...)
		return
	}
	var mine []int
	for _, i := range ids {
		if c.sub[i>>6]&(1<<(i&63)) != 0 {
			mine = append(mine, i)
		}
	}
	c.mu.Unlock()
	if len(mine) > 0 {
		pending.Add(mine...)
	}
}

func (c *client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// serve runs the connection until either side closes it.
func (c *client) serve() {
	c.hub.add(c)
	defer c.hub.remove(c)
	var wg sync.WaitGroup
	wg.Go(c.writeLoop)
	c.readLoop()
	close(c.done)
	wg.Wait()
	c.conn.Close()
}

type clientMsg struct {
	Type string   `json:"type"`
	Tags []string `json:"tags"`
}

func (c *client) readLoop() {
	c.conn.SetReadLimit(maxMessage)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	tokens, last := float64(msgRateBurst), time.Now()
	for {
		typ, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		// Token bucket: a client that floods is told so and dropped.
		now := time.Now()
		tokens = min(msgRateBurst, tokens+now.Sub(last).Seconds()*msgRatePerSec)
		last = now
		if tokens < 1 {
			c.closeFlooder()
			return
		}
		tokens--
		m, problem := decodeClientMsg(typ, data)
		if problem != "" {
			c.reply(errorMsg(problem))
			continue
		}
		if snap := c.subscribe(m.Type == "subscribe", m.Tags); snap != nil {
			c.replyState(snap)
			// The current alarms follow every snapshot.
			c.alarmsDirty.Store(true)
			c.poke()
		}
	}
}

// decodeClientMsg decodes and checks one client message. It returns the
// message, or a sentence saying what is wrong with it.
func decodeClientMsg(typ int, data []byte) (clientMsg, string) {
	var m clientMsg
	if typ != websocket.TextMessage {
		return m, "messages must be JSON text frames"
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, "malformed message: " + err.Error()
	}
	if m.Type != "subscribe" && m.Type != "unsubscribe" {
		return m, fmt.Sprintf("unknown message type %q (subscribe, unsubscribe)", m.Type)
	}
	if len(m.Tags) > maxSubscribed {
		return m, fmt.Sprintf("tags may list at most %d names or patterns", maxSubscribed)
	}
	if len(m.Tags) == 0 && m.Type != "subscribe" {
		return m, "unsubscribe needs the names or patterns to drop"
	}
	for _, p := range m.Tags {
		if !validPattern(p) {
			return m, fmt.Sprintf("bad tag pattern %q (a name, or up to %d \"*\" wildcards)", p, maxStars)
		}
	}
	return m, ""
}

// closeFlooder tells a client that floods why it is dropped, and reads
// (discarding) until it closes too or a second passes, so the close frame
// is not lost to a reset of a connection with unread data.
func (c *client) closeFlooder() {
	deadline := time.Now().Add(time.Second)
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(floodCloseCode, "too many messages"), deadline)
	c.conn.SetReadDeadline(deadline)
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}

// subscribe changes the subscription (patterns checked by
// decodeClientMsg), replies about patterns that match nothing, and returns a
// snapshot of the newly subscribed tags.
func (c *client) subscribe(on bool, patterns []string) []byte {
	var ids []int
	var unknown []string
	c.mu.Lock()
	v := c.view
	db := v.db
	for _, p := range patterns {
		n := 0
		if p == "*" {
			c.all = on
			if !on {
				clear(c.sub)
			}
		}
		if !strings.Contains(p, "*") { // a name: no need to try every tag
			if i, ok := db.Lookup(p); ok {
				n++
				if on {
					c.sub[i>>6] |= 1 << (i & 63)
					ids = append(ids, i)
				} else {
					c.sub[i>>6] &^= 1 << (i & 63)
				}
			}
			if n == 0 {
				unknown = append(unknown, p)
			}
			continue
		}
		for i := range db.Len() {
			if match(p, db.Def(i).Name) {
				n++
				if on {
					c.sub[i>>6] |= 1 << (i & 63)
					ids = append(ids, i)
				} else {
					c.sub[i>>6] &^= 1 << (i & 63)
				}
			}
		}
		if n == 0 && p != "*" {
			unknown = append(unknown, p)
		}
	}
	c.mu.Unlock()
	if len(unknown) > 0 {
		c.reply(errorMsg(fmt.Sprintf("no tag matches %q", unknown)))
	}
	if !on {
		return nil
	}
	// A snapshot even when empty (a subscribe of no tags is how a page
	// that shows none yet starts): it tells the client it is subscribed.
	return v.snapshot(ids)
}

// reply queues an error reply. When the queue is full the reply is
// dropped: the client is not reading, and errors are advice, not state.
func (c *client) reply(msg []byte) {
	select {
	case c.ctrl <- msg:
	default:
	}
}

// replyState queues a snapshot. A client that lets snapshots pile up does
// not read at all, and is closed rather than queued without bound.
func (c *client) replyState(msg []byte) {
	select {
	case c.ctrl <- msg:
	default:
		c.conn.Close()
	}
}

func errorMsg(text string) []byte {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Error string `json:"error"`
	}{"error", text})
	return b
}

func (c *client) writeLoop() {
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	var ids []int
	var buf []byte
	for {
		st := c.state.Load()
		select {
		case <-c.done:
			return
		case msg := <-c.ctrl:
			if !c.write(msg) {
				return
			}
			continue
		case <-st.pending.C():
		case <-c.wake:
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
			continue
		}
		// Control messages first: a snapshot must precede updates that follow it.
		for len(c.ctrl) > 0 {
			if !c.write(<-c.ctrl) {
				return
			}
		}
		if c.alarmsDirty.Swap(false) {
			if !c.write(*c.hub.alarms.Load()) {
				return
			}
		}
		st = c.state.Load() // a rebind may have come with the control messages
		ids = st.pending.Take(ids[:0])
		if len(ids) > 0 {
			buf = st.view.appendUpdate(buf[:0], ids)
			if !c.write(buf) {
				return
			}
		}
	}
}

func (c *client) write(msg []byte) bool {
	c.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		c.conn.Close() // unblocks the reader
		return false
	}
	return true
}
