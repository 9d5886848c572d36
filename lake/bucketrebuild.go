package lake

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/catalog"
)

// rebuildBucket rebuilds the catalog of a lake in a bucket from its commit
// log alone: every entry from the first, replayed into a new catalog (no
// checkpoint is read), which then becomes the checkpoint of the last entry
// (replacing a damaged or lost one). Under the writer lease. The log
// entries are the lake's manifests, so nothing else is needed; live files
// missing from the bucket are reported, as are table files no live file
// names (orphans, see check and repair). A dry run takes no lease and
// writes nothing.
func rebuildBucket(ctx context.Context, loc Location, o RebuildOptions) (*RebuildReport, error) {
	if o.CatalogPath != "" {
		return nil, fmt.Errorf("catalog rebuild: --catalog does not apply to a lake in a bucket (its catalog is kept in the bucket)")
	}
	store, err := OpenStore(ctx, loc)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	var ls *lease
	if !o.DryRun { // a dry run only reads: read access suffices
		if ls, err = acquireLease(ctx, store, o.LockWait, "catalog rebuild"); err != nil {
			return nil, err
		}
		defer ls.Release()
	}
	dir, err := os.MkdirTemp("", "eventlake-rebuild-*")
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	defer os.RemoveAll(dir)
	cache := &cacheDir{root: dir, temp: true}
	if err := ensureDir(At(dir).MetaDir()); err != nil {
		return nil, err
	}
	cat, err := catalog.Open(At(dir).CatalogPath(), catalog.Options{})
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	defer cat.Close()
	seq, err := replayLog(ctx, store, cat, cache, 0)
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	rep := &RebuildReport{DryRun: o.DryRun, Catalog: store.URL() + " " + checkpointKey(seq), Loads: int(seq),
		Missing: []string{}, Untracked: []string{}, Uncommitted: []string{}}
	st, err := cat.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	rep.Objects, rep.Files, rep.Rows, rep.Rejects = st.Objects, st.Files, st.Rows, st.Rejects
	live, err := cat.LiveFiles(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("catalog rebuild: %w", err)
	}
	inBucket := map[string]bool{}
	if err := store.List(ctx, "", "", func(o ObjectInfo) error {
		if !strings.HasPrefix(o.Key, metaPrefix) {
			inBucket[o.Key] = true
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("catalog rebuild: list %s: %w", store.URL(), err)
	}
	named := map[string]bool{}
	for _, f := range live {
		named[f.Path] = true
		if !inBucket[f.Path] {
			rep.Missing = append(rep.Missing, f.Path)
		}
	}
	for k := range inBucket {
		if !named[k] && strings.HasSuffix(k, ".parquet") {
			rep.Untracked = append(rep.Untracked, k)
		}
	}
	sort.Strings(rep.Missing)
	sort.Strings(rep.Untracked)
	if o.DryRun || seq == 0 {
		return rep, nil
	}
	b := &bucketLake{store: store, seq: seq, lease: ls, every: checkpointEvery(), cache: cache}
	if err := ls.Renew(ctx); err != nil {
		return nil, err
	}
	if err := b.writeCheckpoint(ctx, cat, seq); err != nil {
		return nil, fmt.Errorf("catalog rebuild: write checkpoint %d: %w", seq, err)
	}
	return rep, nil
}
