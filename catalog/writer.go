package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Writer is a lake opened for writing, as loads and compactions need it:
// the writer lock held, the catalog open, and the work interrupted by an
// earlier crash finished or discarded.
type Writer struct {
	*Catalog
	lock *Lock
}

// OpenWriter takes the lake's writer lock (waiting up to wait), opens the
// catalog at catalogPath and runs Recover.
func OpenWriter(ctx context.Context, lakeDir, catalogPath string, wait time.Duration, command string) (*Writer, RecoveryReport, error) {
	lock, err := AcquireLock(lakeDir, wait, command)
	if err != nil {
		return nil, RecoveryReport{}, err
	}
	// A lake whose catalog is lost or older than its files is refused:
	// writing with it would load again what the lake already holds.
	if _, err := os.Stat(catalogPath); errors.Is(err, fs.ErrNotExist) {
		if err := CheckMissing(lakeDir, catalogPath); err != nil {
			lock.Release()
			return nil, RecoveryReport{}, err
		}
	}
	cat, err := Open(catalogPath, Options{})
	if err != nil {
		lock.Release()
		return nil, RecoveryReport{}, err
	}
	if err := cat.CheckLake(ctx, lakeDir); err != nil {
		cat.Close()
		lock.Release()
		return nil, RecoveryReport{}, err
	}
	cat.lakeDir = lakeDir
	rep, err := Recover(ctx, cat, lakeDir)
	if err == nil {
		err = cat.updateLakeState(ctx, lakeDir)
	}
	if err != nil {
		cat.Close()
		lock.Release()
		return nil, rep, fmt.Errorf("recovering interrupted loads: %w", err)
	}
	return &Writer{Catalog: cat, lock: lock}, rep, nil
}

// Close closes the catalog, then releases the lock.
func (w *Writer) Close() error {
	err := w.Catalog.Close()
	if lerr := w.lock.Release(); err == nil {
		err = lerr
	}
	return err
}
