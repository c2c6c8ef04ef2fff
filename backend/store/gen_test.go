package store

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestGenerateBenchDB fills the data directory EDGEHMI_GEN_DB with history
// and events until its database holds EDGEHMI_GEN_DB_MB megabytes (default
// 1000: under the default history.max_size of 1 GiB, so that a server
// started on it does not prune it), for scripts/bench-release.sh (the
// backup figure of docs/benchmarks.md). Skipped unless EDGEHMI_GEN_DB is set.
func TestGenerateBenchDB(t *testing.T) {
	dir := os.Getenv("EDGEHMI_GEN_DB")
	if dir == "" {
		t.Skip("set EDGEHMI_GEN_DB=DIR (and EDGEHMI_GEN_DB_MB) to generate a large database")
	}
	mb := 1000
	if v := os.Getenv("EDGEHMI_GEN_DB_MB"); v != "" {
		var err error
		if mb, err = strconv.Atoi(v); err != nil {
			t.Fatalf("EDGEHMI_GEN_DB_MB=%q: %v", v, err)
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		var pages, pageSize int64
		s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages)
		s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize)
		return pages * pageSize
	}
	const tags = 200
	for i := 1; i <= tags; i++ {
		if _, err := s.db.ExecContext(ctx, "INSERT OR IGNORE INTO history_tags (id, name) VALUES (?, ?)", i, "Bench."+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	// Within the default retention (30 days), so that a server started on
	// the result keeps it rather than pruning it.
	t0 := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	var histRows, events int64
	for chunk := int64(0); size() < int64(mb)<<20; chunk++ {
		// 1,000,000 history rows (200 tags, one sample a second each) and
		// 50,000 events of about 300 bytes a chunk: about 60% history.
		base := t0 + chunk*5000*1000
		if _, err := s.db.ExecContext(ctx, `INSERT INTO history (tag, ts, value, quality)
			WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x+1 FROM c LIMIT 1000000)
			SELECT 1 + x % ?, ? + (x / ?) * 1000, (x % 1000) / 10.0, 192 FROM c`, tags, base, tags); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO events (ts, kind, source, user, action, result, detail)
			WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x+1 FROM c LIMIT 50000)
			SELECT ? + x * 100, 'audit', 'Bench.' || (x % 200), 'operator', 'write', 'ok', hex(randomblob(140)) FROM c`, base); err != nil {
			t.Fatal(err)
		}
		histRows += 1000000
		events += 50000
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d MB: %d history rows, %d events in %s", size()>>20, histRows, events, time.Since(start).Round(time.Second))
}
