package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// applicationID marks a SQLite file as an eventlake catalog ("EVLK" in the
// database header), so Open can tell a foreign SQLite database from ours
// before it looks at any table.
const applicationID = 0x45564c4b

// migrations[i] upgrades the schema from version i to version i+1. The list
// only ever grows: a released migration is never edited, so every catalog
// created by any release can be brought forward step by step.
var migrations = []string{
	// Version 1.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE loads (
	load_id     TEXT PRIMARY KEY,
	started_at  INTEGER NOT NULL,            -- unix micros
	finished_at INTEGER,                     -- unix micros
	status      TEXT NOT NULL CHECK (status IN ('running','committed','published','aborted','failed')),
	command     TEXT,
	host        TEXT,
	pid         INTEGER,
	sources     TEXT,                        -- JSON array of redacted URLs
	objects     INTEGER NOT NULL DEFAULT 0,
	records     INTEGER NOT NULL DEFAULT 0,
	rejects     INTEGER NOT NULL DEFAULT 0,
	bytes       INTEGER NOT NULL DEFAULT 0,
	files       INTEGER NOT NULL DEFAULT 0,
	error       TEXT
);
CREATE INDEX loads_status ON loads (status);

CREATE TABLE objects (
	source       TEXT NOT NULL,
	"key"        TEXT NOT NULL,
	version      TEXT NOT NULL,
	size         INTEGER,
	mtime        INTEGER,                    -- unix micros
	content_hash TEXT,
	status       TEXT NOT NULL CHECK (status IN ('committed','quarantined','duplicate','failed')),
	load_id      TEXT NOT NULL REFERENCES loads (load_id),
	profile      TEXT,
	compression  TEXT,
	shape        TEXT,
	records      INTEGER NOT NULL DEFAULT 0,
	rejects      INTEGER NOT NULL DEFAULT 0,
	error        TEXT,
	duplicate_of TEXT,                       -- source URL + key of the original
	attempts     INTEGER NOT NULL DEFAULT 1,
	first_seen   INTEGER,                    -- unix micros
	committed_at INTEGER,                    -- unix micros of the catalog commit that last wrote the row
	PRIMARY KEY (source, "key", version)
) WITHOUT ROWID; -- clustered by source: Objects(source) is one sequential range scan
CREATE INDEX objects_content_hash ON objects (content_hash);
CREATE INDEX objects_status ON objects (status);

CREATE TABLE files (
	path        TEXT PRIMARY KEY,            -- relative to the lake, '/'-separated
	load_id     TEXT NOT NULL REFERENCES loads (load_id),
	table_name  TEXT NOT NULL,
	"partition" TEXT NOT NULL,
	"rows"      INTEGER NOT NULL,
	bytes       INTEGER NOT NULL,
	min_time    INTEGER,
	max_time    INTEGER,
	status      TEXT NOT NULL CHECK (status IN ('live','removed')),
	removed_by  TEXT,
	created_at  INTEGER NOT NULL             -- unix micros
);
CREATE INDEX files_table_partition ON files (table_name, "partition");
CREATE INDEX files_load ON files (load_id);

CREATE TABLE schemas (
	table_name        TEXT NOT NULL,
	schema_key        TEXT NOT NULL,         -- e.g. "account/customer-creation-1"
	schema_json       TEXT NOT NULL,
	source            TEXT NOT NULL,         -- 'inferred' or 'jsonschema'
	updated_load      TEXT REFERENCES loads (load_id),
	updated_at        INTEGER,               -- unix micros
	changed_by_object TEXT,
	PRIMARY KEY (table_name, schema_key)
);

CREATE TABLE schema_changes (
	table_name TEXT NOT NULL,
	schema_key TEXT NOT NULL,
	load_id    TEXT REFERENCES loads (load_id),
	object     TEXT,
	old_json   TEXT,                         -- NULL when the schema was first stored
	new_json   TEXT NOT NULL,
	at         INTEGER NOT NULL              -- unix micros
);
CREATE INDEX schema_changes_key ON schema_changes (table_name, schema_key);
`,
	// Version 2: continuous loading (eventlake watch). Watchers record a
	// heartbeat; notifications remember which objects a queue message named
	// and when, so status can show lags and objects that only a listing found.
	`
