// Package catalog is the lake's SQLite catalog: which loads ran, which source
// objects are loaded (and in which version), which Parquet files make up each
// table, and the inferred schemas. It is a store only: the commit protocol
// that writes through it (writer lock, staging, publishing, recovery) is
// package lake's.
//
// The catalog file lives at <lake>/_eventlake/catalog.db. It is opened in WAL
// mode, so read-only users (the SQL shell, `eventlake status`) and the single
// writer never block each other. The writer uses synchronous=FULL: there is
// one commit per load, so durability costs little and matters a lot.
package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/eventlake/eventlake/internal/fsync"
)

const (
	dirPerm  = 0o755
	filePerm = 0o644

	// busyTimeout bounds how long a statement waits for another connection's
	// lock. With WAL, readers never wait; only writers can, and only for
	// another writer (normally prevented by the lake lock).
	busyTimeout = 10 * time.Second
)

// ErrDamaged is wrapped by the error Open returns when the catalog file is
// not a usable eventlake catalog (not a database, failing integrity checks,
// or holding a schema this build does not understand).
var ErrDamaged = errors.New("catalog is damaged")

// Catalog is an open catalog database. Its methods are safe for concurrent
// use.
type Catalog struct {
	db       *sql.DB
	path     string
	readOnly bool
	// snapshot is the private directory holding the copy a reader opened
	// instead of the catalog (see openReader); removed by Close.
	snapshot string
}

// Options configure Open.
type Options struct {
	// ReadOnly opens the catalog with SQLite's mode=ro: it must exist, nothing
	// is ever written, and the writer is never blocked. It needs no write
	// access to the catalog or its folder (see openReader).
	ReadOnly bool
}

// Open opens (creating if needed, unless ReadOnly) the catalog. On a corrupt file (not a database, failed
// `PRAGMA quick_check`, or a schema it does not understand) it returns an error that says the catalog is damaged,
// names the file, and tells the user what to do (restore from backup / move it away and reload — never overwrite it).
//
// A damaged file is only ever read (through a read-only connection), never
// written, so it stays byte-for-byte as it was for forensics or restore.
func Open(path string, o Options) (*Catalog, error) {
	if path == "" {
		return nil, errors.New("catalog: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	ctx := context.Background()

	st, err := os.Stat(abs)
	built := false // this call built the file: it needs no validation
	switch {
	case errors.Is(err, fs.ErrNotExist) && o.ReadOnly:
		return nil, fmt.Errorf("catalog %s does not exist (no load has run on this lake yet, or --catalog points elsewhere)", abs)
	case errors.Is(err, fs.ErrNotExist):
		if built, err = create(ctx, abs); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("catalog: open %s: %w", abs, err)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("catalog %s is not a regular file", abs)
	}

	if o.ReadOnly {
		return openReader(ctx, abs)
	}

	// Validate through a read-only connection first: whatever is wrong with
	// the file, nothing below can modify it.
	if !built {
		if err := validate(ctx, abs, abs, false); err != nil {
			return nil, err
		}
	}

	db, err := openWriter(ctx, abs, writing)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, db, abs); err != nil {
		db.Close()
		return nil, err
	}
	if err := checkTables(ctx, db); err != nil {
		db.Close()
		return nil, wrapOpenErr(abs, err)
	}
	return &Catalog{db: db, path: abs}, nil
}

// Close closes the database. In writer mode the last close checkpoints the
// WAL into the main file.
func (c *Catalog) Close() error {
	err := c.db.Close()
	if c.snapshot != "" {
		os.RemoveAll(c.snapshot)
	}
	if err != nil {
		return fmt.Errorf("catalog %s: close: %w", c.path, err)
	}
	return nil
}

// DB returns the underlying database handle, for read-only SQL exports (the
// shell copies catalog tables into DuckDB). Callers must not write through it.
func (c *Catalog) DB() *sql.DB { return c.db }

// Path returns the absolute path of the catalog file.
func (c *Catalog) Path() string { return c.path }

// access is how a connection pool uses the catalog file.
type access int

const (
	reading  access = iota // read-only
	writing                // the catalog's writer: every commit durable
	building               // a new catalog under a temporary name: create syncs it once, when complete
)

// dsn builds a SQLite URI for path. Writers get foreign keys, FULL sync and
// BEGIN IMMEDIATE transactions (a deferred transaction that later tries to
// write can fail with SQLITE_BUSY without waiting); readers get mode=ro. A
// catalog being built is written as by a writer but never synced: nothing
// can see it until create has synced and linked it into place.
func dsn(path string, a access) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	if a == reading {
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "foreign_keys(1)")
		if a == building {
			q.Add("_pragma", "synchronous(OFF)")
		} else {
			q.Add("_pragma", "synchronous(FULL)")
		}
		q.Add("_pragma", "journal_size_limit(0)")
		q.Set("_txlock", "immediate")
	}
	// url.URL escapes '?', '#' and '%' in the path, which SQLite decodes.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if !strings.HasPrefix(u.Path, "/") { // Windows drive paths
		u.Path = "/" + u.Path
	}
	return u.String()
}

