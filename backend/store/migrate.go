package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migration i brings the schema to
// version i+1 (kept in PRAGMA user_version). Never edit a released one: add
// a new one.
var migrations = []string{
	// 1: event log (events, alarm journal, audit trail) and users.
	`CREATE TABLE events (
		id     INTEGER PRIMARY KEY,
		ts     INTEGER NOT NULL, -- Unix milliseconds
		kind   TEXT NOT NULL,    -- system, device, alarm, audit
		source TEXT NOT NULL DEFAULT '',
		user   TEXT NOT NULL DEFAULT '',
		address TEXT NOT NULL DEFAULT '',
		action TEXT NOT NULL DEFAULT '',
		old    TEXT NOT NULL DEFAULT '',
		new    TEXT NOT NULL DEFAULT '',
		readback TEXT NOT NULL DEFAULT '',
		reason TEXT NOT NULL DEFAULT '',
		result TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_ts ON events(ts);
	CREATE INDEX events_kind_ts ON events(kind, ts);
	CREATE TABLE users (
		name     TEXT PRIMARY KEY,
		role     TEXT NOT NULL,
		hash     TEXT NOT NULL,
		disabled INTEGER NOT NULL DEFAULT 0,
		created  INTEGER NOT NULL
	);`,
	// 2: the audit trail is append-only: its rows can be neither changed
	// nor deleted, whatever a later retention job or a hand-run SQL does.
	`CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON events WHEN OLD.kind = 'audit'
		BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
	CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON events WHEN OLD.kind = 'audit'
		BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
	CREATE INDEX events_source_ts ON events(source, ts);`,
	// 3: the alarm journal: every transition of every alarm, append-only.
	// value is the tested value as text (NULL when there is none); flags
	// are the alarm's flags after the transition ("shelved,first_out");
	// hidden is 1 when the alarm was shelved, suppressed or out of
	// service, kept apart for the KPI index.
	`CREATE TABLE alarm_journal (
		id         INTEGER PRIMARY KEY,
		ts         INTEGER NOT NULL, -- Unix milliseconds
		alarm      TEXT NOT NULL,
		kind       TEXT NOT NULL,    -- activate, return, ack, reset, shelve, ...
		from_state TEXT NOT NULL,
		to_state   TEXT NOT NULL,
		value      TEXT,
		user       TEXT NOT NULL DEFAULT '',
		comment    TEXT NOT NULL DEFAULT '',
		priority   TEXT NOT NULL,
		area       TEXT NOT NULL DEFAULT '',
		message    TEXT NOT NULL DEFAULT '',
		flags      TEXT NOT NULL DEFAULT '',
		hidden     INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX alarm_journal_ts ON alarm_journal(ts);
	CREATE INDEX alarm_journal_alarm_ts ON alarm_journal(alarm, ts);
	CREATE INDEX alarm_journal_kind_ts ON alarm_journal(kind, ts);
	CREATE INDEX alarm_journal_area_ts ON alarm_journal(area, ts);
	CREATE INDEX alarm_journal_activations ON alarm_journal(kind, hidden, ts, alarm);
	CREATE TRIGGER alarm_journal_append_only_update BEFORE UPDATE ON alarm_journal
		BEGIN SELECT RAISE(ABORT, 'the alarm journal is append-only'); END;
	CREATE TRIGGER alarm_journal_append_only_delete BEFORE DELETE ON alarm_journal
		BEGIN SELECT RAISE(ABORT, 'the alarm journal is append-only'); END;`,
	// 4: tag history. history_tags names the tags once; history holds the
	// raw samples keyed (tag, ts) without a rowid, so that one tag's range
	// is one primary-key range scan; history_1m is a per-minute rollup of
	// the same samples (min, max, last, count, worst quality), maintained
	// by the writer in the same transaction, which long-range queries read
	// instead of the raw rows. value is NULL when the sample had none (a
	// Bad quality without a last value); quality is 0 bad, 1 uncertain, 2
	// good.
	`CREATE TABLE history_tags (
		id   INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE
	);
	CREATE TABLE history (
		tag     INTEGER NOT NULL,
		ts      INTEGER NOT NULL, -- Unix milliseconds
		value   REAL,
		quality INTEGER NOT NULL,
		PRIMARY KEY (tag, ts)
	) WITHOUT ROWID;
	CREATE TABLE history_1m (
		tag     INTEGER NOT NULL,
		ts      INTEGER NOT NULL, -- start of the minute, Unix milliseconds
		min     REAL,
		max     REAL,
		last    REAL,
		last_ts INTEGER NOT NULL,
		n       INTEGER NOT NULL,
		quality INTEGER NOT NULL, -- the worst in the minute
		PRIMARY KEY (tag, ts)
	) WITHOUT ROWID;`,
}

func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this edgehmi knows (%d): use a newer edgehmi", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	return nil
}
