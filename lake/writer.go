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
}

// OpenWriter takes the lake's writer lock (waiting up to wait), opens the
// catalog at catalogPath (the layout's default when empty) and runs
// Recover, then brings the lake state up to the catalog.
//
// It refuses a catalog that does not describe the lake (writing with it
// would load again what the lake already holds): a missing or empty catalog
// of a lake that has files (ErrNoCatalog), and a catalog older than the
// lake state (ErrStaleCatalog); the errors name the command that rebuilds
// the catalog. Nothing is written before those checks.
func OpenWriter(ctx context.Context, root, catalogPath string, wait time.Duration, command string) (*Writer, RecoveryReport, error) {
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
	return &Writer{Catalog: cat, Layout: layout,
		publish: []Hook{renameStaged{}, publishManifest{}},
		finish:  []Hook{updateLakeState{}, deleteRetired{}}}
}

// Close closes the catalog, then releases the lock.
func (w *Writer) Close() error {
	err := w.Catalog.Close()
	if w.lock != nil {
		if lerr := w.lock.Release(); err == nil {
			err = lerr
		}
	}
	return err
}
