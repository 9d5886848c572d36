package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/lakepath"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// bucketFiles are the files of a lake in a bucket, as check reads them:
// listed once, before the catalog is synced from the commit log (a load
// copies its files to their keys only after its log entry, so no file it
// wrote is taken for an orphan), and each live file downloaded to a
// temporary file, verified and removed. Nothing is written to the bucket
// and no lease is taken: read access suffices.
type bucketFiles struct {
	url    string
	store  lk.ObjectStore
	cat    *catalog.Catalog
	listed []orphanEntry
	tmp    string
	done   func()
}

// openBucketFiles opens the lake named by lake (or the config file's lake)
// when it is in a bucket; for a lake in a folder it returns nil.
func openBucketFiles(ctx context.Context, lake, catalogFlag, configPath string) (*bucketFiles, error) {
	if configPath != "" {
		cfg, err := config.Load(configPath)
		if err != nil {
			return nil, usageError{err}
		}
		lake = first(lake, cfg.Lake)
	}
	if lake == "" {
		return nil, nil
	}
	loc, err := parseLake(lake)
	if err != nil || !loc.IsBucket() {
		return nil, err
	}
	if catalogFlag != "" {
		return nil, usagef("--catalog does not apply to a lake in a bucket (%s): its catalog is kept in the bucket", lake)
	}
	store, err := lk.OpenStore(ctx, loc)
	if err != nil {
		return nil, err
	}
	b := &bucketFiles{url: store.URL(), store: store}
	if b.listed, err = listTableKeys(ctx, store); err != nil {
		store.Close()
		return nil, err
	}
	cat, _, root, cleanup, err := lk.OpenBucketReader(ctx, loc)
	if err != nil {
		store.Close()
		return nil, err
	}
	b.cat, b.tmp = cat, filepath.Join(root, ".verify")
	b.done = func() { cleanup(); store.Close() }
	if err := os.MkdirAll(b.tmp, 0o755); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bucketFiles) close() { b.done() }

func (b *bucketFiles) name() string { return b.url }

func (b *bucketFiles) tableFiles(context.Context) ([]orphanEntry, error) { return b.listed, nil }

func (b *bucketFiles) verify(ctx context.Context, f catalog.FileRecord) error {
	tmp, err := os.CreateTemp(b.tmp, "file-*.parquet")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = b.store.Download(ctx, f.Path, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, lk.ErrNotExist) {
		return &partitions.FileProblem{Path: f.Path, Kind: partitions.ProblemMissing, Detail: "missing in the bucket"}
	}
	if err != nil {
		return err
	}
	return partitions.VerifyFile(tmp.Name(), f.Bytes, f.Checksum)
}

// listTableKeys lists the objects of a bucket lake's table folders, as
// tableFiles lists a folder's: not under _eventlake/, and no path segment
// below the table's starting with '.' or '_'.
func listTableKeys(ctx context.Context, store lk.ObjectStore) ([]orphanEntry, error) {
	var out []orphanEntry
	err := store.List(ctx, "", "", func(o lk.ObjectInfo) error {
		segs := strings.Split(o.Key, "/")
		if len(segs) < 2 || segs[0] == lakepath.MetaDir || strings.HasPrefix(segs[0], ".") {
			return nil
		}
		for _, s := range segs[1:] {
			if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "_") {
				return nil
			}
		}
		out = append(out, orphanEntry{Path: o.Key, Bytes: o.Size})
		return nil
	})
	return out, err
}
