package sparkplug

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// BufferFile is the store-and-forward buffer's file name in the data directory.
const BufferFile = "sparkplug.db"

// Row is one buffered change: a tag (by name, so a buffer outlives a
// change of the project), its sample and its place in the buffer (ID,
// ascending in the order of the changes).
type Row struct {
	ID      int64
	Tag     string
	TS      int64 // ms since the Unix epoch
	Kind    hmi.Kind
	Num     float64
	Str     string
	Quality hmi.Quality
}

// rowOf is a change as a row (without an ID yet).
func rowOf(tag string, s hmi.Sample) Row {
	r := Row{Tag: tag, TS: s.TS.UnixMilli(), Kind: s.Value.Kind(), Quality: s.Quality}
	if s.TS.IsZero() {
		r.TS = 0
	}
	switch r.Kind {
	case hmi.KindString:
		r.Str = s.Value.Text()
	case hmi.KindNumber, hmi.KindBool:
		r.Num = s.Value.Float()
	}
	return r
}

// Value is the row's value.
func (r *Row) Value() hmi.Value {
	switch r.Kind {
	case hmi.KindNumber:
		return hmi.Number(r.Num)
	case hmi.KindBool:
		return hmi.Bool(r.Num != 0)
	case hmi.KindString:
		return hmi.String(r.Str)
	}
	return hmi.Value{}
}

// Buffer is the store-and-forward buffer: changes waiting for the broker,
// in a SQLite file of their own, at most max rows (the oldest are dropped
// first). Changes are added in memory and written in batches by Flush.
// Only one goroutine may use it (the edge node's); Len, Oldest and
// Dropped may be read from any.
type Buffer struct {
	db      *sql.DB
	path    string
	max     int
	pending []Row
	rows    int // committed rows

	depth   atomic.Int64  // rows + pending
	oldest  atomic.Int64  // ms of the oldest row or pending change, 0: none
	dropped atomic.Uint64 // rows dropped past the bound
}

// OpenBuffer opens (creating it if needed) the buffer at path, bounded to
// maxRows rows.
func OpenBuffer(ctx context.Context, path string, maxRows int) (*Buffer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sparkplug buffer %q: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sparkplug buffer %q: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer, and the reader is the same goroutine
	b := &Buffer{db: db, path: path, max: max(maxRows, 1)}
	if err := b.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sparkplug buffer %q: %w", path, err)
	}
	return b, nil
}

