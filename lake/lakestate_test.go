package lake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
)

// errKilled stands for a process killed at a step: the test hook panics
// with it, and the transaction stops where it is.
var errKilled = errors.New("killed")

// writeLoad runs one load of one staged file through OpenWriter and a Tx.
// killAt, when set, stops it at that step as a kill would (nothing after
// the step runs). It returns the load's ID.
func writeLoad(t *testing.T, lake, catPath, rel, killAt string) (id string) {
	t.Helper()
	ctx := context.Background()
	w, _, err := OpenWriter(ctx, lake, catPath, 0, "test")
	if err != nil {
		t.Fatalf("OpenWriter: %v", err)
	}
	defer w.Close()
	tx, err := w.Begin(ctx, TxOptions{Command: "test", Sources: []string{"file:///src/"}, Hook: func(step string) {
		if step == killAt {
			panic(errKilled)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	id = tx.ID()
	if err := os.WriteFile(tx.Stage().Staged(rel), []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil && r != errKilled {
			panic(r)
		}
	}()
	err = tx.Commit(ctx, Changes{
		Files:   []partitions.File{{Path: rel, Table: "events", Partition: filepath.Dir(rel), Rows: 1, Bytes: int64(len(rel))}},
		Objects: []catalog.ObjectRecord{{Source: "file:///src/", Key: tx.ID(), Version: "v1", Size: 1, Status: catalog.ObjectCommitted, Records: 1}},
		Records: 1})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLakeStateCrashAfterCommit: a writer killed between the catalog commit
// and the lake state's update leaves the catalog one commit ahead; the next
// writer accepts it, publishes the load and its manifest, and catches the
// lake state up.
func TestLakeStateCrashAfterCommit(t *testing.T) {
	lake := t.TempDir()
	l := At(lake)
	l1 := writeLoad(t, lake, "", "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", "")
	if st, ok, err := ReadLakeState(l); err != nil || !ok || st.Commits != 1 || st.LastLoadID != l1 {
		t.Fatalf("lake state after L1: %+v %v %v", st, ok, err)
	}
	if m, err := ReadManifest(l.ManifestPath(l1)); err != nil || m.Seq != 1 || len(m.Files) != 1 || len(m.Objects) != 1 {
		t.Fatalf("manifest of L1: %+v %v", m, err)
	}
	for _, step := range []string{"after-commit", "before-manifest"} {
		id := writeLoad(t, lake, "", "events/domain=a/event_date=2024-02-01/part-"+step+"-00000.parquet", step)
		if st, _, _ := ReadLakeState(l); st.LastLoadID == id {
			t.Fatalf("%s: lake state moved before publish: %+v", step, st)
		}
		if _, err := ReadManifest(l.StagedManifestPath(id)); err != nil {
			t.Fatalf("%s: no staged manifest for a committed load: %v", step, err)
		}
		if _, err := os.Stat(l.ManifestPath(id)); !os.IsNotExist(err) {
			t.Fatalf("%s: manifest published before the files were: %v", step, err)
		}
		w, rep, err := OpenWriter(context.Background(), lake, "", 0, "test")
		if err != nil {
			t.Fatalf("%s: a catalog ahead of the lake state is refused: %v", step, err)
		}
		w.Close()
		if rep.Completed != 1 {
			t.Errorf("%s: recovery completed %d loads, want 1", step, rep.Completed)
		}
		if st, _, _ := ReadLakeState(l); st.LastLoadID != id {
			t.Errorf("%s: lake state after recovery: %+v", step, st)
		}
		if _, err := ReadManifest(l.ManifestPath(id)); err != nil {
			t.Errorf("%s: manifest of the recovered load: %v", step, err)
		}
	}
	if st, _, _ := ReadLakeState(l); st.Commits != 3 {
		t.Errorf("lake state after three commits: %+v", st)
	}
}

// TestOlderCatalogRefused: a catalog copied after L1 and put back after L2
// is refused by writers (ErrStaleCatalog), whatever it is called; a new
// catalog elsewhere is refused as missing; readers' check says the same.
func TestOlderCatalogRefused(t *testing.T) {
	lake := t.TempDir()
	catPath := At(lake).CatalogPath()
	writeLoad(t, lake, "", "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", "")
	backup, err := os.ReadFile(catPath)
	if err != nil {
		t.Fatal(err)
	}
	writeLoad(t, lake, "", "events/domain=a/event_date=2024-02-01/part-L2-00000.parquet", "")
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
	r, err := catalog.Open(catPath, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := CheckCatalog(context.Background(), r, lake); !errors.Is(err, ErrStaleCatalog) {
		t.Errorf("CheckCatalog with an older catalog: %v, want ErrStaleCatalog", err)
	}
	// Elsewhere (--catalog): a new catalog is refused as missing.
	other := filepath.Join(t.TempDir(), "other.db")
	_, _, err = OpenWriter(context.Background(), lake, other, 0, "test")
	if !errors.Is(err, ErrNoCatalog) {
		t.Fatalf("OpenWriter with a new catalog elsewhere: %v, want ErrNoCatalog", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("the refused writer created %s: %v", other, err)
	}
}

// TestCommitSeqMismatchFails: a commit whose manifest names another commit
// number than the catalog's next one fails and leaves nothing committed.
func TestCommitSeqMismatchFails(t *testing.T) {
	c, _ := openWriterCat(t)
	begin(t, c, "L1", t0)
	err := c.Commit(context.Background(), catalog.Commit{LoadID: "L1", Seq: 5})
	if err == nil {
		t.Fatal("a commit naming commit 5 of a new catalog succeeded")
	}
	if s, _ := loadStatus(t, c, "L1"); s != "running" {
		t.Errorf("load after the refused commit: %s", s)
	}
	if n, _, _ := c.CommitCount(context.Background()); n != 0 {
		t.Errorf("commit count %d after a refused commit", n)
	}
	commit(t, c, catalog.Commit{LoadID: "L1", Seq: 1})
	if n, last, _ := c.CommitCount(context.Background()); n != 1 || last != "L1" {
		t.Errorf("commit count %d %q, want 1 L1", n, last)
	}
}
