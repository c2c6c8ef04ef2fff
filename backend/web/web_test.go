package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/auth"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// memDriver is a device in memory: reads return what was written.
type memDriver struct {
	mu     sync.Mutex
	vals   map[int]hmi.Value
	points []driver.Point
}

func (m *memDriver) Connect(context.Context) error  { return nil }
func (m *memDriver) Prepare(p []driver.Point) error { m.points = p; return nil }
func (m *memDriver) Close() error                   { return nil }
func (m *memDriver) Read(_ context.Context, out []driver.Reading) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.points {
		out[i] = driver.Reading{Index: p.Index, Sample: hmi.Sample{Value: m.vals[p.Index], Quality: hmi.Good, TS: time.Now()}}
	}
	return nil
}

// refusedValue and readOnlyValue are values the device refuses, as a PLC
// refuses an out-of-range value or a write to a protected address.
const (
	refusedValue  = 9999
	readOnlyValue = -9999
)

func (m *memDriver) Write(_ context.Context, p driver.Point, v hmi.Value) error {
	switch v.Float() {
	case refusedValue:
		return driver.Refused(driver.ErrBadValue, errors.New("device refused: illegal data value (exception 3)"))
	case readOnlyValue:
		return driver.Refused(driver.ErrReadOnly, errors.New("server refused: not writable (BadNotWritable)"))
	}
	m.mu.Lock()
	m.vals[p.Index] = v
	m.mu.Unlock()
	return nil
}

// rigAlarms is the engine's alarm runner reduced to what the endpoints use:
// a real alarm set under a lock, every transition journaled in the store,
// the alarm list published to the hub. eval feeds it a sample, as the
// runner does on a tag change.
type rigAlarms struct {
	mu  sync.Mutex
	set *alarm.Set
	st  *store.Store
	hub *Hub
}

// rigAlarmDefs are the rig's alarms, all on TIC101.PV; names hold the
// characters names may have: '/', ':' and '.'.
var rigAlarmDefs = []config.Alarm{
	{Name: "TIC101.Hi", Tag: "TIC101.PV", Type: "hi", Limit: 80, Priority: "high", Area: "TIC101", Message: "Mixer hot"},
	{Name: "TIC101.HiHi", Tag: "TIC101.PV", Type: "hihi", Limit: 100, Priority: "critical", Area: "TIC101", Latched: true, Message: "Mixer very hot"},
	{Name: "line/1:TIC101.Warm", Tag: "TIC101.PV", Type: "hi", Limit: 50, Priority: "low", Area: "line 1", MaxShelve: config.Duration{Duration: time.Hour}},
}

func newRigAlarms(t testing.TB, st *store.Store, hub *Hub) *rigAlarms {
	set, err := alarm.NewSet(rigAlarmDefs)
	if err != nil {
		t.Fatal(err)
	}
	return &rigAlarms{set: set, st: st, hub: hub}
}

func (a *rigAlarms) Alarms(all bool) []alarm.Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	if all {
		return a.set.All()
	}
	return a.set.Active()
}

func (a *rigAlarms) Act(op func(*alarm.Set, time.Time) ([]alarm.Transition, error)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	trs, err := op(a.set, time.Now())
	a.publish(trs)
	return err
}

// eval feeds the alarms a good sample of tag.
func (a *rigAlarms) eval(tag string, v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.publish(a.set.Evaluate(nil, tag, hmi.Sample{Value: hmi.Number(v), Quality: hmi.Good, TS: time.Now()}, time.Now()))
}

func (a *rigAlarms) publish(trs []alarm.Transition) {
	a.st.Journal(trs...)
	msg, err := json.Marshal(map[string]any{"type": "alarms", "alarms": a.set.Active(), "summary": a.set.Summary()})
	if err != nil {
		panic(err)
	}
	a.hub.SetAlarms(msg)
}

type rig struct {
	db     *tags.DB
	hub    *Hub
	srv    *httptest.Server
	st     *store.Store
	alarms *rigAlarms
	// data is the data directory the service was given (OPC UA PKI).
	data string
	svc  *api.Service
}

func ptr(f float64) *float64 { return &f }

