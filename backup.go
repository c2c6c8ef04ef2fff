package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

// backupCmd copies the data directory's database (and the Sparkplug
// buffer, if any) to a file, also while a server runs.
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("backup", stderr)
	data := fs.String("data", "./data", "data directory of the database to back up")
	out := fs.String("out", "", "file to write (must not exist)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "edgehmi backup: give the file to write with --out FILE")
		return 2
	}
	res, err := store.Backup(ctx, *data, *out)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi backup:", err)
		return 1
	}
	detail := fmt.Sprintf("%s, %d bytes, %s", res.File, res.Bytes, res.Took.Round(time.Millisecond))
	if res.Sparkplug != "" {
		detail += ", Sparkplug buffer " + res.Sparkplug
	}
	audit(ctx, *data, "backup", detail, stderr)
	fmt.Fprintf(stdout, "edgehmi backup: %s\n", detail)
	return 0
}

// restoreCmd puts a backup back into the data directory; it refuses while a
// server holds the directory.
func restoreCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("restore", stderr)
	data := fs.String("data", "./data", "data directory to restore into")
	in := fs.String("in", "", "backup file (from edgehmi backup)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" {
		fmt.Fprintln(stderr, "edgehmi restore: give the backup with --in FILE")
		return 2
	}
	res, err := store.Restore(ctx, *data, *in)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi restore:", err)
		if errors.Is(err, store.ErrInUse) {
			fmt.Fprintln(stderr, "  (systemctl stop edgehmi, restore, then systemctl start edgehmi)")
		}
		return 1
	}
	detail := "from " + *in
	if res.Previous != "" {
		detail += "; the replaced database is kept as " + res.Previous
	}
	if res.Sparkplug {
		detail += "; Sparkplug buffer restored too"
	}
	audit(ctx, *data, "restore", detail, stderr)
	fmt.Fprintf(stdout, "edgehmi restore: %s\n", detail)
	return 0
}

// audit records a backup or restore in the event log's audit trail; a
// store it cannot reach is reported, not fatal (the copy is made).
func audit(ctx context.Context, dir, action, detail string, stderr io.Writer) {
	s, err := store.Open(ctx, dir, nil)
	if err != nil {
		fmt.Fprintf(stderr, "edgehmi %s: not in the audit trail: %v\n", action, err)
		return
	}
	defer s.Close()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "edgehmi " + action, User: who, Address: "local " + host,
		Action: "data." + action, Result: "ok", Detail: detail}
	if err := s.Append(ctx, ev); err != nil {
		fmt.Fprintf(stderr, "edgehmi %s: not in the audit trail: %v\n", action, err)
	}
	// Run as root beside a service of its own user: what SQLite created
	// here stays the service's.
	db := filepath.Join(dir, store.FileName)
	if err := store.OwnLikeDir(dir, db, db+"-wal", db+"-shm", filepath.Join(dir, store.LockFile)); err != nil {
		fmt.Fprintf(stderr, "edgehmi %s: %v\n", action, err)
	}
}
