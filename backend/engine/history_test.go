package engine

import (
	"context"
	"io"
	"log/slog"
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
	// The writer counts what it committed.
	if n := e.store.HistoryRecorded(); n == 0 {
		t.Error("no samples counted")
	}
}
