package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/control"
	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/sparkplug"
	"github.com/edgehmi/edgehmi/backend/store"
	"github.com/edgehmi/edgehmi/backend/tags"
	"github.com/edgehmi/edgehmi/backend/web"
)

// generation is what the engine builds from one project: a reload builds
// the next one and retires the last. Devices whose definition did not
// change pass from one generation to the next, still running; the alarm
// runner, loops, interlocks, historian and Sparkplug node are rebuilt.
type generation struct {
	project *config.Project // as run (pointed at the plant in demo mode)
	source  []byte          // the file's text
	version api.ProjectVersion

	db         *tags.DB
	devs       map[string]*poll.Device
	order      []*poll.Device
	fresh      []*poll.Device // built for this generation, not yet running
	alarms     *alarmRunner
	historian  *store.Historian
	loops      *control.Runner
	interlocks *control.Interlocks
	northbound *sparkplug.Node
	svc        *api.Service
	web        *web.Server

	cancel context.CancelFunc // stops the runners below (not the devices)
	wg     sync.WaitGroup
}

// devRun is one running device poller and how to stop it.
type devRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// build makes a generation for p. Devices of old whose definition p keeps
// are reused as they are (rebound to the new database when it is applied);
// the others are built afresh and not started. build starts nothing and
// changes nothing running, so a failure leaves the engine as it was.
func (e *Engine) build(ctx context.Context, p *config.Project, source []byte, old *generation) (*generation, error) {
	g := &generation{project: p, source: source, devs: map[string]*poll.Device{}}
	g.db = tags.New(p.Tags)
	reg := e.o.Drivers
	if reg == nil {
		reg = Drivers()
	}
	for _, dc := range p.Devices {
		if dc.Disabled {
			g.db.MarkBad(g.db.IDs(dc.Name), "device disabled in the project", time.Now())
			continue
		}
		if old != nil {
			if d := old.devs[dc.Name]; d != nil && sameDevice(old.project, p, dc.Name) {
				g.devs[dc.Name] = d
				g.order = append(g.order, d)
				continue
			}
		}
		drv, err := reg.New(dc, driver.Env{DataDir: e.o.DataDir})
		if err != nil {
			return nil, err
		}
		points := g.db.Points(dc.Name)
		for k := range points {
			def := g.db.Def(points[k].Index)
			if c := def.ScanClass; c != "" {
				points[k].Scan, _ = p.ScanPeriod(c)
			}
			points[k].Deadband, points[k].DeadbandPercent = sourceDeadband(def)
		}
		d := poll.New(dc, drv, points, g.db, e.log, e.store.Log)
		g.devs[dc.Name] = d
		g.order = append(g.order, d)
		g.fresh = append(g.fresh, d)
	}
	if e.hub == nil {
		e.hub = web.NewHub(g.db)
	}
	var err error
	if g.alarms, err = newAlarmRunner(p.Alarms, g.db, g.devs, e.store, e.hub, e.log); err != nil {
		return nil, err
	}
	if p.RecordsHistory() { // no historian, no change bus subscriber, when nothing is recorded
		g.historian = store.NewHistorian(g.db, e.store, store.SpecsOf(p))
	}
	// Loops and interlocks write through the API's write path, unaudited.
	w := api.NewWriter(g.db, g.devs)
	if g.interlocks, err = control.NewInterlocks(p.Interlocks, g.db, w.WriteTag, e.log, e.store.Log); err != nil {
		return nil, err
	}
	if g.loops, err = control.NewRunner(p.Loops, g.db, w.WriteTag, e.log, control.RunnerOptions{Forcer: g.interlocks}); err != nil {
		return nil, err
	}
	info := api.Info{Name: p.Name, Version: e.o.Version, Demo: e.o.Demo, UIIdleLogoutS: int(p.Server.UIIdleLogout.Seconds())}
	g.svc = api.New(info, g.db, g.devs, e.store, e.auth, g.alarms, driver.Env{DataDir: e.o.DataDir})
	g.svc.SetControl(g.loops, g.interlocks)
	g.svc.SetDisplays(e.o.displays(p))
	g.svc.SetProjects(e)
	g.web = web.New(g.svc, e.hub, web.Options{Static: e.o.Static, Log: e.log, Health: e.health, Metrics: e.metrics, Secure: e.secure,
		Northbound: e.northboundStatus})
	return g, nil
}

