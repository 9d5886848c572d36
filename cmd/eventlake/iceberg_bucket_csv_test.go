package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// bucketCSVShellRows downloads the catalog's live files of a CSV table of
// a bucket lake and reads them with DuckDB, as csvShellRows does.
func bucketCSVShellRows(t *testing.T, lakeURL, tableName, column string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live' and table_name = '"+tableName+"' order by path")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	root := openBucket(t, lakeURL).URL()
	var urls []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		urls = append(urls, root+p)
	}
	_, local := downloadBucketFiles(t, lakeURL, urls)
	var paths []string
	for _, u := range urls {
		paths = append(paths, "'"+local[u]+"'")
	}
	code, out, errOut = runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c",
		"select _object || '|' || _line || '|' || coalesce("+column+", 'NULL') as k from read_parquet(["+strings.Join(paths, ",")+"], union_by_name = true) order by k")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	slices.Sort(rows)
	return rows
}

// A CSV table of a bucket lake (JWO orders) gets its Iceberg table in the
// bucket, its schema read from the files' footers through the bucket; a
// report that gains a column adds it; iceberg-go's scanner through the
// bucket reads the catalog's live files of the table.
func TestIcebergBucketCSVTables(t *testing.T) { forEachBucket(t, testIcebergBucketCSVTables) }

func testIcebergBucketCSVTables(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", "--profile", "jwo-orders", testdata("jwo")); code != 0 {
		t.Fatalf("load jwo: exit %d\n%s", code, errOut)
	}
	ot := icetable.CSVTable(lake.Layout{}, "orders", icetable.Options{Bucket: openBucket(t, lakeURL)})
	tbl, err := ot.Load(t.Context())
	if err != nil || tbl == nil {
		t.Fatalf("no orders Iceberg table: %v", err)
	}
	root := openBucket(t, lakeURL).URL()
	if !strings.HasPrefix(tbl.MetadataLocation(), root+"orders/"+icetable.MetaFolder+"/v") {
		t.Errorf("metadata at %s, want under %sorders/_iceberg", tbl.MetadataLocation(), root)
	}
	want := bucketCSVShellRows(t, lakeURL, "orders", "order_id")
	if len(want) == 0 {
		t.Fatal("no orders rows")
	}
	if got := csvIcebergRows(t, tbl, "order_id"); !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of orders: %q\nlive files: %q", got, want)
	}

	// A later report gains a column.
	src := jwoWithChannel(t)
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--profile", "jwo-orders", src); code != 0 {
		t.Fatalf("load jwo2: exit %d\n%s", code, errOut)
	}
	if tbl, err = ot.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := tbl.Schema().FindFieldByName("channel"); !ok {
		t.Errorf("schema lacks the added column: %s", tbl.Schema())
	}
	want = bucketCSVShellRows(t, lakeURL, "orders", "channel")
	got := csvIcebergRows(t, tbl, "channel")
	if !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of orders after the new column: %q\nlive files: %q", got, want)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, "|web") }) {
		t.Errorf("want new rows with channel: %q", got)
	}
	// ddl registers it beside events and rejects, from its metadata's URL.
	freshRunner(t)
	code, out, errOut := runCLI(t, "ddl", "--format", "iceberg", "--engine", "spark", "--lake", lakeURL)
	if code != 0 || !strings.Contains(out, ".orders', metadata_file => '"+tbl.MetadataLocation()+"'") {
		t.Errorf("ddl --format iceberg: exit %d, no registration of orders from %s\n%s%s", code, tbl.MetadataLocation(), out, errOut)
	}
	// iceberg sync finds every table up to date.
	freshRunner(t)
	code, out, errOut = runCLI(t, "iceberg", "sync", "--lake", lakeURL)
	if code != 0 || !strings.Contains(out, "iceberg table orders is up to date") || !strings.Contains(out, "iceberg table events is up to date") {
		t.Errorf("iceberg sync: exit %d\n%s%s", code, out, errOut)
	}
}

// assertBucketTableIsCatalog checks that the current snapshot of the
// Iceberg table of a bucket lake's table lists exactly the catalog's live
// files of it, by their URLs.
func assertBucketTableIsCatalog(t *testing.T, lakeURL string, it *icetable.Table) {
	t.Helper()
	tbl, err := it.Load(t.Context())
	if err != nil || tbl == nil {
		t.Fatalf("no Iceberg table of %s: %v", it.Name(), err)
	}
	var have []string
	if snap := tbl.CurrentSnapshot(); snap != nil {
		for p := range snapshotFiles(t, tbl, snap) {
			have = append(have, p)
		}
	}
	code, out, errOut := runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live' and table_name = '"+it.Name()+"' order by path")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	root := openBucket(t, lakeURL).URL()
	var want []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		want = append(want, root+p)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("%s: current snapshot files:\n%q\ncatalog live files:\n%q", it.Name(), have, want)
	}
}

// A SIGKILL of a load on a bucket lake at each step of the Iceberg commits
// of _rejects and of a CSV table (orders), then a re-run on a fresh
// machine: every table's current snapshot is the catalog's live files.
func TestIcebergBucketTableCrashSteps(t *testing.T) {
	forEachBucket(t, testIcebergBucketTableCrashSteps)
}

func testIcebergBucketTableCrashSteps(t *testing.T, newLake func(*testing.T) string) {
	for _, point := range []string{
		"iceberg-rejects-after-commit",
		"iceberg-orders-before-commit",
		"iceberg-orders-after-commit",
		"iceberg-orders-after-schema",
	} {
		t.Run(point, func(t *testing.T) {
			lakeURL := newLake(t)
			args := []string{"load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", "--profile", "jwo-orders", testdata("jwo")}
			if point == "iceberg-orders-after-schema" {
				freshRunner(t)
				if code, out, errOut := runCLI(t, args...); code != 0 {
					t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
				}
				args = []string{"load", "--lake", lakeURL, "--settle", "0", "-q", "--profile", "jwo-orders", jwoWithChannel(t)}
			}
			freshRunner(t)
			runKilled(t, point, args...)
			freshRunner(t)
			if code, out, errOut := runCLI(t, args...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
			}
			o := icetable.Options{Bucket: openBucket(t, lakeURL)}
			orders := icetable.CSVTable(lake.Layout{}, "orders", o)
			for _, it := range []*icetable.Table{icetable.Events(lake.Layout{}, o), icetable.Rejects(lake.Layout{}, o), orders} {
				assertBucketTableIsCatalog(t, lakeURL, it)
			}
			tbl, err := orders.Load(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			col := "order_id"
			if point == "iceberg-orders-after-schema" {
				col = "channel"
			}
			if got, want := csvIcebergRows(t, tbl, col), bucketCSVShellRows(t, lakeURL, "orders", col); !slices.Equal(got, want) {
				t.Errorf("iceberg-go scan of orders: %q\nlive files: %q", got, want)
			}
		})
	}
}
