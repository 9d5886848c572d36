package icetable_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
	"github.com/eventlake/eventlake/partitions"
)

// A compaction-like commit of a bucket lake with the Iceberg hooks: the
// replace snapshot lists the new file, the replaced one stays in the
// bucket while the old snapshot is retained, and an expiry past the
// window drops the snapshot and then the file.
func TestBucketLakeReplaceAndExpire(t *testing.T) {
	for _, c := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"s3", func(t *testing.T) string {
			srv := testservers.S3(t)
			srv.CreateBucket(t, "b")
			return srv.URL("b", "lake/", nil)
		}},
		{"gcs", func(t *testing.T) string {
			srv := testservers.GCS(t)
			srv.CreateBucket("b")
			return srv.URL("b", "lake/")
		}},
	} {
		t.Run(c.name, func(t *testing.T) { testBucketLakeReplaceAndExpire(t, c.url(t)) })
	}
}

func testBucketLakeReplaceAndExpire(t *testing.T, url string) {
	ctx := context.Background()
	t.Setenv("TMPDIR", t.TempDir())
	st := openStore(t, url)
	tbl := icetable.Events(lake.Layout{}, icetable.Options{Bucket: st})
	ts := time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC).UnixMicro()
	commit := func(command, add string, rows int, replaces ...string) {
		t.Helper()
		w, _, err := lake.OpenWriter(ctx, url, "", time.Second, command, tbl.WriterOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		tx, err := w.Begin(ctx, lake.TxOptions{Command: command, Sources: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			EventID string `parquet:"event_id"`
		}
		var rs []row
		for i := range rows {
			rs = append(rs, row{EventID: fmt.Sprintf("ev-%d", i)})
		}
		var buf bytes.Buffer
		if err := parquet.Write(&buf, rs); err != nil {
			t.Fatal(err)
		}
		p := tx.Stage().Staged(add)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		err = tx.Commit(ctx, lake.Changes{Files: []partitions.File{{Path: add, Table: "events",
			Partition: "domain=d/event_date=2024-02-01", Rows: int64(rows), Bytes: int64(buf.Len()), MinTime: ts, MaxTime: ts}},
			Replaces: replaces})
		if err != nil {
			t.Fatal(err)
		}
	}
	const a, b = "events/domain=d/event_date=2024-02-01/a.parquet", "events/domain=d/event_date=2024-02-01/b.parquet"
	commit("load", a, 3)
	commit("compact", b, 3, a)
	cur, err := tbl.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if op := cur.CurrentSnapshot().Summary.Operation; op != table.OpReplace || len(cur.Metadata().Snapshots()) != 2 {
		t.Fatalf("after the compaction: %s with %d snapshots, want replace with 2", op, len(cur.Metadata().Snapshots()))
	}
	if _, err := st.Size(ctx, a); err != nil {
		t.Fatalf("the replaced file is gone while a retained snapshot lists it: %v", err)
	}
	// Past the window: the old snapshot is expired, then its file deleted.
	w, _, err := lake.OpenWriter(ctx, url, "", time.Second, "iceberg sync")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	short := icetable.Events(lake.Layout{}, icetable.Options{Bucket: st, Retention: -1})
	n, err := short.Expire(ctx, &lake.Publication{Layout: w.Layout, Catalog: w.Catalog}, time.Now().Add(time.Second))
	if err != nil || n != 1 {
		t.Fatalf("expire: %d deleted, %v; want 1", n, err)
	}
	if _, err := st.Size(ctx, a); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("the replaced file is still in the bucket after expiry: %v", err)
	}
	if _, err := st.Size(ctx, b); err != nil {
		t.Errorf("the live file: %v", err)
	}
	cur, _ = short.Load(ctx)
	if len(cur.Metadata().Snapshots()) != 1 {
		t.Errorf("%d snapshots after expiry, want 1", len(cur.Metadata().Snapshots()))
	}
}