// run starts the generation's new devices and its runners, and makes it
// the engine's current one.
func (e *Engine) run(ctx context.Context, g *generation) error {
	for _, d := range g.fresh {
		e.startDevice(d)
	}
	g.fresh = nil
	gctx, cancel := context.WithCancel(e.runCtx)
	g.cancel = cancel
	g.wg.Go(func() { g.alarms.Run(gctx) })
	if g.historian != nil {
		g.wg.Go(func() { g.historian.Run(gctx) })
	}
	g.wg.Go(func() { g.interlocks.Run(gctx) })
	g.wg.Go(func() { g.loops.Run(gctx) })
	err := e.startNorthbound(ctx, gctx, g)

	e.mu.Lock()
	e.gen = g
	e.db, e.devs, e.order = g.db, g.devs, g.order
	e.alarms, e.historian, e.loops, e.interlocks, e.northbound = g.alarms, g.historian, g.loops, g.interlocks, g.northbound
	e.web = g.web
	e.mu.Unlock()
	h := g.web.Handler()
	e.handler.Store(&h)
	return err
}

// startDevice runs d until stopDevice or the engine stops.
func (e *Engine) startDevice(d *poll.Device) {
	ctx, cancel := context.WithCancel(e.runCtx)
	r := &devRun{cancel: cancel, done: make(chan struct{})}
	e.devRun[d] = r
	e.wg.Go(func() {
		defer close(r.done)
		d.Run(ctx)
	})
}

// stopDevice stops d's poller and waits for it (its driver is closed).
func (e *Engine) stopDevice(d *poll.Device) {
	if r := e.devRun[d]; r != nil {
		r.cancel()
		<-r.done
		delete(e.devRun, d)
	}
}

// retire stops the generation's runners (not its devices) and waits.
func (g *generation) retire() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
}

// sameDevice reports whether a device's definition is the same in both
// projects: its settings, and its tags in order with what the poller reads
// of them (scan class periods resolved).
func sameDevice(a, b *config.Project, name string) bool {
	da, ok1 := a.Device(name)
	db, ok2 := b.Device(name)
	if !ok1 || !ok2 || !reflect.DeepEqual(*da, *db) {
		return false
	}
	ta, tb := deviceTags(a, name), deviceTags(b, name)
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if !reflect.DeepEqual(*ta[i], *tb[i]) {
			return false
		}
		pa, _ := a.ScanPeriod(ta[i].ScanClass)
		pb, _ := b.ScanPeriod(tb[i].ScanClass)
		if pa != pb {
			return false
		}
	}
	return true
}

func deviceTags(p *config.Project, device string) []*config.Tag {
	var out []*config.Tag
	for i := range p.Tags {
		if p.Tags[i].Device == device {
			out = append(out, &p.Tags[i])
		}
	}
	return out
}

// ReloadFile reads the project file at path and loads it (SIGHUP).
func (e *Engine) ReloadFile(ctx context.Context, path string) (api.ReloadResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		err = fmt.Errorf("read project %s: %w", path, err)
	}
	var res api.ReloadResult
	if err == nil {
		res, err = e.Load(ctx, path, data)
	}
	ev := hmi.Event{Kind: hmi.EventAudit, Source: path, User: "edgehmi", Address: "SIGHUP", Action: "project.load", New: res.Hash, Result: "ok",
		Detail: fmt.Sprintf("kept %v, started %v, stopped %v, %d tags", res.Kept, res.Started, res.Stopped, res.Tags)}
	if err != nil {
		ev.Result, ev.Detail = "not loaded: "+strings.ReplaceAll(err.Error(), "\n", "; "), ""
	}
	e.store.Log(ev)
	return res, err
}

