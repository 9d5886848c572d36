package loader_test

import (
	"path/filepath"
	"testing"

	"github.com/eventlake/eventlake/internal/parquetcheck"
)

// TestLoadedFilesPageIndex loads events, a JWO orders CSV and bad records
// (so _rejects gets files) and checks every file the load wrote with
// Arrow's Parquet reader: valid column indexes, lookups of every event_id,
// cid and order_id through them, and bloom filters on those columns.
func TestLoadedFilesPageIndex(t *testing.T) {
	lake := t.TempDir()
	sum := load(t, lake, testdata("pismo"), testdata("subscriber"), testdata("fulfillmenttools"), testdata("jwo", "Order"), testdata("bad"))
	if sum.Rejects == 0 {
		t.Fatalf("summary %+v: want rejects", sum)
	}
	rep, err := parquetcheck.CheckLake(lake, parquetcheck.Options{Bloom: map[string][]string{
		"events": {"event_id", "cid"},
		"orders": {"order_id"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, bloom false-positive rate %.3f", rep, rep.FalsePositiveRate())
	if m, _ := filepath.Glob(filepath.Join(lake, "orders", "*", "*.parquet")); len(m) == 0 {
		t.Error("no orders files")
	}
	if m, _ := filepath.Glob(filepath.Join(lake, "_rejects", "*", "*.parquet")); len(m) == 0 {
		t.Error("no _rejects files")
	}
	if rep.Lookups < goodDistinct || rep.NoColumnIndex != 0 {
		t.Errorf("checked %+v", rep)
	}
}
