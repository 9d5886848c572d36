package loader_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/loader"
)

// deadCorpus is n small Pismo objects of distinct sizes, perObject events
// each.
func deadCorpus(n, perObject int) map[string][]byte {
	out := map[string][]byte{}
	for i := 0; i < n; i++ {
		var b strings.Builder
		for k := 0; k < perObject+i; k++ {
			fmt.Fprintf(&b, `{"event_id":"e-%03d-%03d","event_type":"customer_creation","schema_version":1,"timestamp":"2024-02-01T09:00:00Z","org_id":"o","domain":"account","data":{"n":%d}}`+"\n", i, k, k)
		}
		out[fmt.Sprintf("2024/02/01/09/obj-%03d", i)] = []byte(b.String())
	}
	return out
}

// TestDeadS3MidLoad: the store dies after a few objects were served. The
// load must end within a bound (not minutes of retries per object), commit
// the objects it read, record the rest failed and exit non-zero; a re-run
// against the store back up loads exactly the rest.
func TestDeadS3MidLoad(t *testing.T) {
	const n, perObject, served = 20, 10, 5
	corpus := deadCorpus(n, perObject)
	var gets atomic.Int64
	var srv *testservers.S3Server
	var once sync.Once
	kill := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/obj-") && gets.Add(1) > served {
				once.Do(srv.Close)
				panic(http.ErrAbortHandler) // the connection is cut
			}
			next.ServeHTTP(w, r)
		})
	}
	srv = testservers.S3(t, kill)
	srv.CreateBucket(t, "vendor")
	for k, v := range corpus {
		srv.Put(t, "vendor", "main_stream/"+k, v)
	}
	lake := t.TempDir()
	start := time.Now()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, []loader.SourceSpec{{URL: srv.URL("vendor", "main_stream/", nil)}})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load against a store dying after %d objects: %s; %d committed, %d failed", served, took.Round(time.Millisecond), sum.Committed, sum.Failed)
	if took > 20*time.Second {
		t.Errorf("load took %s, want < 20 s", took)
	}
	if sum.OK() {
		t.Error("summary OK after a dead store, want failures (exit 1)")
	}
	if sum.Committed < served-2 || sum.Committed > served || sum.Committed+sum.Failed != n {
		t.Errorf("committed %d, failed %d; want about %d committed and the rest of %d failed", sum.Committed, sum.Failed, served, n)
	}
	notAttempted := 0
	for _, e := range sum.Errors {
		if strings.Contains(e.Error, "not attempted") {
			notAttempted++
		}
	}
	// Once the breaker opened, no object costs a request: at most one
	// object per worker fails on its own.
	if notAttempted < n-served-2-2 {
		t.Errorf("%d objects not attempted, want at least %d: %v", notAttempted, n-served-4, sum.Errors)
	}
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cat.Objects(context.Background(), "s3://vendor/main_stream/")
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, o := range st {
		if o.Status == "failed" {
			failed++
		}
	}
	if failed != int(sum.Failed) {
		t.Errorf("catalog has %d failed objects, summary %d", failed, sum.Failed)
	}
	db := laketest.DuckDB(t)
	firstRows := laketest.One(t, db, "select count(*) from "+laketest.Events(lake))

	// The store is back (same bucket, same objects, a new address).
	srv2 := testservers.S3(t)
	srv2.CreateBucket(t, "vendor")
	for k, v := range corpus {
		srv2.Put(t, "vendor", "main_stream/"+k, v)
	}
	sum2, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, []loader.SourceSpec{{URL: srv2.URL("vendor", "main_stream/", nil)}})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if !sum2.OK() || sum2.Committed != sum.Failed || sum2.Skipped != sum.Committed {
		t.Errorf("re-run: %d committed, %d skipped, %d failed; want %d, %d, 0", sum2.Committed, sum2.Skipped, sum2.Failed, sum.Failed, sum.Committed)
	}
	want := 0
	for i := 0; i < n; i++ {
		want += perObject + i
	}
	total := laketest.One(t, db, "select count(*) from "+laketest.Events(lake))
	distinct := laketest.One(t, db, "select count(distinct event_id) from "+laketest.Events(lake))
	if total != fmt.Sprint(want) || distinct != total {
		t.Errorf("lake has %s rows (%s distinct) after the re-run (%s after the first load), want %d", total, distinct, firstRows, want)
	}
}

// TestDeadSFTPMidLoad: the SFTP server dies (listener closed, connections
// cut) in the middle of sending the objects. The load ends within a bound,
// commits the objects it read whole, records the rest failed, and exits
// non-zero; the same files loaded again (here from a folder, as after the
// vendor's server came back) add exactly the missing events.
func TestDeadSFTPMidLoad(t *testing.T) {
	const n, perObject = 20, 40
	corpus := deadCorpus(n, perObject)
	root := t.TempDir()
	total := 0
	for k, v := range corpus {
		p := filepath.Join(root, "main_stream", filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, v, 0o644); err != nil {
			t.Fatal(err)
		}
		total += len(v)
	}
	srv := testservers.SFTP(t, root)
	srv.KillAfter(int64(total) * 2 / 5) // dies having sent about 40 % of the bytes
	lake := t.TempDir()
	start := time.Now()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, []loader.SourceSpec{{URL: srv.URL("main_stream", "")}})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load against an SFTP server dying mid-load: %s; %d committed, %d failed", took.Round(time.Millisecond), sum.Committed, sum.Failed)
	if took > 20*time.Second {
		t.Errorf("load took %s, want < 20 s", took)
	}
	if sum.OK() || sum.Failed == 0 {
		t.Error("summary OK after a dead store, want failures (exit 1)")
	}
	if sum.Committed == 0 || sum.Committed+sum.Failed != n {
		t.Errorf("committed %d, failed %d; want some committed and the rest of %d failed", sum.Committed, sum.Failed, n)
	}
	db := laketest.DuckDB(t)
	first := laketest.One(t, db, "select count(*) from "+laketest.Events(lake))
	committedRows := 0
	for _, oc := range sum.Outcomes {
		if oc.Status == "committed" {
			committedRows += perObject + objectIndex(t, oc.Key)
		}
	}
	if first != fmt.Sprint(committedRows) {
		t.Errorf("lake has %s rows after the first load, want the %d of the %d committed objects", first, committedRows, sum.Committed)
	}

	sum2, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, []loader.SourceSpec{{URL: filepath.Join(root, "main_stream")}})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if sum2.Committed != sum.Failed || sum2.Duplicates != sum.Committed {
		t.Errorf("re-run: %d committed, %d duplicates; want %d and %d", sum2.Committed, sum2.Duplicates, sum.Failed, sum.Committed)
	}
	want := 0
	for i := 0; i < n; i++ {
		want += perObject + i
	}
	rows := laketest.One(t, db, "select count(*) from "+laketest.Events(lake))
	distinct := laketest.One(t, db, "select count(distinct event_id) from "+laketest.Events(lake))
	if rows != fmt.Sprint(want) || distinct != rows {
		t.Errorf("lake has %s rows (%s distinct), want %d", rows, distinct, want)
	}
}

// objectIndex is i of a deadCorpus key "…/obj-%03d".
func objectIndex(t *testing.T, key string) int {
	var i int
	if _, err := fmt.Sscanf(key[strings.LastIndex(key, "obj-"):], "obj-%03d", &i); err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	return i
}
