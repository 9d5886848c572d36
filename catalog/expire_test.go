package catalog

import (
	"context"
	"slices"
	"testing"
	"time"
)

// An expiry removes files without replacing them: its commit claims them
// (still live), its publication makes them 'removed' in one instant, and
// they are then the load's retired files. A plain load may not do that.
func TestExpireRemovesFiles(t *testing.T) {
	ctx := context.Background()
	c, _ := openWriterCat(t)
	begin(t, c, "L1", t0)
	old := "events/domain=a/event_date=2024-01-01/part-L1-00000.parquet"
	keep := "events/domain=a/event_date=2024-02-01/part-L1-00001.parquet"
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0, Files: []FileRecord{
		{Path: old, Table: "events", Partition: "domain=a/event_date=2024-01-01", Rows: 5, Bytes: 50},
		{Path: keep, Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 3, Bytes: 30},
	}, Objects: []ObjectRecord{{Source: "file:///src/", Key: "a", Version: "1", Status: ObjectCommitted, Records: 8}}, Records: 8})
	if err := c.MarkPublished(ctx, "L1"); err != nil {
		t.Fatal(err)
	}

	begin(t, c, "P1", t0.Add(time.Hour))
	if err := c.Commit(ctx, Commit{LoadID: "P1", Replaces: []string{old}}); err == nil {
		t.Fatal("a plain load removed a file")
	}

	if err := c.BeginLoad(ctx, LoadInfo{ID: "E1", StartedAt: t0.Add(2 * time.Hour), Command: ExpireCommand}); err != nil {
		t.Fatal(err)
	}
	commit(t, c, Commit{LoadID: "E1", Replaces: []string{old}})
	if live, _ := c.LiveFiles(ctx, "events"); len(live) != 2 {
		t.Fatalf("before the expiry is published: %d live files, want 2", len(live))
	}
	if err := c.MarkPublished(ctx, "E1"); err != nil {
		t.Fatal(err)
	}
	live, err := c.LiveFiles(ctx, "events")
	if err != nil || len(live) != 1 || live[0].Path != keep {
		t.Fatalf("after the expiry: live files %+v (%v), want only %s", live, err, keep)
	}
	retired, err := c.RetiredFiles(ctx, "E1")
	if err != nil || !slices.Equal(retired, []string{old}) {
		t.Fatalf("RetiredFiles(E1) = %v (%v), want [%s]", retired, err, old)
	}
	// The object stays recorded as loaded.
	var status string
	if err := c.DB().QueryRow(`SELECT status FROM objects WHERE "key" = 'a'`).Scan(&status); err != nil || status != string(ObjectCommitted) {
		t.Fatalf("object a: status %q (%v), want committed", status, err)
	}
}