CREATE TABLE watchers (
	name               TEXT PRIMARY KEY,
	mode               TEXT NOT NULL CHECK (mode IN ('listing','notification')),
	queue              TEXT,                 -- SQS queue URL (notification mode)
	host               TEXT,
	pid                INTEGER,
	started_at         INTEGER NOT NULL,     -- unix micros
	heartbeat_at       INTEGER NOT NULL,     -- unix micros
	heartbeat_interval INTEGER NOT NULL,     -- micros between heartbeats (tells a stale watcher)
	stopped_at         INTEGER,              -- unix micros of a clean stop; NULL while running
	last_load_at       INTEGER,              -- unix micros of the last successful load
	last_error         TEXT,
	last_error_at      INTEGER               -- unix micros
);

CREATE TABLE notifications (
	source            TEXT NOT NULL,         -- source URL, as in objects.source
	"key"             TEXT NOT NULL,
	first_notified_at INTEGER NOT NULL,      -- unix micros: a watcher first received a message naming the object
	last_notified_at  INTEGER NOT NULL,      -- unix micros
	event_time        INTEGER,               -- unix micros: the storage event's own time (S3 eventTime, ...)
	message_id        TEXT,                  -- queue message ID of the first notification
	notifications     INTEGER NOT NULL DEFAULT 1, -- messages that named it, duplicates included
	PRIMARY KEY (source, "key")
) WITHOUT ROWID;
CREATE INDEX notifications_first ON notifications (first_notified_at);
`,
	// Version 3: retry backoff. A failed version is not tried again before
	// retry_at (watch spaces the attempts at a permanently failing object);
	// NULL means at the next run.
	`
ALTER TABLE objects ADD COLUMN retry_at INTEGER; -- unix micros
`,
	// Version 4: each file's checksum, recorded when it was written
	// ("xxh64:<16 hex digits>", see partitions.File.Checksum). Files of
	// older loads have none: eventlake check verifies them by size and
	// Parquet footer.
	`
ALTER TABLE files ADD COLUMN checksum TEXT;
`,
	// Version 5: rows of a delimited object read leniently (a '"' inside an
	// unquoted field taken as text): loaded, and counted so they are seen.
	`
ALTER TABLE objects ADD COLUMN lenient_quotes INTEGER NOT NULL DEFAULT 0;
`,
	// Version 6: reprocessing and forgetting objects (eventlake reprocess,
	// eventlake forget). An object version marked for reprocessing is read
	// again by the next load; the rows and rejects an earlier load wrote for
	// it are then superseded (supersedes) in the commit that writes the new
	// ones. A forgotten version is superseded with no replacement and keeps
	// its row, with superseded_by set, for history. superseded_files counts,
	// per live file, the rows readers must skip until compaction drops them.
	`
ALTER TABLE objects ADD COLUMN reprocess_at INTEGER;  -- unix micros: marked for reprocessing
ALTER TABLE objects ADD COLUMN superseded_by TEXT;    -- load that superseded this version's rows without reloading it

CREATE TABLE supersedes (
	object     TEXT NOT NULL,                -- source URL || key: the rows' _object (rejects: object)
	old_load   TEXT NOT NULL REFERENCES loads (load_id), -- the load whose rows of the object are superseded
	source     TEXT NOT NULL,
	"key"      TEXT NOT NULL,
	version    TEXT NOT NULL,
	old_status TEXT NOT NULL,                -- the object's status in that load
	"rows"     INTEGER NOT NULL,             -- records + rejects that load wrote for it
	rejects    INTEGER NOT NULL,             -- of which rejects
	new_load   TEXT NOT NULL REFERENCES loads (load_id), -- the load (or forget) that superseded them
	reason     TEXT NOT NULL CHECK (reason IN ('reprocess','forget')),
	at         INTEGER NOT NULL,             -- unix micros of the superseding commit
	PRIMARY KEY (object, old_load)
);
CREATE INDEX supersedes_new_load ON supersedes (new_load);

