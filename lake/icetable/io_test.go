package icetable_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/parquet-go/parquet-go"

	_ "github.com/eventlake/eventlake/bucketstore"
	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// bucketLakes start a fake server per store and return a lake in it.
var bucketLakes = []struct {
	name string
	open func(t *testing.T) lake.ObjectStore
}{
	{"s3", func(t *testing.T) lake.ObjectStore {
		srv := testservers.S3(t)
		srv.CreateBucket(t, "b")
		return openStore(t, srv.URL("b", "lake/", nil))
	}},
	{"gcs", func(t *testing.T) lake.ObjectStore {
		srv := testservers.GCS(t)
		srv.CreateBucket("b")
		return openStore(t, srv.URL("b", "lake/"))
	}},
}

func openStore(t *testing.T, url string) lake.ObjectStore {
	t.Helper()
	loc, err := lake.ParseLocation(url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := lake.OpenStore(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// putFile writes a small Parquet file of rows rows at path in the bucket
// and returns its catalog record (partition domain=d, 2024-02-01).
func putFile(t *testing.T, st lake.ObjectStore, path string, rows int) catalog.FileRecord {
	t.Helper()
	type row struct {
		EventID string `parquet:"event_id"`
	}
	var rs []row
	for i := range rows {
		rs = append(rs, row{EventID: fmt.Sprintf("%s-%d", path, i)})
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), path, bytes.NewReader(buf.Bytes()), int64(buf.Len()), lake.PutCond{}); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 2, 1, 10, 0, 0, 0, time.UTC).UnixMicro()
	return catalog.FileRecord{Path: path, Table: "events", Partition: "domain=d/event_date=2024-02-01",
		Rows: int64(rows), Bytes: int64(buf.Len()), MinTime: ts, MaxTime: ts}
}

// racingStore is a BucketStore whose next commit first lets another
// writer run (once per arm).
type racingStore struct {
	*icetable.BucketStore
	before atomic.Pointer[func()]
}

func (r *racingStore) Commit(ctx context.Context, version int, data []byte) (string, error) {
	if f := r.before.Swap(nil); f != nil {
		(*f)()
	}
	return r.BucketStore.Commit(ctx, version, data)
}

// Two writers commit on top of the same version: the store's conditional
// create lets one have v<N> and refuses the other, which reads the table
// again and commits on top of the winner (nothing, when the winner's
// snapshot already is its own); a writer overtaken on every attempt fails
// with ErrCommitFailed naming the version.
func TestBucketCommitRace(t *testing.T) {
	for _, bl := range bucketLakes {
		t.Run(bl.name, func(t *testing.T) { testBucketCommitRace(t, bl.open(t)) })
	}
}

func testBucketCommitRace(t *testing.T, st lake.ObjectStore) {
	ctx := context.Background()
	f1 := putFile(t, st, "events/domain=d/event_date=2024-02-01/f1.parquet", 3)
	f2 := putFile(t, st, "events/domain=d/event_date=2024-02-01/f2.parquet", 4)
	f3 := putFile(t, st, "events/domain=d/event_date=2024-02-01/f3.parquet", 5)
	winner := icetable.Events(lake.Layout{}, icetable.Options{Bucket: st})
	rs := &racingStore{BucketStore: icetable.NewBucketStore(st, "events/_iceberg")}
	loser := icetable.Events(lake.Layout{}, icetable.Options{Bucket: st, Store: rs})
	if _, err := winner.Sync(ctx, []catalog.FileRecord{f1}, icetable.Superseded{}, "l1", false, nil); err != nil {
		t.Fatal(err)
	}

	// The same state, committed by both: the winner's snapshot is the
	// loser's too, so its retry commits nothing.
	race := func(files []catalog.FileRecord) {
		f := func() {
			if _, err := winner.Sync(ctx, files, icetable.Superseded{}, "winner", false, nil); err != nil {
				t.Errorf("winner: %v", err)
			}
		}
		rs.before.Store(&f)
	}
	race([]catalog.FileRecord{f1, f2})
	res, err := loser.Sync(ctx, []catalog.FileRecord{f1, f2}, icetable.Superseded{}, "loser", false, nil)
	if err != nil || res.Operation != "" {
		t.Fatalf("loser: %+v, %v; want nothing to commit after the retry", res, err)
	}
	tbl, err := loser.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := tbl.MetadataLocation(); !strings.HasSuffix(v, "/events/_iceberg/v3.metadata.json") || len(tbl.Metadata().Snapshots()) != 2 {
		t.Errorf("after the race: %s with %d snapshots, want v3 with 2", v, len(tbl.Metadata().Snapshots()))
	}

	// Different states: the loser commits its own on top of the winner's.
	race([]catalog.FileRecord{f1})
	res, err = loser.Sync(ctx, []catalog.FileRecord{f1, f2, f3}, icetable.Superseded{}, "loser", false, nil)
	if err != nil || res.Operation != table.OpAppend || res.Added != 2 || res.Removed != 0 {
		t.Fatalf("loser: %+v, %v; want f2 and f3 appended on top of the winner's snapshot of f1", res, err)
	}
	tbl, _ = loser.Load(ctx)
	if v := tbl.MetadataLocation(); !strings.HasSuffix(v, "/v5.metadata.json") || len(tbl.Metadata().Snapshots()) != 4 {
		t.Errorf("after the second race: %s with %d snapshots, want v5 with 4", v, len(tbl.Metadata().Snapshots()))
	}
	if b, _, err := st.Get(ctx, "events/_iceberg/version-hint.text"); err != nil || string(b) != "5" {
		t.Errorf("version hint %q, %v; want 5", b, err)
	}

	// Overtaken on every attempt: a clear failure.
	n := 0
	var again func()
	again = func() {
		n++
		extra := putFile(t, st, fmt.Sprintf("events/domain=d/event_date=2024-02-01/x%d.parquet", n), 1)
		if _, err := winner.Sync(ctx, []catalog.FileRecord{f1, f2, extra}, icetable.Superseded{}, "winner", false, nil); err != nil {
			t.Errorf("winner: %v", err)
		}
		rs.before.Store(&again)
	}
	rs.before.Store(&again)
	_, err = loser.Sync(ctx, []catalog.FileRecord{f1}, icetable.Superseded{}, "loser", false, nil)
	rs.before.Store(nil)
	if !errors.Is(err, table.ErrCommitFailed) || !errors.Is(err, icetable.ErrVersionExists) || !strings.Contains(err.Error(), "metadata.json") {
		t.Errorf("a writer overtaken every time: %v, want ErrCommitFailed naming the version", err)
	}
}
