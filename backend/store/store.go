// Package store keeps edgehmi's records in SQLite (modernc.org/sqlite, pure
// Go): the event log, which holds the alarm journal and the audit trail too,
// and the users. One writer goroutine batches inserts into transactions;
// readers run concurrently under WAL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the database file inside the data directory.
const FileName = "edgehmi.db"

// maxPending bounds the events waiting for the writer. Past it, events are
// dropped and counted, so a storm cannot exhaust memory.
const maxPending = 1 << 20

// Store is the SQLite database of one data directory.
type Store struct {
	db  *sql.DB
	log *slog.Logger

	mu      sync.Mutex
	pending []hmi.Event
	wake    chan struct{}
	flushed *sync.Cond // broadcast after each commit
	seq     uint64     // events accepted
	done    uint64     // events committed (or failed)
	dropped uint64
	running bool
}

// Open opens (creating if needed) the database in dir and migrates it to the
// current schema.
func Open(ctx context.Context, dir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %q: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("database %q: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %q: %w", path, err)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Store{db: db, log: log, wake: make(chan struct{}, 1)}
	s.flushed = sync.NewCond(&s.mu)
	return s, nil
}

// Close closes the database. Call it after Run has returned.
func (s *Store) Close() error { return s.db.Close() }

// Log queues an event for the writer. It never blocks on the database.
func (s *Store) Log(ev hmi.Event) {
	if ev.TS.IsZero() {
		ev.TS = time.Now()
	}
	s.mu.Lock()
	if len(s.pending) >= maxPending {
		s.dropped++
		s.mu.Unlock()
		return
	}
	s.pending = append(s.pending, ev)
	s.seq++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Dropped is the number of events dropped because the queue was full.
func (s *Store) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Pending is the number of events waiting for the writer.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Run is the single writer: it commits queued events in batches until ctx
// ends, then commits what is still queued and returns.
func (s *Store) Run(ctx context.Context) error {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.flushed.Broadcast()
		s.mu.Unlock()
	}()
	// A commit, once begun, completes even if ctx ends meanwhile: events
	// already taken from the queue must not be lost to a shutdown.
	commitCtx := context.WithoutCancel(ctx)
	var batch []hmi.Event
	for {
		select {
		case <-ctx.Done():
			// Commit everything still queued before returning.
			for {
				batch = s.take(batch[:0])
				if len(batch) == 0 {
					return nil
				}
				s.commit(commitCtx, batch)
			}
		case <-s.wake:
			batch = s.take(batch[:0])
			if len(batch) > 0 {
				s.commit(commitCtx, batch)
			}
		}
	}
}

func (s *Store) take(buf []hmi.Event) []hmi.Event {
	s.mu.Lock()
	buf = append(buf, s.pending...)
	clear(s.pending)
	s.pending = s.pending[:0]
	s.mu.Unlock()
	return buf
}

const insertEvent = `INSERT INTO events(ts, kind, source, user, address, action, old, new, readback, reason, result, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`

func (s *Store) commit(ctx context.Context, batch []hmi.Event) {
	err := s.insert(ctx, batch)
	if err != nil {
		s.log.Error("event log: commit failed; events lost", "events", len(batch), "err", err)
	}
	s.mu.Lock()
	s.done += uint64(len(batch))
	s.flushed.Broadcast()
	s.mu.Unlock()
}

// Append commits one event now, without the writer: for short-lived
// processes (the user command) that write while a server may be running.
func (s *Store) Append(ctx context.Context, ev hmi.Event) error {
	if ev.TS.IsZero() {
		ev.TS = time.Now()
	}
	if err := s.insert(ctx, []hmi.Event{ev}); err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	return nil
}

func (s *Store) insert(ctx context.Context, batch []hmi.Event) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, insertEvent)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, e := range batch {
		if _, err := st.ExecContext(ctx, e.TS.UnixMilli(), string(e.Kind), e.Source, e.User, e.Address, e.Action, e.Old, e.New, e.Readback, e.Reason, e.Result, e.Detail); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Flush waits until every event logged before the call is committed, or the
// writer has stopped, or ctx ends.
func (s *Store) Flush(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.flushed.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.seq
	for s.done < target {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !s.running {
			return errors.New("event log writer is not running")
		}
		s.flushed.Wait()
	}
	return nil
}

// EventQuery selects events. Zero fields do not filter.
type EventQuery struct {
	From, To time.Time
	Kind     hmi.EventKind
	Source   string
	User     string
	Action   string
	Limit    int // default 100, at most 10000
}

// Events returns matching events, newest first.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]hmi.Event, error) {
	var where []string
	var args []any
	if !q.From.IsZero() {
		where = append(where, "ts >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		where = append(where, "ts <= ?")
		args = append(args, q.To.UnixMilli())
	}
	if q.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, string(q.Kind))
	}
	for _, f := range []struct{ col, val string }{{"source", q.Source}, {"user", q.User}, {"action", q.Action}} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	switch {
	case q.Limit <= 0:
		q.Limit = 100
	case q.Limit > 10000:
		q.Limit = 10000
	}
	query := "SELECT id, ts, kind, source, user, address, action, old, new, readback, reason, result, detail FROM events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY ts DESC, id DESC LIMIT ?"
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	out := []hmi.Event{}
	for rows.Next() {
		var e hmi.Event
		var ts int64
		var kind string
		if err := rows.Scan(&e.ID, &ts, &kind, &e.Source, &e.User, &e.Address, &e.Action, &e.Old, &e.New, &e.Readback, &e.Reason, &e.Result, &e.Detail); err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		e.TS, e.Kind = time.UnixMilli(ts), hmi.EventKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}
