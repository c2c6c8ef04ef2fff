package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgehmi/edgehmi/backend/alarm"
)

// errBadQuery: a query's parameters cannot be used.
var errBadQuery = errors.New("invalid query")

const insertJournalRow = `INSERT INTO alarm_journal(ts, alarm, kind, from_state, to_state, value, user, comment, priority, area, message, flags, hidden) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`

func insertJournal(ctx context.Context, tx *sql.Tx, trs []alarm.Transition) error {
	st, err := tx.PrepareContext(ctx, insertJournalRow)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	for i := range trs {
		tr := &trs[i]
		at := tr.At
		if at.IsZero() {
			at = now
		}
		var value any // NULL: nothing tested yet, or a comm or bad_quality alarm
		if !math.IsNaN(tr.Value) && !math.IsInf(tr.Value, 0) {
			value = strconv.FormatFloat(tr.Value, 'g', -1, 64)
		}
		if _, err := st.ExecContext(ctx, at.UnixMilli(), tr.Alarm, tr.Kind.String(), tr.From.String(), tr.To.String(), value,
			tr.User, tr.Comment, tr.Priority.String(), tr.Area, tr.Message, tr.Flags.String(), tr.Flags.Hidden()); err != nil {
			return fmt.Errorf("alarm journal: alarm %q: %w", tr.Alarm, err)
		}
	}
	return nil
}

// JournalRow is one line of the alarm journal: one transition of one alarm.
// In JSON, ts is Unix milliseconds, value a number or null, and flags a
// list (never null).
type JournalRow struct {
	ID       int64     `json:"id"`
	TS       time.Time `json:"-"`
	Alarm    string    `json:"alarm"`
	Kind     string    `json:"kind"` // activate, return, ack, reset, shelve, unshelve, suppress, unsuppress, out_of_service, in_service
	From     string    `json:"from"` // the state before
	To       string    `json:"to"`   // the state after
	Value    *float64  `json:"value"`
	User     string    `json:"user"`
	Comment  string    `json:"comment"`
	Priority string    `json:"priority"`
	Area     string    `json:"area"`
	Message  string    `json:"message"`
	Flags    []string  `json:"flags"` // after the transition: shelved, suppressed, out_of_service, first_out
}

// MarshalJSON encodes the row with ts as Unix milliseconds.
func (r JournalRow) MarshalJSON() ([]byte, error) {
	type plain JournalRow
	if r.Flags == nil {
		r.Flags = []string{}
	}
	return json.Marshal(struct {
		plain
		TS int64 `json:"ts"`
	}{plain(r), r.TS.UnixMilli()})
}

// JournalQuery selects journal rows. Zero fields do not filter; a list
// matches any of its values.
type JournalQuery struct {
	From, To   time.Time // inclusive
	Alarm      string
	Area       string
	Priorities []string
	Kinds      []string
	Limit      int // default 200, at most 10000
}

// JournalLimit is the most rows one journal query returns.
const JournalLimit = 10000

// JournalRows returns matching journal rows, newest first (by time, then by
// the order they were written).
func (s *Store) JournalRows(ctx context.Context, q JournalQuery) ([]JournalRow, error) {
	query, args := journalSQL(q)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query the alarm journal: %w", err)
	}
	defer rows.Close()
	out := []JournalRow{}
	for rows.Next() {
		var r JournalRow
		var ts int64
		var value sql.NullString
		var flags string
		if err := rows.Scan(&r.ID, &ts, &r.Alarm, &r.Kind, &r.From, &r.To, &value, &r.User, &r.Comment, &r.Priority, &r.Area, &r.Message, &flags); err != nil {
			return nil, fmt.Errorf("query the alarm journal: %w", err)
		}
		r.TS = time.UnixMilli(ts)
		if value.Valid {
			if f, err := strconv.ParseFloat(value.String, 64); err == nil {
				r.Value = &f
			}
		}
		r.Flags = []string{}
		if flags != "" {
			r.Flags = strings.Split(flags, ",")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query the alarm journal: %w", err)
	}
	return out, nil
}

// journalSQL is the query of q and its arguments.
func journalSQL(q JournalQuery) (string, []any) {
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
	for _, f := range []struct{ col, val string }{{"alarm", q.Alarm}, {"area", q.Area}} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	for _, f := range []struct {
		col  string
		vals []string
	}{{"priority", q.Priorities}, {"kind", q.Kinds}} {
		if len(f.vals) == 0 {
			continue
		}
		where = append(where, f.col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.vals)), ",")+")")
		for _, v := range f.vals {
			args = append(args, v)
		}
	}
	switch {
	case q.Limit <= 0:
		q.Limit = 200
	case q.Limit > JournalLimit:
		q.Limit = JournalLimit
	}
	query := "SELECT id, ts, alarm, kind, from_state, to_state, value, user, comment, priority, area, message, flags FROM alarm_journal"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY ts DESC, id DESC LIMIT ?"
	return query, append(args, q.Limit)
}