func newRig(t testing.TB, ntags int) *rig {
	t.Helper()
	defs := []config.Tag{
		{Name: "TIC101.SP", Device: "dev", Type: "double", Writable: true, Low: ptr(20), High: ptr(110), Unit: "°C"},
		{Name: "TIC101.PV", Device: "none", Type: "double"},
		{Name: "TIC101.KP", Device: "dev", Type: "double", Writable: true, WriteRole: "engineer"},
	}
	for i := len(defs); i < ntags; i++ {
		defs = append(defs, config.Tag{Name: "X." + itoa(i), Device: "none", Type: "double"})
	}
	db := tags.New(defs)
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.Run(ctx) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dev := poll.New(config.Device{Name: "dev", Scan: config.Duration{Duration: 10 * time.Millisecond}, Timeout: config.Duration{Duration: time.Second}},
		&memDriver{vals: map[int]hmi.Value{0: hmi.Number(60), 1: hmi.Number(20), 2: hmi.Number(1)}}, db.Points("dev"), db, log, st.Log)
	wg.Go(func() { dev.Run(ctx) })
	au := auth.New(st, auth.Options{Cost: bcrypt.MinCost})
	for name, role := range map[string]hmi.Role{"op": hmi.RoleOperator, "view": hmi.RoleViewer, "eng": hmi.RoleEngineer, "adm": hmi.RoleAdmin} {
		if err := au.AddUser(context.Background(), name, role, name+"-pass"); err != nil {
			t.Fatal(err)
		}
	}
	data := t.TempDir()
	hub := NewHub(db)
	alarms := newRigAlarms(t, st, hub)
	svc := api.New(api.Info{Name: "test"}, db, map[string]*poll.Device{"dev": dev}, st, au, alarms, driver.Env{DataDir: data})
	wg.Go(func() { hub.Run(ctx) })
	s := New(svc, hub, Options{Log: log, Health: func() []string { return nil }})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait(); st.Close() })
	return &rig{db: db, hub: hub, srv: srv, st: st, alarms: alarms, data: data, svc: svc}
}

func itoa(i int) string { return string(hmi.Number(float64(i)).AppendJSON(nil)) }

func (r *rig) dial(t testing.TB, origin string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.srv.URL, "http")+"/ws", h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial with origin %q: %v (status %d)", origin, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type serverMsg struct {
	Type  string `json:"type"`
	Error string `json:"error"`
	Tags  []struct {
		Name    string          `json:"name"`
		Value   json.RawMessage `json:"value"`
		Quality string          `json:"quality"`
		TS      int64           `json:"ts"`
	} `json:"tags"`
}

