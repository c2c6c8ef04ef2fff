package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/auth"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/control"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// controlProject is the control rig's project: a tank whose low level
// interlocks its pump, a push button, and a heater loop.
const controlProject = `name: control rig
devices:
  - {name: dev, driver: modbus-tcp, host: h, scan: 10ms, timeout: 1s}
tags:
  - {name: T101.Level, device: dev, address: HR0, type: double, unit: "%"}
  - {name: P101.Start, device: dev, address: C0, type: bool, writable: true, momentary: 150ms}
  - {name: P101.Running, device: dev, address: C1, type: bool, writable: true}
  - {name: TIC101.PV, device: dev, address: HR1, type: double, unit: "°C"}
  - {name: TIC101.SP, device: dev, address: HR2, type: double, unit: "°C", writable: true, low: 0, high: 150, confirm_delta: 10}
  - {name: TIC101.OUT, device: dev, address: HR3, type: double, unit: "%", writable: true, low: 0, high: 100}
loops:
  - {name: TIC101, pv: TIC101.PV, sp: TIC101.SP, out: TIC101.OUT, kp: 1, ti: 10, sp_low: 20, sp_high: 100, period: 20ms, fail_safe: 0}
interlocks:
  - name: P101.DryRun
    when: T101.Level < 10
    blocks: [{tag: P101.Start, value: 1}]
    forces: [{tag: P101.Running, value: 0}]
    message: "Tank low: pump would run dry"
`

// recDriver is a memDriver that also records every write in order, and
// reads the tags in bad as Bad.
type recDriver struct {
	memDriver
	writes []string // "tag=value"
	names  map[int]string
	bad    map[int]string // tag -> reason
}

func (d *recDriver) Read(ctx context.Context, out []driver.Reading) error {
	if err := d.memDriver.Read(ctx, out); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range out {
		if why, ok := d.bad[out[k].Index]; ok {
			out[k].Sample = hmi.Sample{Quality: hmi.Bad, Reason: why, TS: out[k].Sample.TS}
		}
	}
	return nil
}

func (d *recDriver) Write(ctx context.Context, p driver.Point, v hmi.Value) error {
	d.mu.Lock()
	d.writes = append(d.writes, d.names[p.Index]+"="+v.Text())
	d.mu.Unlock()
	return d.memDriver.Write(ctx, p, v)
}

// set puts a value in the device, as the plant would.
func (d *recDriver) set(r *rig, name string, v hmi.Value) {
	i, _ := r.db.Lookup(name)
	d.mu.Lock()
	d.vals[i] = v
	d.mu.Unlock()
}

func (d *recDriver) written() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.writes)
}

func newControlRig(t *testing.T) (*rig, *recDriver) {
	t.Helper()
	p, err := config.Parse("rig.yaml", []byte(controlProject), nil)
	if err != nil {
		t.Fatal(err)
	}
	db := tags.New(p.Tags)
	st, err := store.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { st.Run(ctx) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	drv := &recDriver{memDriver: memDriver{vals: map[int]hmi.Value{}}, names: map[int]string{}, bad: map[int]string{}}
	for i := range db.Len() {
		drv.names[i] = db.Def(i).Name
		drv.vals[i] = hmi.Number(0)
		if db.Def(i).Type == "bool" {
			drv.vals[i] = hmi.Bool(false)
		}
	}
	for name, v := range map[string]float64{"T101.Level": 50, "TIC101.PV": 40, "TIC101.SP": 50, "TIC101.OUT": 30} {
		drv.vals[mustLookup(db, name)] = hmi.Number(v)
	}
	dev := poll.New(p.Devices[0], drv, db.Points("dev"), db, log, st.Log)
	wg.Go(func() { dev.Run(ctx) })
	au := auth.New(st, auth.Options{Cost: bcrypt.MinCost})
	for name, role := range map[string]hmi.Role{"op": hmi.RoleOperator, "view": hmi.RoleViewer, "eng": hmi.RoleEngineer} {
		if err := au.AddUser(context.Background(), name, role, name+"-pass"); err != nil {
			t.Fatal(err)
		}
	}
	devs := map[string]*poll.Device{"dev": dev}
	w := api.NewWriter(db, devs)
	ils, err := control.NewInterlocks(p.Interlocks, db, w.WriteTag, log, st.Log)
	if err != nil {
		t.Fatal(err)
	}
	loops, err := control.NewRunner(p.Loops, db, w.WriteTag, log, control.RunnerOptions{Forcer: ils})
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub(db)
	alarms := newRigAlarms(t, st, hub)
	svc := api.New(api.Info{Name: "test"}, db, devs, st, au, alarms, driver.Env{DataDir: t.TempDir()})
	svc.SetControl(loops, ils)
	wg.Go(func() { hub.Run(ctx) })
	wg.Go(func() { ils.Run(ctx) })
	wg.Go(func() { loops.Run(ctx) })
	s := New(svc, hub, Options{Log: log, Health: func() []string { return nil }})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait(); st.Close() })
	r := &rig{db: db, hub: hub, srv: srv, st: st, alarms: alarms}
	for _, name := range []string{"T101.Level", "TIC101.PV", "TIC101.OUT", "P101.Running"} {
		waitGood(t, r, name)
	}
	return r, drv
}

