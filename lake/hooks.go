package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/fsync"
	"github.com/eventlake/eventlake/partitions"
)

// A Hook is one step of publishing a committed transaction. Publishing
// hooks run after the catalog commit and before the load is marked
// published (they make its files readable: renamed into the lake's folders
// today; a table format's metadata or an object store's conditional writes
// are more of them); finishing hooks run after it (deleting the files a
// compaction replaced). A hook must be idempotent: after a crash, recovery
// runs it again from the start.
type Hook interface {
	Run(ctx context.Context, p *Publication) error
}

// Publication is a committed transaction being published.
type Publication struct {
	Layout  Layout
	Catalog *catalog.Catalog
	LoadID  string
	// Files are the catalog paths of the transaction's new files. A
	// finishing hook run by recovery for a published load gets none.
	Files []string
	// Published and Deleted count the files the hooks moved into the lake
	// and deleted from it, for reports.
	Published, Deleted int

	step func(string)
}

// Step marks a step of the protocol (a crash point); nothing in recovery.
func (p *Publication) Step(name string) {
	if p.step != nil {
		p.step(name)
	}
}

// StagingDir returns the transaction's staging folder.
func (p *Publication) StagingDir() string { return p.Layout.StagingDir(p.LoadID) }

func (w *Writer) publication(id string, files []string, step func(string)) *Publication {
	return &Publication{Layout: w.Layout, Catalog: w.Catalog, LoadID: id, Files: files, step: step}
}

func (w *Writer) runHooks(ctx context.Context, hooks []Hook, p *Publication) error {
	for _, h := range hooks {
		if err := h.Run(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// renameStaged publishes the staged files into the lake's folders by
// rename (partitions.PublishAll).
type renameStaged struct{}

func (renameStaged) Run(ctx context.Context, p *Publication) error {
	n, err := partitions.PublishAll(p.Layout.Root(), p.StagingDir(), p.Files, func() { p.Step("during-publish") })
	p.Published += n
	return err
}

// deleteRetired deletes from disk the files a published compaction
// replaced, or whose every row a published load superseded (the catalog's
// RetiredFiles; none for other loads), except those the writer's Keeper
// keeps.
type deleteRetired struct{ w *Writer }

func (d deleteRetired) Run(ctx context.Context, p *Publication) error {
	paths, err := p.Catalog.RetiredFiles(ctx, p.LoadID)
	if err != nil {
		return err
	}
	if d.w != nil && d.w.keep != nil && len(paths) > 0 {
		kept, err := d.w.keep.Keep(ctx, p, paths)
		if err != nil {
			return fmt.Errorf("deciding which replaced files readers still need: %w", err)
		}
		paths = slices.DeleteFunc(paths, func(path string) bool { return kept[path] })
	}
	if len(paths) == 0 {
		return nil
	}
	first := true
	n, err := DeleteFiles(ctx, p.Layout, paths, func(string) {
		if first {
			first = false
			p.Step("during-delete")
		}
	})
	p.Deleted += n
	if err != nil {
		return fmt.Errorf("deleting the replaced files failed (the next load or compaction retries): %w", err)
	}
	p.Step("after-delete")
	return nil
}

// DeleteFiles deletes the lake files at paths (catalog paths: relative,
// '/'-separated), skipping files that are already gone, then fsyncs each
// directory it deleted from so the deletions survive a crash. It refuses
// paths that do not stay inside the lake's table area. after, when non-nil,
// is called after each deletion. It returns the number of files deleted. It
// never touches a path the catalog holds as live: a path is the files
// table's primary key, so a removed file's path can never be reused by a
// live file.
func DeleteFiles(ctx context.Context, l Layout, paths []string, after func(path string)) (int, error) {
	deleted := 0
	dirs := make(map[string]bool)
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		if err := catalog.CheckFilePath(p); err != nil {
			return deleted, fmt.Errorf("delete replaced file: %w", err)
		}
		abs := l.File(p)
		err := os.Remove(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("delete replaced file %s: %w", p, err)
		}
		deleted++
		dirs[filepath.Dir(abs)] = true
		if after != nil {
			after(p)
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := fsync.Dir(d); err != nil {
			return deleted, fmt.Errorf("delete replaced files: sync directory %s: %w", d, err)
		}
	}
	return deleted, removeEmptied(l, sorted)
}

// removeEmptied removes the partition folders that deleting files left
// empty (an expired partition leaves no folder for engines that list the
// lake), walking up to, but never removing, a table's folder, then fsyncs
// the folders they were removed from. A folder that still holds anything
// stays. Only a writer holding the lake's lock deletes files, so no load
// is publishing into the folders meanwhile.
func removeEmptied(l Layout, dirs []string) error {
	root := filepath.Clean(l.Root())
	removed := map[string]bool{}
	parents := map[string]bool{}
	for _, d := range dirs {
		for {
			rel, err := filepath.Rel(root, d)
			if err != nil || rel == "." || !filepath.IsLocal(rel) || !strings.Contains(rel, string(filepath.Separator)) {
				break // the table's folder (or outside the lake): kept
			}
			if err := os.Remove(d); err != nil {
				break // not empty (or already gone)
			}
			removed[d] = true
			d = filepath.Dir(d)
			parents[d] = true
		}
	}
	sorted := make([]string, 0, len(parents))
	for d := range parents {
		if !removed[d] {
			sorted = append(sorted, d)
		}
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := fsync.Dir(d); err != nil {
			return fmt.Errorf("delete replaced files: sync directory %s: %w", d, err)
		}
	}
	return nil
}
