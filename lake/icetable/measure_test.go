package icetable_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// requestCounter counts an S3 server's requests by kind.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
			kind = "LIST"
		case r.Method == http.MethodGet && r.Header.Get("Range") != "":
			kind = "GET-range"
		}
		c.mu.Lock()
		c.n[kind]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *requestCounter) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var kinds []string
	total := 0
	for k, n := range c.n {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	sort.Strings(kinds)
	c.n = map[string]int{}
	return fmt.Sprintf("%d requests (%s)", total, strings.Join(kinds, ", "))
}

// TestMeasureBucketIceberg (EVENTLAKE_MEASURE_ICEBERG=FILES, e.g. 80)
// counts the requests and times the Iceberg commits of a table in an S3
// bucket (in-process fake, loopback): the first sync of FILES files, a
// commit adding one file, a commit replacing ten, and a sync with nothing
// to do. It asserts nothing about time.
func TestMeasureBucketIceberg(t *testing.T) {
	var files int
	if _, err := fmt.Sscan(os.Getenv("EVENTLAKE_MEASURE_ICEBERG"), &files); err != nil || files < 11 {
		t.Skip("set EVENTLAKE_MEASURE_ICEBERG to the number of files (over 10) to measure")
	}
	ctx := context.Background()
	c := &requestCounter{n: map[string]int{}}
	srv := testservers.S3(t, c.wrap)
	srv.CreateBucket(t, "b")
	st := openStore(t, srv.URL("b", "lake/", nil))
	var recs []catalog.FileRecord
	for i := range files + 11 {
		recs = append(recs, putFile(t, st, fmt.Sprintf("events/domain=d%d/event_date=2024-02-01/f%03d.parquet", i%8, i), 100))
	}
	tbl := icetable.Events(lake.Layout{}, icetable.Options{Bucket: st})
	c.take()
	step := func(name string, live []catalog.FileRecord, rewrite bool) {
		start := time.Now()
		res, err := tbl.Sync(ctx, live, icetable.Superseded{}, "", rewrite, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-28s %-9s +%d -%d in %6s: %s", name, res.Operation, res.Added, res.Removed,
			time.Since(start).Round(time.Millisecond), c.take())
	}
	step(fmt.Sprintf("first sync of %d files", files), recs[:files], false)
	step("append 1 file", recs[:files+1], false)
	step("replace 10 files by 10", append(recs[10:files+1], recs[files+1:]...), true)
	step("sync, nothing to do", append(recs[10:files+1], recs[files+1:]...), false)
}