func mustLookup(db interface{ Lookup(string) (int, bool) }, name string) int {
	i, ok := db.Lookup(name)
	if !ok {
		panic("no tag " + name)
	}
	return i
}

func getInto(t *testing.T, r *rig, path string, v any) {
	t.Helper()
	code, body := call(t, r, "GET", path, "", "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func audits(t *testing.T, r *rig, source string) []hmi.Event {
	t.Helper()
	var ev []hmi.Event
	eventually(t, "the audit of "+source, func() bool {
		ev, _ = r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Source: source, Limit: 100})
		return len(ev) > 0
	})
	time.Sleep(100 * time.Millisecond) // let the writer commit the rest
	ev, _ = r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Source: source, Limit: 100})
	slices.Reverse(ev) // oldest first
	return ev
}

type interlockJSON struct {
	Name, Message, Reason, When string
	Active                      bool
	Since                       int64
	Blocks, Forces              []struct {
		Tag   string   `json:"tag"`
		Value *float64 `json:"value"`
	}
}

// TestInterlockRefusesCommands: an active interlock answers a command it
// blocks with 409 naming it and its message, audits it as refused, shows
// on the tag and in the interlock list, and forces its output; when it
// clears, the command goes through.
func TestInterlockRefusesCommands(t *testing.T) {
	r, drv := newControlRig(t)
	op := login(t, r, "op", "op-pass")
	drv.set(r, "P101.Running", hmi.Bool(true))
	eventually(t, "the pump running", func() bool { s, _ := r.db.GetByName("P101.Running"); return s.Value.Truth() })

	drv.set(r, "T101.Level", hmi.Number(4))
	var ils []interlockJSON
	eventually(t, "the interlock", func() bool { getInto(t, r, "/api/v1/interlocks", &ils); return len(ils) == 1 && ils[0].Active })
	il := ils[0]
	if il.Name != "P101.DryRun" || il.Message != "Tank low: pump would run dry" || il.Reason != "T101.Level < 10 (T101.Level = 4)" ||
		il.When != "T101.Level < 10" || il.Since == 0 || len(il.Blocks) != 1 || il.Blocks[0].Tag != "P101.Start" || *il.Blocks[0].Value != 1 ||
		len(il.Forces) != 1 || il.Forces[0].Tag != "P101.Running" || *il.Forces[0].Value != 0 {
		t.Errorf("interlock = %+v", il)
	}
	// Forced on activation: the pump is stopped.
	eventually(t, "the pump forced off", func() bool { return slices.Contains(drv.written(), "P101.Running=false") })

	var tag struct {
		Interlocks  []string `json:"interlocks"`
		MomentaryMS int64    `json:"momentary_ms"`
	}
	getInto(t, r, "/api/v1/tags/P101.Start", &tag)
	if len(tag.Interlocks) != 1 || tag.Interlocks[0] != "P101.DryRun" || tag.MomentaryMS != 150 {
		t.Errorf("tag view: %+v, want interlocks [P101.DryRun] and momentary_ms 150", tag)
	}
	for _, c := range []struct{ path, body string }{
		{"/api/v1/tags/P101.Start/write", `{"value":true,"reason":"restart"}`},
		{"/api/v1/tags/P101.Start/pulse", `{}`},
		{"/api/v1/tags/P101.Running/write", `{"value":true}`}, // forced to false
	} {
		code, body := call(t, r, "POST", c.path, c.body, op)
		if code != 409 || !strings.Contains(string(body), "P101.DryRun") || !strings.Contains(string(body), "Tank low: pump would run dry") {
			t.Errorf("%s while interlocked: %d %s, want 409 naming the interlock and its message", c.path, code, body)
		}
	}
	if w := drv.written(); slices.Contains(w, "P101.Start=true") || slices.Contains(w, "P101.Running=true") {
		t.Errorf("a refused command reached the device: %v", w)
	}
	// Writing 0 to the button is not blocked (only 1 is).
	if code, body := call(t, r, "POST", "/api/v1/tags/P101.Start/write", `{"value":false}`, op); code != 200 {
		t.Errorf("writing false to the start button: %d %s", code, body)
	}
	ev := audits(t, r, "P101.Start")
	if len(ev) < 2 || ev[0].Action != "write" || ev[0].User != "op" || ev[0].Reason != "restart" ||
		!strings.HasPrefix(ev[0].Result, "P101.Start: refused by interlock P101.DryRun: Tank low: pump would run dry") ||
		ev[1].Action != "pulse" || !strings.Contains(ev[1].Result, "refused by interlock P101.DryRun") {
		t.Errorf("audit: %+v", ev)
	}

	// Bad quality of the level keeps it active (fail safe), with the reason.
	drv.set(r, "T101.Level", hmi.Number(50))
	eventually(t, "clear", func() bool { getInto(t, r, "/api/v1/interlocks", &ils); return !ils[0].Active })
	getInto(t, r, "/api/v1/tags/P101.Start", &tag)
	if len(tag.Interlocks) != 0 {
		t.Errorf("interlocks on the tag after clearing: %v", tag.Interlocks)
	}
	if code, body := call(t, r, "POST", "/api/v1/tags/P101.Start/write", `{"value":true}`, op); code != 200 {
		t.Errorf("write after the interlock cleared: %d %s", code, body)
	}
}

