package loader_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/testservers"
	"github.com/eventlake/eventlake/loader"
)

// TestStoppedCSVLoadCommitsWholeObjects: each worker keeps the rows of the
// CSV objects it read in row groups of its own until they fill. A load
// stopped while the store stalls on an object commits the objects read
// before; every one of their rows must be in the table, and no row of an
// object that was not committed.
func TestStoppedCSVLoadCommitsWholeObjects(t *testing.T) {
	const n, served, perObject = 12, 6, 40
	// The store stops answering at the first GET of object number served
	// (the objects are of one size: one worker reads them in key order).
	faults := testservers.NewS3Faults(map[string][]testservers.Fault{
		fmt.Sprintf("vendor/Order/2024-06-05/%02d/ALL00.csv000", served): {testservers.Die},
	})
	t.Cleanup(faults.Revive)
	srv := testservers.S3(t, faults.Middleware)
	srv.CreateBucket(t, "vendor")
	for o := range n {
		var b strings.Builder
		b.WriteString("order_id,store_id,order_status,order_total,currency,item_count,is_refund,order_date,updated_at\n")
		for i := range perObject {
			fmt.Fprintf(&b, "o%02d-%03d,STORE-1,OPEN,%d.50,USD,1,false,2024-06-05,2024-06-05T10:%02d:00Z\n", o, i, i, o)
		}
		srv.Put(t, "vendor", fmt.Sprintf("Order/2024-06-05/%02d/ALL00.csv000", o), []byte(b.String()))
	}
	lake := t.TempDir()
	stop := make(chan struct{})
	go func() {
		for faults.Counts().Hung == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // the objects before are read and handed over
		close(stop)
	}()
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, Stop: stop},
		[]loader.SourceSpec{{URL: srv.URL("vendor", "Order/", nil), Profile: "jwo-orders"}})
	if err != nil && !strings.Contains(err.Error(), "stop") {
		t.Fatalf("load: %v", err)
	}
	if sum == nil || sum.Committed < 1 || sum.Committed >= n {
		t.Fatalf("summary %+v: want some of the %d objects committed", sum, n)
	}
	files := lakeFiles(t, lake, "orders")
	if len(files) != 1 || len(files["report_date=2024-06-05"]) != 1 {
		t.Fatalf("files %v, want one file of report_date=2024-06-05", files)
	}
	f := files["report_date=2024-06-05"][0]
	ids, objs := arrowColumn(t, f, "order_id"), arrowColumn(t, f, "_object")
	perObj := map[string][]string{}
	for i, id := range ids {
		perObj[filepath.Base(filepath.Dir(objs[i]))] = append(perObj[filepath.Base(filepath.Dir(objs[i]))], id)
	}
	if int64(len(perObj)) != sum.Committed {
		t.Fatalf("rows of %d objects in the table, %d committed", len(perObj), sum.Committed)
	}
	for hour, got := range perObj {
		var want []string
		for i := range perObject {
			want = append(want, fmt.Sprintf("o%s-%03d", hour, i))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("object of hour %s: %d rows in the table, want its %d", hour, len(got), perObject)
		}
	}
}
