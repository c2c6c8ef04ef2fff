package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"testing"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

func TestHistoryEndpoints(t *testing.T) {
	r := newRig(t, 3)
	const base = 1_700_000_040_000 // on a minute
	var hs []store.HistSample
	for i := range 600 { // ten minutes at 1 s
		v := float64(i % 60)
		if i == 100 {
			v = 1000 // a spike
		}
		hs = append(hs, store.HistSample{Tag: "TIC101.PV", TS: base + int64(i)*1000, Value: v, Quality: hmi.Good})
	}
	hs = append(hs, store.HistSample{Tag: "TIC101.SP", TS: base, Value: math.NaN(), Quality: hmi.Bad})
	r.st.Record(hs...)
	if err := r.st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	view := login(t, r, "view", "view-pass")
	from, to := strconv.Itoa(base), strconv.Itoa(base+600_000)

	// Roles and errors.
	for _, c := range []struct {
		path, token string
		code        int
	}{
		{"/api/v1/history?tag=TIC101.PV", "", 401},
		{"/api/v1/history/export?tag=TIC101.PV", "", 401},
		{"/api/v1/history?tag=nope", view, 404},
		{"/api/v1/history", view, 400},
		{"/api/v1/history?tag=TIC101.PV&from=x", view, 400},
		{"/api/v1/history?tag=TIC101.PV&from=" + to + "&to=" + from, view, 400},
		{"/api/v1/history?tag=TIC101.PV&points=10001", view, 400},
		{"/api/v1/history?tag=TIC101.PV&points=0", view, 400},
		{"/api/v1/history/export?tag=nope", view, 404},
		{"/api/v1/history?tag=TIC101.PV&from=2023-11-14T22:14:00Z&to=2023-11-14T22:15:00Z", view, 200},
	} {
		code, body := call(t, r, "GET", c.path, "", c.token)
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.path, code, body, c.code)
		}
		if code != 200 {
			var e map[string]string
			if json.Unmarshal(body, &e) != nil || e["error"] == "" {
				t.Errorf("%s: error body %s", c.path, body)
			}
		}
	}

	// Ten minutes in 10 points: one a minute, min 0 and max 59, but the
	// spike in the second.
	code, body := call(t, r, "GET", "/api/v1/history?tag=TIC101.PV&tag=TIC101.SP&points=10&from="+from+"&to="+to, "", view)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var h struct {
		From, To int64
		BucketMS int64 `json:"bucket_ms"`
		Series   []struct {
			Tag            string
			T              []int64
			Min, Max, Last []*float64
			Q              []int
			N              []int
		}
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	if h.From != base || h.To != base+600_000 || h.BucketMS != 60_000 || len(h.Series) != 2 {
		t.Fatalf("history %s", body)
	}
	pv := h.Series[0]
	if pv.Tag != "TIC101.PV" || len(pv.T) != 10 {
		t.Fatalf("series %+v", pv)
	}
	for k := range 10 {
		want := 59.0
		if k == 1 {
			want = 1000
		}
		if pv.T[k] != base+int64(k)*60_000 || *pv.Min[k] != 0 || *pv.Max[k] != want || *pv.Last[k] != 59 || pv.Q[k] != 2 || pv.N[k] != 60 {
			t.Errorf("bucket %d: t %d min %v max %v last %v q %d n %d", k, pv.T[k], *pv.Min[k], *pv.Max[k], *pv.Last[k], pv.Q[k], pv.N[k])
		}
	}
	if sp := h.Series[1]; len(sp.T) != 1 || sp.Min[0] != nil || sp.Q[0] != 0 {
		t.Errorf("bad sample without value: %s", body)
	}

	// Export: an estimate header, then every raw row.
	req, _ := http.NewRequest("GET", r.srv.URL+"/api/v1/history/export?tag=TIC101.PV&tag=TIC101.SP&from="+from+"&to="+strconv.Itoa(base+120_000), nil)
	req.Header.Set("Authorization", "Bearer "+view)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("X-Row-Estimate") != "121" || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+120+1 {
		t.Fatalf("%d rows", len(rows))
	}
	if got := rows[0]; got[0] != "time" || got[1] != "tag" || got[2] != "value" || got[3] != "quality" {
		t.Errorf("header %q", got)
	}
	if got := rows[1]; got[0] != "2023-11-14T22:14:00.000Z" || got[1] != "TIC101.PV" || got[2] != "0" || got[3] != "good" {
		t.Errorf("first row %q", got)
	}
	if got := rows[1+100]; got[2] != "1000" {
		t.Errorf("spike row %q", got)
	}
	if got := rows[121]; got[1] != "TIC101.SP" || got[2] != "" || got[3] != "bad" {
		t.Errorf("bad row %q", got)
	}
}
