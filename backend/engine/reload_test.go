package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// reloadClient is an engineer's HTTP session against an engine.
type reloadClient struct {
	t     *testing.T
	url   string
	token string
}

func loginAs(t *testing.T, url, user string) *reloadClient {
	t.Helper()
	c := &reloadClient{t: t, url: url}
	var res struct {
		Token string `json:"token"`
	}
	if code := c.do("POST", "/api/v1/login", "application/json", []byte(`{"user":"`+user+`","password":"`+user+`"}`), &res); code != 200 {
		t.Fatalf("login %s: %d", user, code)
	}
	c.token = res.Token
	return c
}

func (c *reloadClient) do(method, path, ctype string, body []byte, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, data, err)
		}
	}
	return res.StatusCode
}

type reloadAnswer struct {
	ID      string   `json:"id"`
	Hash    string   `json:"hash"`
	Kept    []string `json:"kept"`
	Started []string `json:"started"`
	Stopped []string `json:"stopped"`
	Tags    int      `json:"tags"`
	Alarms  int      `json:"alarms_kept"`
	Error   string   `json:"error"`
	Errors  []string `json:"errors"`
}

// wsTags reads websocket messages until one of type typ arrives holding
// the tag name (any tag when name is ""), and returns its type sequence.
func wsUntil(t *testing.T, c *websocket.Conn, typ, name string, within time.Duration) []string {
	t.Helper()
	var seen []string
	deadline := time.Now().Add(within)
	for {
		c.SetReadDeadline(deadline)
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("websocket: %v (seen %v)", err, seen)
		}
		var m struct {
			Type string `json:"type"`
			Tags []struct {
				Name string `json:"name"`
			} `json:"tags"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, m.Type)
		if m.Type != typ {
			continue
		}
		if name == "" {
			return seen
		}
		for _, tg := range m.Tags {
			if tg.Name == name {
				return seen
			}
		}
	}
}

// TestReload loads projects into a running demo engine: a bad file changes
// nothing and lists its errors as FILE:LINE:COL; a file that changes only
// plc1 (a tag added at the top, so every other tag's index moves) restarts
// plc1 only: the OPC UA device's poller is the same object, with no
// reconnect, still delivering; a websocket client stays connected, is told,
// and sees the new tag; versions are kept and the first one restored.
func TestReload(t *testing.T) {
	src, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e, err := Start(context.Background(), Options{Project: demoProject(t), Source: src, DataDir: dir, Listen: "127.0.0.1:0", Demo: true,
		Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	for _, tag := range []string{"T101.Level", "TIC101.PV"} {
		waitFor(t, 10*time.Second, tag+" good", func() bool { return quality(e, tag) == hmi.Good })
	}
	eng := loginAs(t, e.URL(), "engineer")
	op := loginAs(t, e.URL(), "operator")

	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(e.URL(), "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","tags":["*"]}`))
	wsUntil(t, ws, "snapshot", "", 5*time.Second)

	heater := e.devs["heater"]
	plc1 := e.devs["plc1"]
	heater0 := heater.Stats()
	db0 := e.Tags()

	// Roles: an operator may not load projects.
	var ans reloadAnswer
	if code := op.do("POST", "/api/v1/project?file=new.yaml", "application/yaml", src, &ans); code != http.StatusForbidden {
		t.Fatalf("operator load: %d %+v", code, ans)
	}

	// A bad file: 400, every problem as FILE:LINE:COL, nothing changed.
	bad := bytes.Replace(src, []byte("    address: IR0\n    type: uint16\n"), []byte("    address: IR0\n    type: nonsense\n"), 1)
	ans = reloadAnswer{}
	if code := eng.do("POST", "/api/v1/project?file=bad.yaml", "application/yaml", bad, &ans); code != http.StatusBadRequest {
		t.Fatalf("bad file: %d %+v", code, ans)
	}
	if len(ans.Errors) == 0 || !regexp.MustCompile(`^bad\.yaml:\d+:\d+: `).MatchString(ans.Errors[0]) {
		t.Fatalf("bad file errors %q, want FILE:LINE:COL", ans.Errors)
	}
	t.Logf("bad file: %s %q", ans.Error, ans.Errors)
	if e.Tags() != db0 || e.devs["plc1"] != plc1 {
		t.Fatal("a bad file changed the running project")
	}

	// Only plc1 changes: a tag added as the first tag.
	good := bytes.Replace(src, []byte("\ntags:\n"), []byte("\ntags:\n  - name: T101.Copy\n    device: plc1\n    address: IR0\n    type: uint16\n"), 1)
	ans = reloadAnswer{}
	if code := eng.do("POST", "/api/v1/project?file=new.yaml", "application/yaml", good, &ans); code != http.StatusOK {
		t.Fatalf("good file: %d %+v", code, ans)
	}
	t.Logf("reload: %+v", ans)
	if n := e.alarms.set.Len(); ans.Alarms != n {
		t.Errorf("%d alarms kept their states, want all %d of the demo (none changed)", ans.Alarms, n)
	}
	if strings.Join(ans.Kept, ",") != "heater" || strings.Join(ans.Started, ",") != "plc1" || strings.Join(ans.Stopped, ",") != "plc1" {
		t.Fatalf("kept %v started %v stopped %v, want heater kept and plc1 restarted", ans.Kept, ans.Started, ans.Stopped)
	}
	if e.devs["heater"] != heater {
		t.Fatal("the heater's poller was replaced")
	}
	if e.devs["plc1"] == plc1 {
		t.Fatal("plc1's poller was not replaced")
	}
	// The websocket client was told and gets the new tag, then its value.
	seen := wsUntil(t, ws, "snapshot", "T101.Copy", 5*time.Second)
	if !contains(seen, "project") {
		t.Fatalf("no project message before the new snapshot: %v", seen)
	}
	waitFor(t, 10*time.Second, "T101.Copy good", func() bool { return quality(e, "T101.Copy") == hmi.Good })
	// The kept device goes on delivering into the new database, at its
	// new indexes, without a reconnect.
	pv1, _ := e.Tags().GetByName("TIC101.PV")
	waitFor(t, 10*time.Second, "TIC101.PV to change after the reload", func() bool {
		pv, _ := e.Tags().GetByName("TIC101.PV")
		return pv.TS.After(pv1.TS) && pv.Quality == hmi.Good
	})
	if st := heater.Stats(); st.Reconnects != heater0.Reconnects || !st.Connected || st.Polls <= heater0.Polls {
		t.Fatalf("heater stats %+v after reload, before %+v: want connected, no reconnect, polls going on", st, heater0)
	}
	wsUntil(t, ws, "update", "TIC101.PV", 5*time.Second)
	// A write through the kept device reaches the right tag.
	if code := op.do("POST", "/api/v1/tags/TIC101.SP/write", "application/json", []byte(`{"value":61}`), nil); code != 200 {
		t.Fatalf("write TIC101.SP after reload: %d", code)
	}

	// Versions: the demo file and the new one, newest first; restore the first.
	var vs []struct {
		ID      string `json:"id"`
		Hash    string `json:"hash"`
		Current bool   `json:"current"`
	}
	if code := eng.do("GET", "/api/v1/project/versions", "", nil, &vs); code != 200 || len(vs) != 2 || !vs[0].Current || vs[0].Hash != ans.Hash {
		t.Fatalf("versions: %+v", vs)
	}
	ans = reloadAnswer{}
	if code := eng.do("POST", "/api/v1/project/versions/"+vs[1].ID+"/restore", "", nil, &ans); code != 200 {
		t.Fatalf("restore: %d %+v", code, ans)
	}
	if _, ok := e.Tags().Lookup("T101.Copy"); ok || ans.Hash != vs[1].Hash {
		t.Fatalf("restored project still has T101.Copy (%+v)", ans)
	}
	if code := eng.do("POST", "/api/v1/project/versions/nope/restore", "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("restore unknown: %d", code)
	}
	var cur struct {
		Hash string `json:"hash"`
		YAML string `json:"yaml"`
	}
	if code := eng.do("GET", "/api/v1/project", "", nil, &cur); code != 200 || cur.YAML != string(src) || cur.Hash != vs[1].Hash {
		t.Fatalf("GET /api/v1/project: %d hash %s", code, cur.Hash)
	}
	// Audited: who, the hash, the result.
	time.Sleep(300 * time.Millisecond)
	evs, err := e.store.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var loads []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Action, "project.") && ev.User != "edgehmi" {
			loads = append(loads, ev.Action+" "+ev.User+" "+ev.Result)
		}
	}
	if len(loads) != 4 {
		t.Fatalf("project audit events %q, want the bad, good, restore and unknown-restore ones", loads)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