func TestPulse(t *testing.T) {
	r, drv := newControlRig(t)
	op := login(t, r, "op", "op-pass")
	view := login(t, r, "view", "view-pass")
	began := time.Now()
	code, body := call(t, r, "POST", "/api/v1/tags/P101.Start/pulse", "", op) // no body: the tag's 150 ms
	took := time.Since(began)
	if code != 200 || !strings.Contains(string(body), `"value":false`) {
		t.Fatalf("pulse: %d %s, want 200 with the released value", code, body)
	}
	if took < 150*time.Millisecond {
		t.Errorf("pulse answered after %v, before the button was released (150 ms)", took)
	}
	button := func() []string {
		return slices.DeleteFunc(drv.written(), func(w string) bool { return !strings.HasPrefix(w, "P101.Start=") })
	}
	if w := button(); !slices.Equal(w, []string{"P101.Start=true", "P101.Start=false"}) {
		t.Errorf("device writes %v, want true then false", w)
	}
	for _, c := range []struct {
		path, body, token string
		want              int
	}{
		{"/api/v1/tags/P101.Start/pulse", `{"ms":60}`, op, 200},
		{"/api/v1/tags/P101.Start/pulse", `{"ms":10}`, op, 400},
		{"/api/v1/tags/P101.Start/pulse", `{"ms":-5}`, op, 400},
		{"/api/v1/tags/P101.Start/pulse", `{"ms":60}`, view, 403},
		{"/api/v1/tags/P101.Start/pulse", `{"ms":60}`, "", 401},
		{"/api/v1/tags/T101.Level/pulse", `{}`, op, 409}, // read-only
		{"/api/v1/tags/nope/pulse", `{}`, op, 404},
	} {
		if code, body := call(t, r, "POST", c.path, c.body, c.token); code != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.path, c.body, code, body, c.want)
		}
	}
	ev := audits(t, r, "P101.Start")
	if ev[0].Action != "pulse" || ev[0].Old != "false" || ev[0].New != "1" || ev[0].Readback != "false" ||
		ev[0].Detail != "pulse of 150ms" || ev[0].Result != "ok" {
		t.Errorf("first pulse audited as %+v", ev[0])
	}
	// One entry per pulse command the API saw, refused ones too (the
	// malformed ms -5 is refused before).
	var acts []string
	for _, e := range ev {
		acts = append(acts, e.Action+" "+e.User+" "+map[bool]string{true: "ok", false: "refused"}[e.Result == "ok"])
	}
	if got := strings.Join(acts, ", "); got != "pulse op ok, pulse op ok, pulse op refused, pulse view refused, pulse  refused" {
		t.Errorf("audit: %s", got)
	}
}

