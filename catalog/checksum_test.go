package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files keep the checksum recorded at write; LiveFiles and
// LiveFilesWithLoads return it.
func TestFileChecksumStored(t *testing.T) {
	ctx := context.Background()
	c, _ := openWriterCat(t)
	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0, Files: []FileRecord{
		{Path: "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 3, Bytes: 100, Checksum: "xxh64:0123456789abcdef"},
		{Path: "events/domain=a/event_date=2024-02-01/part-L1-00001.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 3, Bytes: 100},
	}})
	if err := c.MarkPublished(ctx, "L1"); err != nil {
		t.Fatal(err)
	}
	live, err := c.LiveFiles(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 2 || live[0].Checksum != "xxh64:0123456789abcdef" || live[1].Checksum != "" {
		t.Errorf("LiveFiles = %+v", live)
	}
	wl, err := c.LiveFilesWithLoads(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if len(wl) != 2 || wl[0].Checksum != "xxh64:0123456789abcdef" || wl[0].LoadID != "L1" {
		t.Errorf("LiveFilesWithLoads = %+v", wl)
	}
	var stored sql.NullString
	if err := c.DB().QueryRow(`SELECT checksum FROM files WHERE path LIKE '%00001.parquet'`).Scan(&stored); err != nil || stored.Valid {
		t.Errorf("a file without a checksum stores %v (%v), want NULL", stored, err)
	}
	known, err := c.KnownFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 2 || known[live[0].Path] != FileVisible {
		t.Errorf("KnownFiles = %v", known)
	}
}

// A catalog of schema version 2 (no checksum column) is upgraded by the
// next writer; its old files keep no checksum, and a reader refuses it
// until then with a message that says what to do.
func TestMigrateAddsChecksum(t *testing.T) {
	ctx := context.Background()
	lake, p := newLake(t)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := openWriter(ctx, p, writing)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := db.Exec(migrations[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		fmt.Sprintf(`PRAGMA application_id = %d`, applicationID),
		`INSERT INTO meta VALUES ('schema_version', '2')`,
		`INSERT INTO loads (load_id, started_at, status) VALUES ('OLD', 1, 'published')`,
		`INSERT INTO files (path, load_id, table_name, "partition", "rows", bytes, status, created_at)
		 VALUES ('events/domain=a/event_date=2024-02-01/part-OLD-00000.parquet', 'OLD', 'events', 'domain=a/event_date=2024-02-01', 5, 500, 'live', 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_ = lake
	if _, err := Open(p, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "run a load once to upgrade it") {
		t.Errorf("reader on a version 2 catalog: %v", err)
	}
	c, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	live, err := c.LiveFiles(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].Checksum != "" || live[0].Bytes != 500 {
		t.Errorf("old file after migration: %+v", live)
	}
}
