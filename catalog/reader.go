package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Readers of a shared lake (the SQL shell, `eventlake status`) may have no
// write access to it: another Unix user, a read-only mount, a copy on
// read-only media. SQLite can read a WAL database without writing anything
// as long as its -wal and -shm files exist (a -shm it cannot write is read
// through a private copy of the WAL index, checked against the WAL; SQLite
// 3.22 and later). The writer leaves both files in place (see openWriter),
// so a reader opens the catalog itself with mode=ro and sees every commit,
// including those made while it is open.
//
// A catalog without them — written by an older eventlake, or copied without
// its -wal and -shm — can only be opened by someone allowed to create them.
// Another reader copies the catalog (and its -wal, when there is one) into a
// private temporary directory and reads the copy: that reader sees the
// catalog as of its start. The copy is consistent because nobody was
// writing while it was made: a writer keeps the -wal and -shm files from
// its first open, and the main file changes only through a checkpoint, so
// the copy is used only when no -wal appeared and neither file changed (same
// size and modification time) between before and after the copy. It is
// never made with immutable=1 on the catalog itself: an immutable reader
// ignores the locks, and reads torn pages if a writer checkpoints meanwhile.

// snapshotAttempts bounds the copies tried while the catalog keeps changing.
const snapshotAttempts = 3

// openReader opens the catalog at path (absolute, an existing regular file)
// read-only.
func openReader(ctx context.Context, path string) (*Catalog, error) {
	err := validate(ctx, path, path, true)
	if err == nil {
		db, err := sql.Open("sqlite", dsn(path, reading))
		if err != nil {
			return nil, fmt.Errorf("catalog: open %s: %w", path, err)
		}
		return &Catalog{db: db, path: path, readOnly: true}, nil
	}
	if !cannotMakeWALFiles(path, err) {
		return nil, err
	}
	dir, serr := snapshot(path)
	if serr != nil {
		return nil, fmt.Errorf("%w; this user cannot create the catalog's missing -wal and -shm files "+
			"(a load by this eventlake version leaves them for read-only users), and reading a copy failed: %v", err, serr)
	}
	cp := filepath.Join(dir, filepath.Base(path))
	if err := validate(ctx, path, cp, true); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(cp, reading))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	return &Catalog{db: db, path: path, readOnly: true, snapshot: dir}, nil
}

// cannotMakeWALFiles tells whether err is SQLite failing to create the
// -wal or -shm file of path (read-only folder or file system) because one of
// them is missing.
func cannotMakeWALFiles(path string, err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	if code := se.Code(); code != sqlite3.SQLITE_READONLY_DIRECTORY && code&0xff != sqlite3.SQLITE_CANTOPEN {
		return false
	}
	return !fileExists(path+"-wal") || !fileExists(path+"-shm")
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// snapshot copies the catalog at path and its -wal (if any) into a new
// private temporary directory, and returns it once a copy was made while
// neither file changed and no writer opened the catalog.
func snapshot(path string) (string, error) {
	for attempt := 0; attempt < snapshotAttempts; attempt++ {
		shm := fileExists(path + "-shm")
		before, err := fileStates(path)
		if err != nil {
			return "", err
		}
		if fileExists(path+"-wal") && fileExists(path+"-shm") {
			return "", errors.New("a writer opened the catalog meanwhile: run the command again")
		}
		dir, err := os.MkdirTemp("", "eventlake-catalog-*")
		if err != nil {
			return "", err
		}
		err = copyFile(path, filepath.Join(dir, filepath.Base(path)))
		if err == nil && before[1] != nil {
			err = copyFile(path+"-wal", filepath.Join(dir, filepath.Base(path)+"-wal"))
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		after, err := fileStates(path)
		if err == nil && sameStates(before, after) && fileExists(path+"-shm") == shm {
			return dir, nil
		}
		os.RemoveAll(dir)
	}
	return "", fmt.Errorf("the catalog changed during %d attempts to copy it", snapshotAttempts)
}

// fileStates stats the catalog and its -wal (nil when missing).
func fileStates(path string) ([2]fs.FileInfo, error) {
	var st [2]fs.FileInfo
	var err error
	if st[0], err = os.Stat(path); err != nil {
		return st, err
	}
	if st[1], err = os.Stat(path + "-wal"); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return st, err
		}
		st[1] = nil
	}
	return st, nil
}

func sameStates(a, b [2]fs.FileInfo) bool {
	for i := range a {
		switch {
		case a[i] == nil && b[i] == nil:
		case a[i] == nil || b[i] == nil:
			return false
		case !os.SameFile(a[i], b[i]) || a[i].Size() != b[i].Size() || !a[i].ModTime().Equal(b[i].ModTime()):
			return false
		}
	}
	return true
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
