package compact

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
)

// A lake in a bucket is compacted by the same protocol: the writer (the
// lease, the catalog synced from the bucket's log) plans from its catalog;
// the files of each partition to read are downloaded into a temporary
// folder first (a partition already compacted is not downloaded); the
// merged files are staged locally, uploaded to the bucket's staging area
// and committed by the log entry; the publish hook copies them to their
// keys and the finish hook deletes the replaced files, after the commit
// (recovery finishes either from the log).
//
// The crash points of a compaction in a bucket add the bucket's own
// (compact-bucket-during-upload, compact-bucket-after-upload,
// compact-bucket-after-log, compact-bucket-after-finish,
// compact-bucket-after-checkpoint) to those above; compact-during-delete
// and compact-after-delete are the deletion of the replaced objects.

func inBucket(root string) bool {
	loc, err := lake.ParseLocation(root)
	return err == nil && loc.IsBucket()
}

// runBucket compacts (or plans, in a dry run) a lake in a bucket.
func runBucket(ctx context.Context, o Options, only map[string]bool, start time.Time) (*Summary, error) {
	if o.CatalogPath != "" {
		return nil, fmt.Errorf("lake %s: --catalog does not apply to a lake in a bucket (its catalog is kept in the bucket)", o.Lake)
	}
	tmp, err := os.MkdirTemp("", "eventlake-compact-")
	if err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	defer os.RemoveAll(tmp)
	o.root = tmp
	sum := &Summary{DryRun: o.DryRun, Details: []Partition{}, Damaged: []DamagedPartition{}}
	if o.DryRun {
		loc, err := lake.ParseLocation(o.Lake)
		if err != nil {
			return nil, err
		}
		cat, store, _, closeLake, err := lake.OpenBucketReader(ctx, loc)
		if err != nil {
			return nil, err
		}
		defer closeLake()
		o.fetch = func(ctx context.Context, files []catalog.LiveFile) (int64, error) {
			n, _, err := lake.DownloadFiles(ctx, store, tmp, records(files))
			return n, err
		}
		return dryRun(ctx, cat, o, only, sum, start)
	}
	w, rep, err := lake.OpenWriter(ctx, o.Lake, "", o.LockWait, catalog.CompactCommand, o.WriterOptions...)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	o.fetch = func(ctx context.Context, files []catalog.LiveFile) (int64, error) {
		n, _, err := w.Download(ctx, tmp, records(files))
		return n, err
	}
	return compactWith(ctx, w, rep, o, only, sum, start)
}

func records(files []catalog.LiveFile) []catalog.FileRecord {
	out := make([]catalog.FileRecord, len(files))
	for i, f := range files {
		out[i] = f.FileRecord
	}
	return out
}
