package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// auditActions lists the audit trail's actions in a data directory.
func auditActions(t *testing.T, dir string) string {
	t.Helper()
	s, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.Events(context.Background(), store.EventQuery{Kind: hmi.EventAudit})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, ev := range evs {
		acts = append(acts, ev.Action)
	}
	return strings.Join(acts, ",")
}

// TestBackupRestoreCommands: backup writes a copy and audits it; restore
// refuses while the data directory is locked (a server runs), then puts
// the copy in place and audits that in the restored database.
func TestBackupRestoreCommands(t *testing.T) {
	ctx := context.Background()
	src, dst := t.TempDir(), t.TempDir()
	s, err := store.Open(ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, hmi.Event{Kind: hmi.EventAudit, Source: "test", Action: "write"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out := filepath.Join(t.TempDir(), "b.db")
	var o, e bytes.Buffer
	if code := run(ctx, []string{"backup", "--data", src, "--out", out}, &o, &e); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, e.String())
	}
	if got := auditActions(t, src); !strings.Contains(got, "data.backup") {
		t.Errorf("source audit trail %q has no data.backup", got)
	}
	if code := run(ctx, []string{"backup", "--data", src}, &o, &e); code != 2 {
		t.Errorf("backup without --out: exit %d", code)
	}

	lock, err := store.Lock(dst)
	if err != nil {
		t.Fatal(err)
	}
	e.Reset()
	if code := run(ctx, []string{"restore", "--data", dst, "--in", out}, &o, &e); code != 1 || !strings.Contains(e.String(), "in use") {
		t.Errorf("restore while locked: exit %d, stderr %q", code, e.String())
	}
	lock.Unlock()
	e.Reset()
	if code := run(ctx, []string{"restore", "--data", dst, "--in", out}, &o, &e); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, e.String())
	}
	// The restored trail holds the source's write (taken before the backup) and the restore.
	if got := auditActions(t, dst); !strings.Contains(got, "write") || !strings.Contains(got, "data.restore") {
		t.Errorf("restored audit trail %q: want write and data.restore", got)
	}
}

// TestServeLocksDataDir: a second server on the same data directory is
// refused, naming the lock.
func TestServeLocksDataDir(t *testing.T) {
	dir := t.TempDir()
	lock, err := store.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	var o, e bytes.Buffer
	code := run(context.Background(), []string{"serve", "--demo", "--listen", "127.0.0.1:0", "--data", dir, "--log-level", "error"}, &o, &e)
	if code != 1 || !strings.Contains(e.String(), "edgehmi.lock") {
		t.Errorf("serve on a locked data dir: exit %d, stderr %q", code, e.String())
	}
}

// TestJournalLogsWithoutTime: under systemd's journal the log lines carry
// no time of their own.
func TestJournalLogsWithoutTime(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "") // as if not under systemd, whatever runs the test
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, logOptions(slog.LevelInfo))).Info("hello")
	if !strings.HasPrefix(b.String(), "time=") {
		t.Errorf("outside the journal: %q, want a time", b.String())
	}
	t.Setenv("JOURNAL_STREAM", "8:12345")
	b.Reset()
	slog.New(slog.NewTextHandler(&b, logOptions(slog.LevelInfo))).Info("hello")
	if b.String() != "level=INFO msg=hello\n" {
		t.Errorf("under the journal: %q", b.String())
	}
}
