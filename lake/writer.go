package lake

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/eventlake/eventlake/catalog"
)

// Writer is a lake opened for writing, as loads and compactions need it:
// the writer lock held, the catalog open, and the work interrupted by an
// earlier crash finished or discarded.
type Writer struct {
	*catalog.Catalog
	Layout Layout
	lock   *Lock
	// publish and finish are the steps that make a committed transaction
	// visible (before it is marked published) and clean up after it (after
	// that); recovery runs the same ones.
	publish, finish []Hook
	// bucket is the bucket of a lake kept in one (nil for a folder): the
	// Layout is then a local cache folder holding the cached catalog and
	// the local staging.
	bucket *bucketLake
}

// OpenWriter takes the lake's writer lock (waiting up to wait), opens the
// catalog at catalogPath (the layout's default when empty) and runs
// Recover.
//
// A root that is a bucket URL (s3://, gs://) opens the lake in the bucket:
// the writer lease instead of the lock, the catalog synced from the
// bucket's commit log into a local cache, and the recovery of the bucket's
// staging area (see bucket.go).
func OpenWriter(ctx context.Context, root, catalogPath string, wait time.Duration, command string) (*Writer, RecoveryReport, error) {
	loc, err := ParseLocation(root)
	if err != nil {
		return nil, RecoveryReport{}, err
	}
	if loc.IsBucket() {
		return openBucketWriter(ctx, loc, catalogPath, wait, command)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, RecoveryReport{}, fmt.Errorf("lake %s: %w", root, err)
	}
	layout := At(abs)
	if catalogPath == "" {
		catalogPath = layout.CatalogPath()
	}
	lock, err := AcquireLock(abs, wait, command)
	if err != nil {
		return nil, RecoveryReport{}, err
	}
	cat, err := catalog.Open(catalogPath, catalog.Options{})
	if err != nil {
		lock.Release()
		return nil, RecoveryReport{}, err
	}
	w := newWriter(cat, layout)
	w.lock = lock
	rep, err := w.recover(ctx)
	if err != nil {
		cat.Close()
		lock.Release()
		return nil, rep, fmt.Errorf("recovering interrupted loads: %w", err)
	}
	return w, rep, nil
}

// newWriter returns a writer over an open catalog with the lake's hooks:
// files are published by rename into the lake's folders, and the files a
// compaction replaced are deleted once it is published.
func newWriter(cat *catalog.Catalog, layout Layout) *Writer {
	return &Writer{Catalog: cat, Layout: layout,
		publish: []Hook{renameStaged{}},
		finish:  []Hook{deleteRetired{}}}
}

// Bucket returns the URL of the bucket the lake lives in, or "" for a lake
// in a folder.
func (w *Writer) Bucket() string {
	if w.bucket == nil {
		return ""
	}
	return w.bucket.store.URL()
}

// Close closes the catalog, then releases the lock (or the lease).
func (w *Writer) Close() error {
	err := w.Catalog.Close()
	if b := w.bucket; b != nil {
		if lerr := b.lease.Release(); err == nil {
			err = lerr
		}
		b.store.Close()
		b.cache.close()
	}
	if w.lock != nil {
		if lerr := w.lock.Release(); err == nil {
			err = lerr
		}
	}
	return err
}