// openWriter opens the read-write pool and makes sure the file is in WAL mode
// (a persistent setting; a no-op after creation).
//
// Every connection of the pool keeps the WAL (SQLITE_FCNTL_PERSIST_WAL):
// when the last one closes, the WAL is checkpointed and truncated to zero
// bytes (journal_size_limit 0) but the -wal and -shm files stay, with the
// catalog's own mode and owner (SQLite copies them). A reader that may not
// create files in the catalog's folder — another Unix user, a read-only
// mount — needs them to exist to open a WAL database (see openReader).
func openWriter(ctx context.Context, path string, a access) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn(path, a))
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	db := sql.OpenDB(persistWAL{base})
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog %s: enable WAL: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("catalog %s: enable WAL: journal mode is %q (is the file on a network file system?)", path, mode)
	}
	return db, nil
}

// persistWAL sets SQLITE_FCNTL_PERSIST_WAL on each connection it makes.
type persistWAL struct{ driver.Connector }

func (p persistWAL) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := p.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	fc, ok := conn.(sqlite.FileControl)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite connection %T has no file control", conn)
	}
	if _, err := fc.FileControlPersistWAL("main", 1); err != nil {
		conn.Close()
		return nil, fmt.Errorf("keep the WAL file: %w", err)
	}
	return conn, nil
}

// create makes a new, fully initialised catalog at path without ever
// exposing a half-made file: it is built under a temporary name in the same
// directory and hard-linked into place (link fails if another process won
// the race, and never overwrites). A crash leaves at most a stray temporary
// file, never an empty catalog.db that would later look damaged. built
// reports whether the file at path is the one built here, not another
// process's created meanwhile (which Open validates like any other).
func create(ctx context.Context, path string) (built bool, err error) {
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return false, fmt.Errorf("catalog: create %s: %w", path, err)
	}
	// The -wal of a catalog moved away without it would be replayed into
	// the new one. (An empty one, as the writer leaves, is harmless.)
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		return false, fmt.Errorf("catalog: create %s: %s-wal (%d bytes) belongs to a catalog that was moved or deleted without it; "+
			"move it and %s-shm to where that catalog is, or delete them if it is gone", path, path, st.Size(), path)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".init-*")
	if err != nil {
		return false, fmt.Errorf("catalog: create %s: %w", path, err)
	}
	tmpPath := tmp.Name()
	defer func() {
		for _, p := range []string{tmpPath, tmpPath + "-wal", tmpPath + "-shm", tmpPath + "-journal"} {
			os.Remove(p)
		}
	}()
	err = tmp.Chmod(filePerm) // CreateTemp uses 0600
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("catalog: create %s: %w", path, err)
	}

	db, err := openWriter(ctx, tmpPath, building)
	if err != nil {
		return false, err
	}
	err = migrate(ctx, db, tmpPath)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("catalog: create %s: %w", path, cerr)
	}
	if err != nil {
		return false, err
	}
	// Built without a sync (building): closing checkpointed everything
	// into the file, which is synced once here, before it gets its name.
	if err := syncBuilt(tmpPath); err != nil {
		return false, fmt.Errorf("catalog: create %s: %w", path, err)
	}

	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // created concurrently by another process: use theirs
		}
		// File systems without hard links: fall back to rename, which is
		// only unsafe if another process creates the catalog at the same
		// instant (the lake lock normally serialises writers anyway).
		if _, serr := os.Stat(path); serr == nil {
			return false, nil
		}
		if rerr := os.Rename(tmpPath, path); rerr != nil {
			return false, fmt.Errorf("catalog: create %s: %w", path, rerr)
		}
	}
	return true, fsync.Dir(dir)
}

// syncBuilt makes a catalog built under a temporary name durable: its WAL
// must be empty (closing the last connection checkpoints it into the file,
// and the file alone is linked into place), and the file is synced.
func syncBuilt(path string) error {
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		return fmt.Errorf("%s-wal still holds %d bytes after closing", path, st.Size())
	}
	return fsync.File(path)
}

