package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/eventlake/eventlake/catalog"
)

// interruptedReason is the error recorded on loads discarded by Recover.
const interruptedReason = "interrupted; discarded by recovery"

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

// Recover must be called with the lock held; OpenWriter calls it.
//
// It finishes or discards every interrupted load: a 'running' load (the
// writer died before its commit) has its staging directory deleted and
// becomes 'aborted'; a 'committed' load (the writer died while publishing)
// is published by the same hooks as a transaction's commit (idempotent) and
// becomes 'published'. Then every remaining entry of the staging area is
// removed: directories of unknown, aborted, failed or published loads are
// never needed again — except that a compaction keeps its staging directory
// until the files it replaced are deleted from disk, so before removing the
// directory of a published load Recover runs the finishing hooks (which
// delete whatever of those files is left). Each step is idempotent, so a
// crash during Recover is repaired by the next one.
func Recover(ctx context.Context, c *catalog.Catalog, root string) (RecoveryReport, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return RecoveryReport{}, fmt.Errorf("lake: recover %s: %w", root, err)
	}
	return newWriter(c, At(abs)).recover(ctx)
}

func (w *Writer) recover(ctx context.Context) (RecoveryReport, error) {
	var rep RecoveryReport
	c, l := w.Catalog, w.Layout
	if c.ReadOnly() {
		return rep, fmt.Errorf("lake: recover %s: catalog is open read-only", l.Root())
	}

	running, err := c.LoadsWithStatus(ctx, "running")
	if err != nil {
		return rep, fmt.Errorf("lake: recover: %w", err)
	}
	for _, id := range running {
		if err := os.RemoveAll(l.StagingDir(id)); err != nil {
			return rep, fmt.Errorf("lake: recover: discard staging of interrupted load %s: %w", id, err)
		}
		aborted, err := c.AbortLoad(ctx, id, interruptedReason)
		if err != nil {
			return rep, fmt.Errorf("lake: recover: %w", err)
		}
		if aborted {
			rep.Aborted++
		}
	}

	committed, err := c.LoadsWithStatus(ctx, "committed")
	if err != nil {
		return rep, fmt.Errorf("lake: recover: %w", err)
	}
	for _, id := range committed {
		paths, err := c.LoadFiles(ctx, id)
		if err != nil {
			return rep, fmt.Errorf("lake: recover: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		p, err := w.publishCommitted(ctx, id, paths, nil)
		rep.FilesPublished += p.Published
		rep.ReplacedDeleted += p.Deleted
		if err != nil {
			return rep, fmt.Errorf("lake: recover: committed load %s: %w", id, err)
		}
		rep.Completed++
	}

	n, err := w.removeStrays(ctx, &rep)
	rep.StrayDirs = n
	if err != nil {
		return rep, fmt.Errorf("lake: recover: %w", err)
	}
	return rep, nil
}

// removeStrays deletes every staging entry that does not belong to a running
// or committed load. Under the lock and after the two recovery passes there
// are none of those left, so this empties the staging area; the status check
// is a guard against a caller that forgot the lock. The directory of a
// published load is only removed once its finishing hooks have run (a
// compaction's replaced files are gone).
func (w *Writer) removeStrays(ctx context.Context, rep *RecoveryReport) (int, error) {
	root := w.Layout.StagingRoot()
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list staging %s: %w", root, err)
	}
	removed := 0
	for _, e := range entries {
		status, err := w.Catalog.LoadStatus(ctx, e.Name())
		if err != nil {
			return removed, err
		}
		if status == "running" || status == "committed" {
			continue
		}
		if status == "published" {
			p := w.publication(e.Name(), nil, nil)
			err := w.runHooks(ctx, w.finish, p)
			rep.ReplacedDeleted += p.Deleted
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
