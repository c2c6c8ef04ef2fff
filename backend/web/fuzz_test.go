package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// FuzzDecodeClientMsg: any frame gets either a checked message or a
// sentence, never a panic; accepted messages hold only valid patterns.
func FuzzDecodeClientMsg(f *testing.F) {
	for _, s := range []string{`{"type":"subscribe","tags":["*"]}`, `{"type":"unsubscribe","tags":["TIC101.*","a"]}`,
		`{"type":`, `[]`, `{"type":"subscribe","tags":["*a*b*c*d"]}`, `{"type":"subscribe","tags":[""]}`, "\xff"} {
		f.Add(websocket.TextMessage, []byte(s))
	}
	f.Add(websocket.BinaryMessage, []byte{1, 2})
	f.Fuzz(func(t *testing.T, typ int, data []byte) {
		m, problem := decodeClientMsg(typ, data)
		if problem != "" {
			if !json.Valid(errorMsg(problem)) {
				t.Fatalf("error reply is not JSON: %q", errorMsg(problem))
			}
			return
		}
		if m.Type != "subscribe" && m.Type != "unsubscribe" || len(m.Tags) == 0 || len(m.Tags) > maxSubscribed {
			t.Fatalf("accepted %+v", m)
		}
		for _, p := range m.Tags {
			if !validPattern(p) {
				t.Fatalf("accepted pattern %q", p)
			}
			match(p, strings.Repeat("T101.Level.", 20)) // bounded: must not hang
		}
	})
}

// FuzzWriteBody: any write request body gets a status and a JSON answer,
// never a panic or a 500.
func FuzzWriteBody(f *testing.F) {
	for _, s := range []string{`{"value":70}`, `{"value":true,"reason":"x"}`, `{"value":"hot"}`, `{"value":null}`,
		`{"value":1e400}`, `{"value":70,"force":1}`, `{"value":70}{"value":1}`, `{"value":`, `[]`, ``} {
		f.Add(s)
	}
	r := newRig(f, 3)
	tok := "Bearer " + loginTB(f, r, "op", "op-pass")
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := http.NewRequest("POST", r.srv.URL+"/api/v1/tags/TIC101.SP/write", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%q: answer is not JSON: %v", body, err)
		}
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusGatewayTimeout {
			t.Fatalf("%q: status %d %v", body, resp.StatusCode, m)
		}
		if resp.StatusCode != 200 && m["error"] == nil {
			t.Fatalf("%q: status %d without an error sentence", body, resp.StatusCode)
		}
	})
}

func loginTB(tb testing.TB, r *rig, user, pw string) string {
	tb.Helper()
	req, _ := http.NewRequest("POST", r.srv.URL+"/api/v1/login", strings.NewReader(`{"user":"`+user+`","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	json.NewDecoder(resp.Body).Decode(&m)
	if m["token"] == "" {
		tb.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	return m["token"]
}
