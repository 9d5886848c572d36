package catalog

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A repair commit retires a lost file and marks its load's objects in one
// transaction; AdoptFile records a lost file row again only for a
// published load and a path not recorded.
func TestRepairCommitAndAdopt(t *testing.T) {
	ctx := context.Background()
	c, _ := openWriterCat(t)
	f1 := FileRecord{Path: "events/domain=a/event_date=2024-02-01/part-L1-0.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 3, Bytes: 100}
	f2 := FileRecord{Path: "events/domain=a/event_date=2024-02-02/part-L1-1.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-02", Rows: 2, Bytes: 90}
	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0.Add(time.Second), Files: []FileRecord{f1, f2}, Objects: []ObjectRecord{
		{Source: "file:///src/", Key: "a.json", Version: "v1", Status: ObjectCommitted, Records: 5},
		{Source: "file:///src/", Key: "empty.json", Version: "v1", Status: ObjectCommitted},
	}})
	if err := c.AdoptFile(ctx, "L1", FileRecord{Path: "events/x/part-L1-9.parquet", Table: "events"}); err == nil || !strings.Contains(err.Error(), "not published") {
		t.Errorf("adopt into a load not published: %v", err)
	}
	if err := c.MarkPublished(ctx, "L1"); err != nil {
		t.Fatal(err)
	}
	objs, err := c.LostFileObjects(ctx, f1.Path)
	if err != nil || len(objs) != 1 || objs[0].Key != "a.json" {
		t.Fatalf("LostFileObjects = %v, %v; want a.json only (empty.json has no rows)", objs, err)
	}

	begin(t, c, "R1", t0.Add(time.Minute))
	if _, err := c.DB().Exec(`UPDATE loads SET command = ? WHERE load_id = 'R1'`, RepairCommand); err != nil {
		t.Fatal(err)
	}
	commit(t, c, Commit{LoadID: "R1", FinishedAt: t0.Add(time.Minute), Retires: []string{f1.Path}, Reprocess: []ObjectVersion{objs[0].ObjectVersion}})
	if err := c.MarkPublished(ctx, "R1"); err != nil {
		t.Fatal(err)
	}
	var status, removedBy string
	if err := c.DB().QueryRow(`SELECT status, removed_by FROM files WHERE path = ?`, f1.Path).Scan(&status, &removedBy); err != nil || status != "removed" || removedBy != "R1" {
		t.Errorf("lost file: %s removed by %s (%v), want removed by R1", status, removedBy, err)
	}
	marked, err := c.MarkedObjects(ctx)
	if err != nil || len(marked) != 1 || marked[0].Key != "a.json" {
		t.Errorf("MarkedObjects = %v, %v; want a.json", marked, err)
	}

	if err := c.AdoptFile(ctx, "L1", f2); err == nil {
		t.Errorf("adopting a path already recorded succeeded")
	}
	if _, err := c.DB().Exec(`DELETE FROM files WHERE path = ?`, f2.Path); err != nil {
		t.Fatal(err)
	}
	if err := c.AdoptFile(ctx, "L1", f2); err != nil {
		t.Fatalf("adopt: %v", err)
	}
	live, err := c.LiveFiles(ctx, "events")
	if err != nil || len(live) != 1 || live[0].Path != f2.Path || live[0].Rows != 2 {
		t.Errorf("live files after adoption = %v, %v", live, err)
	}
}
