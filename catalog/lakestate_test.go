package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventlake/eventlake/partitions"
)

// writeLoad runs one load through a Writer: begin, stage one file, commit,
// and (when publish) publish and mark published.
func writeLoad(t *testing.T, lake, catPath, id, rel string, publish bool) {
	t.Helper()
	ctx := context.Background()
	w, _, err := OpenWriter(ctx, lake, catPath, 0, "test")
	if err != nil {
		t.Fatalf("OpenWriter before %s: %v", id, err)
	}
	defer w.Close()
	begin(t, w.Catalog, id, time.Now())
	stage(t, lake, id, rel)
	commit(t, w.Catalog, Commit{LoadID: id, Files: []FileRecord{{Path: rel, Table: "events", Partition: filepath.Dir(rel), Rows: 1}},
		Objects: []ObjectRecord{{Source: "file:///src/", Key: id, Version: "v1", Size: 1, Status: StatusCommitted, Records: 1}}})
	if !publish {
		return // killed after the commit: neither published nor lake state updated
	}
	if err := partitions.Publish(lake, id, rel); err != nil {
		t.Fatal(err)
	}
	if err := w.MarkPublished(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// TestLakeStateCrashAfterCommit: a writer killed between the catalog commit
// and the lake state's update leaves the catalog one commit ahead; the next
// writer accepts it, publishes the load and its manifest, and catches the
// lake state up.
func TestLakeStateCrashAfterCommit(t *testing.T) {
	lake, catPath := newLake(t)
	writeLoad(t, lake, catPath, "L1", "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", true)
	if st, ok, err := ReadLakeState(lake); err != nil || !ok || st.Commits != 1 || st.LastLoadID != "L1" {
		t.Fatalf("lake state after L1: %+v %v %v", st, ok, err)
	}
	writeLoad(t, lake, catPath, "L2", "events/domain=a/event_date=2024-02-01/part-L2-00000.parquet", false)
	if st, _, _ := ReadLakeState(lake); st.Commits != 1 {
		t.Fatalf("lake state moved before publish: %+v", st)
	}
	w, rep, err := OpenWriter(context.Background(), lake, catPath, 0, "test")
	if err != nil {
		t.Fatalf("a catalog one commit ahead of the lake state is refused: %v", err)
	}
	w.Close()
	if rep.Completed != 1 {
		t.Errorf("recovery completed %d loads, want 1", rep.Completed)
	}
	if st, _, _ := ReadLakeState(lake); st.Commits != 2 || st.LastLoadID != "L2" {
		t.Errorf("lake state after recovery: %+v", st)
	}
	if _, err := ReadManifest(ManifestPath(lake, "L2")); err != nil {
		t.Errorf("manifest of the recovered load: %v", err)
	}
}

// TestOlderCatalogRefused: a catalog copied after L1 and put back after L2
// is refused by writers (ErrStaleCatalog), whatever it is called.
func TestOlderCatalogRefused(t *testing.T) {
	lake, catPath := newLake(t)
	writeLoad(t, lake, catPath, "L1", "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", true)
	backup, err := os.ReadFile(catPath)
	if err != nil {
		t.Fatal(err)
	}
	writeLoad(t, lake, catPath, "L2", "events/domain=a/event_date=2024-02-01/part-L2-00000.parquet", true)
	for _, suf := range []string{"-wal", "-shm"} {
		os.Remove(catPath + suf)
	}
	if err := os.WriteFile(catPath, backup, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenWriter(context.Background(), lake, catPath, 0, "test")
	if !errors.Is(err, ErrStaleCatalog) {
		t.Fatalf("OpenWriter with an older catalog: %v, want ErrStaleCatalog", err)
	}
	// Elsewhere (--catalog): an empty new catalog is refused as missing.
	_, _, err = OpenWriter(context.Background(), lake, filepath.Join(t.TempDir(), "other.db"), 0, "test")
	if !errors.Is(err, ErrNoCatalog) {
		t.Fatalf("OpenWriter with a new catalog elsewhere: %v, want ErrNoCatalog", err)
	}
}