// next reads messages until one of the given type arrives.
func next(t testing.TB, c *websocket.Conn, typ string) serverMsg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %q: %v", typ, err)
		}
		var m serverMsg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("server sent invalid JSON %q: %v", data, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func send(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func ingest(db *tags.DB, name string, v float64) {
	i, ok := db.Lookup(name)
	if !ok {
		panic("no tag " + name)
	}
	db.Ingest([]driver.Reading{{Index: i, Sample: hmi.Sample{Value: hmi.Number(v), Quality: hmi.Good, TS: time.Now()}}}, nil)
}

func TestSubscribeSnapshotUpdate(t *testing.T) {
	r := newRig(t, 10)
	waitGood(t, r, "TIC101.KP") // the device's first read is in: no update of it will follow
	c := r.dial(t, "")
	send(t, c, `{"type":"subscribe","tags":["TIC101.*"]}`)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var first serverMsg
	if err := c.ReadJSON(&first); err != nil || first.Type != "snapshot" {
		t.Fatalf("first message after subscribe = %+v, %v; want the snapshot", first, err)
	}
	if m := next(t, c, "alarms"); m.Type != "alarms" {
		t.Fatal("no alarms message after the snapshot")
	}
	snap := first
	if len(snap.Tags) != 3 || snap.Tags[0].Name != "TIC101.SP" {
		t.Fatalf("snapshot = %+v, want the three TIC101 tags", snap)
	}
	ingest(r.db, "X.3", 5) // not subscribed
	ingest(r.db, "TIC101.PV", 42.5)
	up := next(t, c, "update")
	if len(up.Tags) != 1 || up.Tags[0].Name != "TIC101.PV" || string(up.Tags[0].Value) != "42.5" || up.Tags[0].Quality != "good" {
		t.Errorf("update = %+v, want only TIC101.PV = 42.5 good", up)
	}
}

func TestMalformedMessagesGetErrorsAndKeepConnection(t *testing.T) {
	r := newRig(t, 4)
	c := r.dial(t, "")
	for _, bad := range []string{`{"type":`, `[]`, `{"type":"dance"}`, `{"type":"unsubscribe","tags":[]}`, `{"type":"subscribe","tags":["*a*b*c*d"]}`} {
		send(t, c, bad)
		if m := next(t, c, "error"); m.Error == "" {
			t.Errorf("%s: error message without text", bad)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	next(t, c, "error")
	send(t, c, `{"type":"subscribe","tags":["nope"]}`)
	if m := next(t, c, "error"); !strings.Contains(m.Error, "nope") {
		t.Errorf("unknown tag error %q does not name the pattern", m.Error)
	}
	if m := next(t, c, "snapshot"); len(m.Tags) != 0 {
		t.Errorf("snapshot for an unknown name holds %d tags", len(m.Tags))
	}
	// No tags yet (a page whose display is still loading): an empty
	// snapshot says it is subscribed.
	send(t, c, `{"type":"subscribe","tags":[]}`)
	if m := next(t, c, "snapshot"); len(m.Tags) != 0 {
		t.Errorf("subscribing to no tags gave a snapshot of %d", len(m.Tags))
	}
	send(t, c, `{"type":"subscribe","tags":["*"]}`)
	if m := next(t, c, "snapshot"); len(m.Tags) != 4 {
		t.Errorf("after errors, subscribe * gave %d tags, want 4", len(m.Tags))
	}
}

func TestFloodingClientIsDropped(t *testing.T) {
	r := newRig(t, 2)
	c := r.dial(t, "")
	for range 200 {
		if c.WriteMessage(websocket.TextMessage, []byte(`{"type":"x"}`)) != nil {
			break
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Errorf("flooder closed with %v, want policy violation", err)
			}
			return
		}
	}
}

func TestWebsocketOrigin(t *testing.T) {
	r := newRig(t, 2)
	r.dial(t, r.srv.URL)     // same origin
	r.dial(t, DesktopOrigin) // the Wails window
	r.dial(t, "")            // not a browser
	for _, bad := range []string{"http://evil.example", "wails://evil", "null"} {
		h := http.Header{"Origin": {bad}}
		_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(r.srv.URL, "http")+"/ws", h)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: err %v, want 403", bad, err)
		}
	}
}

func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	r := newRig(t, 50)
	slow := r.dial(t, "")
	send(t, slow, `{"type":"subscribe","tags":["*"]}`) // and never reads again
	fast := r.dial(t, "")
	send(t, fast, `{"type":"subscribe","tags":["TIC101.PV"]}`)
	next(t, fast, "snapshot")
	// Flood changes: far more than any socket buffer holds for the slow one.
	for n := range 20000 {
		for _, name := range []string{"X.3", "X.4", "X.5"} {
			ingest(r.db, name, float64(n))
		}
	}
	ingest(r.db, "TIC101.PV", 99)
	m := next(t, fast, "update")
	if string(m.Tags[len(m.Tags)-1].Value) != "99" {
		t.Errorf("fast client got %+v, want TIC101.PV 99", m)
	}
	if p := r.hub.Stats().Pending; p > r.db.Len() {
		t.Errorf("pending updates %d exceed the tag count %d: not conflated", p, r.db.Len())
	}
}

