package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/eventlake/eventlake/partitions"
)

// interruptedError is the error recorded on loads discarded by Recover.
const interruptedError = "interrupted; discarded by recovery"

// RecoveryReport says what Recover did, for logging.
type RecoveryReport struct {
	Aborted        int // running loads discarded
	Completed      int // committed loads published
	FilesPublished int // staged files moved into the lake
	StrayDirs      int // leftover staging entries removed (no load row, or a finished load)
	// ReplacedDeleted counts files replaced by a compaction that were still
	// on disk and have been deleted.
	ReplacedDeleted int
}

// Recover must be called with the lock held.
//
// It finishes or discards every interrupted load: a 'running' load (the
// writer died before its commit) has its staging directory deleted and
// becomes 'aborted'; a 'committed' load (the writer died while publishing)
// has each live file published (idempotent) and becomes 'published'. Then
// every remaining entry of the staging area is removed: directories of
// unknown, aborted, failed or published loads are never needed again —
// except that a compaction keeps its staging directory until the files it
// replaced are deleted from disk, so before removing the directory of a
// published compaction Recover deletes whatever of those files is left. Each
// step is idempotent, so a crash during Recover is repaired by the next one.
func Recover(ctx context.Context, c *Catalog, lakeDir string) (RecoveryReport, error) {
	var rep RecoveryReport
	if c.readOnly {
		return rep, fmt.Errorf("catalog: recover %s: catalog is open read-only", lakeDir)
	}

	running, err := c.loadsWithStatus(ctx, "running")
	if err != nil {
		return rep, fmt.Errorf("catalog: recover: %w", err)
	}
	for _, id := range running {
		if err := os.RemoveAll(partitions.StagingDir(lakeDir, id)); err != nil {
			return rep, fmt.Errorf("catalog: recover: discard staging of interrupted load %s: %w", id, err)
		}
		res, err := c.db.ExecContext(ctx,
			`UPDATE loads SET status = 'aborted', error = ?, finished_at = ? WHERE load_id = ? AND status = 'running'`,
			interruptedError, time.Now().UnixMicro(), id)
		if err != nil {
			return rep, fmt.Errorf("catalog: recover: abort load %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			rep.Aborted++
		}
	}

	committed, err := c.loadsWithStatus(ctx, "committed")
	if err != nil {
		return rep, fmt.Errorf("catalog: recover: %w", err)
	}
	for _, id := range committed {
		paths, err := c.loadFiles(ctx, id)
		if err != nil {
			return rep, fmt.Errorf("catalog: recover: files of load %s: %w", id, err)
		}
		staging := partitions.StagingDir(lakeDir, id)
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		moved, err := partitions.PublishAll(lakeDir, id, paths, nil)
		rep.FilesPublished += moved
		if err != nil {
			return rep, fmt.Errorf("catalog: recover: committed load %s: %w", id, err)
		}
		if err := c.MarkPublished(ctx, id); err != nil {
			return rep, fmt.Errorf("catalog: recover: %w", err)
		}
		n, err := c.deleteReplaced(ctx, lakeDir, id)
		rep.ReplacedDeleted += n
		if err != nil {
			return rep, fmt.Errorf("catalog: recover: %w", err)
		}
		if err := os.RemoveAll(staging); err != nil {
			return rep, fmt.Errorf("catalog: recover: remove staging of load %s: %w", id, err)
		}
		rep.Completed++
	}

	n, err := c.removeStrays(ctx, lakeDir, &rep)
	rep.StrayDirs = n
	if err != nil {
		return rep, fmt.Errorf("catalog: recover: %w", err)
	}
	return rep, nil
}

// removeStrays deletes every staging entry that does not belong to a running
// or committed load. Under the lock and after the two recovery passes there
// are none of those left, so this empties the staging area; the status check
// is a guard against a caller that forgot the lock. The directory of a
// published compaction is only removed once the files it replaced are gone.
func (c *Catalog) removeStrays(ctx context.Context, lakeDir string, rep *RecoveryReport) (int, error) {
	root := filepath.Dir(partitions.StagingDir(lakeDir, "x"))
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list staging %s: %w", root, err)
	}
	removed := 0
	for _, e := range entries {
		var status string
		err := c.db.QueryRowContext(ctx, `SELECT status FROM loads WHERE load_id = ?`, e.Name()).Scan(&status)
		if err == nil && (status == "running" || status == "committed") {
			continue
		}
		if err == nil && status == "published" {
			n, err := c.deleteReplaced(ctx, lakeDir, e.Name())
			rep.ReplacedDeleted += n
			if err != nil {
				return removed, err
			}
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return removed, fmt.Errorf("remove stray staging %s: %w", filepath.Join(root, e.Name()), err)
		}
		removed++
	}
	return removed, nil
}

func (c *Catalog) loadsWithStatus(ctx context.Context, status string) ([]string, error) {
	ids, err := queryStrings(ctx, c.db, `SELECT load_id FROM loads WHERE status = ? ORDER BY started_at, load_id`, status)
	if err != nil {
		return nil, fmt.Errorf("list %s loads: %w", status, err)
	}
	return ids, nil
}

func (c *Catalog) loadFiles(ctx context.Context, loadID string) ([]string, error) {
	return queryStrings(ctx, c.db, `SELECT path FROM files WHERE load_id = ? AND status = 'live' ORDER BY path`, loadID)
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
