package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Reprocessing and forgetting objects (eventlake reprocess, eventlake
// forget).
//
// The rows a load wrote for an object are named by (_object, _load_id): the
// object's URL (source URL + key) and the load. They live in Parquet files
// shared with other objects' rows, so superseding them does not rewrite
// anything: the supersedes table lists the superseded (object, old load)
// pairs, readers skip those rows (the shell's views anti-join the affected
// files with the pairs of published superseding loads), and compaction
// drops them when it rewrites a partition. superseded_files counts, per
// live file, the superseded rows it still holds; a file whose every row is
// superseded is retired (becomes 'removed', then is deleted) by the
// superseding load itself.
//
// A version marked for reprocessing (objects.reprocess_at) is planned again
// by the next load; when that load records a non-failed outcome for the
// object, its Commit supersedes the marked versions' rows in the same
// transaction that adds the new ones. Readers switch in MarkPublished, as
// for any load. A forget supersedes versions with no replacement: their
// rows keep superseded_by and are ignored from then on, so a later load
// reads the object as new.

// Reasons recorded in supersedes.
const (
	ReasonReprocess = "reprocess"
	ReasonForget    = "forget"
)

// ForgetCommand is the command recorded for loads begun by `eventlake forget`.
const ForgetCommand = "forget"

// ReprocessCommand is the command recorded for the commits of `eventlake
// reprocess` that mark objects for reprocessing.
const ReprocessCommand = "reprocess"

// ObjectVersion names one row of the objects table.
type ObjectVersion struct {
	Source  string `json:"source"`
	Key     string `json:"key"`
	Version string `json:"version"`
}

// URL is the object's URL as its rows' _object column holds it.
func (v ObjectVersion) URL() string { return v.Source + v.Key }

// Superseded is one (object, old load) pair whose rows a commit supersedes.
type Superseded struct {
	ObjectVersion
	OldLoad   string `json:"old_load"`
	OldStatus string `json:"old_status"`
	Reason    string `json:"reason"`
	Rows      int64  `json:"rows"` // records + rejects the old load wrote for it
	Rejects   int64  `json:"rejects"`
}

// ObjectLoad names the rows one load wrote for one object.
type ObjectLoad struct{ Object, LoadID string }

// SupersededFile is how many rows of a live file are superseded.
type SupersededFile struct {
	Path string `json:"path"`
	Rows int64  `json:"rows"`
}

// Selection selects object versions (rows of the objects table that are
// not superseded); every set field must match. Object is a glob matched
// against the object's key and against its URL (source URL + key): '*' and
// '?' do not match '/', '**' matches anything.
type Selection struct {
	Object string
	Status string
	LoadID string
}

// Empty reports whether the selection selects nothing in particular.
func (s Selection) Empty() bool { return s.Object == "" && s.Status == "" && s.LoadID == "" }

// SelectedObject is an object version a Selection matched.
type SelectedObject struct {
	ObjectVersion
	Status, LoadID   string
	Records, Rejects int64
	// Marked: already marked for reprocessing.
	Marked bool
}

// globRegexp compiles an --object glob.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// SelectObjects lists the object versions sel selects, ordered by source,
// key and version.
func (c *Catalog) SelectObjects(ctx context.Context, sel Selection) ([]SelectedObject, error) {
	out, err := selectObjects(ctx, c.db, sel)
	if err != nil {
		return nil, fmt.Errorf("catalog: select objects: %w", err)
	}
	return out, nil
}

func selectObjects(ctx context.Context, q queryer, sel Selection) ([]SelectedObject, error) {
	if sel.Empty() {
		return nil, errors.New("no selection (an object glob, a status or a load)")
	}
	switch ObjectStatus(sel.Status) {
	case "", ObjectCommitted, ObjectQuarantined, ObjectDuplicate, ObjectFailed:
	default:
		return nil, fmt.Errorf("status %q: want committed, quarantined, duplicate or failed", sel.Status)
	}
	var re *regexp.Regexp
	if sel.Object != "" {
		var err error
		if re, err = globRegexp(sel.Object); err != nil {
			return nil, fmt.Errorf("object glob %q: %w", sel.Object, err)
		}
	}
	rows, err := q.QueryContext(ctx, `
SELECT source, "key", version, status, load_id, records, rejects, reprocess_at IS NOT NULL FROM objects
WHERE superseded_by IS NULL AND (?1 = '' OR status = ?1) AND (?2 = '' OR load_id = ?2)
ORDER BY source, "key", version`, sel.Status, sel.LoadID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SelectedObject
	for rows.Next() {
		var o SelectedObject
		if err := rows.Scan(&o.Source, &o.Key, &o.Version, &o.Status, &o.LoadID, &o.Records, &o.Rejects, &o.Marked); err != nil {
			return nil, err
		}
		if re != nil && !re.MatchString(o.Key) && !re.MatchString(o.URL()) {
			continue
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// MarkReprocess marks the object versions sel selects for reprocessing, in
// one transaction, and returns them. The next load that reaches such an
// object reads it again (see the package comment).
func (c *Catalog) MarkReprocess(ctx context.Context, sel Selection, at time.Time) ([]SelectedObject, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("catalog: mark for reprocessing: %w", err)
	}
	defer tx.Rollback()
	objs, err := selectObjects(ctx, tx, sel)
	if err != nil {
		return nil, fmt.Errorf("catalog: mark for reprocessing: %w", err)
	}
	st, err := tx.PrepareContext(ctx, `UPDATE objects SET reprocess_at = ? WHERE source = ? AND "key" = ? AND version = ? AND superseded_by IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("catalog: mark for reprocessing: %w", err)
	}
	defer st.Close()
	for _, o := range objs {
		if _, err := st.ExecContext(ctx, at.UnixMicro(), o.Source, o.Key, o.Version); err != nil {
			return nil, fmt.Errorf("catalog: mark %s for reprocessing: %w", o.URL(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("catalog: mark for reprocessing: %w", err)
	}
	return objs, nil
}

// SupersedePlan returns what a commit of these object outcomes and forgotten
// versions would supersede: for every object with a non-failed outcome, its
// versions marked for reprocessing; and every forgotten version (neither
// superseded already). Commit derives the same list inside its transaction
// and refuses a Commit.Supersedes that differs.
func (c *Catalog) SupersedePlan(ctx context.Context, objects []ObjectRecord, forget []ObjectVersion) ([]Superseded, error) {
	out, err := supersedePlan(ctx, c.db, objects, forget)
	if err != nil {
		return nil, fmt.Errorf("catalog: supersede plan: %w", err)
	}
	return out, nil
}

func supersedePlan(ctx context.Context, q queryer, objects []ObjectRecord, forget []ObjectVersion) ([]Superseded, error) {
	var out []Superseded
	seen := map[ObjectVersion]bool{}
	var marked bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE reprocess_at IS NOT NULL)`).Scan(&marked); err != nil {
		return nil, err
	}
	add := func(rows *sql.Rows, reason string) error {
		defer rows.Close()
		for rows.Next() {
			var s Superseded
			if err := rows.Scan(&s.Source, &s.Key, &s.Version, &s.OldLoad, &s.OldStatus, &s.Rows, &s.Rejects); err != nil {
				return err
			}
			if seen[s.ObjectVersion] {
				continue
			}
			seen[s.ObjectVersion] = true
			s.Reason = reason
			out = append(out, s)
		}
		return rows.Err()
	}
	const cols = `SELECT source, "key", version, load_id, status, records + rejects, rejects FROM objects `
	for _, o := range objects {
		if o.Status == ObjectFailed || !marked {
			continue
		}
		rows, err := q.QueryContext(ctx, cols+`WHERE source = ? AND "key" = ? AND reprocess_at IS NOT NULL AND superseded_by IS NULL ORDER BY version`,
			o.Source, o.Key)
		if err != nil {
			return nil, err
		}
		if err := add(rows, ReasonReprocess); err != nil {
			return nil, err
		}
	}
	for _, v := range forget {
		rows, err := q.QueryContext(ctx, cols+`WHERE source = ? AND "key" = ? AND version = ? AND superseded_by IS NULL`,
			v.Source, v.Key, v.Version)
		if err != nil {
			return nil, err
		}
		n := len(out)
		if err := add(rows, ReasonForget); err != nil {
			return nil, err
		}
		if len(out) == n && !seen[v] {
			return nil, fmt.Errorf("object %s (version %s): not in the catalog, or already forgotten", v.URL(), v.Version)
		}
	}
	return out, nil
}

// SupersededPairs lists every (object, old load) pair that a committed or
// published load superseded. Writers (which hold the lock, after recovery)
// use it to count the superseded rows of a file and to drop them.
func (c *Catalog) SupersededPairs(ctx context.Context) ([]ObjectLoad, error) {
	out, err := supersededPairs(ctx, c.db, false)
	if err != nil {
		return nil, fmt.Errorf("catalog: superseded rows: %w", err)
	}
	return out, nil
}

func supersededPairs(ctx context.Context, q queryer, publishedOnly bool) ([]ObjectLoad, error) {
	query := `SELECT s.object, s.old_load FROM supersedes s`
	if publishedOnly {
		query += ` JOIN loads l ON l.load_id = s.new_load WHERE l.status = 'published'`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY s.object, s.old_load`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ObjectLoad
	for rows.Next() {
		var p ObjectLoad
		if err := rows.Scan(&p.Object, &p.LoadID); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FilesHoldingLoads lists the live files of published loads that may hold
// rows written by the given loads: the loads' own files, and the events
// files of compactions begun after the earliest of them (a compaction keeps
// the _load_id of the rows it copies).
func (c *Catalog) FilesHoldingLoads(ctx context.Context, loads []string) ([]LiveFile, error) {
	if len(loads) == 0 {
		return nil, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?,", len(loads)), ",")
	args := make([]any, 0, 2*len(loads)+1)
	for _, l := range loads {
		args = append(args, l)
	}
	args = append(args, CompactCommand)
	for _, l := range loads {
		args = append(args, l)
	}
	rows, err := c.db.QueryContext(ctx, `
SELECT f.path, f.table_name, f."partition", f."rows", f.bytes, COALESCE(f.min_time, 0), COALESCE(f.max_time, 0), COALESCE(f.checksum, ''),
       f.load_id, COALESCE(l.command, ''), COALESCE(sf."rows", 0)`+visibleFilesSuperseded+`
  AND (f.load_id IN (`+ph+`)
       OR (l.command = ? AND l.started_at >= (SELECT min(started_at) FROM loads WHERE load_id IN (`+ph+`))))
ORDER BY f.path`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: files holding rows of loads: %w", err)
	}
	return scanLiveFiles(rows)
}

// visibleFilesSuperseded is visibleFiles with each file's superseded row
// count (as sf."rows", NULL for none).
const visibleFilesSuperseded = `
FROM files f JOIN loads l ON l.load_id = f.load_id LEFT JOIN superseded_files sf ON sf.path = f.path
WHERE f.status = 'live' AND l.status = 'published'`

func scanLiveFiles(rows *sql.Rows) ([]LiveFile, error) {
	defer rows.Close()
	var out []LiveFile
	for rows.Next() {
		var f LiveFile
		if err := rows.Scan(&f.Path, &f.Table, &f.Partition, &f.Rows, &f.Bytes, &f.MinTime, &f.MaxTime, &f.Checksum, &f.LoadID, &f.Command, &f.Superseded); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// VisibleFiles returns, from one consistent snapshot, the live files of
// table that readers see (with the rows of each that are superseded) and
// the (object, load) pairs readers must skip in them: those superseded by
// published loads. The shell builds its views from it, so it never sees
// the new rows of a reprocessed object without its old rows gone, or the
// reverse.
func (c *Catalog) VisibleFiles(ctx context.Context, table string) ([]LiveFile, []ObjectLoad, error) {
	tx, err := c.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: visible files of %q: %w", table, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `
SELECT f.path, f.table_name, f."partition", f."rows", f.bytes, COALESCE(f.min_time, 0), COALESCE(f.max_time, 0), COALESCE(f.checksum, ''),
       f.load_id, COALESCE(l.command, ''), COALESCE(sf."rows", 0)`+visibleFilesSuperseded+` AND f.table_name = ?
ORDER BY f."partition", f.path`, table)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: visible files of %q: %w", table, err)
	}
	files, err := scanLiveFiles(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: visible files of %q: %w", table, err)
	}
	var pairs []ObjectLoad
	if slices.ContainsFunc(files, func(f LiveFile) bool { return f.Superseded > 0 }) {
		if pairs, err = supersededPairs(ctx, tx, true); err != nil {
			return nil, nil, fmt.Errorf("catalog: visible files of %q: %w", table, err)
		}
	}
	return files, pairs, nil
}

// applySupersedes runs inside Commit's transaction, before the objects are
// recorded: it checks that cm.Supersedes is what the catalog holds now,
// records the pairs, marks the versions that the load does not record again
// as superseded, counts the files' superseded rows and claims the files the
// load retires.
func applySupersedes(ctx context.Context, tx *sql.Tx, cm Commit, at int64) error {
	if cm.Replayed {
		return recordSupersedes(ctx, tx, cm, cm.Supersedes, at)
	}
	plan, err := supersedePlan(ctx, tx, cm.Objects, cm.Forget)
	if err != nil {
		return err
	}
	key := func(s Superseded) string { return fmt.Sprint(s) }
	want := make([]string, len(plan))
	for i, s := range plan {
		want[i] = key(s)
	}
	got := make([]string, len(cm.Supersedes))
	for i, s := range cm.Supersedes {
		got[i] = key(s)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return fmt.Errorf("the object versions to supersede changed since the load planned them (%d planned, %d now)", len(got), len(want))
	}
	return recordSupersedes(ctx, tx, cm, plan, at)
}

// recordSupersedes records the pairs plan supersedes, the superseded rows
// per file and the retired files of cm.
func recordSupersedes(ctx context.Context, tx *sql.Tx, cm Commit, plan []Superseded, at int64) error {
	if len(plan) == 0 && len(cm.SupersededFiles) == 0 && len(cm.Retires) == 0 {
		return nil
	}
	recorded := map[ObjectVersion]bool{}
	for _, o := range cm.Objects {
		recorded[ObjectVersion{o.Source, o.Key, o.Version}] = true
	}
	for _, s := range plan {
		if _, err := tx.ExecContext(ctx, `
INSERT INTO supersedes (object, old_load, source, "key", version, old_status, "rows", rejects, new_load, reason, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.URL(), s.OldLoad, s.Source, s.Key, s.Version, s.OldStatus, s.Rows, s.Rejects, cm.LoadID, s.Reason, at); err != nil {
			return fmt.Errorf("supersede %s of load %s: %w", s.URL(), s.OldLoad, err)
		}
		if recorded[s.ObjectVersion] {
			continue // the load's own outcome replaces the row
		}
		if _, err := tx.ExecContext(ctx, `UPDATE objects SET superseded_by = ?, reprocess_at = NULL WHERE source = ? AND "key" = ? AND version = ?`,
			cm.LoadID, s.Source, s.Key, s.Version); err != nil {
			return fmt.Errorf("supersede %s: %w", s.URL(), err)
		}
	}
	for _, f := range cm.SupersededFiles {
		if _, err := tx.ExecContext(ctx, `
INSERT INTO superseded_files (path, "rows", load_id) VALUES (?, ?, ?)
ON CONFLICT (path) DO UPDATE SET "rows" = excluded."rows", load_id = excluded.load_id`, f.Path, f.Rows, cm.LoadID); err != nil {
			return fmt.Errorf("superseded rows of %s: %w", f.Path, err)
		}
	}
	for _, p := range cm.Retires {
		res, err := tx.ExecContext(ctx, `
UPDATE files SET removed_by = ?1
WHERE path = ?2 AND status = 'live' AND removed_by IS NULL AND load_id IN (SELECT load_id FROM loads WHERE status = 'published')`,
			cm.LoadID, p)
		if err != nil {
			return fmt.Errorf("retired file %s: %w", p, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("retired file %s: %s", p, whyNotReplaceable(ctx, tx, p))
		}
	}
	return nil
}