type loopJSON struct {
	Name, PVTag, SPTag, OutTag, Mode, TargetMode, Reason, Interlock, POn, Unit, OutUnit string
	PV, SP, SPWorking, Out, SPLow, SPHigh                                               *float64
	Kp, Ti, Td, OutLow, OutHigh, PeriodMS, JitterP99MS                                  float64
	Tracking                                                                            bool
	Runs                                                                                uint64
	FailSafe                                                                            any
}

func (l *loopJSON) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for _, k := range []string{"name", "pv", "sp", "out", "mode", "kp", "ti", "td", "sp_low", "sp_high", "out_low", "out_high", "jitter_p99_ms"} {
		if _, ok := m[k]; !ok {
			return &json.UnsupportedValueError{Str: "no field " + k}
		}
	}
	type plain struct {
		Name        string   `json:"name"`
		PVTag       string   `json:"pv_tag"`
		SPTag       string   `json:"sp_tag"`
		OutTag      string   `json:"out_tag"`
		Mode        string   `json:"mode"`
		TargetMode  string   `json:"target_mode"`
		Reason      string   `json:"reason"`
		Interlock   string   `json:"interlock"`
		POn         string   `json:"p_on"`
		Unit        string   `json:"unit"`
		OutUnit     string   `json:"out_unit"`
		PV          *float64 `json:"pv"`
		SP          *float64 `json:"sp"`
		SPWorking   *float64 `json:"sp_working"`
		Out         *float64 `json:"out"`
		SPLow       *float64 `json:"sp_low"`
		SPHigh      *float64 `json:"sp_high"`
		Kp          float64  `json:"kp"`
		Ti          float64  `json:"ti"`
		Td          float64  `json:"td"`
		OutLow      float64  `json:"out_low"`
		OutHigh     float64  `json:"out_high"`
		PeriodMS    float64  `json:"period_ms"`
		JitterP99MS float64  `json:"jitter_p99_ms"`
		Tracking    bool     `json:"tracking"`
		Runs        uint64   `json:"runs"`
		FailSafe    any      `json:"fail_safe"`
	}
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*l = loopJSON(p)
	return nil
}

