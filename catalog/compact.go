package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CompactCommand is the command recorded for loads begun by `eventlake
// compact`. Only such loads, and expiries, may replace files
// (Commit.Replaces).
const CompactCommand = "compact"

// ExpireCommand is the command recorded for loads that expire partitions
// (`eventlake expire`, or a load's retention): they remove files
// (Commit.Replaces) and add none. They never touch the objects table, so
// an object whose every row expired stays recorded as loaded and is not
// loaded again.
const ExpireCommand = "expire"

// mayReplace reports whether a load begun with command may replace or
// remove files.
func mayReplace(command string) bool { return command == CompactCommand || command == ExpireCommand }

// The swap of a compaction is split over the two transactions every load
// already makes, so that readers following LiveFiles (live files of
// published loads) switch from the old file set to the new one in a single
// instant and never see both or neither:
//
//   - Commit inserts the new files (invisible: the load is only 'committed')
//     and claims each replaced file by setting its removed_by, leaving it
//     'live' (still visible: its own load is published);
//   - MarkPublished, after the new files have been renamed into the lake,
//     sets the claimed files to 'removed' and the load to 'published' in one
//     transaction: the old set disappears exactly when the new one appears.
//
// The replaced files are deleted from disk only after that (by package
// lake, see RetiredFiles). The compaction's staging directory is removed
// last, so a staging directory left behind by a published compaction means
// "replaced files may still be on disk", and recovery deletes them.

// LiveFile is a live file of a published load together with the load that
// wrote it.
type LiveFile struct {
	FileRecord
	LoadID string
	// Command is the writing load's command (CompactCommand for files
	// written by a compaction).
	Command string
	// Superseded counts the file's rows that are superseded (reprocessed or
	// forgotten objects' rows, which readers skip and compaction drops).
	Superseded int64
}

// LiveFilesWithLoads lists the live files of table that readers see (those
// of published loads, as LiveFiles does) with the load that wrote each,
// ordered by partition and path. Compaction uses the load to recognise a
// partition it has already compacted.
func (c *Catalog) LiveFilesWithLoads(ctx context.Context, table string) ([]LiveFile, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT f.path, f.table_name, f."partition", f."rows", f.bytes, COALESCE(f.min_time, 0), COALESCE(f.max_time, 0), COALESCE(f.checksum, ''),
       f.load_id, COALESCE(l.command, ''), COALESCE(sf."rows", 0)`+visibleFilesSuperseded+` AND f.table_name = ?
ORDER BY f."partition", f.path`, table)
	if err != nil {
		return nil, fmt.Errorf("catalog: live files of %q: %w", table, err)
	}
	out, err := scanLiveFiles(rows)
	if err != nil {
		return nil, fmt.Errorf("catalog: live files of %q: %w", table, err)
	}
	return out, nil
}

// LiveTables lists the tables that have live files of published loads,
// sorted.
func (c *Catalog) LiveTables(ctx context.Context) ([]string, error) {
	names, err := queryStrings(ctx, c.db, `SELECT DISTINCT f.table_name`+visibleFilesSuperseded+` ORDER BY f.table_name`)
	if err != nil {
		return nil, fmt.Errorf("catalog: live tables: %w", err)
	}
	return names, nil
}

// TablesEver lists every table the catalog has held a file of, live or
// removed, sorted.
func (c *Catalog) TablesEver(ctx context.Context) ([]string, error) {
	names, err := queryStrings(ctx, c.db, `SELECT DISTINCT table_name FROM files ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("catalog: tables: %w", err)
	}
	return names, nil
}

// ReplacedFiles lists the paths of the files that load replaced (claimed by
// its Commit), sorted. Before the load is published they are still live;
// afterwards they are 'removed'.
func (c *Catalog) ReplacedFiles(ctx context.Context, loadID string) ([]string, error) {
	paths, err := replacedPaths(ctx, c.db, loadID)
	if err != nil {
		return nil, fmt.Errorf("catalog: files replaced by load %s: %w", loadID, err)
	}
	return paths, nil
}