// ActivationQuery selects the activations the alarm KPIs count: journal
// rows of kind activate in [From, To).
type ActivationQuery struct {
	From, To time.Time
	// Window is the width of the fixed windows activations are counted
	// in, aligned to the Unix epoch (10 minutes: windows start at :00,
	// :10, … UTC).
	Window time.Duration
	// An alarm chatters when it activates Burst times (at least 2) within
	// BurstWithin: its Burst-th activation at most BurstWithin after the
	// first.
	Burst       int
	BurstWithin time.Duration
	// Describe is how many of the most frequent alarms get their
	// priority and area (from their newest journal row in the range).
	Describe int
}

// Activations are the counts the alarm KPIs are made of. Activations of
// alarms that were shelved, suppressed or out of service are counted in
// Hidden only: they are not the operator's load.
type Activations struct {
	Total  int // activations the operator saw
	Hidden int // activations of hidden alarms
	// Windows are the windows holding activations, oldest first.
	Windows []WindowCount
	// Alarms are the alarms that activated, most often first, then by
	// name; the first Describe have a priority and area.
	Alarms []AlarmCount
}

// WindowCount is the number of activations in one window.
type WindowCount struct {
	Start time.Time
	Count int
}

// AlarmCount is how often one alarm activated.
type AlarmCount struct {
	Alarm      string
	Count      int
	Chattering bool // Burst activations within BurstWithin at least once
	Priority   string
	Area       string
}

// The queries of Activations. activationsSQL reads the index
// alarm_journal_activations (kind, hidden, ts, alarm) alone, in time order;
// describeAlarmSQL the index alarm_journal_alarm_ts.
//
// One scan counted in Go is 5 times faster than SQL aggregates: GROUP BY
// alarm and a window function for chattering each sort every activation.
const (
	activationsSQL       = `SELECT ts, alarm FROM alarm_journal WHERE kind = 'activate' AND hidden = 0 AND ts >= ? AND ts < ? ORDER BY ts`
	activationsHiddenSQL = `SELECT count(*) FROM alarm_journal WHERE kind = 'activate' AND hidden = 1 AND ts >= ? AND ts < ?`
	describeAlarmSQL     = `SELECT priority, area FROM alarm_journal WHERE alarm = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1`
)

// Activations counts the activations of ActivationQuery, in one pass over
// the journal's activations index.
func (s *Store) Activations(ctx context.Context, q ActivationQuery) (Activations, error) {
	var a Activations
	if q.Window <= 0 || q.Burst < 2 || q.BurstWithin <= 0 {
		return a, fmt.Errorf("alarm activations: window %s, burst %d within %s: %w", q.Window, q.Burst, q.BurstWithin, errBadQuery)
	}
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	fail := func(err error) (Activations, error) {
		return Activations{}, fmt.Errorf("alarm activations: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, activationsHiddenSQL, from, to).Scan(&a.Hidden); err != nil {
		return fail(err)
	}
	rows, err := s.db.QueryContext(ctx, activationsSQL, from, to)
	if err != nil {
		return fail(err)
	}
	// Per alarm: its count, and its last Burst-1 activations (a ring) to
	// find Burst of them within BurstWithin.
	type acc struct {
		AlarmCount
		recent []int64
	}
	accs := map[string]*acc{}
	width, within, keep := q.Window.Milliseconds(), q.BurstWithin.Milliseconds(), q.Burst-1
	var name sql.RawBytes
	var ts int64
	for rows.Next() {
		if err := rows.Scan(&ts, &name); err != nil {
			rows.Close()
			return fail(err)
		}
		start := time.UnixMilli(ts / width * width)
		if n := len(a.Windows); n == 0 || !a.Windows[n-1].Start.Equal(start) {
			a.Windows = append(a.Windows, WindowCount{Start: start})
		}
		a.Windows[len(a.Windows)-1].Count++
		a.Total++
		c := accs[string(name)]
		if c == nil {
			c = &acc{AlarmCount: AlarmCount{Alarm: string(name)}, recent: make([]int64, 0, keep)}
			accs[c.Alarm] = c
		}
		if len(c.recent) < keep {
			c.recent = append(c.recent, ts)
		} else {
			// c.recent[c.Count%keep] is the activation keep before this one.
			i := c.Count % keep
			if ts-c.recent[i] <= within {
				c.Chattering = true
			}
			c.recent[i] = ts
		}
		c.Count++
	}
	if err := closeRows(rows); err != nil {
		return fail(err)
	}
	a.Alarms = make([]AlarmCount, 0, len(accs))
	for _, c := range accs {
		a.Alarms = append(a.Alarms, c.AlarmCount)
	}
	slices.SortFunc(a.Alarms, func(x, y AlarmCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return strings.Compare(x.Alarm, y.Alarm)
	})
	for i := range a.Alarms[:min(q.Describe, len(a.Alarms))] {
		c := &a.Alarms[i]
		if err := s.db.QueryRowContext(ctx, describeAlarmSQL, c.Alarm, from, to).Scan(&c.Priority, &c.Area); err != nil {
			return fail(fmt.Errorf("alarm %q: %w", c.Alarm, err))
		}
	}
	return a, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
