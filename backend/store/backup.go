package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockFile is the lock file inside the data directory: a running server
// holds an exclusive flock on it, and restore refuses to run while anyone
// does.
const LockFile = "edgehmi.lock"

// SparkplugFile is the Sparkplug B store-and-forward buffer (see
// backend/sparkplug), backed up beside the main database when present.
const SparkplugFile = "sparkplug.db"

// SparkplugSuffix names a backup's copy of the Sparkplug buffer: FILE plus
// this suffix.
const SparkplugSuffix = ".sparkplug"

// ErrInUse is returned when another process holds the data directory's lock.
var ErrInUse = errors.New("the data directory is in use by a running edgehmi (stop it first)")

// DirLock is a held lock on a data directory.
type DirLock struct{ f *os.File }

// Lock takes the data directory's exclusive lock without waiting, creating
// the directory if needed. It fails with ErrInUse when another process (or
// another Lock in this one) holds it. The lock ends with Unlock or with the
// process.
func Lock(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %q: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %q: %w", path, ErrInUse)
		}
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if err := OwnLikeDir(dir, path); err != nil {
		f.Close()
		return nil, err
	}
	// Say who holds it, for an operator looking at the file.
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid())
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock (the file stays).
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
	return err
}

// BackupResult tells what a backup wrote.
type BackupResult struct {
	File      string // the main database's copy
	Bytes     int64
	Sparkplug string // the Sparkplug buffer's copy ("" when there was none)
	Took      time.Duration
}

// Backup writes a consistent copy of the data directory's database to out
// (which must not exist) with VACUUM INTO on a connection of its own: it
// reads one snapshot, so a server may keep writing meanwhile (WAL). The
// copy is written beside out and renamed into place when complete. When
// the directory holds a Sparkplug buffer, it is copied too, to out plus
// SparkplugSuffix.
func Backup(ctx context.Context, dir, out string) (BackupResult, error) {
	start := time.Now()
	res := BackupResult{File: out}
	src := filepath.Join(dir, FileName)
	if _, err := os.Stat(src); err != nil {
		return res, fmt.Errorf("database %q: %w", src, err)
	}
	if err := vacuumInto(ctx, src, out); err != nil {
		return res, err
	}
	if fi, err := os.Stat(out); err == nil {
		res.Bytes = fi.Size()
	}
	spb := filepath.Join(dir, SparkplugFile)
	if _, err := os.Stat(spb); err == nil {
		res.Sparkplug = out + SparkplugSuffix
		if err := vacuumInto(ctx, spb, res.Sparkplug); err != nil {
			return res, err
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

// vacuumInto copies the SQLite database src to dst through a temporary
// file beside dst.
func vacuumInto(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup %q: %w", dst, os.ErrExist)
	}
	tmp := dst + ".partial"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("database %q: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("back up %q to %q: %w", src, dst, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup %q: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup %q: %w", dst, err)
	}
	return syncDir(filepath.Dir(dst))
}

// Check opens the SQLite file read-only and runs PRAGMA integrity_check;
// it fails unless the answer is "ok". With edgehmi set it also asks that
// the file be an edgehmi database this version can open.
func Check(ctx context.Context, path string, edgehmi bool) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("database %q: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("database %q: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("database %q: integrity check: %w", path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("database %q: integrity check: %w", path, err)
		}
		problems = append(problems, s)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("database %q: integrity check: %w", path, err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("database %q fails its integrity check: %s", path, strings.Join(problems, "; "))
	}
	if !edgehmi {
		return nil
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("database %q: schema version: %w", path, err)
	}
	if version == 0 || version > len(migrations) {
		return fmt.Errorf("database %q: schema version %d: not an edgehmi database this version can open (1-%d)", path, version, len(migrations))
	}
	return nil
}

// RestoreResult tells what a restore did.
type RestoreResult struct {
	Previous  string // where the database it replaced was moved ("" if there was none)
	Sparkplug bool   // the Sparkplug buffer was restored too
}

// Restore puts the backup in (and its Sparkplug copy, when there is one)
// into the data directory. It takes the directory's lock, so it refuses
// while a server runs (ErrInUse), checks the backup's integrity first,
// moves the current database (with its -wal) aside, and removes stale
// -wal and -shm files, so SQLite cannot apply an old log to the restored
// file.
func Restore(ctx context.Context, dir, in string) (RestoreResult, error) {
	var res RestoreResult
	if err := Check(ctx, in, true); err != nil {
		return res, err
	}
	spbIn := in + SparkplugSuffix
	_, err := os.Stat(spbIn)
	withSpb := err == nil
	if withSpb {
		if err := Check(ctx, spbIn, false); err != nil {
			return res, err
		}
	}
	lock, err := Lock(dir)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	stamp := time.Now().UTC().Format("20060102T150405Z")
	if res.Previous, err = replace(filepath.Join(dir, FileName), in, stamp); err != nil {
		return res, err
	}
	if withSpb {
		if _, err := replace(filepath.Join(dir, SparkplugFile), spbIn, stamp); err != nil {
			return res, err
		}
		res.Sparkplug = true
	}
	return res, nil
}

// replace installs a copy of src as the SQLite database dst, moving what
// was there aside (dst.before-restore-STAMP, with its -wal) and removing
// stale -shm files. It returns where the old database went.
func replace(dst, src, stamp string) (string, error) {
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("restore %q: %w", dst, err)
	}
	var prev string
	if _, err := os.Stat(dst); err == nil {
		prev = dst + ".before-restore-" + stamp
		if err := os.Rename(dst, prev); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("move %q aside: %w", dst, err)
		}
		if _, err := os.Stat(dst + "-wal"); err == nil {
			if err := os.Rename(dst+"-wal", prev+"-wal"); err != nil {
				return prev, fmt.Errorf("move %q aside: %w", dst+"-wal", err)
			}
		}
	}
	for _, stale := range []string{dst + "-wal", dst + "-shm", dst + "-journal"} {
		if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
			return prev, fmt.Errorf("remove %q: %w", stale, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return prev, fmt.Errorf("restore %q: %w", dst, err)
	}
	if err := OwnLikeDir(filepath.Dir(dst), dst); err != nil {
		return prev, err
	}
	return prev, syncDir(filepath.Dir(dst))
}

// OwnLikeDir gives files the data directory's owner when run as root (an
// admin restoring for the service's user, edgehmi): a database file root
// owns is one the service cannot write. Files that do not exist are
// skipped; other users cannot give files away and need not.
func OwnLikeDir(dir string, files ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %q: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	for _, f := range files {
		if err := os.Chown(f, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("give %q to the data directory's owner: %w", f, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("directory %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("directory %q: %w", dir, err)
	}
	return nil
}
