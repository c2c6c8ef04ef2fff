package engine

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoHistory: the demo's tags are recorded as they change, through
// the store's writer, and the history answers for them.
func TestDemoHistory(t *testing.T) {
	e, err := Start(context.Background(), Options{Project: demoProject(t), DataDir: t.TempDir(), Listen: "127.0.0.1:0", Demo: true,
		Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())
	start := time.Now().Add(-time.Second).UnixMilli()
	ctx := context.Background()
	waitFor(t, 20*time.Second, "T101.Level recorded with several good values", func() bool {
		s, _, err := e.store.History(ctx, "T101.Level", start, time.Now().Add(time.Second).UnixMilli(), 10_000)
		if err != nil {
			t.Fatal(err)
		}
		good := 0
		for k := range s.T {
			if s.Q[k] == 2 {
				good++
			}
		}
		return good >= 3
	})
	// The writer counts what it committed, and /metrics says so.
	resp, err := http.Get(e.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var n uint64
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "edgehmi_history_samples_total "); ok {
			n, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	if n == 0 || n > e.store.HistoryRecorded() {
		t.Errorf("edgehmi_history_samples_total %d (store: %d)", n, e.store.HistoryRecorded())
	}
}
