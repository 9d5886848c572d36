package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestOpenCreatesSchemaAndReopens(t *testing.T) {
	lake, p := newLake(t)
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	var v, mode string
	if err := c.DB().QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(currentVersion); v != want {
		t.Errorf("schema_version = %q, want %q", v, want)
	}
	if err := c.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk, sync int
	conn, err := c.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if fk != 1 || sync != 2 {
		t.Errorf("foreign_keys = %d, synchronous = %d; want 1, 2 (FULL)", fk, sync)
	}
	begin(t, c, "L1", t0)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o644 {
		t.Errorf("catalog mode = %o, want 644", got)
	}
	st, err = os.Stat(filepath.Join(lake, "_eventlake"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o755 {
		t.Errorf("_eventlake mode = %o, want 755", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(lake, "_eventlake", "catalog.db.init-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	for _, ro := range []bool{false, true} {
		c, err := Open(p, Options{ReadOnly: ro})
		if err != nil {
			t.Fatalf("reopen (ReadOnly=%v): %v", ro, err)
		}
		if got, _ := loadStatus(t, c, "L1"); got != "running" {
			t.Errorf("reopen (ReadOnly=%v): load L1 status %q, want running", ro, got)
		}
		c.Close()
	}
}

func TestOpenReadOnly(t *testing.T) {
	_, p := newLake(t)
	if _, err := Open(p, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("read-only Open of missing catalog: err = %v, want 'does not exist'", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only Open created %s (stat err %v)", p, err)
	}

	w, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := Open(p, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.BeginLoad(context.Background(), LoadInfo{ID: "x"}); err == nil {
		t.Fatal("BeginLoad through a read-only catalog succeeded")
	}
	if _, err := r.AbortLoad(context.Background(), "x", "interrupted"); err == nil {
		t.Fatal("AbortLoad through a read-only catalog succeeded")
	}
}

// makeCatalogBytes returns a valid catalog (several pages) written to path.
func makeCatalog(t *testing.T, path string) {
	t.Helper()
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	begin(t, c, "L1", t0)
	objs := make([]ObjectRecord, 300)
	for i := range objs {
		objs[i] = ObjectRecord{Source: "s3://b/p", Key: strings.Repeat("k", 50) + string(rune('a'+i%26)) + itoa3(i), Version: "v1", Status: ObjectCommitted, ContentHash: "h" + itoa3(i)}
	}
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0, Objects: objs})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func itoa3(i int) string { return fmt.Sprintf("%03d", i) }

func TestOpenRefusesDamagedCatalog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 8192)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	cases := []struct {
		name    string
		prepare func(t *testing.T, path string)
		reason  string
	}{
		{"random bytes", func(t *testing.T, path string) { write(t, path, random) }, "not an SQLite database"},
		{"empty file", func(t *testing.T, path string) { write(t, path, nil) }, "empty"},
		{"short file", func(t *testing.T, path string) { write(t, path, []byte("SQLite format 3\x00abc")) }, "shorter than an SQLite header"},
		{"truncated", func(t *testing.T, path string) {
			makeCatalog(t, path)
			b := read(t, path)
			if len(b) < 4*4096 {
				t.Fatalf("test catalog too small (%d bytes) to truncate meaningfully", len(b))
			}
			write(t, path, b[:2*4096])
		}, ""},
		{"garbled pages", func(t *testing.T, path string) {
			makeCatalog(t, path)
			b := read(t, path)
			for i := 4096; i < len(b); i++ {
				b[i] = random[i%len(random)]
			}
			write(t, path, b)
		}, ""},
		{"foreign database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE people (name TEXT)`); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}, "not an eventlake catalog"},
		{"missing column", func(t *testing.T, path string) {
			makeCatalog(t, path)
			rawExec(t, path, `ALTER TABLE files DROP COLUMN removed_by`)
		}, "files does not have the expected columns"},
		{"missing version", func(t *testing.T, path string) {
			makeCatalog(t, path)
			rawExec(t, path, `DELETE FROM meta WHERE key = 'schema_version'`)
		}, "no schema_version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := newLake(t)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			tc.prepare(t, p)
			before := read(t, p)
			for _, ro := range []bool{false, true} {
				c, err := Open(p, Options{ReadOnly: ro})
				if err == nil {
					c.Close()
					t.Fatalf("Open(ReadOnly=%v) of damaged catalog succeeded", ro)
				}
				if !errors.Is(err, ErrDamaged) {
					t.Errorf("Open(ReadOnly=%v) error %v does not wrap ErrDamaged", ro, err)
				}
				msg := err.Error()
				for _, want := range []string{"damaged", p, "backup", "move it aside", "Never overwrite", tc.reason} {
					if !strings.Contains(msg, want) {
						t.Errorf("Open(ReadOnly=%v) error %q does not contain %q", ro, msg, want)
					}
				}
				if after := read(t, p); !bytes.Equal(before, after) {
					t.Fatalf("Open(ReadOnly=%v) modified the damaged catalog file", ro)
				}
			}
		})
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	_, p := newLake(t)
	makeCatalog(t, p)
	rawExec(t, p, `UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
	before := read(t, p)
	for _, ro := range []bool{false, true} {
		_, err := Open(p, Options{ReadOnly: ro})
		if err == nil {
			t.Fatalf("Open(ReadOnly=%v) of a newer catalog succeeded", ro)
		}
		if errors.Is(err, ErrDamaged) {
			t.Errorf("newer schema reported as damaged: %v", err)
		}
		for _, want := range []string{"schema version 99", "newer eventlake", p} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	}
	if !bytes.Equal(before, read(t, p)) {
		t.Fatal("Open modified a catalog with a newer schema")
	}
}

func TestOpenInitialisesEmptySQLiteFile(t *testing.T) {
	// A valid but table-less SQLite database (e.g. made with `sqlite3 f vacuum`)
	// is initialised rather than refused.
	_, p := newLake(t)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	rawExec(t, p, `PRAGMA user_version = 0; VACUUM`)
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatalf("Open of empty SQLite database: %v", err)
	}
	defer c.Close()
	begin(t, c, "L1", t0)
}

func TestDSNEscapesPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "we?ird #dir%20")
	p := filepath.Join(dir, "catalog.db")
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", p, err)
	}
	c.Close()
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("catalog not created at the literal path: %v", err)
	}
}

func rawExec(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCreate(t *testing.T) {
	_, p := newLake(t)
	errs := make(chan error, 4)
	cats := make(chan *Catalog, 4)
	for i := range 4 {
		go func() {
			c, err := Open(p, Options{})
			if err == nil {
				err = c.BeginLoad(context.Background(), LoadInfo{ID: "L" + itoa3(i)})
				cats <- c
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	close(cats)
	for c := range cats {
		c.Close()
	}
	c, err := Open(p, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Loads != 4 {
		t.Errorf("loads after 4 concurrent writers = %d, want 4 (all on one catalog file)", st.Loads)
	}
}

// A catalog of schema version 4 (before objects.lenient_quotes) is brought
// forward on open: its objects keep their rows, counted 0.
func TestOpenMigratesVersion4(t *testing.T) {
	_, p := newLake(t)
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Version 4 is version 5 without the column.
	rawExec(t, p, `ALTER TABLE objects DROP COLUMN lenient_quotes;
DROP INDEX objects_reprocess;
ALTER TABLE objects DROP COLUMN reprocess_at;
ALTER TABLE objects DROP COLUMN superseded_by;
DROP TABLE supersedes;
DROP TABLE superseded_files;
UPDATE meta SET value = '4' WHERE key = 'schema_version';
INSERT INTO loads (load_id, started_at, status) VALUES ('L0', 1, 'published');
INSERT INTO objects (source, "key", version, status, load_id, records, first_seen) VALUES ('s3://b', 'k', 'v1', 'committed', 'L0', 5, 1);`)
	if c, err = Open(p, Options{}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer c.Close()
	var records, lenient int64
	if err := c.DB().QueryRow(`SELECT records, lenient_quotes FROM objects WHERE "key" = 'k'`).Scan(&records, &lenient); err != nil {
		t.Fatal(err)
	}
	if records != 5 || lenient != 0 {
		t.Errorf("after migration: records %d, lenient_quotes %d", records, lenient)
	}
}

// A new catalog is built without syncs (building) and synced once as a
// file: that is durable only because closing its connections checkpointed
// everything into the file. The file alone, copied without its -wal and
// -shm, is a complete catalog; and a build whose WAL still holds bytes is
// refused rather than linked into place without them.
func TestBuiltCatalogIsWholeInItsFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "catalog.db")
	built, err := create(context.Background(), p)
	if err != nil || !built {
		t.Fatalf("create: built %v, %v", built, err)
	}
	if st, err := os.Stat(p + "-wal"); err == nil && st.Size() > 0 {
		t.Fatalf("the built catalog left %d bytes of WAL", st.Size())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "catalog.db")
	if err := os.WriteFile(alone, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := validate(context.Background(), alone, alone, true); err != nil {
		t.Fatalf("the file alone is not a complete catalog: %v", err)
	}
	if built, err := create(context.Background(), p); err != nil || built {
		t.Fatalf("a second create: built %v, %v (want the existing file used)", built, err)
	}

	tmp := filepath.Join(t.TempDir(), "catalog.db.init-x")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp+"-wal", []byte("frames"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syncBuilt(tmp); err == nil || !strings.Contains(err.Error(), "still holds 6 bytes") {
		t.Fatalf("syncBuilt with a WAL holding bytes: %v", err)
	}
}
