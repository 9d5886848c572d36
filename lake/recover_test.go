package lake

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
)

// stage writes a staged file of load id at relPath with content relPath.
func stage(t *testing.T, lake, id, relPath string) {
	t.Helper()
	p := filepath.Join(At(lake).StagingDir(id), filepath.FromSlash(relPath))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(relPath), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestRecover(t *testing.T) {
	ctx := context.Background()
	c, lake := openWriterCat(t)
	lock, err := AcquireLock(lake, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()

	// A published load (untouched by recovery).
	done := "events/domain=a/event_date=2024-01-31/part-L0-00000.parquet"
	begin(t, c, "L0", t0.Add(-time.Hour))
	stage(t, lake, "L0", done)
	commit(t, c, catalog.Commit{LoadID: "L0", Files: []catalog.FileRecord{{Path: done, Table: "events", Partition: "domain=a/event_date=2024-01-31", Rows: 1}}})
	if err := partitions.Publish(lake, At(lake).StagingDir("L0"), done); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkPublished(ctx, "L0"); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(At(lake).StagingDir("L0"))

	// Killed before commit: staged files only.
	begin(t, c, "LR", t0)
	stage(t, lake, "LR", "events/domain=a/event_date=2024-02-01/part-LR-00000.parquet")

	// Killed while publishing: committed, one of two files already moved.
	f1 := "events/domain=a/event_date=2024-02-01/part-LC-00000.parquet"
	f2 := "orders/order_date=2024-02-01/part-LC-00001.parquet"
	begin(t, c, "LC", t0.Add(time.Minute))
	stage(t, lake, "LC", f1)
	stage(t, lake, "LC", f2)
	commit(t, c, catalog.Commit{LoadID: "LC", Files: []catalog.FileRecord{
		{Path: f1, Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 3},
		{Path: f2, Table: "orders", Partition: "order_date=2024-02-01", Rows: 4},
	}})
	if err := partitions.Publish(lake, At(lake).StagingDir("LC"), f1); err != nil {
		t.Fatal(err)
	}

	// Leftovers: a failed load's staging, and a directory with no load row.
	begin(t, c, "LF", t0.Add(2*time.Minute))
	stage(t, lake, "LF", "events/x/part-LF-00000.parquet")
	if err := c.FailLoad(ctx, "LF", errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	stage(t, lake, "stray", "events/x/part-stray-00000.parquet")

	rep, err := Recover(ctx, c, lake)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if want := (RecoveryReport{Aborted: 1, Completed: 1, FilesPublished: 1, StrayDirs: 2}); rep != want {
		t.Errorf("report = %+v, want %+v", rep, want)
	}

	if s, e := loadStatus(t, c, "LR"); s != "aborted" || e != "interrupted; discarded by recovery" {
		t.Errorf("running load after recovery: %s %q", s, e)
	}
	if s, _ := loadStatus(t, c, "LC"); s != "published" {
		t.Errorf("committed load after recovery: %s, want published", s)
	}
	if s, _ := loadStatus(t, c, "L0"); s != "published" {
		t.Errorf("published load after recovery: %s", s)
	}
	if s, e := loadStatus(t, c, "LF"); s != "failed" || e != "disk full" {
		t.Errorf("failed load after recovery: %s %q", s, e)
	}
	for _, f := range []string{f1, f2, done} {
		b, err := os.ReadFile(filepath.Join(lake, filepath.FromSlash(f)))
		if err != nil || string(b) != f {
			t.Errorf("published %s: %q, %v", f, b, err)
		}
	}
	if exists(filepath.Join(lake, "events/domain=a/event_date=2024-02-01/part-LR-00000.parquet")) {
		t.Error("a file of the aborted load was published")
	}
	staging := At(lake).StagingRoot()
	if ents, err := os.ReadDir(staging); err != nil || len(ents) != 0 {
		t.Errorf("staging after recovery: %v entries, err %v; want empty", len(ents), err)
	}
	live, err := c.LiveFiles(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 3 {
		t.Errorf("LiveFiles after recovery = %+v, want 3 files", live)
	}

	rep, err = Recover(ctx, c, lake)
	if err != nil {
		t.Fatalf("second Recover: %v", err)
	}
	if rep != (RecoveryReport{}) {
		t.Errorf("second Recover report = %+v, want nothing done", rep)
	}
}

func TestRecoverEmptyLakeAndMissingFile(t *testing.T) {
	ctx := context.Background()
	c, lake := openWriterCat(t)
	rep, err := Recover(ctx, c, lake)
	if err != nil || rep != (RecoveryReport{}) {
		t.Fatalf("Recover of a new lake = %+v, %v", rep, err)
	}

	// A committed file that is neither staged nor published cannot be
	// recovered: Recover must say which, and leave the load committed.
	lost := "events/domain=a/event_date=2024-02-01/part-LX-00000.parquet"
	begin(t, c, "LX", t0)
	commit(t, c, catalog.Commit{LoadID: "LX", Files: []catalog.FileRecord{{Path: lost, Table: "events", Partition: "p"}}})
	_, err = Recover(ctx, c, lake)
	if err == nil || !strings.Contains(err.Error(), lost) || !strings.Contains(err.Error(), "LX") {
		t.Fatalf("Recover with a lost file: err = %v, want it to name %s and load LX", err, lost)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	if s, _ := loadStatus(t, c, "LX"); s != "committed" {
		t.Errorf("load LX is %s after failed recovery, want committed", s)
	}
}
