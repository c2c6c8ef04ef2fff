//go:build desktop

package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseRemote(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.0.0.5:8080":       "http://10.0.0.5:8080",
		"http://10.0.0.5:8080/":      "http://10.0.0.5:8080",
		"https://hmi.plant.local/x/": "https://hmi.plant.local/x",
	} {
		u, err := ParseRemote(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseRemote(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.5:8080", "ftp://x", "http://", "http://u:p@x", "http://x/?a=1", "http://x/#f"} {
		if _, err := ParseRemote(bad); err == nil {
			t.Errorf("ParseRemote(%q): no error", bad)
		}
	}
}

// The proxy passes the window's request whole: method, path, query, body,
// Origin and Authorization, with the remote's host.
func TestRemoteHandlerForwards(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := new(strings.Builder)
		_, _ = io.Copy(body, r.Body)
		json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "uri": r.RequestURI, "host": r.Host,
			"origin": r.Header.Get("Origin"), "auth": r.Header.Get("Authorization"), "body": body.String()})
	}))
	defer remote.Close()
	u, err := ParseRemote(remote.URL)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "wails://wails/api/v1/tags/TIC101.SP/write?x=1", strings.NewReader(`{"value":70}`))
	req.Header.Set("Origin", "wails://wails")
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	RemoteHandler(u, nil).ServeHTTP(rec, req)
	var got map[string]string
	if err := json.NewDecoder(rec.Body).Decode(&got); err != nil {
		t.Fatalf("status %d: %v", rec.Code, err)
	}
	want := map[string]string{"method": "POST", "uri": "/api/v1/tags/TIC101.SP/write?x=1", "host": u.Host,
		"origin": "wails://wails", "auth": "Bearer tok", "body": `{"value":70}`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestRemoteHandlerUnreachable(t *testing.T) {
	remote := httptest.NewServer(http.NotFoundHandler())
	u, _ := ParseRemote(remote.URL)
	remote.Close()
	rec := httptest.NewRecorder()
	RemoteHandler(u, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "wails://wails/api/v1/tags", nil))
	var got struct{ Error string }
	if rec.Code != http.StatusBadGateway || json.NewDecoder(rec.Body).Decode(&got) != nil || !strings.Contains(got.Error, "cannot reach") {
		t.Errorf("status %d, error %q; want 502 with a sentence", rec.Code, got.Error)
	}
}
