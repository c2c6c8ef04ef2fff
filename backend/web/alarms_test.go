package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// call sends a request with an optional bearer token and returns the
// status and body.
func call(t *testing.T, r *rig, method, path, body, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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

type alarmCase struct {
	name, path, body, token string
	want                    int
	// in is what the answer must hold: a substring of the JSON, e.g. a
	// state, or the words of an error.
	in []string
}

func runCases(t *testing.T, r *rig, cases []alarmCase) {
	t.Helper()
	for _, c := range cases {
		code, body := call(t, r, "POST", c.path, c.body, c.token)
		if code != c.want {
			t.Errorf("%s: POST %s %s: %d %s, want %d", c.name, c.path, c.body, code, body, c.want)
			continue
		}
		answer := string(body)
		if code != 200 {
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Errorf("%s: no error sentence in %s", c.name, body)
			}
			answer = e.Error
		}
		for _, want := range c.in {
			if !strings.Contains(answer, want) {
				t.Errorf("%s: answer %s does not hold %s", c.name, answer, want)
			}
		}
	}
}

// TestAlarmActions goes through every action on one alarm with every role:
// 401 logged out, 403 too low a role, then the operator's (or engineer's)
// success and the conflicts and bad requests after it.
func TestAlarmActions(t *testing.T) {
	r := newRig(t, 3)
	op, view, eng := login(t, r, "op", "op-pass"), login(t, r, "view", "view-pass"), login(t, r, "eng", "eng-pass")
	r.alarms.eval("TIC101.PV", 90) // TIC101.Hi and line/1:TIC101.Warm activate
	const hi, warm, hihi = "/api/v1/alarms/TIC101.Hi", "/api/v1/alarms/line%2F1:TIC101.Warm", "/api/v1/alarms/TIC101.HiHi"
	runCases(t, r, []alarmCase{
		{"ack logged out", hi + "/ack", `{}`, "", 401, []string{`TIC101.Hi`}},
		{"ack viewer", hi + "/ack", `{}`, view, 403, []string{`operator`}},
		{"ack unknown field", hi + "/ack", `{"note":"x"}`, op, 400, nil},
		{"ack", hi + "/ack", `{"comment":"checking the cooling"}`, op, 200, []string{`"name":"TIC101.Hi"`, `"state":"acked"`, `"acked_by":"op"`}},
		{"ack again", hi + "/ack", `{"comment":"again"}`, op, 409, []string{`TIC101.Hi`, `nothing to acknowledge`}},
		{"ack unknown", "/api/v1/alarms/NOPE/ack", ``, op, 404, []string{`there is no alarm "NOPE"`}},
		{"ack a name with a slash, no body", warm + "/ack", ``, op, 200, []string{`"name":"line/1:TIC101.Warm"`, `"state":"acked"`}},

		{"shelve logged out", warm + "/shelve", `{"minutes":30,"reason":"x"}`, "", 401, nil},
		{"shelve viewer", warm + "/shelve", `{"minutes":30,"reason":"x"}`, view, 403, nil},
		{"shelve without reason", warm + "/shelve", `{"minutes":30}`, op, 400, []string{`reason`, `line/1:TIC101.Warm`}},
		{"shelve with a blank reason", warm + "/shelve", `{"minutes":30,"reason":"  "}`, op, 400, []string{`reason`}},
		{"shelve for 0 minutes", warm + "/shelve", `{"minutes":0,"reason":"x"}`, op, 400, []string{`more than 0 minutes`}},
		{"shelve for negative minutes", warm + "/shelve", `{"minutes":-5,"reason":"x"}`, op, 400, nil},
		{"shelve past the maximum", warm + "/shelve", `{"minutes":61,"reason":"x"}`, op, 400, []string{`line/1:TIC101.Warm`, `at most 1h0m0s`}},
		{"shelve past the default maximum", hi + "/shelve", `{"minutes":481,"reason":"x"}`, op, 400, []string{`at most 8h0m0s`}},
		{"shelve huge", hi + "/shelve", `{"minutes":1e300,"reason":"x"}`, op, 400, []string{`at most 8h0m0s`}},
		{"shelve", warm + "/shelve", `{"minutes":30,"reason":"sensor being replaced"}`, op, 200,
			[]string{`"shelved":true`, `"shelved_by":"op"`, `"shelve_reason":"sensor being replaced"`, `"shelved_until":`}},
		{"shelve unknown", "/api/v1/alarms/NOPE/shelve", `{"minutes":30,"reason":"x"}`, op, 404, nil},
		{"unshelve logged out", warm + "/unshelve", ``, "", 401, nil},
		{"unshelve viewer", warm + "/unshelve", ``, view, 403, nil},
		{"unshelve", warm + "/unshelve", `{"reason":"sensor back"}`, op, 200, []string{`"name":"line/1:TIC101.Warm"`}},
		{"unshelve again", warm + "/unshelve", ``, op, 409, []string{`not shelved`}},
		{"shelve one-shot", warm + "/shelve", `{"one_shot":true,"reason":"until it clears"}`, op, 200, []string{`"one_shot":true`}},

		{"out of service logged out", hi + "/out-of-service", `{"reason":"x"}`, "", 401, nil},
		{"out of service viewer", hi + "/out-of-service", `{"reason":"x"}`, view, 403, nil},
		{"out of service operator", hi + "/out-of-service", `{"reason":"x"}`, op, 403, []string{`engineer`}},
		{"out of service without reason", hi + "/out-of-service", ``, eng, 400, []string{`reason`}},
		{"out of service", hi + "/out-of-service", `{"reason":"transmitter removed"}`, eng, 200, []string{`"out_of_service":true`, `"out_of_service_by":"eng"`}},
		{"out of service again", hi + "/out-of-service", `{"reason":"x"}`, eng, 409, []string{`already out of service`}},
		{"return to service operator", hi + "/return-to-service", ``, op, 403, nil},
		{"return to service", hi + "/return-to-service", `{"reason":"refitted"}`, eng, 200, []string{`"name":"TIC101.Hi"`}},
		{"return to service again", hi + "/return-to-service", ``, eng, 409, []string{`not out of service`}},
		{"return to service unknown", "/api/v1/alarms/NOPE/return-to-service", ``, eng, 404, nil},

		{"silence logged out", "/api/v1/alarms/silence", `{}`, "", 401, nil},
		{"silence viewer", "/api/v1/alarms/silence", `{}`, view, 403, nil},
	})

	// Latched: reset only after the return and an acknowledgement.
	r.alarms.eval("TIC101.PV", 110)
	r.alarms.eval("TIC101.PV", 20)
	runCases(t, r, []alarmCase{
		{"reset logged out", hihi + "/reset", ``, "", 401, nil},
		{"reset viewer", hihi + "/reset", ``, view, 403, nil},
		{"reset before the ack", hihi + "/reset", ``, op, 409, []string{`TIC101.HiHi`, `acknowledge it first`}},
		{"ack the latched alarm", hihi + "/ack", ``, op, 200, []string{`"state":"latched_acked"`}},
		{"reset", hihi + "/reset", `{"comment":"valve checked"}`, op, 200, []string{`"state":"normal"`}},
		{"reset again", hihi + "/reset", ``, op, 409, []string{`nothing to reset`}},
		{"reset unknown", "/api/v1/alarms/NOPE/reset", ``, op, 404, nil},
	})

	// The horn sounds for the new TIC101.Hi activation until silenced.
	r.alarms.eval("TIC101.PV", 85)
	code, body := call(t, r, "POST", "/api/v1/alarms/silence", `{}`, op)
	var sum alarm.Summary
	if err := json.Unmarshal(body, &sum); code != 200 || err != nil || sum.Horn || sum.Silenced == 0 || sum.Alarms != 2 || sum.Unacked.High != 1 || sum.Unacked.Low != 1 {
		t.Errorf("silence: %d %s", code, body)
	}

	// Audit: refused attempts and successes, with user, address, states
	// and reason.
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	audit := func(action, source string) []hmi.Event {
		ev, err := r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Action: action, Source: source, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(ev)
		return ev
	}
	acks := audit("alarm.ack", "TIC101.Hi")
	if len(acks) != 4 {
		t.Fatalf("%d audited acks of TIC101.Hi, want 4 (logged out, viewer, ok, again; a malformed body is not audited): %+v", len(acks), acks)
	}
	if a := acks[0]; a.User != "" || !strings.Contains(a.Result, "log in") {
		t.Errorf("logged-out ack audited as %+v", a)
	}
	if a := acks[1]; a.User != "view" || !strings.Contains(a.Result, "operator role") {
		t.Errorf("viewer's ack audited as %+v", a)
	}
	if a := acks[2]; a.User != "op" || a.Result != "ok" || a.Old != "unacked" || a.New != "acked" || a.Reason != "checking the cooling" || a.Address == "" {
		t.Errorf("ack audited as %+v", a)
	}
	if a := acks[3]; a.Result == "ok" || !strings.Contains(a.Result, "nothing to acknowledge") || a.Old != "acked" || a.New != "acked" {
		t.Errorf("second ack audited as %+v", a)
	}
	shelves := audit("alarm.shelve", "line/1:TIC101.Warm")
	var ok []hmi.Event
	for _, e := range shelves {
		if e.Result == "ok" {
			ok = append(ok, e)
		}
	}
	if len(shelves) != 9 || len(ok) != 2 {
		t.Errorf("%d audited shelves of the warm alarm (%d ok), want 9 (2 ok): %+v", len(shelves), len(ok), shelves)
	} else if s := ok[0]; s.User != "op" || s.Reason != "sensor being replaced" || s.Old != "acked" || s.New != "acked (shelved)" || !strings.HasPrefix(s.Detail, "for 30m0s, until ") {
		t.Errorf("shelve audited as %+v", s)
	} else if !strings.HasPrefix(ok[1].Detail, "one-shot") {
		t.Errorf("one-shot shelve audited as %+v", ok[1])
	}
	for _, c := range []struct {
		action, source string
		n              int
		okOld, okNew   string
	}{
		{"alarm.unshelve", "line/1:TIC101.Warm", 4, "acked (shelved)", "acked"},
		{"alarm.out_of_service", "TIC101.Hi", 6, "acked", "acked (out_of_service)"},
		{"alarm.return_to_service", "TIC101.Hi", 3, "acked (out_of_service)", "acked"},
		{"alarm.reset", "TIC101.HiHi", 5, "latched_acked", "normal"},
		{"alarm.silence", "horn", 3, "sounding", "silenced"},
	} {
		ev := audit(c.action, c.source)
		var oks int
		for _, e := range ev {
			if e.Result == "ok" {
				oks++
				if e.Old != c.okOld || e.New != c.okNew {
					t.Errorf("%s audited as %+v, want %s -> %s", c.action, e, c.okOld, c.okNew)
				}
			}
		}
		if len(ev) != c.n || oks != 1 {
			t.Errorf("%d audit rows of %s on %s (%d ok), want %d (1 ok): %+v", len(ev), c.action, c.source, oks, c.n, ev)
		}
	}
	if oos := audit("alarm.out_of_service", "TIC101.Hi"); oos[4].Reason != "transmitter removed" || oos[4].User != "eng" {
		t.Errorf("out of service audited as %+v", oos[4])
	}

	// The journal has the actions' transitions, with user and comment.
	rows, err := r.st.JournalRows(context.Background(), store.JournalQuery{Alarm: "TIC101.Hi", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, j := range slices.Backward(rows) {
		kinds = append(kinds, j.Kind)
		if j.Kind == "ack" && j.Comment == "checking the cooling" && j.User != "op" {
			t.Errorf("ack journaled as %+v", j)
		}
		if j.Kind == "out_of_service" && (j.User != "eng" || j.Comment != "transmitter removed" || !slices.Contains(j.Flags, "out_of_service")) {
			t.Errorf("out of service journaled as %+v", j)
		}
	}
	if got, want := strings.Join(kinds, " "), "activate ack out_of_service in_service return activate"; got != want {
		t.Errorf("journal of TIC101.Hi: %s, want %s", got, want)
	}
}

func TestAckAllVisible(t *testing.T) {
	r := newRig(t, 3)
	op, view := login(t, r, "op", "op-pass"), login(t, r, "view", "view-pass")
	r.alarms.eval("TIC101.PV", 90)
	many, _ := json.Marshal(map[string]any{"names": slices.Repeat([]string{"TIC101.Hi"}, 10001)})
	runCases(t, r, []alarmCase{
		{"logged out", "/api/v1/alarms/ack", `{"names":["TIC101.Hi"]}`, "", 401, nil},
		{"viewer", "/api/v1/alarms/ack", `{"names":["TIC101.Hi"]}`, view, 403, nil},
		{"no names", "/api/v1/alarms/ack", `{"names":[]}`, op, 400, []string{`names`}},
		{"no body", "/api/v1/alarms/ack", ``, op, 400, nil},
		{"too many", "/api/v1/alarms/ack", string(many), op, 400, []string{`at most 10000`}},
	})
	code, body := call(t, r, "POST", "/api/v1/alarms/ack", `{"names":["TIC101.Hi","TIC101.HiHi","NOPE","line/1:TIC101.Warm","TIC101.Hi"],"comment":"shift start"}`, op)
	var res struct {
		Acked   []string          `json:"acked"`
		Skipped map[string]string `json:"skipped"`
	}
	if err := json.Unmarshal(body, &res); code != 200 || err != nil {
		t.Fatalf("ack all: %d %s", code, body)
	}
	if !slices.Equal(res.Acked, []string{"TIC101.Hi", "line/1:TIC101.Warm"}) || len(res.Skipped) != 2 ||
		res.Skipped["TIC101.HiHi"] != "nothing to acknowledge" || res.Skipped["NOPE"] != "unknown alarm" {
		t.Errorf("ack all: %s", body)
	}
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev, _ := r.st.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit, Action: "alarm.ack", Limit: 100})
	results := map[string]string{}
	for _, e := range ev {
		if e.Reason == "shift start" {
			results[e.Source] = e.Result
		}
	}
	if len(ev) != 8 || results["TIC101.Hi"] != "ok" || results["line/1:TIC101.Warm"] != "ok" ||
		!strings.Contains(results["TIC101.HiHi"], "nothing to acknowledge") || !strings.Contains(results["NOPE"], "no alarm") {
		t.Errorf("audit of ack all (%d rows): %v", len(ev), results)
	}
	rows, _ := r.st.JournalRows(context.Background(), store.JournalQuery{Kinds: []string{"ack"}})
	if len(rows) != 2 || rows[0].User != "op" || rows[0].Comment != "shift start" {
		t.Errorf("journaled acks: %+v", rows)
	}
}

