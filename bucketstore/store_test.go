package bucketstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/eventlake/eventlake/bucketstore"
	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// stores are the bucket stores every test runs against: each starts a
// fake server on loopback with an empty bucket and returns the lake URL
// of a prefix in it.
var stores = []struct {
	name string
	lake func(t *testing.T) string
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
}

func forEachStore(t *testing.T, fn func(t *testing.T, url string)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { fn(t, s.lake(t)) })
	}
}

// A writer whose log entry another writer created first (its lease lost
// during a long pause) does not commit: the store refuses the second
// create, the load fails with ErrCommitConflict, its staged files are
// deleted, and the log keeps exactly the other writer's entry.
func TestCommitConflict(t *testing.T) { forEachStore(t, testCommitConflict) }

func testCommitConflict(t *testing.T, url string) {
	ctx := context.Background()
	t.Setenv("TMPDIR", t.TempDir())
	w, _, err := lake.OpenWriter(ctx, url, "", time.Second, "load")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tx, err := w.Begin(ctx, lake.TxOptions{Command: "load", Sources: []string{"file:///x/"}})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := lake.ParseLocation(url)
	st, err := lake.OpenStore(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other := lake.LogEntry{Format: lake.LogFormat, Seq: 1, LoadID: "20240101T000000Z-abcdef", Command: "load", Sources: []string{}}
	b, _ := json.Marshal(other)
	if _, err := st.Put(ctx, "_eventlake/log/00000000000000000001.json", bytes.NewReader(b), int64(len(b)), lake.PutCond{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	err = tx.Commit(ctx, lake.Changes{Objects: []catalog.ObjectRecord{{Source: "file:///x/", Key: "a", Version: "1", Size: 1,
		Status: catalog.ObjectCommitted, Records: 1}}, Records: 1})
	if !errors.Is(err, lake.ErrCommitConflict) {
		t.Fatalf("commit over another writer's entry: %v, want ErrCommitConflict", err)
	}
	got, _, err := st.Get(ctx, "_eventlake/log/00000000000000000001.json")
	if err != nil || !bytes.Equal(got, b) {
		t.Errorf("the other writer's entry changed: %s %v", got, err)
	}
	if _, _, err := st.Get(ctx, "_eventlake/log/00000000000000000002.json"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("the losing writer wrote a later entry: %v", err)
	}
	st.List(ctx, "_eventlake/staging/", "", func(o lake.ObjectInfo) error {
		t.Errorf("staged file of the losing load left: %s", o.Key)
		return nil
	})
}

// Conditional writes: create-if-absent refuses an existing key, If-Match
// refuses a changed object.
func TestConditionalPut(t *testing.T) { forEachStore(t, testConditionalPut) }

func testConditionalPut(t *testing.T, url string) {
	ctx := context.Background()
	loc, _ := lake.ParseLocation(url)
	st, err := lake.OpenStore(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v1, err := st.Put(ctx, "k", strings.NewReader("1"), 1, lake.PutCond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", strings.NewReader("2"), 1, lake.PutCond{IfAbsent: true}); !errors.Is(err, lake.ErrPrecondition) {
		t.Errorf("second create: %v, want ErrPrecondition", err)
	}
	v2, err := st.Put(ctx, "k", strings.NewReader("3"), 1, lake.PutCond{IfMatch: v1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "k", strings.NewReader("4"), 1, lake.PutCond{IfMatch: v1}); !errors.Is(err, lake.ErrPrecondition) {
		t.Errorf("stale If-Match: %v, want ErrPrecondition", err)
	}
	if b, v, err := st.Get(ctx, "k"); err != nil || string(b) != "3" || v != v2 {
		t.Errorf("get = %q %q %v", b, v, err)
	}
}

// Copy, List (prefix, startAfter, key order, nothing outside the lake's
// prefix), Delete (a missing key is no error) and Download.
func TestObjectOps(t *testing.T) { forEachStore(t, testObjectOps) }

func testObjectOps(t *testing.T, url string) {
	ctx := context.Background()
	loc, err := lake.ParseLocation(url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := lake.OpenStore(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !strings.HasSuffix(st.URL(), "://b/lake/") {
		t.Errorf("URL() = %q", st.URL())
	}
	for _, k := range []string{"a/1", "a/2", "a/3", "b/1"} {
		if _, err := st.Put(ctx, k, strings.NewReader("v"+k), int64(len("v"+k)), lake.PutCond{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Copy(ctx, "a/2", "c/x y=1/2"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := st.Download(ctx, "c/x y=1/2", &buf); err != nil || buf.String() != "va/2" {
		t.Errorf("copied object: %q %v", buf.String(), err)
	}
	list := func(prefix, after string) string {
		var keys []string
		if err := st.List(ctx, prefix, after, func(o lake.ObjectInfo) error {
			keys = append(keys, fmt.Sprintf("%s:%d", o.Key, o.Size))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(keys, " ")
	}
	if got := list("a/", "a/1"); got != "a/2:4 a/3:4" {
		t.Errorf("list a/ after a/1 = %q", got)
	}
	if got := list("", ""); got != "a/1:4 a/2:4 a/3:4 b/1:4 c/x y=1/2:4" {
		t.Errorf("list = %q", got)
	}
	if err := st.Delete(ctx, "a/1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "a/1"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if _, _, err := st.Get(ctx, "a/1"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("get of a deleted key: %v, want ErrNotExist", err)
	}
	if err := st.Download(ctx, "nope", &buf); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("download of a missing key: %v, want ErrNotExist", err)
	}
}

// Ranged reads and sizes, as Iceberg readers use them for Parquet footers
// and manifests: a middle range, a range past the end, the rest from an
// offset, and a missing object.
func TestReadRangeAndSize(t *testing.T) { forEachStore(t, testReadRangeAndSize) }

func testReadRangeAndSize(t *testing.T, url string) {
	ctx := context.Background()
	loc, _ := lake.ParseLocation(url)
	st, err := lake.OpenStore(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data := []byte("0123456789abcdef")
	if _, err := st.Put(ctx, "t/x.parquet", bytes.NewReader(data), int64(len(data)), lake.PutCond{}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Size(ctx, "t/x.parquet"); err != nil || n != 16 {
		t.Errorf("size = %d, %v; want 16", n, err)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{2, 3, "234"}, {12, 10, "cdef"}, {10, -1, "abcdef"}, {0, 16, string(data)}} {
		got, err := st.ReadRange(ctx, "t/x.parquet", c.off, c.n)
		if err != nil || string(got) != c.want {
			t.Errorf("ReadRange(%d, %d) = %q, %v; want %q", c.off, c.n, got, err, c.want)
		}
	}
	if _, err := st.Size(ctx, "t/missing"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("size of a missing object: %v, want ErrNotExist", err)
	}
	if _, err := st.ReadRange(ctx, "t/missing", 0, 4); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("read of a missing object: %v, want ErrNotExist", err)
	}
}

// keepAll keeps every replaced file (as an Iceberg table keeps those its
// retained snapshots list).
type keepAll struct{}

func (keepAll) Keep(_ context.Context, _ *lake.Publication, paths []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range paths {
		out[p] = true
	}
	return out, nil
}

// In a bucket as in a folder, the files a commit replaced are deleted
// after it unless the writer's Keeper keeps them.
func TestBucketRetentionKeepsReplacedFiles(t *testing.T) {
	forEachStore(t, testBucketRetentionKeepsReplacedFiles)
}

func testBucketRetentionKeepsReplacedFiles(t *testing.T, url string) {
	ctx := context.Background()
	t.Setenv("TMPDIR", t.TempDir())
	commit := func(keep bool, add string, replaces ...string) {
		t.Helper()
		var opts []lake.Option
		if keep {
			opts = append(opts, lake.WithRetention(keepAll{}))
		}
		w, _, err := lake.OpenWriter(ctx, url, "", time.Second, "compact", opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		tx, err := w.Begin(ctx, lake.TxOptions{Command: "compact", Sources: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		p := tx.Stage().Staged(add)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(add), 0o644); err != nil {
			t.Fatal(err)
		}
		err = tx.Commit(ctx, lake.Changes{Files: []partitions.File{{Path: add, Table: "events",
			Partition: "domain=a/event_date=2024-02-01", Rows: 1, Bytes: int64(len(add))}}, Replaces: replaces})
		if err != nil {
			t.Fatal(err)
		}
	}
	st := openStoreAt(t, url)
	exists := func(key string) bool {
		_, err := st.Size(ctx, key)
		if err != nil && !errors.Is(err, lake.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	const a, b, c = "events/domain=a/event_date=2024-02-01/a.parquet", "events/domain=a/event_date=2024-02-01/b.parquet",
		"events/domain=a/event_date=2024-02-01/c.parquet"
	commit(false, a)
	commit(true, b, a)
	if !exists(a) || !exists(b) {
		t.Fatalf("kept file a: %v, new file b: %v; want both in the bucket", exists(a), exists(b))
	}
	commit(false, c, b)
	if exists(b) || !exists(c) {
		t.Errorf("replaced file b without a keeper: %v, new file c: %v; want b deleted, c there", exists(b), exists(c))
	}
}

func openStoreAt(t *testing.T, url string) lake.ObjectStore {
	t.Helper()
	loc, _ := lake.ParseLocation(url)
	st, err := lake.OpenStore(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
