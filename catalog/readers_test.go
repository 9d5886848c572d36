package catalog

import (
	"context"
	"testing"
	"time"
)

// visibleTotals sums what a reader of the lake (the shell) sees: the live
// files of published loads, per table.
func visibleTotals(t *testing.T, c *Catalog) (files, rows, bytes int64, tables map[string]int64) {
	t.Helper()
	live, err := c.LiveFiles(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	tables = map[string]int64{}
	for _, f := range live {
		files++
		rows += f.Rows
		bytes += f.Bytes
		tables[f.Table] += f.Rows
	}
	return files, rows, bytes, tables
}

// checkStatusAgrees fails unless Status counts exactly the files, rows and
// rejects that readers of LiveFiles see.
func checkStatusAgrees(t *testing.T, c *Catalog, wantRows, wantRejects int64) {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, rows, bytes, tables := visibleTotals(t, c)
	if rows != wantRows {
		t.Errorf("readers of live files see %d rows, want %d", rows, wantRows)
	}
	if st.Files != files || st.Rows != rows || st.Bytes != bytes {
		t.Errorf("status counts %d files, %d rows, %d bytes; the shell sees %d files, %d rows, %d bytes",
			st.Files, st.Rows, st.Bytes, files, rows, bytes)
	}
	got := map[string]int64{}
	for _, tb := range st.Tables {
		got[tb.Table] = tb.Rows
	}
	for tb, n := range tables {
		if got[tb] != n {
			t.Errorf("status table %s: %d rows, the shell sees %d", tb, got[tb], n)
		}
	}
	for tb, n := range got {
		if _, ok := tables[tb]; !ok && n != 0 {
			t.Errorf("status lists table %s with %d rows the shell does not see", tb, n)
		}
	}
	if st.Rejects != wantRejects {
		t.Errorf("status counts %d rejects, want %d", st.Rejects, wantRejects)
	}
}

// TestStatusAgreesWithReadersBeforePublish: a load (or compaction) killed
// after its commit but before it was marked published is counted the same way
// by status and by the shell, and status says it is waiting to be published.
func TestStatusAgreesWithReadersBeforePublish(t *testing.T) {
	ctx := context.Background()
	c, _ := openWriterCat(t)
	begin(t, c, "L1", t0)
	commit(t, c, Commit{LoadID: "L1", FinishedAt: t0.Add(time.Minute), Files: []FileRecord{
		{Path: "events/domain=a/event_date=2024-02-01/part-L1-00000.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 10, Bytes: 100},
		{Path: "events/domain=a/event_date=2024-02-01/part-L1-00001.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 5, Bytes: 50},
	}, Objects: []ObjectRecord{{Source: src, Key: "a", Version: "1", Status: ObjectCommitted, Records: 15, Rejects: 1}}, Records: 15, Rejects: 1})
	if err := c.MarkPublished(ctx, "L1"); err != nil {
		t.Fatal(err)
	}
	checkStatusAgrees(t, c, 15, 1)

	// A load killed between its renames and MarkPublished.
	begin(t, c, "L2", t0.Add(time.Hour))
	commit(t, c, Commit{LoadID: "L2", FinishedAt: t0.Add(time.Hour), Files: []FileRecord{
		{Path: "events/domain=b/event_date=2024-02-01/part-L2-00000.parquet", Table: "events", Partition: "domain=b/event_date=2024-02-01", Rows: 7, Bytes: 70},
		{Path: "orders/report_date=2024-02-01/part-L2-00001.parquet", Table: "orders", Partition: "report_date=2024-02-01", Rows: 3, Bytes: 30},
	}, Objects: []ObjectRecord{{Source: src, Key: "b", Version: "1", Status: ObjectCommitted, Records: 10, Rejects: 2}}, Records: 10, Rejects: 2})
	checkStatusAgrees(t, c, 15, 1)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unpublished) != 1 || st.Unpublished[0].ID != "L2" || st.Unpublished[0].Files != 2 || st.Unpublished[0].Rows != 10 {
		t.Errorf("status.Unpublished = %+v, want load L2 with 2 files and 10 rows", st.Unpublished)
	}
	if err := c.MarkPublished(ctx, "L2"); err != nil {
		t.Fatal(err)
	}
	checkStatusAgrees(t, c, 25, 3)

	// A compaction killed before its swap: the old files are what readers
	// see, not the old and the new ones together.
	if err := c.BeginLoad(ctx, LoadInfo{ID: "C1", StartedAt: t0.Add(2 * time.Hour), Command: CompactCommand}); err != nil {
		t.Fatal(err)
	}
	commit(t, c, Commit{LoadID: "C1", FinishedAt: t0.Add(2 * time.Hour), Files: []FileRecord{
		{Path: "events/domain=a/event_date=2024-02-01/part-C1-00000.parquet", Table: "events", Partition: "domain=a/event_date=2024-02-01", Rows: 14, Bytes: 120},
	}, Replaces: []string{
		"events/domain=a/event_date=2024-02-01/part-L1-00000.parquet",
		"events/domain=a/event_date=2024-02-01/part-L1-00001.parquet",
	}, Records: 14})
	checkStatusAgrees(t, c, 25, 3)
	if err := c.MarkPublished(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	checkStatusAgrees(t, c, 24, 3)
	if st, err = c.Status(ctx); err != nil || len(st.Unpublished) != 0 {
		t.Errorf("after publishing: Unpublished = %+v (%v), want none", st.Unpublished, err)
	}
}
