package store

import (
	"context"
	"testing"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// A flood of history past its bound drops history, never an audit entry
// or an alarm journal entry: each has its own bound.
func TestHistoryFloodKeepsTheAuditTrail(t *testing.T) {
	st, err := Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The writer is not running: everything stays queued.
	flood := make([]HistSample, maxHistoryPending+10)
	for i := range flood {
		flood[i] = HistSample{Tag: "T101.Level", TS: int64(i), Value: 1, Quality: hmi.Good}
	}
	st.Record(flood...)
	st.Log(hmi.Event{Kind: hmi.EventAudit, Source: "TIC101.SP", User: "op", Action: "write", Old: "60", New: "70", Result: "ok"})
	if got := st.HistoryDropped(); got != 10 {
		t.Errorf("history dropped %d, want the 10 past its bound", got)
	}
	if got := st.Dropped(); got != 0 {
		t.Errorf("events dropped %d while history flooded, want 0", got)
	}
	if got := st.Pending(); got != 1 {
		t.Errorf("events pending %d, want the audit entry", got)
	}
}
