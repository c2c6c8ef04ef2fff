package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/sparkplug"
)

// TestNorthboundBuffersWhileBrokerDown runs the demo with a Sparkplug
// section whose broker does not answer: the plant runs as ever, the edge
// node says it is not connected and why, and the demo's changes pile up in
// the store-and-forward buffer, which /metrics and the diagnostics API show.
func TestNorthboundBuffersWhileBrokerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	data, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(data) + fmt.Sprintf("\nsparkplug:\n  brokers: [\"tcp://127.0.0.1:%d\"]\n  group_id: plant\n  edge_node: hmi1\n  connect_timeout: 1s\n  retry_max: 1s\n", port)
	p, err := config.Parse("demo-north.yaml", []byte(yaml), Drivers())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e, err := Start(context.Background(), Options{Project: p, DataDir: dir, Listen: "127.0.0.1:0", Demo: true,
		Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())

	var st sparkplug.Status
	waitFor(t, 20*time.Second, "changes in the buffer", func() bool {
		res, err := http.Get(e.URL() + "/api/v1/northbound")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		st = sparkplug.Status{}
		return json.NewDecoder(res.Body).Decode(&st) == nil && st.BufferRows > 0
	})
	if !st.Enabled || st.Connected || st.LastError == "" {
		t.Errorf("status %+v: want enabled, not connected, with the reason", st)
	}
	res, err := http.Get(e.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var rows float64 = -1
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "edgehmi_sparkplug_buffer_rows "); ok {
			rows, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(l, "edgehmi_sparkplug_connected "); ok && v != "0" {
			t.Errorf("edgehmi_sparkplug_connected %s, want 0", v)
		}
	}
	if rows <= 0 {
		t.Errorf("edgehmi_sparkplug_buffer_rows %v in /metrics, want > 0", rows)
	}

	// A live reload rebuilds the edge node on the same buffer: what was
	// buffered stays, and new changes keep coming in behind it.
	before := e.northboundStatus().(sparkplug.Status).BufferRows
	if _, err := e.Load(context.Background(), "demo-north.yaml", []byte(strings.Replace(yaml, "edge_node: hmi1", "edge_node: hmi2", 1))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "more changes in the buffer after the reload", func() bool {
		st := e.northboundStatus().(sparkplug.Status)
		return st.EdgeNode == "hmi2" && st.BufferRows > before
	})
}
