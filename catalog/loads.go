package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/eventlake/eventlake/internal/lakepath"
)

// LoadInfo describes a load as it starts. Zero StartedAt, PID and Host
// default to now, this process and this host.
type LoadInfo struct {
	ID        string
	StartedAt time.Time
	Command   string
	Host      string
	PID       int
	// Sources are the source URLs, already redacted (no credentials).
	Sources []string
}

// BeginLoad records a new load with status 'running'. It must happen before
// the load writes anything, so recovery can find and discard what an
// interrupted load left in staging.
func (c *Catalog) BeginLoad(ctx context.Context, l LoadInfo) error {
	if err := checkLoadID(l.ID); err != nil {
		return err
	}
	if l.StartedAt.IsZero() {
		l.StartedAt = time.Now()
	}
	if l.PID == 0 {
		l.PID = os.Getpid()
	}
	if l.Host == "" {
		l.Host, _ = os.Hostname()
	}
	sources := l.Sources
	if sources == nil {
		sources = []string{}
	}
	js, err := json.Marshal(sources)
	if err != nil {
		return fmt.Errorf("catalog: begin load %s: encode sources: %w", l.ID, err)
	}
	_, err = c.db.ExecContext(ctx,
		`INSERT INTO loads (load_id, started_at, status, command, host, pid, sources)
		 VALUES (?, ?, 'running', ?, ?, ?, ?)`,
		l.ID, l.StartedAt.UnixMicro(), l.Command, l.Host, l.PID, string(js))
	if err != nil {
		var exists int
		if c.db.QueryRowContext(ctx, `SELECT 1 FROM loads WHERE load_id = ?`, l.ID).Scan(&exists) == nil {
			return fmt.Errorf("catalog: begin load %s: a load with this ID already exists", l.ID)
		}
		return fmt.Errorf("catalog: begin load %s: %w", l.ID, err)
	}
	return nil
}

// FileRecord is one Parquet file of a table. Path is relative to the lake
// root, '/'-separated (e.g. "events/domain=account/event_date=2024-01-02/part-L-00000.parquet");
// Partition is the partition directory part (e.g. "domain=account/event_date=2024-01-02").
// MinTime and MaxTime are unix microseconds of the file's event-time range.
// Bytes is the file's size and Checksum the checksum of its content, both
// as written (see partitions.File); Checksum is "" for files written before
// checksums were recorded.
type FileRecord struct {
	Path      string `json:"path"`
	Table     string `json:"table"`
	Partition string `json:"partition"`
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	MinTime   int64  `json:"min_time"`
	MaxTime   int64  `json:"max_time"`
	Checksum  string `json:"checksum,omitempty"`
}

// ObjectRecord is the outcome of one source object in a load. Source is the
// (redacted) source URL, Key the object key relative to it and Version the
// source's version string (ETag, generation, size+mtime). A negative Size or
// zero ModTime is stored as NULL (unknown). DuplicateOf names the original
// ("<source URL>/<key>") of a duplicate.
type ObjectRecord struct {
	Source      string       `json:"source"`
	Key         string       `json:"key"`
	Version     string       `json:"version"`
	Size        int64        `json:"size"`
	ModTime     time.Time    `json:"mtime,omitzero"`
	ContentHash string       `json:"content_hash,omitempty"`
	Status      ObjectStatus `json:"status"` // committed, quarantined, duplicate, failed
	Profile     string       `json:"profile,omitempty"`
	Compression string       `json:"compression,omitempty"`
	Shape       string       `json:"shape,omitempty"`
	Records     int64        `json:"records"`
	Rejects     int64        `json:"rejects"`
	Error       string       `json:"error,omitempty"`
	DuplicateOf string       `json:"duplicate_of,omitempty"`
	// RetryAt, for a failed object, is when it may be tried again (zero:
	// at the next run).
	RetryAt time.Time `json:"retry_at,omitzero"`
	// LenientQuotes counts the rows of a delimited object that were read
	// leniently: a '"' inside an unquoted field taken as text.
	LenientQuotes int64 `json:"lenient_quotes,omitempty"`
}

