package catalog

import (
	"context"
	"fmt"
)

// FilesAfter lists the files of table that readers see once load loadID is
// published: the live files of published loads, less those loadID replaced,
// plus loadID's own. With loadID empty (or already published) it is
// LiveFiles. A table format's snapshot of the lake is taken from it while
// the load is being published. Order: partition, path.
func (c *Catalog) FilesAfter(ctx context.Context, table, loadID string) ([]FileRecord, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT f.path, f.table_name, f."partition", f."rows", f.bytes, COALESCE(f.min_time, 0), COALESCE(f.max_time, 0)
FROM files f JOIN loads l ON l.load_id = f.load_id
WHERE f.status = 'live' AND f.table_name = ?
  AND (l.status = 'published' OR f.load_id = ?)
  AND (f.removed_by IS NULL OR f.removed_by <> ?)
ORDER BY f."partition", f.path`, table, loadID, loadID)
	if err != nil {
		return nil, fmt.Errorf("catalog: files of %q after load %s: %w", table, loadID, err)
	}
	defer rows.Close()
	var out []FileRecord
	for rows.Next() {
		var f FileRecord
		if err := rows.Scan(&f.Path, &f.Table, &f.Partition, &f.Rows, &f.Bytes, &f.MinTime, &f.MaxTime); err != nil {
			return nil, fmt.Errorf("catalog: files of %q after load %s: %w", table, loadID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: files of %q after load %s: %w", table, loadID, err)
	}
	return out, nil
}

// RemovedFilesOf lists the paths of table's files that are no longer part
// of the lake (replaced by a published compaction), sorted. Whether each is
// still on disk is for the caller to find out: the deletion of a replaced
// file may be deferred while a reader may still need it.
func (c *Catalog) RemovedFilesOf(ctx context.Context, table string) ([]string, error) {
	paths, err := queryStrings(ctx, c.db, `SELECT path FROM files WHERE status = 'removed' AND table_name = ? ORDER BY path`, table)
	if err != nil {
		return nil, fmt.Errorf("catalog: removed files of %q: %w", table, err)
	}
	return paths, nil
}

// LoadCommand returns the command recorded on a load ("" for a load the
// catalog does not know).
func (c *Catalog) LoadCommand(ctx context.Context, loadID string) (string, error) {
	cmds, err := queryStrings(ctx, c.db, `SELECT COALESCE(command, '') FROM loads WHERE load_id = ?`, loadID)
	if err != nil || len(cmds) == 0 {
		return "", err
	}
	return cmds[0], nil
}

// SupersededRowsOf returns, for each live file of table that holds
// superseded rows (of committed or published loads), how many it holds. A
// table format's position deletes of those rows are taken from it.
func (c *Catalog) SupersededRowsOf(ctx context.Context, table string) (map[string]int64, error) {
	rows, err := c.db.QueryContext(ctx, `
SELECT sf.path, sf."rows" FROM superseded_files sf JOIN files f ON f.path = sf.path
WHERE f.status = 'live' AND f.table_name = ? AND sf."rows" > 0`, table)
	if err != nil {
		return nil, fmt.Errorf("catalog: superseded rows of %q: %w", table, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, fmt.Errorf("catalog: superseded rows of %q: %w", table, err)
		}
		out[p] = n
	}
	return out, rows.Err()
}
