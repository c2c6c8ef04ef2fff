package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

const rigDisplay = `version: 1
title: Loop
level: equipment
width: 400
height: 300
objects:
  - type: value
    id: pv
    x: 10
    y: 10
    w: 100
    h: 30
    tag: TIC101.PV
`

func request(t *testing.T, r *rig, method, path, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// displayRig: a project whose one display is embedded (as the demo's is),
// so saves go into the data directory.
func displayRig(t *testing.T) *rig {
	r := newRig(t, 2)
	p := &config.Project{Name: "test", Displays: []string{"displays/loop.yaml"}, Tags: []config.Tag{
		{Name: "TIC101.SP", Type: "double", Writable: true, Low: ptr(20), High: ptr(110)},
		{Name: "TIC101.PV", Type: "double"},
	}}
	r.svc.SetDisplays(api.NewDisplays(p, fstest.MapFS{"displays/loop.yaml": {Data: []byte(rigDisplay)}}, r.data))
	return r
}

func TestDisplaysListGetSaveVersionsRestore(t *testing.T) {
	r := displayRig(t)
	eng := map[string]string{"Authorization": "Bearer " + login(t, r, "eng", "eng-pass")}
	op := map[string]string{"Authorization": "Bearer " + login(t, r, "op", "op-pass")}

	if code, _ := request(t, r, "GET", "/api/v1/displays", "", nil); code != 401 {
		t.Errorf("list without login: %d", code)
	}
	code, body := request(t, r, "GET", "/api/v1/displays", "", op)
	if code != 200 || !strings.Contains(string(body), `"name":"loop","title":"Loop","level":"equipment","file":"displays/loop.yaml","project":true`) {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = request(t, r, "GET", "/api/v1/displays/loop", "", op)
	var doc api.DisplayDoc
	if code != 200 || json.Unmarshal(body, &doc) != nil || len(doc.Display.Objects) != 1 || doc.Hash != config.Hash([]byte(rigDisplay)) {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _ := request(t, r, "GET", "/api/v1/displays/nope", "", op); code != 404 {
		t.Errorf("unknown display: %d", code)
	}

	// An operator may not save; an engineer may; a bad display is refused with the object and field named.
	doc.Display.Objects = append(doc.Display.Objects, config.Object{Type: "setpoint", ID: "sp", X: 10, Y: 50, W: 100, H: 40, Tag: "TIC101.SP"})
	good, _ := json.Marshal(map[string]any{"display": doc.Display, "reason": "add SP"})
	if code, _ := request(t, r, "PUT", "/api/v1/displays/loop", string(good), op); code != 403 {
		t.Errorf("operator save: %d", code)
	}
	bad := strings.Replace(string(good), `"tag":"TIC101.SP"`, `"tag":"TIC101.PV"`, 1)
	code, body = request(t, r, "PUT", "/api/v1/displays/loop", bad, eng)
	if code != 400 || !strings.Contains(string(body), `objects[1] \"sp\": tag: tag \"TIC101.PV\" is not writable`) {
		t.Errorf("bad save: %d %s", code, body)
	}
	code, body = request(t, r, "PUT", "/api/v1/displays/loop", string(good), eng)
	if code != 200 {
		t.Fatalf("save: %d %s", code, body)
	}
	var saved api.DisplayDoc
	json.Unmarshal(body, &saved)
	file := filepath.Join(r.data, "displays", "loop.yaml")
	data, err := os.ReadFile(file)
	if err != nil || saved.Hash != config.Hash(data) || len(saved.Display.Objects) != 2 {
		t.Fatalf("saved file: %v %+v", err, saved)
	}
	// The embedded original is the first version kept.
	code, body = request(t, r, "GET", "/api/v1/displays/loop/versions", "", eng)
	var versions []api.DisplayVersion
	if code != 200 || json.Unmarshal(body, &versions) != nil || len(versions) != 1 || versions[0].Hash != config.Hash([]byte(rigDisplay)) {
		t.Fatalf("versions: %d %s", code, body)
	}
	// A new display made in the editor.
	code, body = request(t, r, "PUT", "/api/v1/displays/new-one", string(good), eng)
	if code != 200 {
		t.Fatalf("new display: %d %s", code, body)
	}
	_, body = request(t, r, "GET", "/api/v1/displays", "", op)
	if !strings.Contains(string(body), `"name":"new-one"`) {
		t.Errorf("new display not listed: %s", body)
	}
	if code, _ := request(t, r, "PUT", "/api/v1/displays/Bad%20Name", string(good), eng); code != 400 {
		t.Errorf("bad name: %d", code)
	}

	// Restore the original: the saved one becomes a version in turn.
	time.Sleep(2 * time.Millisecond)
	code, body = request(t, r, "POST", "/api/v1/displays/loop/versions/"+versions[0].ID+"/restore", `{"reason":"undo"}`, eng)
	if code != 200 {
		t.Fatalf("restore: %d %s", code, body)
	}
	if data, _ := os.ReadFile(file); string(data) != rigDisplay {
		t.Errorf("restored file:\n%s", data)
	}
	_, body = request(t, r, "GET", "/api/v1/displays/loop/versions", "", eng)
	json.Unmarshal(body, &versions)
	if len(versions) != 2 {
		t.Errorf("versions after restore: %s", body)
	}
	if code, _ := request(t, r, "POST", "/api/v1/displays/loop/versions/nope/restore", ``, eng); code != 404 {
		t.Errorf("unknown version: %d", code)
	}

	// Audited: who, the old and the new hash.
	deadline := time.Now().Add(3 * time.Second)
	for {
		ev, err := r.st.Events(t.Context(), store.EventQuery{Kind: hmi.EventAudit, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var saves, restores, refused int
		for _, e := range ev {
			switch {
			case e.Action == "display.save" && e.Source == "display:loop" && e.User == "eng" && e.Result == "ok" && e.New == saved.Hash && e.Reason == "add SP":
				saves++
			case e.Action == "display.restore" && e.Result == "ok" && e.New == config.Hash([]byte(rigDisplay)):
				restores++
			case e.Action == "display.save" && e.User == "op" && e.Result != "ok":
				refused++
			}
		}
		if saves == 1 && restores == 1 && refused == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit: saves %d restores %d refused %d in %+v", saves, restores, refused, ev)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A project on disk: saves write the file beside the project (a new
// display into displays/), and the replaced file is kept in the data
// directory.
func TestDisplaysSavedBesideTheProject(t *testing.T) {
	r := newRig(t, 2)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "screens"), 0o755)
	os.WriteFile(filepath.Join(dir, "screens", "loop.yaml"), []byte(rigDisplay), 0o644)
	p := &config.Project{Name: "test", File: filepath.Join(dir, "project.yaml"), Displays: []string{"screens/loop.yaml"}, Tags: []config.Tag{
		{Name: "TIC101.SP", Type: "double", Writable: true, Low: ptr(20), High: ptr(110)},
		{Name: "TIC101.PV", Type: "double"},
	}}
	r.svc.SetDisplays(api.NewDisplays(p, nil, r.data))
	eng := map[string]string{"Authorization": "Bearer " + login(t, r, "eng", "eng-pass")}

	_, body := request(t, r, "GET", "/api/v1/displays/loop", "", eng)
	var doc api.DisplayDoc
	if err := json.Unmarshal(body, &doc); err != nil || doc.File != "screens/loop.yaml" {
		t.Fatalf("get: %s", body)
	}
	doc.Display.Title = "Loop, edited"
	put, _ := json.Marshal(map[string]any{"display": doc.Display})
	if code, body := request(t, r, "PUT", "/api/v1/displays/loop", string(put), eng); code != 200 {
		t.Fatalf("save: %d %s", code, body)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "screens", "loop.yaml"))
	if !strings.Contains(string(data), "title: Loop, edited\n") {
		t.Errorf("project's file not written:\n%s", data)
	}
	kept, _ := filepath.Glob(filepath.Join(r.data, "displays", "loop", "*.yaml"))
	if len(kept) != 1 {
		t.Fatalf("kept versions: %v", kept)
	}
	if old, _ := os.ReadFile(kept[0]); string(old) != rigDisplay {
		t.Errorf("kept version:\n%s", old)
	}
	if code, body := request(t, r, "PUT", "/api/v1/displays/extra", string(put), eng); code != 200 {
		t.Fatalf("new display: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "displays", "extra.yaml")); err != nil {
		t.Errorf("new display not beside the project: %v", err)
	}
	_, body = request(t, r, "GET", "/api/v1/displays", "", eng)
	if !strings.Contains(string(body), `{"name":"extra","title":"Loop, edited","level":"equipment","file":"displays/extra.yaml","project":false}`) {
		t.Errorf("list: %s", body)
	}
	// A saved file loads with the project's tags, as edgehmi check would read it.
	if _, err := config.LoadDisplays(p, os.DirFS(dir), dir); err != nil {
		t.Errorf("saved displays do not load: %v", err)
	}
}