CREATE TABLE superseded_files (
	path    TEXT PRIMARY KEY,                -- files.path
	"rows"  INTEGER NOT NULL,                -- rows of the file that are superseded
	load_id TEXT NOT NULL REFERENCES loads (load_id) -- the load that last counted them
);

CREATE INDEX objects_reprocess ON objects (source, "key") WHERE reprocess_at IS NOT NULL;
`,
}

// currentVersion is the schema version this build writes and understands.
var currentVersion = len(migrations)

// expectedColumns lists, per table, the columns this build reads or writes.
// Open probes them (SELECT ... LIMIT 0) so a catalog whose tables were
// altered by hand is reported as damaged instead of failing mid-load.
var expectedColumns = map[string]string{
	"meta":             `key, value`,
	"loads":            `load_id, started_at, finished_at, status, command, host, pid, sources, objects, records, rejects, bytes, files, error`,
	"objects":          `source, "key", version, size, mtime, content_hash, status, load_id, profile, compression, shape, records, rejects, error, duplicate_of, attempts, first_seen, committed_at, retry_at, lenient_quotes, reprocess_at, superseded_by`,
	"files":            `path, load_id, table_name, "partition", "rows", bytes, min_time, max_time, status, removed_by, created_at, checksum`,
	"schemas":          `table_name, schema_key, schema_json, source, updated_load, updated_at, changed_by_object`,
	"schema_changes":   `table_name, schema_key, load_id, object, old_json, new_json, at`,
	"supersedes":       `object, old_load, source, "key", version, old_status, "rows", rejects, new_load, reason, at`,
	"superseded_files": `path, "rows", load_id`,
}

// queryer is what the schema inspection needs from *sql.DB, *sql.Conn or *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// schemaVersion reports the catalog's schema version: 0 for an empty
// database (no tables at all). A database that has tables but is not an
// eventlake catalog yields a *damage error.
func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var appID int64
	if err := q.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return 0, err
	}
	var tables int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`).Scan(&tables); err != nil {
		return 0, err
	}
	if tables == 0 && appID == 0 {
		return 0, nil
	}
	if appID != applicationID {
		return 0, &damage{reason: fmt.Sprintf("it is an SQLite database but not an eventlake catalog (application_id %#x)", appID)}
	}
	var hasMeta int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'`).Scan(&hasMeta); err != nil {
		return 0, err
	}
	if hasMeta == 0 {
		return 0, &damage{reason: "its meta table is missing"}
	}
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	if err == sql.ErrNoRows {
		return 0, &damage{reason: "it has no schema_version in its meta table"}
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, &damage{reason: fmt.Sprintf("its schema_version %q is not a positive integer", v)}
	}
	return n, nil
}

// checkTables verifies that every table of the current schema exists with
// the columns this build uses.
func checkTables(ctx context.Context, q queryer) error {
	for _, table := range []string{"meta", "loads", "objects", "files", "schemas", "schema_changes", "supersedes", "superseded_files"} {
		rows, err := q.QueryContext(ctx, `SELECT `+expectedColumns[table]+` FROM `+table+` LIMIT 0`)
		if err != nil {
			return &damage{reason: fmt.Sprintf("table %s does not have the expected columns: %v", table, err)}
		}
		err = rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// migrate brings the schema up to currentVersion in one immediate
// transaction (so two processes opening a fresh catalog at once cannot both
// migrate it). The version is re-read inside the transaction.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE via _txlock
	if err != nil {
		return fmt.Errorf("catalog %s: begin migration: %w", path, err)
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return wrapOpenErr(path, err)
	}
	if v > currentVersion {
		return newerSchemaError(path, v)
	}
	if v == currentVersion {
		return tx.Rollback()
	}
	for i := v; i < currentVersion; i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("catalog %s: migrate schema to version %d: %w", path, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID)); err != nil {
		return fmt.Errorf("catalog %s: set application_id: %w", path, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES ('schema_version', ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.Itoa(currentVersion)); err != nil {
		return fmt.Errorf("catalog %s: record schema version: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog %s: commit migration: %w", path, err)
	}
	return nil
}