// TestAlarmsMessageAfterAction: an action publishes the new alarm list.
func TestAlarmsMessageAfterAction(t *testing.T) {
	r := newRig(t, 3)
	op := login(t, r, "op", "op-pass")
	c := r.dial(t, "")
	send(t, c, `{"type":"subscribe","tags":["TIC101.PV"]}`)
	r.alarms.eval("TIC101.PV", 90)
	if code, body := call(t, r, "POST", "/api/v1/alarms/TIC101.Hi/ack", `{}`, op); code != 200 {
		t.Fatalf("ack: %d %s", code, body)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m struct {
			Type    string           `json:"type"`
			Alarms  []alarm.Snapshot `json:"alarms"`
			Summary alarm.Summary    `json:"summary"`
		}
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("no alarms message with TIC101.Hi acked: %v", err)
		}
		if m.Type == "alarms" && len(m.Alarms) == 2 && m.Alarms[1].Name == "TIC101.Hi" && m.Alarms[1].State == alarm.Acked && m.Summary.Unacked.Low == 1 {
			return
		}
	}
}

// journalAt writes crafted transitions into the rig's journal.
func journalAt(t *testing.T, r *rig, trs ...alarm.Transition) {
	t.Helper()
	r.st.Journal(trs...)
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// epoch10 is a time on a 10-minute boundary (2026-01-01T00:00:00Z).
var epoch10 = time.UnixMilli(1_767_225_600_000)

func TestAlarmHistory(t *testing.T) {
	r := newRig(t, 3)
	op, view := login(t, r, "op", "op-pass"), login(t, r, "view", "view-pass")
	at := func(s int) time.Time { return epoch10.Add(time.Duration(s) * time.Second) }
	tr := func(name string, k alarm.Kind, s int, p alarm.Priority, area string) alarm.Transition {
		return alarm.Transition{Alarm: name, Kind: k, From: alarm.Normal, To: alarm.Unacked, Value: 1.5, At: at(s), Priority: p, Area: area, Message: name + " message"}
	}
	ack := tr("line/1:TIC101.Warm", alarm.Ack, 3, alarm.Low, "line 1")
	ack.From, ack.To, ack.User, ack.Comment = alarm.Unacked, alarm.Acked, "op", "+checked"
	comm := tr("plc1.comm", alarm.Activate, 4, alarm.Critical, "plc1")
	comm.Value, comm.Flags = math.NaN(), alarm.FlagShelved|alarm.FlagFirstOut
	journalAt(t, r, tr("TIC101.Hi", alarm.Activate, 1, alarm.High, "TIC101"), tr("line/1:TIC101.Warm", alarm.Activate, 2, alarm.Low, "line 1"), ack, comm)

	get := func(query, token string) (int, []map[string]any) {
		t.Helper()
		code, body := call(t, r, "GET", "/api/v1/alarms/history"+query, "", token)
		var rows []map[string]any
		if code == 200 {
			if err := json.Unmarshal(body, &rows); err != nil {
				t.Fatalf("history%s: %s: %v", query, body, err)
			}
		}
		return code, rows
	}
	if code, _ := get("", ""); code != 401 {
		t.Errorf("history logged out: %d, want 401", code)
	}
	code, rows := get("", view)
	if code != 200 || len(rows) != 4 {
		t.Fatalf("history as viewer: %d, %d rows", code, len(rows))
	}
	c := rows[0]
	if c["alarm"] != "plc1.comm" || c["ts"] != float64(at(4).UnixMilli()) || c["value"] != nil || c["kind"] != "activate" || c["from"] != "normal" ||
		c["to"] != "unacked" || c["priority"] != "critical" || c["area"] != "plc1" || c["message"] != "plc1.comm message" || fmt.Sprint(c["flags"]) != "[shelved first_out]" {
		t.Errorf("newest row %v", c)
	}
	if a := rows[1]; a["kind"] != "ack" || a["user"] != "op" || a["comment"] != "+checked" || a["value"] != 1.5 || fmt.Sprint(a["flags"]) != "[]" || a["id"] == nil {
		t.Errorf("ack row %v", a)
	}
	for _, f := range []struct {
		query string
		want  []string // alarms, newest first
	}{
		{"?alarm=" + url.QueryEscape("line/1:TIC101.Warm"), []string{"line/1:TIC101.Warm", "line/1:TIC101.Warm"}},
		{"?area=" + url.QueryEscape("line 1") + "&kind=ack", []string{"line/1:TIC101.Warm"}},
		{"?priority=critical,high", []string{"plc1.comm", "TIC101.Hi"}},
		{"?priority=critical&priority=low", []string{"plc1.comm", "line/1:TIC101.Warm", "line/1:TIC101.Warm"}},
		{"?kind=activate", []string{"plc1.comm", "line/1:TIC101.Warm", "TIC101.Hi"}},
		{fmt.Sprintf("?from=%d&to=%d", at(2).UnixMilli(), at(3).UnixMilli()), []string{"line/1:TIC101.Warm", "line/1:TIC101.Warm"}},
		{"?from=" + url.QueryEscape(at(3).Format(time.RFC3339Nano)), []string{"plc1.comm", "line/1:TIC101.Warm"}},
		{"?limit=1", []string{"plc1.comm"}},
		{"?alarm=NOPE", []string{}},
	} {
		code, rows := get(f.query, op)
		got := []string{}
		for _, row := range rows {
			got = append(got, row["alarm"].(string))
		}
		if code != 200 || !slices.Equal(got, f.want) {
			t.Errorf("history%s: %d %v, want %v", f.query, code, got, f.want)
		}
	}
	for _, bad := range []string{"?priority=urgent", "?kind=explode", "?limit=0", "?limit=x", "?from=yesterday", "?to=soon", "?format=xml"} {
		if code, body := call(t, r, "GET", "/api/v1/alarms/history"+bad, "", op); code != 400 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("history%s: %d %s, want 400", bad, code, body)
		}
	}

	// CSV, with formulas defused.
	code, body := call(t, r, "GET", "/api/v1/alarms/history?format=csv", "", view)
	csvRows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(csvRows) != 5 {
		t.Fatalf("csv: %d %v %q", code, err, body)
	}
	if got := strings.Join(csvRows[0], ","); got != "time,alarm,kind,from,to,value,user,comment,priority,area,message,flags" {
		t.Errorf("csv header %s", got)
	}
	if got := csvRows[1]; got[0] != at(4).UTC().Format(time.RFC3339Nano) || got[1] != "plc1.comm" || got[5] != "" || got[11] != "shelved,first_out" {
		t.Errorf("csv row %q", got)
	}
	if got := csvRows[2]; got[6] != "op" || got[7] != "'+checked" || got[5] != "1.5" || got[3] != "unacked" || got[4] != "acked" {
		t.Errorf("csv ack row %q: the comment must be defused", got)
	}
}