// SchemaRecord is the stored schema of one (table, key): upserted by Commit;
// a changed JSON also appends a schema_changes row. Source is "inferred" or
// "jsonschema"; ChangedByObject names the object whose records changed it.
type SchemaRecord struct {
	Table           string `json:"table"`
	Key             string `json:"key"`
	JSON            string `json:"json"`
	Source          string `json:"source"`
	ChangedByObject string `json:"changed_by_object,omitempty"`
}

// Commit is everything one load makes visible, written in one transaction.
type Commit struct {
	LoadID     string
	FinishedAt time.Time // zero means now
	Files      []FileRecord
	Objects    []ObjectRecord
	Schemas    []SchemaRecord
	// Replaces lists files (paths) that this load's Files replace: only a
	// compaction (a load begun with CompactCommand) may set it, and an
	// expiry (ExpireCommand), whose Replaces are removed with no Files. Each
	// must be a live file of a published load not claimed by another load,
	// else the whole commit fails. The files stay visible until MarkPublished, which
	// marks them 'removed' as the load's own files appear (see compact.go).
	Replaces []string
	// Totals for the loads row (objects and files are counted from the slices).
	Records, Rejects, Bytes int64
	// Note, when set, is stored as the load's error although it commits: a
	// load that loaded nothing says so (every object failed).
	Note string
	// Seq, when non-zero, is the value the catalog's commit counter must
	// reach with this commit (see CommitCount): a writer that recorded it
	// elsewhere before committing (the load's manifest) gets an error
	// instead of a commit whose number differs from the recorded one.
	Seq int64

	// Forget lists object versions whose rows and rejects this load
	// supersedes without reloading them (eventlake forget).
	Forget []ObjectVersion
	// Supersedes is what the writer planned to supersede (SupersedePlan of
	// Objects and Forget); Commit derives it again in its transaction and
	// fails if it differs.
	Supersedes []Superseded
	// SupersededFiles counts, for each live file holding superseded rows
	// once this load is published, how many of its rows are superseded.
	SupersededFiles []SupersededFile
	// Retires lists live files whose every row is superseded: they become
	// 'removed' when this load is published, and are then deleted.
	Retires []string
	// Reprocess lists object versions this commit marks for reprocessing
	// (a repair marks those whose rows were in the files it retires;
	// eventlake reprocess commits nothing else).
	Reprocess []ObjectVersion
	// Replayed says the commit is replayed from its record (a manifest, a
	// bucket's log entry): Supersedes is taken as recorded instead of being
	// derived again, since the marks it was derived from may predate the
	// records.
	Replayed bool
}

// Commit writes everything in one transaction and sets the load to 'committed'. For a failed object it upserts
// the (source,key,version) row incrementing attempts; for others it inserts/replaces the row with
// committed_at = FinishedAt. Failed objects are recorded even when no file was written.
//
// Details: every outcome increments attempts and keeps first_seen (the start
// of the load that first saw the version). A failed attempt never demotes a
// version that is already committed, quarantined or duplicate: its data is in
// the lake, and marking it failed would make the next run load it twice. A
// failed row's committed_at is also set to FinishedAt (the time of the catalog
// commit that recorded the attempt), which orders failures newest first.
func (c *Catalog) Commit(ctx context.Context, cm Commit) error {
	if err := c.commit(ctx, cm); err != nil {
		return fmt.Errorf("catalog: commit load %s: %w", cm.LoadID, err)
	}
	return nil
}

