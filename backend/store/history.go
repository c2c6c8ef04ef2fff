package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// HistSample is one recorded sample of a tag's history: Unix milliseconds,
// a value (NaN: none) and its quality.
type HistSample struct {
	Tag     string
	TS      int64
	Value   float64
	Quality hmi.Quality
}

// rollupMS is the period of the history_1m rollup.
const rollupMS = 60_000

// histChunk is how many samples one INSERT statement carries.
const histChunk = 128

// Record queues history samples for the writer, which commits them with
// the per-minute rollup in one transaction. It never blocks on the
// database; samples past the queue's bound are dropped and counted.
func (s *Store) Record(samples ...HistSample) {
	if len(samples) == 0 {
		return
	}
	s.mu.Lock()
	room := max(maxHistoryPending-len(s.pending.history), 0)
	if len(samples) > room {
		s.histDropped += uint64(len(samples) - room)
		samples = samples[:room]
	}
	s.pending.history = append(s.pending.history, samples...)
	s.seq += uint64(len(samples))
	s.mu.Unlock()
	s.poke()
}

// HistoryDropped is the number of history samples dropped since Open
// because the writer fell behind (the queue's bound).
func (s *Store) HistoryDropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.histDropped
}

// HistoryRecorded is the number of history samples committed since Open.
func (s *Store) HistoryRecorded() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.histRecorded
}

// histID returns the id of a tag in history_tags, adding it in tx if new.
// Only the writer calls it.
func (s *Store) histID(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	if id, ok := s.histIDs[name]; ok {
		return id, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO history_tags(name) VALUES (?)`, name); err != nil {
		return 0, fmt.Errorf("history of tag %q: %w", name, err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM history_tags WHERE name = ?`, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("history of tag %q: %w", name, err)
	}
	s.histIDs[name] = id
	return id, nil
}

// rollKey is one tag's minute in the rollup.
type rollKey struct{ tag, minute int64 }

// roll is the rollup of one minute of one tag within a batch.
type roll struct {
	min, max, last float64 // NaN: no value
	lastTS, n      int64
	q              hmi.Quality
}

func (r *roll) add(ts int64, v float64, q hmi.Quality) {
	if r.n == 0 || q < r.q {
		r.q = q
	}
	r.n++
	if !math.IsNaN(v) {
		if math.IsNaN(r.min) || v < r.min {
			r.min = v
		}
		if math.IsNaN(r.max) || v > r.max {
			r.max = v
		}
	}
	if ts >= r.lastTS {
		r.lastTS, r.last = ts, v
	}
}

