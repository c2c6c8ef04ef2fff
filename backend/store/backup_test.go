package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// TestBackupWhileWritingRestores takes a backup while a goroutine keeps
// appending events through the store's writer, restores it into another
// data directory, and checks that the result passes PRAGMA
// integrity_check and holds every event committed before the backup began.
func TestBackupWhileWritingRestores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := run(t, dir)
	// Some bulk first, so the copy takes a while as the writes go on.
	for i := range 8000 {
		s.Log(hmi.Event{Kind: hmi.EventSystem, Source: "bulk", Action: "fill", Detail: strings.Repeat("x", 400) + strconv.Itoa(i)})
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var logged atomic.Int64 // events the writer goroutine has handed to the store
	wctx, stopWriting := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := int64(1); wctx.Err() == nil; n++ {
			s.Log(hmi.Event{Kind: hmi.EventAudit, Source: "writer", Action: "seq", Detail: strconv.FormatInt(n, 10)})
			logged.Store(n)
			if n%50 == 0 {
				s.Flush(wctx) // let commits interleave with the copy
			}
		}
	})
	for logged.Load() < 200 { // writes are under way
		s.Flush(ctx)
	}
	// Everything logged up to here is committed when Flush returns.
	before := logged.Load()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	res, err := Backup(ctx, dir, out)
	if err != nil {
		t.Fatal(err)
	}
	during := logged.Load()
	stopWriting()
	wg.Wait()
	if during <= before {
		t.Fatalf("no event was written while the backup ran (%d before, %d after): the test proves nothing", before, during)
	}
	t.Logf("backup %d bytes in %s; %d events committed before it, %d logged by its end", res.Bytes, res.Took, before, during)
	if _, err := Backup(ctx, dir, out); !errors.Is(err, os.ErrExist) {
		t.Errorf("a second backup over the first: %v, want os.ErrExist", err)
	}

	// Restore into a directory that has a database of its own.
	dst := t.TempDir()
	other, err := Open(ctx, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Append(ctx, hmi.Event{Kind: hmi.EventSystem, Source: "old", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	// A server holds the lock: restore refuses and changes nothing.
	lock, err := Lock(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dst, out); !errors.Is(err, ErrInUse) {
		t.Errorf("restore while locked: %v, want ErrInUse", err)
	}
	lock.Unlock()
	rr, err := Restore(ctx, dst, out)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Previous == "" {
		t.Error("the replaced database was not kept")
	} else if err := Check(ctx, rr.Previous, true); err != nil {
		t.Errorf("the database moved aside: %v", err)
	}
	for _, stale := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(filepath.Join(dst, FileName+stale)); err == nil {
			t.Errorf("%s%s left beside the restored database", FileName, stale)
		}
	}
	restored := filepath.Join(dst, FileName)
	if err := Check(ctx, restored, true); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+restored+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT detail FROM events WHERE source = 'writer'")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.ParseInt(d, 10, 64)
		seen[n] = true
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= before; n++ {
		if !seen[n] {
			t.Fatalf("event %d, committed before the backup began, is missing from the restore (%d of the writer's events there)", n, len(seen))
		}
	}
	var old, bulk int
	db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE source = 'old'").Scan(&old)
	db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE source = 'bulk'").Scan(&bulk)
	if old != 0 || bulk != 8000 {
		t.Errorf("restored database: %d events of the replaced one (want 0), %d bulk events (want 8000)", old, bulk)
	}
}

// TestRestoreRefusesDamagedBackup: a file that is not a sound edgehmi
// database is refused before anything in the data directory is touched.
func TestRestoreRefusesDamagedBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	bad := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(bad, []byte("SQLite format 3\x00 but not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dir, bad); err == nil {
		t.Fatal("a damaged backup was restored")
	}
	if _, err := Restore(ctx, dir, filepath.Join(t.TempDir(), "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing backup: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "before-restore") {
			t.Errorf("refused restore moved the database aside: %s", e.Name())
		}
	}
}
