package icetable

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
)

// WriterOptions are the lake.OpenWriter options that keep t in step with
// the lake: a publishing hook committing each transaction's snapshot, the
// retention of replaced files while a retained snapshot lists them, and a
// finishing hook expiring old snapshots and deleting the files no retained
// snapshot lists any more.
func (t *Table) WriterOptions() []lake.Option { return WriterOptions(t) }

// WriterOptions are the lake.OpenWriter options that keep every table of
// ts in step, each committing its own snapshot; a replaced file is kept
// while a retained snapshot of any of them lists it.
func WriterOptions(ts ...*Table) []lake.Option {
	var out []lake.Option
	for _, t := range ts {
		out = append(out, lake.WithPublishHook(publishHook{t}))
	}
	out = append(out, lake.WithRetention(keeper{ts: ts}))
	for _, t := range ts {
		out = append(out, lake.WithFinishHook(expireHook{t}))
	}
	return out
}

// publishHook commits the snapshot of the lake as it is once the
// transaction is published.
type publishHook struct{ t *Table }

func (h publishHook) Run(ctx context.Context, p *lake.Publication) error {
	files, err := p.Catalog.FilesAfter(ctx, h.t.name, p.LoadID)
	if err != nil {
		return err
	}
	cmd, err := p.Catalog.LoadCommand(ctx, p.LoadID)
	if err != nil {
		return err
	}
	sup, err := SupersededOf(ctx, p.Catalog, h.t.name)
	if err != nil {
		return err
	}
	if _, err := h.t.Sync(ctx, files, sup, p.LoadID, cmd == catalog.CompactCommand, p.Step); err != nil {
		return fmt.Errorf("iceberg table %s: %w", h.t.name, err)
	}
	return nil
}

// keeper keeps the replaced files that a snapshot of one of the tables
// (and of the CSV tables, when kept) lists.
type keeper struct {
	ts  []*Table
	csv *csvTables
}

func (k keeper) Keep(ctx context.Context, p *lake.Publication, paths []string) (map[string]bool, error) {
	kept := map[string]bool{}
	ts := k.ts
	if k.csv != nil {
		more, err := k.csv.list(ctx, p)
		if err != nil {
			return nil, err
		}
		ts = append(slices.Clone(ts), more...)
	}
	for _, t := range ts {
		listed, err := t.retainedFiles(ctx)
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			if listed[t.location(path)] {
				kept[path] = true
			}
		}
	}
	return kept, nil
}

// retainedFiles lists the data files of every snapshot the metadata holds.
func (t *Table) retainedFiles(ctx context.Context) (map[string]bool, error) {
	tbl, err := t.Load(ctx)
	if err != nil || tbl == nil {
		return map[string]bool{}, err
	}
	files := map[string]iceberg.DataFile{}
	for i := range tbl.Metadata().Snapshots() {
		if err := t.snapshotFiles(&tbl.Metadata().Snapshots()[i], files); err != nil {
			return nil, err
		}
	}
	out := make(map[string]bool, len(files))
	for p := range files {
		out[p] = true
	}
	return out, nil
}

// expireHook runs Expire after each publication.
type expireHook struct{ t *Table }

func (h expireHook) Run(ctx context.Context, p *lake.Publication) error {
	n, err := h.t.Expire(ctx, p, time.Now())
	p.Deleted += n
	if err != nil {
		return fmt.Errorf("iceberg table %s: %w", h.t.name, err)
	}
	return nil
}

// Expire drops the snapshots that stopped being current more than the
// retention window before now (never the current one), then deletes from
// disk the files the catalog no longer holds as live that no retained
// snapshot lists, and sweeps the metadata folder (see retention.go). It
// returns the number of lake files deleted. Steps (crash points):
// iceberg-after-expire, iceberg-during-sweep, then lake.DeleteFiles's.
func (t *Table) Expire(ctx context.Context, p *lake.Publication, now time.Time) (int, error) {
	tbl, err := t.Load(ctx)
	if err != nil || tbl == nil {
		return 0, err
	}
	old := t.expirable(tbl, now)
	if len(old) > 0 {
		cur := tbl.CurrentSnapshot().SnapshotID
		reqs := []table.Requirement{table.AssertRefSnapshotID(table.MainBranch, &cur)}
		if _, _, err := (catalogIO{t}).CommitTable(ctx, t.ident(), reqs,
			[]table.Update{table.NewRemoveSnapshotsUpdate(old, false)}); err != nil {
			return 0, fmt.Errorf("expire snapshots: %w", err)
		}
		p.Step(t.stepName("after-expire"))
	}
	if _, err := t.sweep(ctx, len(old) > 0, func(s string) { p.Step(t.stepName(s)) }); err != nil {
		return 0, err
	}
	removed, err := p.Catalog.RemovedFilesOf(ctx, t.name)
	if err != nil {
		return 0, err
	}
	if t.bucket != nil {
		return t.expireInBucket(ctx, removed)
	}
	var onDisk []string
	for _, path := range removed {
		_, err := os.Lstat(t.layout.File(path))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		onDisk = append(onDisk, path)
	}
	if len(onDisk) == 0 {
		return 0, nil
	}
	listed, err := t.retainedFiles(ctx)
	if err != nil {
		return 0, err
	}
	var doomed []string
	for _, path := range onDisk {
		if !listed[t.layout.File(path)] {
			doomed = append(doomed, path)
		}
	}
	return lake.DeleteFiles(ctx, t.layout, doomed, nil)
}

// expireInBucket deletes from a bucket lake the removed files that no
// retained snapshot lists, finding which are still there with one listing
// of the table's folder.
func (t *Table) expireInBucket(ctx context.Context, removed []string) (int, error) {
	if len(removed) == 0 {
		return 0, nil
	}
	listed, err := t.retainedFiles(ctx)
	if err != nil {
		return 0, err
	}
	var doomed []string
	for _, path := range removed {
		if err := catalog.CheckFilePath(path); err != nil {
			return 0, err
		}
		if !listed[t.location(path)] {
			doomed = append(doomed, path)
		}
	}
	if len(doomed) == 0 {
		return 0, nil
	}
	return removeListed(ctx, t.bucket, t.name+"/", doomed)
}

// expirable lists the snapshots that stopped being current (their
// successor was committed) more than the retention window before now. A
// snapshot's own timestamp is not the measure: a reader may have started
// from it just before it was replaced.
func (t *Table) expirable(tbl *table.Table, now time.Time) []int64 {
	snaps := slices.Clone(tbl.Metadata().Snapshots())
	slices.SortFunc(snaps, func(a, b table.Snapshot) int { return cmp.Compare(a.SequenceNumber, b.SequenceNumber) })
	cur := tbl.CurrentSnapshot()
	var out []int64
	for i := 0; i+1 < len(snaps); i++ {
		if cur != nil && snaps[i].SnapshotID == cur.SnapshotID {
			continue
		}
		if now.Sub(time.UnixMilli(snaps[i+1].TimestampMs)) > t.retention {
			out = append(out, snaps[i].SnapshotID)
		}
	}
	return out
}