func nullable(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

const upsertRollup = `INSERT INTO history_1m(tag, ts, min, max, last, last_ts, n, quality) VALUES (?,?,?,?,?,?,?,?)
	ON CONFLICT(tag, ts) DO UPDATE SET
		min = CASE WHEN min IS NULL OR excluded.min < min THEN excluded.min ELSE min END,
		max = CASE WHEN max IS NULL OR excluded.max > max THEN excluded.max ELSE max END,
		last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
		last_ts = max(last_ts, excluded.last_ts),
		n = n + excluded.n,
		quality = min(quality, excluded.quality)`

func (s *Store) insertHistory(ctx context.Context, tx *sql.Tx, samples []HistSample) error {
	one, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO history(tag, ts, value, quality) VALUES (?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer one.Close()
	var many *sql.Stmt
	if len(samples) >= histChunk {
		q := `INSERT OR REPLACE INTO history(tag, ts, value, quality) VALUES (?,?,?,?)` + strings.Repeat(",(?,?,?,?)", histChunk-1)
		if many, err = tx.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		defer many.Close()
	}
	rolls := map[rollKey]*roll{}
	args := make([]any, 0, 4*histChunk)
	for start := 0; start < len(samples); {
		st, n := one, 1
		if many != nil && len(samples)-start >= histChunk {
			st, n = many, histChunk
		}
		args = args[:0]
		for _, h := range samples[start : start+n] {
			id, err := s.histID(ctx, tx, h.Tag)
			if err != nil {
				return err
			}
			args = append(args, id, h.TS, nullable(h.Value), int64(h.Quality))
			k := rollKey{id, h.TS - mod(h.TS, rollupMS)}
			r := rolls[k]
			if r == nil {
				r = &roll{min: math.NaN(), max: math.NaN(), last: math.NaN(), lastTS: math.MinInt64}
				rolls[k] = r
			}
			r.add(h.TS, h.Value, h.Quality)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		start += n
	}
	up, err := tx.PrepareContext(ctx, upsertRollup)
	if err != nil {
		return fmt.Errorf("history rollup: %w", err)
	}
	defer up.Close()
	for k, r := range rolls {
		if _, err := up.ExecContext(ctx, k.tag, k.minute, nullable(r.min), nullable(r.max), nullable(r.last), r.lastTS, r.n, int64(r.q)); err != nil {
			return fmt.Errorf("history rollup: %w", err)
		}
	}
	return nil
}

// mod is the non-negative remainder of a / b.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Floats is a column of numbers whose NaNs are null in JSON.
type Floats []float64

// MarshalJSON writes the numbers, NaN and infinities as null.
func (f Floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(f)*8)
	b = append(b, '[')
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// Series is one tag's history in buckets, as columns: bucket k starts at
// T[k] and holds N[k] samples whose smallest and largest values are
// Min[k] and Max[k], whose last is Last[k], and whose worst quality is
// Q[k] (0 bad, 1 uncertain, 2 good). Only buckets holding samples are
// present, in time order. Min, Max and Last are NaN (null in JSON) when
// the bucket's samples had no value.
type Series struct {
	Tag  string  `json:"tag"`
	T    []int64 `json:"t"`
	Min  Floats  `json:"min"`
	Max  Floats  `json:"max"`
	Last Floats  `json:"last"`
	Q    []int8  `json:"q"`
	N    []int64 `json:"n"`
}

// Buckets is how a range [from, to) in Unix milliseconds is cut into at
// most points buckets: they start at start and are width ms wide. A width
// of a minute or more is a whole number of minutes, start is on a minute,
// and the buckets are read from the per-minute rollup (rollup true).
func Buckets(from, to int64, points int) (start, width int64, rollup bool) {
	if points < 1 {
		points = 1
	}
	span := max(to-from, 1)
	width = max((span+int64(points)-1)/int64(points), 1)
	if width < rollupMS {
		return from, width, false
	}
	start = from - mod(from, rollupMS)
	width = (to - start + int64(points) - 1) / int64(points)
	width = (width + rollupMS - 1) / rollupMS * rollupMS
	return start, width, true
}

// ErrNoHistory: the tag has never been recorded.
var ErrNoHistory = errors.New("no history recorded")

func (s *Store) histLookup(ctx context.Context, tag string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM history_tags WHERE name = ?`, tag).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoHistory
	}
	if err != nil {
		return 0, fmt.Errorf("history of tag %q: %w", tag, err)
	}
	return id, nil
}

// History returns tag's samples in [from, to) (Unix ms) in at most points
// buckets (see Buckets), with the true smallest and largest value of each
// bucket. The bucket width is returned. A tag never recorded has an empty
// series.
func (s *Store) History(ctx context.Context, tag string, from, to int64, points int) (Series, int64, error) {
	out := Series{Tag: tag, T: []int64{}, Min: Floats{}, Max: Floats{}, Last: Floats{}, Q: []int8{}, N: []int64{}}
	if to <= from {
		return out, 0, fmt.Errorf("history of tag %q: the range ends before it starts: %w", tag, errBadQuery)
	}
	start, width, rollup := Buckets(from, to, points)
	id, err := s.histLookup(ctx, tag)
	if errors.Is(err, ErrNoHistory) {
		return out, width, nil
	}
	if err != nil {
		return out, width, err
	}
	var rows *sql.Rows
	if rollup {
		rows, err = s.db.QueryContext(ctx, `SELECT ts, min, max, last, n, quality FROM history_1m WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts`, id, start, to)
	} else {
		rows, err = s.db.QueryContext(ctx, `SELECT ts, value, value, value, 1, quality FROM history WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts`, id, start, to)
	}
	if err != nil {
		return out, width, fmt.Errorf("history of tag %q: %w", tag, err)
	}
	defer rows.Close()
	var (
		cur          = int64(-1)
		b            roll
		ts, n, q     int64
		mn, mx, last sql.NullFloat64
	)
	flush := func() {
		if cur < 0 {
			return
		}
		out.T = append(out.T, start+cur*width)
		out.Min, out.Max, out.Last = append(out.Min, b.min), append(out.Max, b.max), append(out.Last, b.last)
		out.Q, out.N = append(out.Q, int8(b.q)), append(out.N, b.n)
	}
	val := func(f sql.NullFloat64) float64 {
		if !f.Valid {
			return math.NaN()
		}
		return f.Float64
	}
	for rows.Next() {
		if err := rows.Scan(&ts, &mn, &mx, &last, &n, &q); err != nil {
			return out, width, fmt.Errorf("history of tag %q: %w", tag, err)
		}
		k := (ts - start) / width
		if k != cur {
			flush()
			cur, b = k, roll{min: math.NaN(), max: math.NaN(), last: math.NaN(), q: hmi.Quality(q)}
		}
		if v := val(mn); !math.IsNaN(v) && (math.IsNaN(b.min) || v < b.min) {
			b.min = v
		}
		if v := val(mx); !math.IsNaN(v) && (math.IsNaN(b.max) || v > b.max) {
			b.max = v
		}
		b.last = val(last)
		b.n += n
		if hmi.Quality(q) < b.q {
			b.q = hmi.Quality(q)
		}
	}
	if err := rows.Err(); err != nil {
		return out, width, fmt.Errorf("history of tag %q: %w", tag, err)
	}
	flush()
	return out, width, nil
}

// HistoryEstimate is about how many raw samples tag has in [from, to),
// from the rollup (whole minutes): cheap, for progress bars.
func (s *Store) HistoryEstimate(ctx context.Context, tag string, from, to int64) (int64, error) {
	id, err := s.histLookup(ctx, tag)
	if errors.Is(err, ErrNoHistory) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT sum(n) FROM history_1m WHERE tag = ? AND ts >= ? AND ts < ?`,
		id, from-mod(from, rollupMS), to).Scan(&n); err != nil {
		return 0, fmt.Errorf("history of tag %q: %w", tag, err)
	}
	return n.Int64, nil
}

// HistoryRaw calls fn with each raw sample of tag in [from, to), in time
// order, until fn returns an error (which HistoryRaw returns).
func (s *Store) HistoryRaw(ctx context.Context, tag string, from, to int64, fn func(HistSample) error) error {
	id, err := s.histLookup(ctx, tag)
	if errors.Is(err, ErrNoHistory) {
		return nil
	}
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ts, value, quality FROM history WHERE tag = ? AND ts >= ? AND ts < ? ORDER BY ts`, id, from, to)
	if err != nil {
		return fmt.Errorf("history of tag %q: %w", tag, err)
	}
	defer rows.Close()
	h := HistSample{Tag: tag}
	var v sql.NullFloat64
	var q int64
	for rows.Next() {
		if err := rows.Scan(&h.TS, &v, &q); err != nil {
			return fmt.Errorf("history of tag %q: %w", tag, err)
		}
		h.Value, h.Quality = math.NaN(), hmi.Quality(q)
		if v.Valid {
			h.Value = v.Float64
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("history of tag %q: %w", tag, err)
	}
	return nil
}

// RetentionPolicy bounds the history: samples older than MaxAge, and the
// oldest samples while the database's used size exceeds MaxBytes, are
// deleted. Zero fields do not bound.
type RetentionPolicy struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// PruneResult is what a retention pass did.
type PruneResult struct {
	Deleted   int64 // raw samples deleted
	UsedBytes int64 // the database's used size afterwards (pages not free)
}

type pruneJob struct {
	policy RetentionPolicy
	now    time.Time
	done   chan struct{}
	res    PruneResult
	err    error
}

// Prune enforces policy as of now, on the writer (deletes are writes too),
// and waits until it is done, the writer stops, or ctx ends.
func (s *Store) Prune(ctx context.Context, policy RetentionPolicy, now time.Time) (PruneResult, error) {
	j := &pruneJob{policy: policy, now: now, done: make(chan struct{})}
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return PruneResult{}, errors.New("history retention: the store writer is not running")
	}
	s.pending.prunes = append(s.pending.prunes, j)
	s.mu.Unlock()
	s.poke()
	select {
	case <-j.done:
		return j.res, j.err
	case <-ctx.Done():
		return PruneResult{}, ctx.Err()
	}
}

// RunRetention enforces policy every period (and once at start) until ctx
// ends. Its caller owns it and waits for it to return.
func (s *Store) RunRetention(ctx context.Context, policy RetentionPolicy, every time.Duration) {
	if policy.MaxAge <= 0 && policy.MaxBytes <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.Prune(ctx, policy, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("history retention failed", "err", err)
		case res.Deleted > 0:
			s.log.Info("history retention", "deleted", res.Deleted, "used_bytes", res.UsedBytes)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// UsedBytes is the database's size less its free pages.
func (s *Store) UsedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT page_count FROM pragma_page_count()), (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())`).Scan(&pages, &free, &size); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return (pages - free) * size, nil
}

// prune runs on the writer.
func (s *Store) prune(ctx context.Context, p RetentionPolicy, now time.Time) (PruneResult, error) {
	var res PruneResult
	ids, err := s.histTagIDs(ctx)
	if err != nil {
		return res, err
	}
	if p.MaxAge > 0 {
		n, err := s.deleteBefore(ctx, ids, now.Add(-p.MaxAge).UnixMilli())
		res.Deleted += n
		if err != nil {
			return res, err
		}
	}
	if res.UsedBytes, err = s.UsedBytes(ctx); err != nil {
		return res, err
	}
	// By size: cut the oldest share of the time recorded that matches the
	// share of bytes over the bound (and a tenth more), until under it.
	for range 30 {
		if p.MaxBytes <= 0 || res.UsedBytes <= p.MaxBytes {
			break
		}
		oldest, ok, err := s.histOldest(ctx, ids)
		if err != nil {
			return res, err
		}
		if !ok {
			break // nothing left to delete: the rest is not history
		}
		over := float64(res.UsedBytes-p.MaxBytes) / float64(res.UsedBytes)
		span := float64(now.UnixMilli() - oldest)
		cut := oldest + max(int64(span*min(over*1.1, 1)), rollupMS)
		n, err := s.deleteBefore(ctx, ids, cut)
		res.Deleted += n
		if err != nil {
			return res, err
		}
		if res.UsedBytes, err = s.UsedBytes(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (s *Store) histTagIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM history_tags`)
	if err != nil {
		return nil, fmt.Errorf("history retention: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("history retention: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *Store) histOldest(ctx context.Context, ids []int64) (int64, bool, error) {
	oldest, ok := int64(math.MaxInt64), false
	for _, id := range ids {
		var ts int64
		err := s.db.QueryRowContext(ctx, `SELECT ts FROM history WHERE tag = ? ORDER BY ts LIMIT 1`, id).Scan(&ts)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("history retention: %w", err)
		}
		oldest, ok = min(oldest, ts), true
	}
	return oldest, ok, nil
}

// deleteBefore deletes every tag's samples before cut (Unix ms), and the
// rollup minutes that end at or before it, in one transaction.
func (s *Store) deleteBefore(ctx context.Context, ids []int64, cut int64) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("history retention: %w", err)
	}
	defer tx.Rollback()
	var deleted int64
	minute := cut - mod(cut, rollupMS)
	for _, id := range ids {
		r, err := tx.ExecContext(ctx, `DELETE FROM history WHERE tag = ? AND ts < ?`, id, cut)
		if err != nil {
			return 0, fmt.Errorf("history retention: %w", err)
		}
		n, _ := r.RowsAffected()
		deleted += n
		if _, err := tx.ExecContext(ctx, `DELETE FROM history_1m WHERE tag = ? AND ts < ?`, id, minute); err != nil {
			return 0, fmt.Errorf("history retention: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("history retention: %w", err)
	}
	return deleted, nil
}
