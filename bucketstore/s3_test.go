package bucketstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	_ "github.com/eventlake/eventlake/bucketstore"
	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/lake"
)

// A writer whose log entry another writer created first (its lease lost
// during a long pause) does not commit: the store refuses the second
// create, the load fails with ErrCommitConflict, its staged files are
// deleted, and the log keeps exactly the other writer's entry.
func TestCommitConflict(t *testing.T) {
	ctx := context.Background()
	srv := testservers.S3(t)
	srv.CreateBucket(t, "b")
	url := srv.URL("b", "lake/", nil)
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
func TestConditionalPut(t *testing.T) {
	ctx := context.Background()
	srv := testservers.S3(t)
	srv.CreateBucket(t, "b")
	loc, _ := lake.ParseLocation(srv.URL("b", "lake/", nil))
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
