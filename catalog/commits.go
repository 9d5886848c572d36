package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// The catalog counts its commits (meta 'commits', incremented inside each
// Commit's transaction) and remembers the last committed load (meta
// 'last_commit'). Package lake compares them with the lake's own record of
// its commits to tell a catalog that does not describe the lake (lost, or
// restored from an older backup), and rebuilds a lost catalog through the
// methods below.

const (
	metaCommits    = "commits"
	metaLastCommit = "last_commit"
)

// commitCount returns the catalog's commit counter and last committed load.
func commitCount(ctx context.Context, q queryer) (int64, string, error) {
	var n int64
	var v, last string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaCommits).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	if err == nil {
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, "", fmt.Errorf("meta %s = %q is not a number", metaCommits, v)
		}
	}
	err = q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaLastCommit).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", err
	}
	return n, last, nil
}

// countCommit increments the commit counter inside a commit's transaction
// and returns its new value.
func countCommit(ctx context.Context, tx *sql.Tx, loadID string) (int64, error) {
	n, _, err := commitCount(ctx, tx)
	if err != nil {
		return 0, err
	}
	n++
	for _, kv := range [][2]string{{metaCommits, strconv.FormatInt(n, 10)}, {metaLastCommit, loadID}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, kv[0], kv[1]); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// CommitCount returns how many commits the catalog has recorded and the
// last committed load ("" when none).
func (c *Catalog) CommitCount(ctx context.Context) (int64, string, error) {
	n, last, err := commitCount(ctx, c.db)
	if err != nil {
		return 0, "", fmt.Errorf("catalog %s: commit count: %w", c.path, err)
	}
	return n, last, nil
}

// RaiseCommitCount raises the commit counter to at least n (a rebuilt
// catalog continues the count of the one it replaces).
func (c *Catalog) RaiseCommitCount(ctx context.Context, n int64) error {
	cur, _, err := commitCount(ctx, c.db)
	if err != nil || cur >= n {
		return err
	}
	_, err = c.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, metaCommits, strconv.FormatInt(n, 10))
	if err != nil {
		return fmt.Errorf("catalog %s: raise the commit count: %w", c.path, err)
	}
	return nil
}

// LoadCount returns the number of loads the catalog records, whatever
// their status.
func (c *Catalog) LoadCount(ctx context.Context) (int, error) {
	var n int
	if err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM loads`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog %s: count loads: %w", c.path, err)
	}
	return n, nil
}

// RemovedFiles lists the paths of every file a compaction replaced
// (status 'removed'), sorted.
func (c *Catalog) RemovedFiles(ctx context.Context) ([]string, error) {
	paths, err := queryStrings(ctx, c.db, `SELECT path FROM files WHERE status = 'removed' ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: removed files: %w", c.path, err)
	}
	return paths, nil
}