// TestAlarmKPI computes the KPIs of a crafted journal: floods merged and
// clipped, chattering, the top 10, hidden activations apart, and standing
// alarms from the alarms' state.
func TestAlarmKPI(t *testing.T) {
	r := newRig(t, 3)
	view := login(t, r, "view", "view-pass")
	var trs []alarm.Transition
	burst := func(name string, p alarm.Priority, startMin float64, n int, every time.Duration) {
		for i := range n {
			trs = append(trs, alarm.Transition{Alarm: name, Kind: alarm.Activate, To: alarm.Unacked, Priority: p, Area: "area " + name,
				At: epoch10.Add(time.Duration(startMin*float64(time.Minute)) + time.Duration(i)*every)})
		}
	}
	burst("A", alarm.High, 0, 12, 45*time.Second)      // window 0: 12, a flood
	burst("B", alarm.Medium, 10, 11, 50*time.Second)   // window 1: 11, a flood merged with window 0
	burst("C", alarm.Low, 20, 3, 20*time.Second)       // window 2: 3 in 40 s, chattering
	burst("A", alarm.High, 40, 11, 50*time.Second)     // window 4: 11, a flood
	burst("D", alarm.Critical, 50, 10, 55*time.Second) // window 5: 10, not a flood
	hidden := alarm.Transition{Alarm: "D", Kind: alarm.Activate, To: alarm.Unacked, Priority: alarm.Critical, Area: "area D",
		At: epoch10.Add(59 * time.Minute), Flags: alarm.FlagSuppressed}
	ret := alarm.Transition{Alarm: "A", Kind: alarm.Return, From: alarm.Unacked, To: alarm.RTNUnacked, Priority: alarm.High, At: epoch10.Add(time.Second)}
	journalAt(t, r, append(trs, hidden, ret)...)

	// Standing: TIC101.HiHi and TIC101.Hi active since 25 hours ago; the
	// warm alarm too, but shelved; none of these is in the KPI period.
	r.alarms.mu.Lock()
	r.alarms.set.Evaluate(nil, "TIC101.PV", hmi.Sample{Value: hmi.Number(120), Quality: hmi.Good}, time.Now().Add(-25*time.Hour))
	r.alarms.set.Shelve("line/1:TIC101.Warm", "op", "x", time.Hour, time.Now())
	r.alarms.mu.Unlock()

	kpi := func(query string) (int, []byte) {
		return call(t, r, "GET", "/api/v1/alarms/kpi"+query, "", view)
	}
	if code, _ := call(t, r, "GET", "/api/v1/alarms/kpi", "", ""); code != 401 {
		t.Errorf("KPI logged out: %d, want 401", code)
	}
	from, to := epoch10.UnixMilli(), epoch10.Add(70*time.Minute).UnixMilli()
	code, body := kpi(fmt.Sprintf("?from=%d&to=%d", from, to))
	if code != 200 {
		t.Fatalf("KPI: %d %s", code, body)
	}
	want := fmt.Sprintf(`{"from":%d,"to":%d,"activations":47,"hidden_activations":1,"per_10min_avg":6.71,"per_10min_peak":12,"per_10min_peak_at":%d,`+
		`"flood_periods":[{"from":%d,"to":%d,"count":23},{"from":%d,"to":%d,"count":11}],"flood_percent":42.86,`+
		`"standing":[{"name":"TIC101.Hi","priority":"high","area":"TIC101","since":SINCE},{"name":"TIC101.HiHi","priority":"critical","area":"TIC101","since":SINCE}],`+
		`"chattering":[{"name":"C","count":3}],`+
		`"top10":[{"name":"A","priority":"high","area":"area A","count":23},{"name":"B","priority":"medium","area":"area B","count":11},`+
		`{"name":"D","priority":"critical","area":"area D","count":10},{"name":"C","priority":"low","area":"area C","count":3}]}`,
		from, to, from, from, from+20*60000, from+40*60000, from+50*60000)
	var k struct {
		Standing []struct{ Since int64 }
	}
	json.Unmarshal(body, &k)
	if len(k.Standing) != 2 {
		t.Fatalf("KPI %s: want 2 standing alarms", body)
	}
	if since := time.UnixMilli(k.Standing[0].Since); time.Since(since) < 25*time.Hour || time.Since(since) > 26*time.Hour {
		t.Errorf("standing since %v", since)
	}
	want = strings.ReplaceAll(want, "SINCE", fmt.Sprint(k.Standing[0].Since))
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("KPI\n got %s\nwant %s", got, want)
	}

	// A period that starts a second in clips the first flood.
	code, body = kpi(fmt.Sprintf("?from=%d&to=%s", from+1000, url.QueryEscape(epoch10.Add(70*time.Minute).Format(time.RFC3339))))
	var clipped kpiView
	if err := json.Unmarshal(body, &clipped); code != 200 || err != nil {
		t.Fatalf("clipped KPI: %d %s", code, body)
	}
	if clipped.Activations != 46 || clipped.Per10MinAvg != 6.57 || clipped.FloodPercent != 42.84 || len(clipped.FloodPeriods) != 2 ||
		clipped.FloodPeriods[0] != (floodView{From: from + 1000, To: from + 20*60000, Count: 22}) {
		t.Errorf("clipped KPI %s", body)
	}

	// The default period is the last 24 hours: nothing of the crafted
	// journal, but the standing alarms.
	code, body = kpi("")
	var day kpiView
	if err := json.Unmarshal(body, &day); code != 200 || err != nil || day.To-day.From != 24*3600*1000 || time.Since(time.UnixMilli(day.To)) > time.Minute ||
		day.Activations != 0 || len(day.FloodPeriods) != 0 || len(day.Top10) != 0 || len(day.Standing) != 2 {
		t.Errorf("default KPI: %d %s", code, body)
	}
	for _, bad := range []string{fmt.Sprintf("?from=%d&to=%d", to, from), fmt.Sprintf("?from=%d&to=%d", from, from), "?from=later"} {
		if code, body := kpi(bad); code != 400 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("KPI%s: %d %s, want 400", bad, code, body)
		}
	}
}

// kpiView is the KPI answer as a client reads it.
type kpiView struct {
	From, To     int64
	Activations  int
	Per10MinAvg  float64     `json:"per_10min_avg"`
	FloodPercent float64     `json:"flood_percent"`
	FloodPeriods []floodView `json:"flood_periods"`
	Top10        []struct{}  `json:"top10"`
	Standing     []struct{}
}

type floodView struct {
	From, To int64
	Count    int
}