// validate checks the catalog file through a read-only connection: SQLite
// header, PRAGMA quick_check, and the schema version and tables. An empty
// (table-less) database is accepted for writers, which will initialise it.
// file is the file opened: path itself, or a reader's private copy of it
// (errors always name path).
func validate(ctx context.Context, path, file string, readOnly bool) error {
	if err := checkHeader(file); err != nil {
		return wrapOpenErr(path, err)
	}
	db, err := sql.Open("sqlite", dsn(file, reading))
	if err != nil {
		return fmt.Errorf("catalog: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	if err := quickCheck(ctx, db); err != nil {
		return wrapOpenErr(path, err)
	}
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return wrapOpenErr(path, err)
	}
	switch {
	case v > currentVersion:
		return newerSchemaError(path, v)
	case v == 0 && readOnly:
		return fmt.Errorf("catalog %s is empty (no load has completed initialising it yet)", path)
	case v < currentVersion && readOnly:
		return fmt.Errorf("catalog %s has schema version %d, older than this eventlake's %d; run a load once to upgrade it", path, v, currentVersion)
	case v == currentVersion:
		if err := checkTables(ctx, db); err != nil {
			return wrapOpenErr(path, err)
		}
	}
	return nil
}

var sqliteMagic = []byte("SQLite format 3\x00")

// checkHeader rejects files that cannot be an SQLite database at all. SQLite
// itself would treat a 0-byte file as a new empty database; for the catalog
// that is data loss (create never leaves one behind), so it is damage.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := make([]byte, 100)
	n, err := io.ReadFull(f, hdr)
	switch {
	case n == 0:
		return &damage{reason: "the file is empty (0 bytes)"}
	case err != nil:
		return &damage{reason: fmt.Sprintf("the file is only %d bytes long, shorter than an SQLite header", n)}
	case !bytes.Equal(hdr[:len(sqliteMagic)], sqliteMagic):
		return &damage{reason: "the file is not an SQLite database (bad header)"}
	}
	return nil
}

// quickCheck runs PRAGMA quick_check and turns any finding into a *damage.
func quickCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check(5)`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " "))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return &damage{reason: "PRAGMA quick_check failed: " + strings.Join(problems, "; ")}
	}
	return nil
}

// damage describes why a catalog file is unusable.
type damage struct{ reason string }

func (d *damage) Error() string { return d.reason }

// wrapOpenErr turns a validation error into the user-facing damaged-catalog
// error when it is damage (ours, or SQLite's CORRUPT / NOTADB codes), and
// into a plain contextual error otherwise (I/O, permissions, ...).
func wrapOpenErr(path string, err error) error {
	var d *damage
	var se *sqlite.Error
	switch {
	case errors.As(err, &d):
		return damagedError(path, d.reason)
	case errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_CORRUPT || se.Code()&0xff == sqlite3.SQLITE_NOTADB):
		return damagedError(path, err.Error())
	}
	return fmt.Errorf("catalog: open %s: %w", path, err)
}

func damagedError(path, reason string) error {
	return fmt.Errorf("%w: %s: %s. eventlake has not modified it. "+
		"Restore it from a backup; or move it aside with its -wal and -shm files "+
		"(for f in %s %s-wal %s-shm; do mv \"$f\" \"$f.damaged\"; done) and rebuild it from the lake's files "+
		"(eventlake catalog rebuild --lake LAKE); loads refuse a lake with files but no catalog. Never overwrite the damaged file",
		ErrDamaged, path, reason, shellQuote(path), shellQuote(path), shellQuote(path))
}

func newerSchemaError(path string, v int) error {
	return fmt.Errorf("catalog %s has schema version %d, but this eventlake understands only up to version %d; "+
		"use a newer eventlake (the file was left unchanged)", path, v, currentVersion)
}

// shellQuote quotes s for a copy-pasteable shell command when needed.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ensureDir creates dir and its missing parents, mode 0755 whatever the
// umask (see fsync.MkdirAll).
func ensureDir(dir string) error { return fsync.MkdirAll(dir, dirPerm) }

// micros converts t to unix microseconds; the zero time becomes NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros converts a nullable unix-micros column to a UTC time (zero when
// NULL).
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ReadOnly reports whether the catalog was opened read-only.
func (c *Catalog) ReadOnly() bool { return c.readOnly }
