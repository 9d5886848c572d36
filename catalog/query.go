package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ObjectState is the newest catalog row for one (source, key).
type ObjectState struct {
	Version             string
	Status              ObjectStatus
	ContentHash, LoadID string
	Attempts            int
	Error               string
	Size                int64     // -1: unknown
	RetryAt             time.Time // a failed version: not tried again before (zero: at the next run)
	// Reprocess: a version of the object is marked for reprocessing
	// (eventlake reprocess); the next load reads the object again.
	Reprocess bool
}

// Objects returns source's objects keyed by key: the committed/quarantined/duplicate version if any, else the
// latest failed one. Must take well under 100 ms for 10,000 objects (one query, no per-row queries).
//
// Among several rows of a key, a successful outcome beats a failure, then
// the most recent commit wins. Superseded (forgotten) versions are ignored:
// an object whose every version is forgotten is new again. The query walks the primary key (source, key,
// version), so the rows of one key arrive together in key order (the ORDER
// BY costs no sort) and the choice needs no second map.
func (c *Catalog) Objects(ctx context.Context, source string) (map[string]ObjectState, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT "key", version, status, COALESCE(content_hash, ''), load_id, attempts, COALESCE(error, ''), COALESCE(committed_at, 0),
       COALESCE(size, -1), retry_at, reprocess_at IS NOT NULL
FROM objects WHERE source = ? AND superseded_by IS NULL ORDER BY "key"`, source)
	if err != nil {
		return nil, fmt.Errorf("catalog: objects of %s: %w", source, err)
	}
	defer rows.Close()
	out := make(map[string]ObjectState)
	var (
		curKey      string
		cur         ObjectState
		curOK, have bool
		curAt       int64
		curMarked   bool
		key         string
		st          ObjectState
		at          int64
		retryAt     sql.NullInt64
		marked      bool
	)
	for rows.Next() {
		if err := rows.Scan(&key, &st.Version, &st.Status, &st.ContentHash, &st.LoadID, &st.Attempts, &st.Error, &at, &st.Size, &retryAt, &marked); err != nil {
			return nil, fmt.Errorf("catalog: objects of %s: %w", source, err)
		}
		st.RetryAt = fromMicros(retryAt)
		ok := st.Status != ObjectFailed
		switch {
		case !have || key != curKey:
			if have {
				cur.Reprocess = curMarked
				out[curKey] = cur
			}
			curKey, cur, curOK, curAt, have, curMarked = key, st, ok, at, true, false
		case ok != curOK && ok, ok == curOK && at >= curAt:
			cur, curOK, curAt = st, ok, at
		}
		curMarked = curMarked || marked
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: objects of %s: %w", source, err)
	}
	if have {
		cur.Reprocess = curMarked
		out[curKey] = cur
	}
	return out, nil
}

// FindContent returns the committed object (source, key) whose content_hash equals hash, if any.
// When several match, the first committed one (the original) is returned. An
// empty hash never matches.
//
// An object recorded as a duplicate of itself with no committed row of the
// same content counts as an original too: older builds recorded so the
// objects of a source named twice in one load, whose rows were written.
// (A touched file is also a duplicate of itself, but its committed first
// version matches first.) Superseded (forgotten) versions are not
// originals.
func (c *Catalog) FindContent(ctx context.Context, hash string) (source, key string, ok bool, err error) {
	return c.FindOriginal(ctx, hash, "")
}

// FindOriginal is FindContent for the object at url (source URL + key)
// being loaded: its own versions marked for reprocessing are not originals,
// so a reprocessed object is never a copy of its earlier self.
func (c *Catalog) FindOriginal(ctx context.Context, hash, url string) (source, key string, ok bool, err error) {
	if hash == "" {
		return "", "", false, nil
	}
	err = c.db.QueryRowContext(ctx, `
SELECT source, "key" FROM objects
WHERE content_hash = ?1 AND superseded_by IS NULL AND NOT (reprocess_at IS NOT NULL AND source || "key" = ?2)
  AND (status = 'committed' OR (status = 'duplicate' AND duplicate_of = source || "key"))
ORDER BY status = 'committed' DESC, committed_at, source, "key" LIMIT 1`, hash, url).Scan(&source, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("catalog: find content %s: %w", hash, err)
	}
	return source, key, true, nil
}

// Schemas returns stored schemas of a table (all tables when table == ""),
// ordered by table and key.
func (c *Catalog) Schemas(ctx context.Context, table string) ([]SchemaRecord, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT table_name, schema_key, schema_json, source, COALESCE(changed_by_object, '')
FROM schemas WHERE ?1 = '' OR table_name = ?1
ORDER BY table_name, schema_key`, table)
	if err != nil {
		return nil, fmt.Errorf("catalog: schemas of %q: %w", table, err)
	}
	defer rows.Close()
	var out []SchemaRecord
	for rows.Next() {
		var s SchemaRecord
		if err := rows.Scan(&s.Table, &s.Key, &s.JSON, &s.Source, &s.ChangedByObject); err != nil {
			return nil, fmt.Errorf("catalog: schemas of %q: %w", table, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: schemas of %q: %w", table, err)
	}
	return out, nil
}

// LiveFiles lists live files (optionally of one table), for compaction and DDL.
//
// Only files of published loads are listed (see visibleFiles; Status counts
// the same set): a committed load's files may still sit in staging (their
// lake path does not exist yet) until the writer or recovery publishes them.
// Order: table, partition, path.
func (c *Catalog) LiveFiles(ctx context.Context, table string) ([]FileRecord, error) {
	q := `
SELECT f.path, f.table_name, f."partition", f."rows", f.bytes, COALESCE(f.min_time, 0), COALESCE(f.max_time, 0), COALESCE(f.checksum, '')` + visibleFiles
	var args []any
	if table != "" { // a separate condition (not "? = '' OR ...") lets SQLite use the table index
		q += ` AND f.table_name = ?`
		args = append(args, table)
	}
	rows, err := c.db.QueryContext(ctx, q+` ORDER BY f.table_name, f."partition", f.path`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: live files of %q: %w", table, err)
	}
	defer rows.Close()
	var out []FileRecord
	for rows.Next() {
		var f FileRecord
		if err := rows.Scan(&f.Path, &f.Table, &f.Partition, &f.Rows, &f.Bytes, &f.MinTime, &f.MaxTime, &f.Checksum); err != nil {
			return nil, fmt.Errorf("catalog: live files of %q: %w", table, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: live files of %q: %w", table, err)
	}
	return out, nil
}

// How KnownFiles classifies a file the catalog records.
const (
	FileVisible     = "live"     // a live file of a published load: readers see it
	FileUnpublished = "pending"  // a file of a committed load whose publish was interrupted (recovery finishes it)
	FileReplaced    = "replaced" // removed by a compaction; recovery deletes it if it is still on disk
	FileUnfinished  = "unfinished"
)

// KnownFiles maps the path of every file the catalog records (whatever its
// state) to its state: FileVisible, FileUnpublished, FileReplaced, or
// FileUnfinished (a live row of a load that is neither published nor
// committed). A file on disk in a table folder that is not in the map is
// unknown to the catalog.
func (c *Catalog) KnownFiles(ctx context.Context) (map[string]string, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT f.path, CASE
	WHEN f.status = 'removed' THEN '`+FileReplaced+`'
	WHEN l.status = 'published' THEN '`+FileVisible+`'
	WHEN l.status = 'committed' THEN '`+FileUnpublished+`'
	ELSE '`+FileUnfinished+`' END
FROM files f LEFT JOIN loads l ON l.load_id = f.load_id`)
	if err != nil {
		return nil, fmt.Errorf("catalog: files: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var p, st string
		if err := rows.Scan(&p, &st); err != nil {
			return nil, fmt.Errorf("catalog: files: %w", err)
		}
		out[p] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: files: %w", err)
	}
	return out, nil
}