func post(t *testing.T, r *rig, path, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.srv.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func login(t *testing.T, r *rig, user, pw string) string {
	code, m := post(t, r, "/api/v1/login", `{"user":"`+user+`","password":"`+pw+`"}`, nil)
	if code != 200 {
		t.Fatalf("login %s: %d %v", user, code, m)
	}
	return m["token"].(string)
}

func TestWriteAuthLimitsAndAudit(t *testing.T) {
	r := newRig(t, 2)
	// Wait for the first read so the old value is known.
	deadline := time.Now().Add(2 * time.Second)
	for s, _ := r.db.GetByName("TIC101.SP"); s.Quality != hmi.Good; s, _ = r.db.GetByName("TIC101.SP") {
		if time.Now().After(deadline) {
			t.Fatal("no first read")
		}
		time.Sleep(5 * time.Millisecond)
	}
	op := map[string]string{"Authorization": "Bearer " + login(t, r, "op", "op-pass")}
	viewer := map[string]string{"Authorization": "Bearer " + login(t, r, "view", "view-pass")}
	cases := []struct {
		name, path, body string
		hdr              map[string]string
		want             int
	}{
		{"not logged in", "/api/v1/tags/TIC101.SP/write", `{"value":70}`, nil, 401},
		{"viewer", "/api/v1/tags/TIC101.SP/write", `{"value":70}`, viewer, 403},
		{"over limit", "/api/v1/tags/TIC101.SP/write", `{"value":500}`, op, 400},
		{"wrong type", "/api/v1/tags/TIC101.SP/write", `{"value":"hot"}`, op, 400},
		{"no value", "/api/v1/tags/TIC101.SP/write", `{"reason":"x"}`, op, 400},
		{"unknown field", "/api/v1/tags/TIC101.SP/write", `{"value":70,"force":true}`, op, 400},
		{"malformed", "/api/v1/tags/TIC101.SP/write", `{"value":`, op, 400},
		{"too big", "/api/v1/tags/TIC101.SP/write", `{"value":70,"reason":"` + strings.Repeat("x", 70<<10) + `"}`, op, 400},
		{"unknown tag", "/api/v1/tags/NOPE/write", `{"value":1}`, op, 404},
		{"read-only", "/api/v1/tags/TIC101.PV/write", `{"value":1}`, op, 409},
		{"cross-site", "/api/v1/tags/TIC101.SP/write", `{"value":70}`, map[string]string{"Authorization": op["Authorization"], "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"bad login", "/api/v1/login", `{"user":"op","password":"nope"}`, nil, 401},
	}
	for _, c := range cases {
		code, m := post(t, r, c.path, c.body, c.hdr)
		if code != c.want {
			t.Errorf("%s: status %d (%v), want %d", c.name, code, m, c.want)
		}
		if m["error"] == nil || m["error"] == "" {
			t.Errorf("%s: no error sentence in %v", c.name, m)
		}
	}
	code, m := post(t, r, "/api/v1/tags/TIC101.SP/write", `{"value":72.5,"reason":"recipe B"}`, op)
	if code != 200 || m["value"] != 72.5 || m["quality"] != "good" {
		t.Fatalf("write: %d %v, want 200 with read-back 72.5 good", code, m)
	}
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev, _ := r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Source: "TIC101.SP", Limit: 100})
	var ok *hmi.Event
	for i := range ev {
		if ev[i].Result == "ok" {
			ok = &ev[i]
		}
	}
	if ok == nil || ok.User != "op" || ok.Old != "60" || ok.New != "72.5" || ok.Readback != "72.5" || ok.Reason != "recipe B" || ok.Address == "" {
		t.Errorf("audit of the write = %+v", ok)
	}
	// Refused writes are audited too: not logged in, wrong role, over limit, wrong type, and the one that worked.
	if len(ev) != 5 {
		t.Errorf("%d audit entries for TIC101.SP, want 5: %+v", len(ev), ev)
	}
}

func TestRESTReads(t *testing.T) {
	r := newRig(t, 3)
	for path, want := range map[string]int{"/healthz": 200, "/api/v1/tags": 200, "/api/v1/tags/TIC101.SP": 200,
		"/api/v1/tags/nope": 404, "/api/v1/me": 401, "/api/v1/events?kind=audit": 401, "/api/v1/events?kind=x": 400,
		"/api/v1/events?from=yesterday": 400, "/api/v1/nope": 404, "/metrics": 200} {
		resp, err := http.Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s: security headers missing", path)
		}
	}
}