// Load validates a project file and applies it: devices whose definition
// did not change keep polling (the same pollers, connections and counters,
// rebound to the new tag database); changed and removed devices are
// stopped, changed and added ones started; alarms, loops, interlocks, the
// historian and the Sparkplug node are rebuilt, alarms defined as before
// keeping their states (alarm.Set.Adopt); tag values are carried over by name; websocket clients
// stay connected and get a "project" message and a fresh snapshot. A bad
// file (config.Errors) changes nothing. It implements api.Projects.
func (e *Engine) Load(ctx context.Context, file string, data []byte) (api.ReloadResult, error) {
	p, err := config.Parse(file, data, e.drivers())
	if err != nil {
		return api.ReloadResult{}, err
	}
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	select {
	case <-e.stopping:
		return api.ReloadResult{}, errors.New("edgehmi is stopping")
	default:
	}
	start := time.Now()
	old := e.gen
	run := p
	if e.sim != nil {
		run = pointAtSim(p, e.sim)
	}
	g, err := e.build(ctx, run, data, old)
	if err != nil {
		return api.ReloadResult{}, fmt.Errorf("build project %q: %w", p.Name, err)
	}
	res := api.ReloadResult{Tags: g.db.Len()}
	kept := map[*poll.Device]bool{}
	for name, d := range g.devs {
		if old.devs[name] == d {
			kept[d] = true
			res.Kept = append(res.Kept, name)
		}
	}
	for _, d := range g.fresh {
		res.Started = append(res.Started, d.Name())
	}
	// Retire the old generation: nothing writes through its devices now.
	old.retire()
	// Its runner has stopped and the new one not started: the new alarms
	// defined as before take over their states.
	res.AlarmsKept = len(g.alarms.set.Adopt(old.alarms.set))
	for _, d := range old.order {
		if !kept[d] {
			e.stopDevice(d)
			res.Stopped = append(res.Stopped, d.Name())
		}
	}
	for _, d := range g.order {
		if kept[d] {
			if err := d.Rebind(g.db, g.db.IDs(d.Name())); err != nil {
				return res, err // cannot happen: same definition, same tags
			}
		}
	}
	g.db.CarryOver(old.db)
	v, verr := e.keep(p, data)
	g.version = v
	runErr := e.run(ctx, g)
	e.hub.Rebind(g.db, projectNotice(v))
	res.ProjectVersion = v
	res.ReloadMS = float64(time.Since(start).Microseconds()) / 1000
	for _, l := range [][]string{res.Kept, res.Started, res.Stopped} {
		sort.Strings(l)
	}
	e.log.Info("project loaded", "project", p.Name, "sha256", p.Hash, "kept", len(res.Kept), "started", len(res.Started),
		"stopped", len(res.Stopped), "tags", res.Tags, "took", time.Since(start).Round(time.Microsecond))
	return res, errors.Join(verr, runErr)
}

func projectNotice(v api.ProjectVersion) []byte {
	return fmt.Appendf(nil, `{"type":"project","name":%q,"hash":%q,"id":%q}`, v.Name, v.Hash, v.ID)
}

func (e *Engine) drivers() *driver.Registry {
	if e.o.Drivers != nil {
		return e.o.Drivers
	}
	return Drivers()
}

// projectsDir holds the kept project versions.
func (e *Engine) projectsDir() string { return filepath.Join(e.o.DataDir, "projects") }

// keep writes a loaded project file to DATA/projects/<time>-<hash>.yaml,
// unless that hash is kept already, and returns its version.
func (e *Engine) keep(p *config.Project, data []byte) (api.ProjectVersion, error) {
	file := strings.Map(func(r rune) rune {
		if r <= ' ' {
			return '_'
		}
		return r
	}, filepath.Base(p.File))
	v := api.ProjectVersion{Name: p.Name, Hash: p.Hash, File: file, Size: int64(len(data)), Current: true}
	dir := e.projectsDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return v, fmt.Errorf("keep project version: %w", err)
	}
	if vs, err := e.versions(); err == nil {
		for _, k := range vs {
			if k.Hash == p.Hash {
				k.Current = true
				return k, nil
			}
		}
	}
	now := time.Now().UTC()
	v.ID = now.Format("20060102T150405.000Z") + "-" + p.Hash[:12]
	v.Loaded = now.UnixMilli()
	body := fmt.Appendf(nil, "# edgehmi project version: file %s sha256 %s name %s\n", v.File, p.Hash, strings.ReplaceAll(p.Name, "\n", " "))
	body = append(body, data...)
	tmp := filepath.Join(dir, v.ID+".yaml.tmp")
	if err := os.WriteFile(tmp, body, 0o640); err != nil {
		return v, fmt.Errorf("keep project version %s: %w", v.ID, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, v.ID+".yaml")); err != nil {
		return v, fmt.Errorf("keep project version %s: %w", v.ID, err)
	}
	return v, nil
}