func TestLoopEndpoints(t *testing.T) {
	r, drv := newControlRig(t)
	op := login(t, r, "op", "op-pass")
	eng := login(t, r, "eng", "eng-pass")
	view := login(t, r, "view", "view-pass")
	var loops []loopJSON
	eventually(t, "the loop running", func() bool { getInto(t, r, "/api/v1/loops", &loops); return len(loops) == 1 && loops[0].Runs > 2 })
	l := loops[0]
	if l.Name != "TIC101" || l.PVTag != "TIC101.PV" || l.SPTag != "TIC101.SP" || l.OutTag != "TIC101.OUT" || l.Mode != "auto" ||
		l.TargetMode != "auto" || l.Kp != 1 || l.Ti != 10 || l.Td != 0 || *l.SPLow != 20 || *l.SPHigh != 100 || l.OutLow != 0 ||
		l.OutHigh != 100 || l.PeriodMS != 20 || l.POn != "error" || l.Unit != "°C" || l.OutUnit != "%" || *l.PV != 40 || *l.SP != 50 ||
		l.FailSafe != 0.0 || l.Out == nil {
		t.Errorf("loop view: %+v", l)
	}
	var one loopJSON
	getInto(t, r, "/api/v1/loops/TIC101", &one)
	if one.Name != "TIC101" {
		t.Errorf("GET /loops/TIC101: %+v", one)
	}

	for _, c := range []struct {
		name, path, body, token string
		want                    int
		in                      string
	}{
		{"unknown loop", "/api/v1/loops/nope/mode", `{"mode":"manual"}`, op, 404, "no loop"},
		{"viewer", "/api/v1/loops/TIC101/sp", `{"value":60}`, view, 403, "operator"},
		{"not logged in", "/api/v1/loops/TIC101/mode", `{"mode":"manual"}`, "", 401, "log in"},
		{"sp over the limit", "/api/v1/loops/TIC101/sp", `{"value":120}`, op, 400, "outside the limits of loop TIC101 (20..100)"},
		{"sp without value", "/api/v1/loops/TIC101/sp", `{}`, op, 400, "needs a"},
		{"sp", "/api/v1/loops/TIC101/sp", `{"value":70,"reason":"recipe B"}`, op, 200, `"sp":70`},
		{"out in auto", "/api/v1/loops/TIC101/out", `{"value":42}`, op, 409, "switch it to manual"},
		{"bad mode", "/api/v1/loops/TIC101/mode", `{"mode":"turbo"}`, op, 400, "not one of"},
		{"cascade without a primary", "/api/v1/loops/TIC101/mode", `{"mode":"cascade"}`, op, 400, "sp_from"},
		{"manual", "/api/v1/loops/TIC101/mode", `{"mode":"manual"}`, op, 200, `"target_mode":"manual"`},
		{"out over the limit", "/api/v1/loops/TIC101/out", `{"value":150}`, op, 400, "outside the limits"},
		{"out", "/api/v1/loops/TIC101/out", `{"value":42}`, op, 200, `"out":42`},
		{"tuning as operator", "/api/v1/loops/TIC101/tuning", `{"kp":2}`, op, 403, "engineer"},
		{"tuning kp 0", "/api/v1/loops/TIC101/tuning", `{"kp":0}`, eng, 400, "kp must not be 0"},
		{"tuning negative ti", "/api/v1/loops/TIC101/tuning", `{"ti":-1}`, eng, 400, "0 or more"},
		{"tuning nothing", "/api/v1/loops/TIC101/tuning", `{}`, eng, 400, "give kp"},
		{"tuning", "/api/v1/loops/TIC101/tuning", `{"kp":2,"ti":20,"td":0.5}`, eng, 200, `"kp":2,"ti":20,"td":0.5`},
		{"auto", "/api/v1/loops/TIC101/mode", `{"mode":"auto"}`, op, 200, `"target_mode":"auto"`},
	} {
		code, body := call(t, r, "POST", c.path, c.body, c.token)
		if code != c.want || !strings.Contains(string(body), c.in) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.want, c.in)
		}
	}
	if w := drv.written(); !slices.Contains(w, "TIC101.SP=70") || !slices.Contains(w, "TIC101.OUT=42") {
		t.Errorf("device writes %v, want TIC101.SP=70 and TIC101.OUT=42", w)
	}
	ev := audits(t, r, "TIC101")
	var got []string
	for _, e := range ev {
		got = append(got, e.Action+" "+e.Old+" -> "+e.New+" "+map[bool]string{true: "ok", false: "refused"}[e.Result == "ok"])
	}
	want := []string{
		"loop.sp  -> 60 refused", "loop.mode  -> manual refused", "loop.sp 50 -> 120 refused", "loop.sp 50 -> 70 ok",
		"loop.out  -> 42 refused", "loop.mode auto -> turbo refused", "loop.mode auto -> cascade refused", "loop.mode auto -> manual ok",
		"loop.out  -> 150 refused", "loop.out  -> 42 ok",
		"loop.tuning  -> kp=2 refused", "loop.tuning kp=1 ti=10 td=0 -> kp=0 ti=10 td=0 refused",
		"loop.tuning kp=1 ti=10 td=0 -> kp=1 ti=-1 td=0 refused", "loop.tuning kp=1 ti=10 td=0 -> kp=1 ti=10 td=0 refused",
		"loop.tuning kp=1 ti=10 td=0 -> kp=2 ti=20 td=0.5 ok", "loop.mode manual -> auto ok",
	}
	// The old output is what the loop held: compare without it.
	for i := range got {
		if strings.HasPrefix(got[i], "loop.out ") {
			f := strings.Fields(got[i])
			got[i] = "loop.out  -> " + f[len(f)-2] + " " + f[len(f)-1]
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sp := ev[3]; sp.Reason != "recipe B" || sp.Readback != "70" || sp.User != "op" {
		t.Errorf("loop.sp audit: %+v", sp)
	}
}

// TestLoopFailSafeAndInterlockShow: a Bad PV shows as mode failsafe with
// the reason, and the fail-safe output is written.
func TestLoopFailSafeShows(t *testing.T) {
	r, drv := newControlRig(t)
	drv.mu.Lock()
	drv.bad[mustLookup(r.db, "TIC101.PV")] = "sensor broken"
	drv.mu.Unlock()
	var l loopJSON
	eventually(t, "failsafe", func() bool { getInto(t, r, "/api/v1/loops/TIC101", &l); return l.Mode == "failsafe" })
	if l.TargetMode != "auto" || !strings.Contains(l.Reason, "TIC101.PV is Bad (sensor broken)") {
		t.Errorf("failsafe view: %+v", l)
	}
	eventually(t, "the fail-safe output", func() bool { return slices.Contains(drv.written(), "TIC101.OUT=0") })
}
