package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status summarises the lake for `eventlake status`. Pending objects are not
// here: the CLI computes them by listing the sources.
type Status struct {
	// Objects counts (source, key) pairs by the status of their latest
	// outcome (so an object whose newest version failed counts as failed).
	Objects  map[string]int64 `json:"objects"`
	Loads    int64            `json:"loads"`
	LastLoad *LoadSummary     `json:"last_load"` // nil before the first load
	// Files, Rows and Bytes total the files readers see (live files of
	// published loads, as in the shell); Rejects totals the quarantined
	// records of published loads, less those superseded.
	Files   int64 `json:"files"`
	Rows    int64 `json:"rows"`
	Bytes   int64 `json:"bytes"`
	Rejects int64 `json:"rejects"`
	// LenientQuotes totals the rows of committed delimited objects (of
	// published loads) that were read leniently: a '"' inside an unquoted
	// field taken as text (objects.lenient_quotes has them per object).
	LenientQuotes int64 `json:"lenient_quotes"`
	// Failed lists objects whose latest outcome is a failure, newest first,
	// at most maxFailed of them (Objects["failed"] has the full count).
	Failed []FailedObject `json:"failed"`
	// Quarantined lists the objects quarantined whole (no profile or
	// reader could take them), newest first, at most maxFailed of them;
	// a later load does not retry them (reprocess does).
	Quarantined []FailedObject `json:"quarantined"`
	Tables      []TableSummary `json:"tables"`
	// Unpublished lists committed loads not yet marked published (the
	// writer was killed while publishing): readers do not see their files
	// until the next writer's recovery finishes publishing them.
	Unpublished []UnpublishedLoad `json:"unpublished"`
	// Reprocess counts object versions marked for reprocessing that no
	// load has read again yet; Forgotten the versions forgotten; Superseded
	// the objects whose rows a reprocess or forget superseded (history in
	// eventlake.supersedes). SupersededRows counts the superseded rows still
	// stored in live files: readers of the shell skip them, and external
	// engines see them until compaction drops them.
	Reprocess      int64 `json:"reprocess"`
	Forgotten      int64 `json:"forgotten"`
	Superseded     int64 `json:"superseded"`
	SupersededRows int64 `json:"superseded_rows"`
}

// UnpublishedLoad is a committed load whose publish has not been recorded.
type UnpublishedLoad struct {
	ID       string    `json:"load_id"`
	Command  string    `json:"command"`
	Finished time.Time `json:"committed_at,omitzero"`
	Files    int64     `json:"files"`
	Rows     int64     `json:"rows"`
	Bytes    int64     `json:"bytes"`
}

// LoadSummary is one row of the loads table.
type LoadSummary struct {
	ID         string     `json:"load_id"`
	Status     LoadStatus `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at,omitzero"`
	Command    string     `json:"command"`
	Host       string     `json:"host"`
	PID        int        `json:"pid"`
	Sources    []string   `json:"sources"`
	Objects    int64      `json:"objects"`
	Records    int64      `json:"records"`
	Rejects    int64      `json:"rejects"`
	Bytes      int64      `json:"bytes"`
	Files      int64      `json:"files"`
	Error      string     `json:"error,omitempty"`
}

