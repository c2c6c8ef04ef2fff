//go:build desktop

package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestKioskExit: the window ignores closing in kiosk mode; Quit closes it
// only for a session the server says is an engineer's or admin's.
func TestKioskExit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer eng":
			w.Write([]byte(`{"user":"ed","role":"engineer"}`))
		case "Bearer op":
			w.Write([]byte(`{"user":"olga","role":"operator"}`))
		default:
			http.Error(w, `{"error":"not logged in"}`, http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	a := New(srv.URL, true)
	quits := 0
	a.quit = func(context.Context) { quits++ }
	a.startup(context.Background())
	if !a.beforeClose(context.Background()) {
		t.Fatal("a kiosk window let itself be closed")
	}
	for tok, want := range map[string]string{"": "log in as an engineer", "op": "olga is operator", "nope": "does not know this session"} {
		if err := a.Quit(tok); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Quit(%q) = %v, want %q", tok, err, want)
		}
	}
	if quits != 0 || !a.beforeClose(context.Background()) {
		t.Fatal("refused Quit closed the window")
	}
	if err := a.Quit("eng"); err != nil || quits != 1 {
		t.Fatalf("engineer Quit: %v, quits %d", err, quits)
	}
	if a.beforeClose(context.Background()) {
		t.Fatal("the window stays open after an engineer's Quit")
	}
	if New(srv.URL, false).beforeClose(context.Background()) {
		t.Fatal("a normal window refuses to close")
	}
}
