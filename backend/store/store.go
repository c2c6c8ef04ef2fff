// Package store keeps edgehmi's records in SQLite (modernc.org/sqlite, pure
// Go): the event log, which holds the audit trail too, the alarm journal
// (every alarm transition, in a table of its own), and the users. One writer
// goroutine batches inserts of both into transactions; readers run
// concurrently under WAL.
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

	"github.com/edgehmi/edgehmi/backend/alarm"
	"github.com/edgehmi/edgehmi/backend/hmi"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the database file inside the data directory.
const FileName = "edgehmi.db"

// maxPending bounds the events and journal entries waiting for the writer,
// and maxHistoryPending the history samples, each on its own: a flood of
// history cannot crowd out the audit trail or the alarm journal. Past a
// bound, entries are dropped and counted, so a storm cannot exhaust memory.
const (
	maxPending        = 1 << 20
	maxHistoryPending = 1 << 20
)

// Store is the SQLite database of one data directory.
type Store struct {
	db  *sql.DB
	log *slog.Logger

	mu      sync.Mutex
	pending batch
	wake    chan struct{}
	flushed *sync.Cond // broadcast after each commit
	seq     uint64     // events and journal entries accepted
	done    uint64     // events and journal entries committed (or failed)
	dropped uint64
	running bool
	// journaled counts the journal entries committed, lastCommit is when
	// the last batch was committed.
	journaled  uint64
	lastCommit time.Time

	// histIDs caches history_tags (name to id); only the writer uses it.
	histIDs map[string]int64
	// histRecorded counts the history samples committed, histDropped
	// those dropped because the history queue was full.
	histRecorded uint64
	histDropped  uint64
}

// batch is what the writer commits in one transaction.
type batch struct {
	events  []hmi.Event
	journal []alarm.Transition
	history []HistSample
	// prunes are retention jobs, run by the writer after the batch.
	prunes []*pruneJob
}

func (b *batch) len() int { return b.logLen() + len(b.history) }

// logLen counts the events and journal entries (bounded by maxPending).
func (b *batch) logLen() int { return len(b.events) + len(b.journal) }

func (b *batch) reset() {
	clear(b.events)
	clear(b.journal)
	clear(b.prunes)
	b.events, b.journal, b.history, b.prunes = b.events[:0], b.journal[:0], b.history[:0], b.prunes[:0]
}

// Open opens (creating if needed) the database in dir and migrates it to the
// current schema.
func Open(ctx context.Context, dir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %q: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32768)&_txlock=immediate"
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
	s := &Store{db: db, log: log, wake: make(chan struct{}, 1), histIDs: map[string]int64{}}
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
	if s.pending.logLen() >= maxPending {
		s.dropped++
		s.mu.Unlock()
		return
	}
	s.pending.events = append(s.pending.events, ev)
	s.seq++
	s.mu.Unlock()
	s.poke()
}

// Journal queues alarm transitions for the alarm journal, in order. It
// never blocks on the database; transitions past the queue's bound are
// dropped and counted (Dropped).
func (s *Store) Journal(trs ...alarm.Transition) {
	if len(trs) == 0 {
		return
	}
	s.mu.Lock()
	room := max(maxPending-s.pending.logLen(), 0)
	if len(trs) > room {
		s.dropped += uint64(len(trs) - room)
		trs = trs[:room]
	}
	s.pending.journal = append(s.pending.journal, trs...)
	s.seq += uint64(len(trs))
	s.mu.Unlock()
	s.poke()
}

func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats are the writer's counters.
type Stats struct {
	Pending int    // events and journal entries waiting for the writer
	Dropped uint64 // dropped because the queue was full
	// Journaled is the number of journal entries committed since Open;
	// LastCommit is when the writer last committed a batch.
	Journaled  uint64
	LastCommit time.Time
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Pending: s.pending.len(), Dropped: s.dropped, Journaled: s.journaled, LastCommit: s.lastCommit}
}

// Dropped is the number of events and journal entries dropped because the
// queue was full.
func (s *Store) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Pending is the number of events and journal entries waiting for the
// writer.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.logLen()
}

// Run is the single writer: it commits queued events and journal entries in
// batches, one transaction each, until ctx ends, then commits what is
// still queued and returns.
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
	var b batch
	for {
		select {
		case <-ctx.Done():
			// Commit everything still queued before returning.
			for {
				s.take(&b)
				if b.len() == 0 && len(b.prunes) == 0 {
					return nil
				}
				s.commit(commitCtx, &b)
			}
		case <-s.wake:
			s.take(&b)
			if b.len() > 0 || len(b.prunes) > 0 {
				s.commit(commitCtx, &b)
			}
		}
	}
}

// take moves the queue into b, swapping buffers so neither is copied.
func (s *Store) take(b *batch) {
	b.reset()
	s.mu.Lock()
	s.pending, *b = *b, s.pending
	s.mu.Unlock()
}

const insertEvent = `INSERT INTO events(ts, kind, source, user, address, action, old, new, readback, reason, result, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`

func (s *Store) commit(ctx context.Context, b *batch) {
	err := s.insert(ctx, b.events, b.journal, b.history)
	if err != nil {
		s.log.Error("event log: commit failed; events and journal entries lost", "events", len(b.events), "journal", len(b.journal), "history", len(b.history), "err", err)
	}
	if err != nil {
		clear(s.histIDs) // ids of tags first seen in the batch were rolled back
	}
	for _, p := range b.prunes {
		p.res, p.err = s.prune(ctx, p.policy, p.now)
		close(p.done)
	}
	now := time.Now()
	s.mu.Lock()
	s.done += uint64(b.len())
	if err == nil {
		s.journaled += uint64(len(b.journal))
		s.histRecorded += uint64(len(b.history))
		s.lastCommit = now
	}
	s.flushed.Broadcast()
	s.mu.Unlock()
}

// Append commits one event now, without the writer: for short-lived
// processes (the user command) that write while a server may be running.
func (s *Store) Append(ctx context.Context, ev hmi.Event) error {
	if ev.TS.IsZero() {
		ev.TS = time.Now()
	}
	if err := s.insert(ctx, []hmi.Event{ev}, nil, nil); err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	return nil
}

func (s *Store) insert(ctx context.Context, events []hmi.Event, journal []alarm.Transition, history []HistSample) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if len(events) > 0 {
		st, err := tx.PrepareContext(ctx, insertEvent)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range events {
			if _, err := st.ExecContext(ctx, e.TS.UnixMilli(), string(e.Kind), e.Source, e.User, e.Address, e.Action, e.Old, e.New, e.Readback, e.Reason, e.Result, e.Detail); err != nil {
				return err
			}
		}
	}
	if len(journal) > 0 {
		if err := insertJournal(ctx, tx, journal); err != nil {
			return err
		}
	}
	if len(history) > 0 {
		if err := s.insertHistory(ctx, tx, history); err != nil {
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