func (c *Catalog) commit(ctx context.Context, cm Commit) error {
	if cm.FinishedAt.IsZero() {
		cm.FinishedAt = time.Now()
	}
	at := cm.FinishedAt.UnixMicro()
	// Validate everything before touching the database, so errors name the
	// offending record rather than a constraint.
	for _, f := range cm.Files {
		if err := checkRelPath(f.Path); err != nil {
			return err
		}
		if f.Table == "" {
			return fmt.Errorf("file %s: empty table name", f.Path)
		}
	}
	type version struct{ source, key, version string }
	named := make(map[version]bool, len(cm.Objects))
	for _, o := range cm.Objects {
		v := version{o.Source, o.Key, o.Version}
		if named[v] {
			return fmt.Errorf("object %s%s (version %s) recorded twice in one commit", o.Source, o.Key, o.Version)
		}
		named[v] = true
		switch o.Status {
		case ObjectCommitted, ObjectQuarantined, ObjectDuplicate, ObjectFailed:
		default:
			return fmt.Errorf("object %s %s: invalid status %q (want committed, quarantined, duplicate or failed)", o.Source, o.Key, o.Status)
		}
		if o.Source == "" || o.Key == "" {
			return fmt.Errorf("object %q %q: empty source or key", o.Source, o.Key)
		}
	}
	if err := checkReplaces(cm); err != nil {
		return err
	}
	for _, s := range cm.Schemas {
		if s.Table == "" || s.Key == "" {
			return fmt.Errorf("schema %q %q: empty table or key", s.Table, s.Key)
		}
		if s.Source != "inferred" && s.Source != "jsonschema" {
			return fmt.Errorf("schema %s %s: invalid source %q (want inferred or jsonschema)", s.Table, s.Key, s.Source)
		}
		if !json.Valid([]byte(s.JSON)) {
			return fmt.Errorf("schema %s %s: JSON is not valid", s.Table, s.Key)
		}
	}

	tx, err := c.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var status LoadStatus
	var startedAt int64
	err = tx.QueryRowContext(ctx, `SELECT status, started_at FROM loads WHERE load_id = ?`, cm.LoadID).Scan(&status, &startedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("no such load (BeginLoad was not called)")
	}
	if err != nil {
		return err
	}
	if status != LoadRunning {
		return fmt.Errorf("load is %s, not running", status)
	}

	if len(cm.Files) > 0 {
		st, err := tx.PrepareContext(ctx,
			`INSERT INTO files (path, load_id, table_name, "partition", "rows", bytes, min_time, max_time, status, created_at, checksum)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'live', ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, f := range cm.Files {
			if _, err := st.ExecContext(ctx, f.Path, cm.LoadID, f.Table, f.Partition, f.Rows, f.Bytes, f.MinTime, f.MaxTime, at, nullString(f.Checksum)); err != nil {
				var owner string
				if tx.QueryRowContext(ctx, `SELECT load_id FROM files WHERE path = ?`, f.Path).Scan(&owner) == nil {
					return fmt.Errorf("file %s: already recorded by load %s", f.Path, owner)
				}
				return fmt.Errorf("file %s: %w", f.Path, err)
			}
		}
	}

	if err := applySupersedes(ctx, tx, cm, at); err != nil {
		return err
	}

	for _, v := range cm.Reprocess {
		if _, err := tx.ExecContext(ctx, `UPDATE objects SET reprocess_at = ? WHERE source = ? AND "key" = ? AND version = ? AND superseded_by IS NULL`,
			at, v.Source, v.Key, v.Version); err != nil {
			return fmt.Errorf("mark %s for reprocessing: %w", v.URL(), err)
		}
	}

	if len(cm.Objects) > 0 {
		// ok: any non-failed outcome replaces the row's outcome fields.
		okSt, err := tx.PrepareContext(ctx, `
INSERT INTO objects (source, "key", version, size, mtime, content_hash, status, load_id, profile, compression, shape,
                     records, rejects, error, duplicate_of, attempts, first_seen, committed_at, lenient_quotes, retry_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?16, ?17, ?18, NULL)
ON CONFLICT (source, "key", version) DO UPDATE SET
	size = excluded.size, mtime = excluded.mtime, content_hash = excluded.content_hash, status = excluded.status,
	load_id = excluded.load_id, profile = excluded.profile, compression = excluded.compression, shape = excluded.shape,
	records = excluded.records, rejects = excluded.rejects, error = excluded.error, duplicate_of = excluded.duplicate_of,
	lenient_quotes = excluded.lenient_quotes, attempts = objects.attempts + 1, committed_at = excluded.committed_at, retry_at = NULL,
	reprocess_at = NULL, superseded_by = NULL`)
		if err != nil {
			return err
		}
		defer okSt.Close()
		// failed: count the attempt, but never demote a successful version.
		failSt, err := tx.PrepareContext(ctx, `
INSERT INTO objects (source, "key", version, size, mtime, content_hash, status, load_id, profile, compression, shape,
                     records, rejects, error, duplicate_of, attempts, first_seen, committed_at, lenient_quotes, retry_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?16, ?17, ?18, ?19)
ON CONFLICT (source, "key", version) DO UPDATE SET
	size = excluded.size, mtime = excluded.mtime, content_hash = excluded.content_hash,
	load_id = excluded.load_id, profile = excluded.profile, compression = excluded.compression, shape = excluded.shape,
	records = excluded.records, rejects = excluded.rejects, error = excluded.error,
	lenient_quotes = excluded.lenient_quotes, attempts = objects.attempts + 1, committed_at = excluded.committed_at, retry_at = excluded.retry_at
WHERE objects.status = 'failed'`)
		if err != nil {
			return err
		}
		defer failSt.Close()
		for _, o := range cm.Objects {
			st, args := okSt, []any(nil)
			if o.Status == ObjectFailed {
				st, args = failSt, []any{micros(o.RetryAt)}
			}
			var size any
			if o.Size >= 0 {
				size = o.Size
			}
			args = append([]any{o.Source, o.Key, o.Version, size, micros(o.ModTime), nullString(o.ContentHash),
				o.Status, cm.LoadID, nullString(o.Profile), nullString(o.Compression), nullString(o.Shape),
				o.Records, o.Rejects, nullString(o.Error), nullString(o.DuplicateOf), startedAt, at, o.LenientQuotes}, args...)
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("object %s %s (version %s): %w", o.Source, o.Key, o.Version, err)
			}
		}
	}

	if len(cm.Replaces) > 0 {
		if err := claimReplaced(ctx, tx, cm.LoadID, cm.Replaces); err != nil {
			return err
		}
	}

	for _, s := range cm.Schemas {
		if err := upsertSchema(ctx, tx, cm.LoadID, at, s); err != nil {
			return fmt.Errorf("schema %s %s: %w", s.Table, s.Key, err)
		}
	}

	res, err := tx.ExecContext(ctx,
		`UPDATE loads SET status = 'committed', finished_at = ?, objects = ?, records = ?, rejects = ?, bytes = ?, files = ?, error = ?
		 WHERE load_id = ? AND status = 'running'`,
		at, len(cm.Objects), cm.Records, cm.Rejects, cm.Bytes, len(cm.Files), nullString(cm.Note), cm.LoadID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("load row not updated (rows affected %d, %v)", n, err)
	}
	seq, err := countCommit(ctx, tx, cm.LoadID)
	if err != nil {
		return fmt.Errorf("count the commit: %w", err)
	}
	if cm.Seq != 0 && seq != cm.Seq {
		return fmt.Errorf("this would be commit %d of the catalog, but the load expected commit %d "+
			"(another writer committed meanwhile?)", seq, cm.Seq)
	}
	return tx.Commit()
}

// upsertSchema stores s, and appends a schema_changes row when the JSON is
// new or differs from the stored one. An unchanged schema is left untouched.
func upsertSchema(ctx context.Context, tx *sql.Tx, loadID string, at int64, s SchemaRecord) error {
	var old sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT schema_json FROM schemas WHERE table_name = ? AND schema_key = ?`, s.Table, s.Key).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if old.Valid && old.String == s.JSON {
		// Same JSON: only a change of source (e.g. a JSON Schema now
		// confirming an inferred one) is worth recording.
		_, err := tx.ExecContext(ctx, `UPDATE schemas SET source = ? WHERE table_name = ? AND schema_key = ? AND source <> ?`,
			s.Source, s.Table, s.Key, s.Source)
		return err
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO schemas (table_name, schema_key, schema_json, source, updated_load, updated_at, changed_by_object)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (table_name, schema_key) DO UPDATE SET
	schema_json = excluded.schema_json, source = excluded.source, updated_load = excluded.updated_load,
	updated_at = excluded.updated_at, changed_by_object = excluded.changed_by_object`,
		s.Table, s.Key, s.JSON, s.Source, loadID, at, nullString(s.ChangedByObject)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO schema_changes (table_name, schema_key, load_id, object, old_json, new_json, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.Table, s.Key, loadID, nullString(s.ChangedByObject), old, s.JSON, at)
	return err
}

// MarkPublished records that every file of a committed load has been renamed
// into the lake. Marking an already published load again is a no-op. For a
// compaction, the same transaction marks the files it replaces 'removed'.
func (c *Catalog) MarkPublished(ctx context.Context, loadID string) error {
	if err := c.setStatus(ctx, loadID, LoadPublished, []LoadStatus{LoadCommitted}, LoadPublished, nil, retireReplaced); err != nil {
		return fmt.Errorf("catalog: mark load %s published: %w", loadID, err)
	}
	return nil
}

// FailLoad marks a running load 'failed' with an error (e.g. disk full before commit); nothing of it is visible.
// The caller removes the load's staging directory (Recover also would).
func (c *Catalog) FailLoad(ctx context.Context, loadID string, err error) error {
	msg := "failed"
	if err != nil {
		msg = err.Error()
	}
	if serr := c.setStatus(ctx, loadID, LoadFailed, []LoadStatus{LoadRunning}, "", &msg, nil); serr != nil {
		return fmt.Errorf("catalog: mark load %s failed: %w", loadID, serr)
	}
	return nil
}

// setStatus moves a load from one of the from statuses to to. If the load is
// already in status same (when non-empty), it succeeds without change. When
// errMsg is non-nil the error column and finished_at are set too. then, when
// non-nil, runs in the same transaction after the status change.
func (c *Catalog) setStatus(ctx context.Context, loadID string, to LoadStatus, from []LoadStatus, same LoadStatus, errMsg *string,
	then func(ctx context.Context, tx *sql.Tx, loadID string) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var status LoadStatus
	err = tx.QueryRowContext(ctx, `SELECT status FROM loads WHERE load_id = ?`, loadID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("no such load")
	}
	if err != nil {
		return err
	}
	if same != "" && status == same {
		return nil
	}
	allowed := false
	for _, f := range from {
		allowed = allowed || status == f
	}
	if !allowed {
		names := make([]string, len(from))
		for i, f := range from {
			names[i] = string(f)
		}
		return fmt.Errorf("load is %s, expected %s", status, strings.Join(names, " or "))
	}
	if errMsg != nil {
		_, err = tx.ExecContext(ctx, `UPDATE loads SET status = ?, error = ?, finished_at = ? WHERE load_id = ?`,
			string(to), *errMsg, time.Now().UnixMicro(), loadID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE loads SET status = ? WHERE load_id = ?`, string(to), loadID)
	}
	if err != nil {
		return err
	}
	if then != nil {
		if err := then(ctx, tx, loadID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkLoadID requires a load ID usable as one file-name segment (it names
// the staging directory and appears in file names).
func checkLoadID(id string) error {
	switch {
	case id == "":
		return errors.New("catalog: empty load ID")
	case id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00"):
		return fmt.Errorf("catalog: invalid load ID %q: it must be a single path segment", id)
	}
	return nil
}

// checkRelPath requires a clean, relative, '/'-separated path that stays
// inside the lake, matching what partitions.Publish accepts, so a bad path
// fails at commit rather than during publish or recovery.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("file with empty path")
	case strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") || (len(p) >= 2 && p[1] == ':'):
		return fmt.Errorf("file %q: path must be relative and '/'-separated", p)
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("file %q: path must be clean and stay inside the lake", p)
	case lakepath.InMetaDir(p):
		return fmt.Errorf("file %q: path is inside the lake's %s directory", p, lakepath.MetaDir)
	}
	return nil
}

// CheckFilePath is the rule for a file's path in the catalog: clean,
// relative, '/'-separated, inside the lake and outside its metadata folder.
func CheckFilePath(p string) error { return checkRelPath(p) }