// FailedObject is an object whose latest attempt failed.
type FailedObject struct {
	Source      string    `json:"source"`
	Key         string    `json:"key"`
	Version     string    `json:"version"`
	Attempts    int       `json:"attempts"`
	Error       string    `json:"error"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// NextRetry is when a watcher tries it again (its backoff); zero: at
	// the next load.
	NextRetry time.Time `json:"next_retry,omitzero"`
	LoadID    string    `json:"load_id"`
}

// TableSummary totals the files of one table that readers see.
type TableSummary struct {
	Table      string `json:"table"`
	Partitions int64  `json:"partitions"`
	Files      int64  `json:"files"`
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
}

const maxFailed = 20

// visibleFiles selects (as f) the files every reader of the lake sees: live
// files of published loads. The shell reads exactly these (LiveFiles), so
// status counts the same set. A committed load that is not yet published
// (its writer was killed while renaming its files into place) is not part
// of it: some of its files may still be staged, and a reader cannot finish
// the publish (it never writes). The files a compaction replaces stay in
// the set until the compaction is published, when they are marked removed in
// the same transaction. Recovery, run by the next load, compact or watch,
// publishes such a load, and from then on every reader sees it.
const visibleFiles = `
FROM files f JOIN loads l ON l.load_id = f.load_id
WHERE f.status = 'live' AND l.status = 'published'`

// latestObjects selects, per (source, key), the row of the latest outcome.
const latestObjects = `
WITH latest AS (
	SELECT source, "key", version, status, attempts, COALESCE(error, '') AS error, committed_at, load_id, retry_at,
	       ROW_NUMBER() OVER (PARTITION BY source, "key" ORDER BY committed_at DESC, version DESC) AS rn
	FROM objects WHERE superseded_by IS NULL
)`

// Status summarises the catalog. It runs in one read transaction, so all
// numbers describe the same instant even while a writer commits.
func (c *Catalog) Status(ctx context.Context) (Status, error) {
	s, err := c.status(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("catalog %s: status: %w", c.path, err)
	}
	return s, nil
}

func (c *Catalog) status(ctx context.Context) (Status, error) {
	s := Status{Objects: map[string]int64{}, Failed: []FailedObject{}, Quarantined: []FailedObject{}, Tables: []TableSummary{}}
	// A read-only transaction is a deferred BEGIN in SQLite: a consistent
	// snapshot that takes no write lock.
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s, err
	}
	defer tx.Rollback()

	rows, err := tx.QueryContext(ctx, latestObjects+`SELECT status, count(*) FROM latest WHERE rn = 1 GROUP BY status`)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return s, err
		}
		s.Objects[st] = n
	}
	if err := closeRows(rows); err != nil {
		return s, err
	}

	if err := tx.QueryRowContext(ctx, `
SELECT (SELECT count(*) FROM objects WHERE reprocess_at IS NOT NULL AND superseded_by IS NULL),
       (SELECT count(*) FROM objects WHERE superseded_by IS NOT NULL),
       (SELECT count(*) FROM supersedes),
       (SELECT COALESCE(SUM(sf."rows"), 0) FROM superseded_files sf JOIN files f ON f.path = sf.path WHERE f.status = 'live')`).
		Scan(&s.Reprocess, &s.Forgotten, &s.Superseded, &s.SupersededRows); err != nil {
		return s, err
	}

	if err := tx.QueryRowContext(ctx, `
SELECT (SELECT count(*) FROM loads),
       (SELECT COALESCE(SUM(CASE WHEN status = 'published' THEN rejects END), 0) FROM loads)
       - (SELECT COALESCE(SUM(s.rejects), 0) FROM supersedes s JOIN loads l ON l.load_id = s.new_load WHERE l.status = 'published')`).
		Scan(&s.Loads, &s.Rejects); err != nil {
		return s, err
	}
	if err := tx.QueryRowContext(ctx, `
SELECT COALESCE(SUM(lenient_quotes), 0) FROM objects
WHERE status = 'committed' AND load_id IN (SELECT load_id FROM loads WHERE status = 'published')`).
		Scan(&s.LenientQuotes); err != nil {
		return s, err
	}

	var l LoadSummary
	var finished sql.NullInt64
	var started int64
	var sources string
	err = tx.QueryRowContext(ctx, `
SELECT load_id, status, started_at, finished_at, COALESCE(command, ''), COALESCE(host, ''), COALESCE(pid, 0),
       COALESCE(sources, '[]'), objects, records, rejects, bytes, files, COALESCE(error, '')
FROM loads ORDER BY started_at DESC, rowid DESC LIMIT 1`).Scan(&l.ID, &l.Status, &started, &finished, &l.Command,
		&l.Host, &l.PID, &sources, &l.Objects, &l.Records, &l.Rejects, &l.Bytes, &l.Files, &l.Error)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return s, err
	default:
		l.StartedAt = time.UnixMicro(started).UTC()
		l.FinishedAt = fromMicros(finished)
		if err := json.Unmarshal([]byte(sources), &l.Sources); err != nil {
			return s, fmt.Errorf("load %s: sources column is not a JSON array: %w", l.ID, err)
		}
		s.LastLoad = &l
	}

	if err := tx.QueryRowContext(ctx, `
SELECT count(*), COALESCE(SUM(f."rows"), 0), COALESCE(SUM(f.bytes), 0) `+visibleFiles).
		Scan(&s.Files, &s.Rows, &s.Bytes); err != nil {
		return s, err
	}

	for _, st := range []struct {
		status string
		list   *[]FailedObject
	}{{"failed", &s.Failed}, {"quarantined", &s.Quarantined}} {
		rows, err = tx.QueryContext(ctx, latestObjects+`
SELECT source, "key", version, attempts, error, committed_at, load_id, retry_at FROM latest
WHERE rn = 1 AND status = ? ORDER BY committed_at DESC, source, "key" LIMIT ?`, st.status, maxFailed)
		if err != nil {
			return s, err
		}
		for rows.Next() {
			var f FailedObject
			var at, retry sql.NullInt64
			if err := rows.Scan(&f.Source, &f.Key, &f.Version, &f.Attempts, &f.Error, &at, &f.LoadID, &retry); err != nil {
				rows.Close()
				return s, err
			}
			f.LastAttempt, f.NextRetry = fromMicros(at), fromMicros(retry)
			*st.list = append(*st.list, f)
		}
		if err := closeRows(rows); err != nil {
			return s, err
		}
	}

	rows, err = tx.QueryContext(ctx, `
SELECT f.table_name, count(DISTINCT f."partition"), count(*), COALESCE(SUM(f."rows"), 0), COALESCE(SUM(f.bytes), 0)
`+visibleFiles+` GROUP BY f.table_name ORDER BY f.table_name`)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var t TableSummary
		if err := rows.Scan(&t.Table, &t.Partitions, &t.Files, &t.Rows, &t.Bytes); err != nil {
			rows.Close()
			return s, err
		}
		s.Tables = append(s.Tables, t)
	}
	if err := closeRows(rows); err != nil {
		return s, err
	}

	rows, err = tx.QueryContext(ctx, `
SELECT l.load_id, COALESCE(l.command, ''), l.finished_at, count(f.path), COALESCE(SUM(f."rows"), 0), COALESCE(SUM(f.bytes), 0)
FROM loads l LEFT JOIN files f ON f.load_id = l.load_id AND f.status = 'live'
WHERE l.status = 'committed' GROUP BY l.load_id ORDER BY l.started_at, l.load_id`)
	if err != nil {
		return s, err
	}
	s.Unpublished = []UnpublishedLoad{}
	for rows.Next() {
		var u UnpublishedLoad
		var at sql.NullInt64
		if err := rows.Scan(&u.ID, &u.Command, &at, &u.Files, &u.Rows, &u.Bytes); err != nil {
			rows.Close()
			return s, err
		}
		u.Finished = fromMicros(at)
		s.Unpublished = append(s.Unpublished, u)
	}
	if err := closeRows(rows); err != nil {
		return s, err
	}
	return s, nil
}

// closeRows closes rows and reports any iteration error.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