// TestPermissions goes through every mutating endpoint with every role:
// 401 without a session, 403 with too low a role, 2xx otherwise.
func TestPermissions(t *testing.T) {
	r := newRig(t, 3)
	waitGood(t, r, "TIC101.SP")
	tokens := map[string]string{"none": ""}
	for _, u := range []string{"view", "op", "eng", "adm"} {
		tokens[u] = login(t, r, u, u+"-pass")
	}
	roles := []string{"none", "view", "op", "eng", "adm"}
	cases := []struct {
		path, body string
		want       []int // by role, in the order of roles
	}{
		{"/api/v1/tags/TIC101.SP/write", `{"value":65}`, []int{401, 403, 200, 200, 200}},
		{"/api/v1/tags/TIC101.KP/write", `{"value":2}`, []int{401, 403, 403, 200, 200}},
		{"/api/v1/logout", ``, []int{200, 200, 200, 200, 200}},
	}
	for _, c := range cases {
		for k, role := range roles {
			hdr := map[string]string{}
			if tokens[role] != "" {
				hdr["Authorization"] = "Bearer " + tokens[role]
			}
			if c.path == "/api/v1/logout" {
				// Log out a fresh session so the others stay valid.
				if role != "none" {
					hdr["Authorization"] = "Bearer " + login(t, r, role, role+"-pass")
				}
			}
			code, m := post(t, r, c.path, c.body, hdr)
			if code != c.want[k] {
				t.Errorf("POST %s as %s: %d %v, want %d", c.path, role, code, m, c.want[k])
			}
		}
	}
	// GET endpoints that need a login.
	for k, role := range roles {
		req, _ := http.NewRequest("GET", r.srv.URL+"/api/v1/events?kind=audit", nil)
		if tokens[role] != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[role])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := []int{401, 200, 200, 200, 200}[k]; resp.StatusCode != want {
			t.Errorf("GET events as %s: %d, want %d", role, resp.StatusCode, want)
		}
	}
}

func waitGood(t *testing.T, r *rig, tag string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for s, _ := r.db.GetByName(tag); s.Quality != hmi.Good; s, _ = r.db.GetByName(tag) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never read", tag)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoginRateLimited(t *testing.T) {
	r := newRig(t, 3)
	for range 5 {
		post(t, r, "/api/v1/login", `{"user":"op","password":"guess"}`, nil)
	}
	code, m := post(t, r, "/api/v1/login", `{"user":"op","password":"op-pass"}`, nil)
	if code != http.StatusTooManyRequests || !strings.Contains(fmt.Sprint(m["error"]), "try again in") {
		t.Errorf("6th login: %d %v, want 429 with a wait", code, m)
	}
	r.st.Flush(context.Background())
	ev, _ := r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Action: "login", User: "op"})
	if len(ev) != 6 {
		t.Errorf("%d login attempts audited, want 6 (5 failed, 1 refused)", len(ev))
	}
}

func TestEventsCSV(t *testing.T) {
	r := newRig(t, 3)
	waitGood(t, r, "TIC101.SP")
	tok := login(t, r, "op", "op-pass")
	post(t, r, "/api/v1/tags/TIC101.SP/write", `{"value":70,"reason":"=cmd|' /C calc'!A0"}`, map[string]string{"Authorization": "Bearer " + tok})
	r.st.Flush(context.Background())
	req, _ := http.NewRequest("GET", r.srv.URL+"/api/v1/events?kind=audit&action=write&format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), "edgehmi-audit-") {
		t.Errorf("headers: %v", resp.Header)
	}
	if len(rows) != 2 || rows[0][0] != "time" || rows[1][5] != "TIC101.SP" || rows[1][6] != "60" || rows[1][7] != "70" || rows[1][2] != "op" {
		t.Fatalf("csv rows = %q", rows)
	}
	if reason := rows[1][9]; !strings.HasPrefix(reason, "'=") {
		t.Errorf("formula in reason not defused: %q", reason)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, n string
		ok   bool
	}{{"*", "a", true}, {"TIC101.*", "TIC101.PV", true}, {"TIC101.*", "TIC102.PV", false}, {"*.PV", "TIC101.PV", true},
		{"T*1.*V", "TIC101.PV", true}, {"a", "a", true}, {"a", "ab", false}, {"a*", "a", true}, {"*b", "a", false}} {
		if got := match(c.p, c.n); got != c.ok {
			t.Errorf("match(%q, %q) = %v", c.p, c.n, got)
		}
	}
}
