package fsync

import (
	"errors"
	"runtime"
	"sync"
)

// ErrNoSyncFS is OpenFS's error where syncing a whole file system with one
// call is not available or does not report write-back errors.
var ErrNoSyncFS = errors.New("fsync: syncing a whole file system is not supported here")

// FS syncs, with one call, every file and directory entry of the file
// system holding the directory it was opened on: a load that staged
// thousands of files makes them durable with one syncfs(2) instead of an
// fsync each. It reports a write-back error of any file of that file
// system that happened since OpenFS (so it is opened before the files it
// covers are written); a failure of another program's file there fails it
// too, which only errs on the side of caution.
type FS struct {
	fd      int
	cleanup runtime.Cleanup
	once    sync.Once
	err     error
}

// OpenFS returns an FS for the file system of dir, or ErrNoSyncFS where
// syncfs(2) is missing or too old to report write-back errors (Linux before
// 5.8): callers then fsync every file. Close releases it.
func OpenFS(dir string) (*FS, error) { return openFS(dir) }

// Sync flushes the whole file system (see FS).
func (f *FS) Sync() error { return f.sync() }

// Close releases the FS; closing it again does nothing.
func (f *FS) Close() error {
	f.once.Do(func() { f.err = f.close() })
	return f.err
}