func replacedPaths(ctx context.Context, q queryer, loadID string) ([]string, error) {
	return queryStrings(ctx, q, `SELECT path FROM files WHERE removed_by = ? ORDER BY path`, loadID)
}

// checkReplaces validates Commit.Replaces before the transaction starts.
func checkReplaces(cm Commit) error {
	seen := make(map[string]bool, len(cm.Replaces))
	for _, f := range cm.Files {
		seen[f.Path] = true
	}
	for _, p := range cm.Replaces {
		if err := checkRelPath(p); err != nil {
			return fmt.Errorf("replaced %w", err)
		}
		if seen[p] {
			return fmt.Errorf("replaced file %s: listed twice or also a new file of the load", p)
		}
		seen[p] = true
	}
	return nil
}

// claimReplaced runs inside Commit's transaction: it marks every file of
// paths as replaced by loadID (removed_by), failing the whole transaction if
// the load is not a compaction or a file is not a live file of a published
// load that no other load has claimed.
func claimReplaced(ctx context.Context, tx *sql.Tx, loadID string, paths []string) error {
	var command sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT command FROM loads WHERE load_id = ?`, loadID).Scan(&command); err != nil {
		return err
	}
	if !mayReplace(command.String) {
		return fmt.Errorf("only a load begun with command %q or %q may replace files (this one has %q)",
			CompactCommand, ExpireCommand, command.String)
	}
	st, err := tx.PrepareContext(ctx,
		`UPDATE files SET removed_by = ?1
		 WHERE path = ?2 AND status = 'live' AND removed_by IS NULL
		   AND load_id IN (SELECT load_id FROM loads WHERE status = 'published')`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, p := range paths {
		res, err := st.ExecContext(ctx, loadID, p)
		if err != nil {
			return fmt.Errorf("replaced file %s: %w", p, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			if err != nil {
				return fmt.Errorf("replaced file %s: %w", p, err)
			}
			continue
		}
		return fmt.Errorf("replaced file %s: %s", p, whyNotReplaceable(ctx, tx, p))
	}
	return nil
}

// mayRetire reports whether a load can have claimed files: a compaction,
// an expiry, a repair (lost files), or a load that superseded rows.
func mayRetire(ctx context.Context, q queryer, loadID string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM loads WHERE load_id = ?1 AND command IN (?2, ?3, ?4))
	OR EXISTS (SELECT 1 FROM supersedes WHERE new_load = ?1)`, loadID, CompactCommand, ExpireCommand, RepairCommand).Scan(&ok)
	return ok, err
}

// whyNotReplaceable explains why claimReplaced could not claim path.
func whyNotReplaceable(ctx context.Context, tx *sql.Tx, path string) string {
	var status, owner, loadStatus string
	var removedBy sql.NullString
	err := tx.QueryRowContext(ctx,
		`SELECT f.status, f.load_id, f.removed_by, l.status FROM files f JOIN loads l ON l.load_id = f.load_id WHERE f.path = ?`,
		path).Scan(&status, &owner, &removedBy, &loadStatus)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "not recorded in the catalog"
	case err != nil:
		return err.Error()
	case status != "live":
		return fmt.Sprintf("already removed (by load %s)", removedBy.String)
	case removedBy.Valid:
		return fmt.Sprintf("already being replaced by load %s", removedBy.String)
	case loadStatus != "published":
		return fmt.Sprintf("its load %s is %s, not published", owner, loadStatus)
	}
	return "not replaceable"
}

// retireReplaced runs inside MarkPublished's transaction: the files claimed
// by a compaction, or retired by a load that superseded all their rows,
// become 'removed' in the same instant the load's own files become visible.
// Other loads retire nothing; for them it costs two index lookups (the
// files table has no index on removed_by, so the update is only run for
// compactions and superseding loads).
func retireReplaced(ctx context.Context, tx *sql.Tx, loadID string) error {
	if ok, err := mayRetire(ctx, tx, loadID); err != nil || !ok {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE files SET status = 'removed' WHERE removed_by = ? AND status = 'live'`, loadID)
	return err
}
