package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The queries below are what recovery (package lake) needs to finish or
// discard the loads a crash interrupted.

// LoadsWithStatus lists the IDs of the loads with the given status
// ('running', 'committed', …), oldest first.
func (c *Catalog) LoadsWithStatus(ctx context.Context, status string) ([]string, error) {
	ids, err := queryStrings(ctx, c.db, `SELECT load_id FROM loads WHERE status = ? ORDER BY started_at, load_id`, status)
	if err != nil {
		return nil, fmt.Errorf("catalog: list %s loads: %w", status, err)
	}
	return ids, nil
}

// LoadStatus returns the status of a load, or "" when the catalog has no
// such load.
func (c *Catalog) LoadStatus(ctx context.Context, loadID string) (string, error) {
	var status string
	err := c.db.QueryRowContext(ctx, `SELECT status FROM loads WHERE load_id = ?`, loadID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("catalog: status of load %s: %w", loadID, err)
	}
	return status, nil
}

// LoadFiles lists the paths of the live files a load wrote, sorted.
func (c *Catalog) LoadFiles(ctx context.Context, loadID string) ([]string, error) {
	paths, err := queryStrings(ctx, c.db, `SELECT path FROM files WHERE load_id = ? AND status = 'live' ORDER BY path`, loadID)
	if err != nil {
		return nil, fmt.Errorf("catalog: files of load %s: %w", loadID, err)
	}
	return paths, nil
}

// AbortLoad marks a running load aborted with reason (recovery discards a
// load its writer did not live to commit). It reports whether the load was
// running; a load in any other state is left as it is.
func (c *Catalog) AbortLoad(ctx context.Context, loadID, reason string) (bool, error) {
	res, err := c.db.ExecContext(ctx,
		`UPDATE loads SET status = 'aborted', error = ?, finished_at = ? WHERE load_id = ? AND status = 'running'`,
		reason, time.Now().UnixMicro(), loadID)
	if err != nil {
		return false, fmt.Errorf("catalog: abort load %s: %w", loadID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RetiredFiles lists the paths of the files a published load replaced (a
// compaction) or retired (a load that superseded all their rows): they are
// 'removed' and only wait to be deleted from disk. Sorted; empty for other
// loads and for a load the catalog does not know.
func (c *Catalog) RetiredFiles(ctx context.Context, loadID string) ([]string, error) {
	if ok, err := mayRetire(ctx, c.db, loadID); err != nil || !ok {
		if err != nil {
			return nil, fmt.Errorf("catalog: files replaced by load %s: %w", loadID, err)
		}
		return nil, nil
	}
	paths, err := queryStrings(ctx, c.db, `SELECT path FROM files WHERE removed_by = ? AND status = 'removed' ORDER BY path`, loadID)
	if err != nil {
		return nil, fmt.Errorf("catalog: files replaced by load %s: %w", loadID, err)
	}
	return paths, nil
}

// queryStrings runs a query returning one text column and collects it.
func queryStrings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