// versions lists the kept versions, newest first.
func (e *Engine) versions() ([]api.ProjectVersion, error) {
	ents, err := os.ReadDir(e.projectsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list project versions: %w", err)
	}
	var out []api.ProjectVersion
	for _, ent := range ents {
		id, ok := strings.CutSuffix(ent.Name(), ".yaml")
		if !ok || ent.IsDir() {
			continue
		}
		v, err := e.readVersion(id, false)
		if err != nil {
			continue
		}
		out = append(out, v.ProjectVersion)
	}
	slices.Reverse(out) // ids sort by time
	return out, nil
}

type keptFile struct {
	api.ProjectVersion
	data []byte
}

// readVersion reads a kept version; its first line is edgehmi's comment.
// check verifies the text against its hash.
func (e *Engine) readVersion(id string, check bool) (keptFile, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return keptFile{}, api.ErrNoVersion
	}
	body, err := os.ReadFile(filepath.Join(e.projectsDir(), id+".yaml"))
	if errors.Is(err, os.ErrNotExist) {
		return keptFile{}, api.ErrNoVersion
	}
	if err != nil {
		return keptFile{}, fmt.Errorf("read project version %s: %w", id, err)
	}
	head, data, _ := strings.Cut(string(body), "\n")
	v := api.ProjectVersion{ID: id, Size: int64(len(data))}
	rest, ok := strings.CutPrefix(head, "# edgehmi project version: file ")
	var hash string
	if ok {
		v.File, rest, _ = strings.Cut(rest, " sha256 ")
		hash, v.Name, ok = strings.Cut(rest, " name ")
	}
	if !ok || len(hash) != 64 {
		return keptFile{}, fmt.Errorf("project version %s: not written by edgehmi", id)
	}
	v.Hash = hash
	if check {
		if sum := sha256.Sum256([]byte(data)); hex.EncodeToString(sum[:]) != v.Hash {
			return keptFile{}, fmt.Errorf("project version %s: its text does not match its hash", id)
		}
	}
	if t, err := time.Parse("20060102T150405.000Z", id[:min(len(id), 20)]); err == nil {
		v.Loaded = t.UnixMilli()
	}
	return keptFile{ProjectVersion: v, data: []byte(data)}, nil
}

// Current is the running project file.
func (e *Engine) Current() (api.ProjectFile, error) {
	e.mu.RLock()
	g := e.gen
	e.mu.RUnlock()
	return api.ProjectFile{ProjectVersion: g.version, YAML: string(g.source)}, nil
}

// Versions lists the kept project versions, newest first, the running one
// marked current.
func (e *Engine) Versions() ([]api.ProjectVersion, error) {
	vs, err := e.versions()
	e.mu.RLock()
	cur := e.gen.version.Hash
	e.mu.RUnlock()
	for i := range vs {
		vs[i].Current = vs[i].Hash == cur
	}
	return vs, err
}

// Restore loads a kept version again.
func (e *Engine) Restore(ctx context.Context, id string) (api.ReloadResult, error) {
	k, err := e.readVersion(id, true)
	if err != nil {
		return api.ReloadResult{}, err
	}
	return e.Load(ctx, k.File, k.data)
}

// swapHandler serves requests with the current generation's handler.
func (e *Engine) swapHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.handler.Load()).ServeHTTP(w, r) })
}
