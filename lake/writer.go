package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	// keep, when set, holds back replaced files that a reader may still
	// need (see WithRetention).
	keep Keeper
	// bucket is the bucket of a lake kept in one (nil for a folder): the
	// Layout is then a local cache folder holding the cached catalog and
	// the local staging.
	bucket *bucketLake
}

// An Option adds to what OpenWriter's writer does. Options take effect
// before recovery, so a transaction a crash interrupted is finished by the
// same hooks as one that runs to its end.
type Option func(*Writer)

// WithPublishHook adds a publishing hook, run after the transaction's files
// are in the lake's folders and before the load is marked published (e.g.
// committing a table format's snapshot of the new file set).
func WithPublishHook(h Hook) Option { return func(w *Writer) { w.publish = append(w.publish, h) } }

// WithFinishHook adds a finishing hook, run after the load is marked
// published and after the replaced files are deleted. Recovery also runs it
// for a published load whose staging folder is still there.
func WithFinishHook(h Hook) Option { return func(w *Writer) { w.finish = append(w.finish, h) } }

// A Keeper holds back files a compaction (or any later writer) replaced
// while a reader may still need them: Keep returns the subset of paths
// (catalog paths, no longer live) that must stay on disk for now. Whoever
// keeps a file deletes it later (see DeleteFiles).
type Keeper interface {
	Keep(ctx context.Context, p *Publication, paths []string) (map[string]bool, error)
}

// WithRetention makes the deletion of replaced files skip the files k
// keeps.
func WithRetention(k Keeper) Option { return func(w *Writer) { w.keep = k } }

// OpenWriter takes the lake's writer lock (waiting up to wait), opens the
// catalog at catalogPath (the layout's default when empty) and runs
// Recover (with the hooks opts add), then brings the lake state up to the
// catalog.
//
// It refuses a catalog that does not describe the lake (writing with it
// would load again what the lake already holds): a missing or empty catalog
// of a lake that has files (ErrNoCatalog), and a catalog older than the
// lake state (ErrStaleCatalog); the errors name the command that rebuilds
// the catalog. Nothing is written before those checks.
//
// A root that is a bucket URL (s3://, gs://) opens the lake in the bucket:
// the writer lease instead of the lock, the catalog synced from the
// bucket's commit log into a local cache, and the recovery of the bucket's
// staging area (see bucket.go).
func OpenWriter(ctx context.Context, root, catalogPath string, wait time.Duration, command string, opts ...Option) (*Writer, RecoveryReport, error) {
	loc, err := ParseLocation(root)
	if err != nil {
		return nil, RecoveryReport{}, err
	}
	if loc.IsBucket() {
		return openBucketWriter(ctx, loc, catalogPath, wait, command, opts...)
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
	if _, err := os.Stat(catalogPath); errors.Is(err, fs.ErrNotExist) {
		if err := CheckMissing(abs, catalogPath); err != nil {
			lock.Release()
			return nil, RecoveryReport{}, err
		}
	}
	cat, err := catalog.Open(catalogPath, catalog.Options{})
	if err != nil {
		lock.Release()
		return nil, RecoveryReport{}, err
	}
	if err := CheckCatalog(ctx, cat, abs); err != nil {
		cat.Close()
		lock.Release()
		return nil, RecoveryReport{}, err
	}
	w := newWriter(cat, layout)
	w.lock = lock
	for _, o := range opts {
		o(w)
	}
	rep, err := w.recover(ctx)
	if err == nil {
		err = writeLakeState(ctx, cat, layout)
	}
	if err != nil {
		cat.Close()
		lock.Release()
		return nil, rep, fmt.Errorf("recovering interrupted loads: %w", err)
	}
	return w, rep, nil
}

// newWriter returns a writer over an open catalog with the lake's hooks:
// files, then the load's manifest, are published by rename into the lake's
// folders; once the load is published the lake state catches up with the
// catalog and the files a compaction replaced are deleted.
func newWriter(cat *catalog.Catalog, layout Layout) *Writer {
	w := &Writer{Catalog: cat, Layout: layout, publish: []Hook{renameStaged{}, publishManifest{}}}
	w.finish = []Hook{updateLakeState{}, deleteRetired{w: w}}
	return w
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