func (b *Buffer) init(ctx context.Context) error {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS buffer (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, ts INTEGER NOT NULL,
			kind INTEGER NOT NULL, num REAL NOT NULL, str TEXT NOT NULL, quality INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
	} {
		if _, err := b.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := b.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM buffer`).Scan(&b.rows); err != nil {
		return err
	}
	if err := b.trim(ctx); err != nil {
		return err
	}
	return b.refresh(ctx)
}

// Close closes the file; pending changes not flushed are lost.
func (b *Buffer) Close() error { return b.db.Close() }

// Len is the number of buffered changes (committed and pending).
func (b *Buffer) Len() int { return int(b.depth.Load()) }

// Oldest is the timestamp (ms) of the oldest buffered change, 0 when empty.
func (b *Buffer) Oldest() int64 { return b.oldest.Load() }

// Dropped counts changes dropped past the bound.
func (b *Buffer) Dropped() uint64 { return b.dropped.Load() }

// Add buffers changes in memory until the next Flush. Past the bound, the
// oldest pending ones are dropped (committed rows go at Flush).
func (b *Buffer) Add(rows ...Row) {
	b.pending = append(b.pending, rows...)
	if over := len(b.pending) - b.max; over > 0 {
		b.pending = append(b.pending[:0], b.pending[over:]...)
		b.dropped.Add(uint64(over))
	}
	if b.rows == 0 && len(b.pending) > 0 {
		b.oldest.Store(b.pending[0].TS)
	}
	b.depth.Store(int64(b.rows + len(b.pending)))
}

// Pending is the number of changes not yet flushed.
func (b *Buffer) Pending() int { return len(b.pending) }

// Flush writes the pending changes in one transaction, then drops the
// oldest rows past the bound; it returns how many it dropped.
func (b *Buffer) Flush(ctx context.Context) (int, error) {
	if len(b.pending) == 0 {
		return 0, nil
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO buffer (tag, ts, kind, num, str, quality) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	}
	defer st.Close()
	for i := range b.pending {
		r := &b.pending[i]
		if _, err := st.ExecContext(ctx, r.Tag, r.TS, int(r.Kind), r.Num, r.Str, int(r.Quality)); err != nil {
			return 0, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	}
	b.rows += len(b.pending)
	b.pending = b.pending[:0]
	before := b.dropped.Load()
	if err := b.trim(ctx); err != nil {
		return 0, err
	}
	if err := b.refresh(ctx); err != nil {
		return 0, err
	}
	return int(b.dropped.Load() - before), nil
}

// trim drops the oldest rows past the bound.
func (b *Buffer) trim(ctx context.Context) error {
	over := b.rows - b.max
	if over <= 0 {
		return nil
	}
	res, err := b.db.ExecContext(ctx, `DELETE FROM buffer WHERE id <= (SELECT id FROM buffer ORDER BY id LIMIT 1 OFFSET ?)`, over-1)
	if err != nil {
		return fmt.Errorf("sparkplug buffer %q: drop the oldest rows: %w", b.path, err)
	}
	n, _ := res.RowsAffected()
	b.rows -= int(n)
	b.dropped.Add(uint64(n))
	return nil
}

// refresh re-reads the oldest row's time and sets the depth.
func (b *Buffer) refresh(ctx context.Context) error {
	var ts int64
	err := b.db.QueryRowContext(ctx, `SELECT ts FROM buffer ORDER BY id LIMIT 1`).Scan(&ts)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		b.oldest.Store(0)
		if len(b.pending) > 0 {
			b.oldest.Store(b.pending[0].TS)
		}
	case err != nil:
		return fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	default:
		b.oldest.Store(ts)
	}
	b.depth.Store(int64(b.rows + len(b.pending)))
	return nil
}

// Next appends to out up to limit committed rows after the row with id
// after, in order.
func (b *Buffer) Next(ctx context.Context, after int64, limit int, out []Row) ([]Row, error) {
	rs, err := b.db.QueryContext(ctx, `SELECT id, tag, ts, kind, num, str, quality FROM buffer WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return out, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	}
	defer rs.Close()
	for rs.Next() {
		var r Row
		var kind, q int
		if err := rs.Scan(&r.ID, &r.Tag, &r.TS, &kind, &r.Num, &r.Str, &q); err != nil {
			return out, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
		}
		r.Kind, r.Quality = hmi.Kind(kind), hmi.Quality(q)
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return out, fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	}
	return out, nil
}

// Delete removes the committed rows up to and including id (delivered).
func (b *Buffer) Delete(ctx context.Context, id int64) error {
	res, err := b.db.ExecContext(ctx, `DELETE FROM buffer WHERE id <= ?`, id)
	if err != nil {
		return fmt.Errorf("sparkplug buffer %q: %w", b.path, err)
	}
	n, _ := res.RowsAffected()
	b.rows -= int(n)
	return b.refresh(ctx)
}

// BdSeq is the birth/death sequence number for the next MQTT session
// (0 on a new buffer).
func (b *Buffer) BdSeq(ctx context.Context) (uint8, error) {
	var v int64
	err := b.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'bdseq'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sparkplug buffer %q: read bdSeq: %w", b.path, err)
	}
	return uint8(v), nil
}

// SetBdSeq keeps the bdSeq of the next session.
func (b *Buffer) SetBdSeq(ctx context.Context, v uint8) error {
	if _, err := b.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('bdseq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, int64(v)); err != nil {
		return fmt.Errorf("sparkplug buffer %q: keep bdSeq: %w", b.path, err)
	}
	return nil
}
