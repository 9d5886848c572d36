package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// csvIcebergRows scans a CSV table's Iceberg table with iceberg-go and
// returns its rows as sorted "_object|_line|<column>" keys (the column's
// value, or NULL).
func csvIcebergRows(t *testing.T, tbl *table.Table, column string) []string {
	t.Helper()
	return icebergKeys(t, tbl, 0, "_object", "_line", column)
}

// csvShellRows reads the catalog's live files of a CSV table with DuckDB,
// as the same keys.
func csvShellRows(t *testing.T, lakeDir, tableName, column string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live' and table_name = '"+tableName+"' order by path")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	var paths []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		paths = append(paths, "'"+filepath.Join(lakeDir, filepath.FromSlash(p))+"'")
	}
	code, out, errOut = runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select _object || '|' || _line || '|' || coalesce("+column+", 'NULL') as k from read_parquet(["+strings.Join(paths, ",")+"], union_by_name = true) order by k")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	slices.Sort(rows)
	return rows
}

// jwoWithChannel writes a JWO report whose header has a column the
// testdata's lack (channel) and returns its source folder.
func jwoWithChannel(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "jwo2")
	dir := filepath.Join(src, "Order", "2024-06-06", "01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "order_id,store_id,order_status,order_total,currency,item_count,is_refund,order_date,updated_at,channel\n" +
		"2001,STORE-7,COMPLETED,1.50,USD,1,false,2024-06-06,2024-06-06T01:00:00Z,web\n" +
		"2002,STORE-8,PENDING,2.50,USD,2,false,2024-06-06,2024-06-06T01:01:00Z,app\n"
	if err := os.WriteFile(filepath.Join(dir, "ALL00.csv000"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestIcebergCSVTables: a CSV table (JWO orders) gets an Iceberg table of
// its own, its schema the files' columns, partitioned by identity of its
// partition column; a report that gains a column adds it in a new schema
// id, the older files reading it as null; iceberg-go's scanner reads the
// catalog's live files of the table.
func TestIcebergCSVTables(t *testing.T) {
	lakeDir := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", "--profile", "jwo-orders", testdata("jwo")); code != 0 {
		t.Fatalf("load jwo: exit %d\n%s", code, errOut)
	}
	ot := icetable.CSVTable(lake.At(lakeDir), "orders", icetable.Options{})
	tbl, err := ot.Load(t.Context())
	if err != nil || tbl == nil {
		t.Fatalf("no orders Iceberg table: %v", err)
	}
	if !strings.HasPrefix(tbl.MetadataLocation(), filepath.Join(lakeDir, "orders", icetable.MetaFolder)+string(filepath.Separator)) {
		t.Errorf("metadata at %s, want under orders/_iceberg", tbl.MetadataLocation())
	}
	spec := tbl.Spec()
	var fs []iceberg.PartitionField
	for _, f := range spec.Fields() {
		fs = append(fs, f)
	}
	if len(fs) != 1 || fs[0].Name != "report_date" || fs[0].Transform.String() != "identity" {
		t.Errorf("partition spec %v, want identity(report_date)", fs)
	}
	schema0 := tbl.Schema().ID
	want := csvShellRows(t, lakeDir, "orders", "order_id")
	if len(want) == 0 {
		t.Fatal("no orders rows")
	}
	if got := csvIcebergRows(t, tbl, "order_id"); !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of orders: %q\nlive files: %q", got, want)
	}
	if _, ok := tbl.Schema().FindFieldByName("channel"); ok {
		t.Fatal("the schema has channel before any file holds it")
	}

	// A later report gains a column.
	src := jwoWithChannel(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--profile", "jwo-orders", src); code != 0 {
		t.Fatalf("load jwo2: exit %d\n%s", code, errOut)
	}
	tbl, err = ot.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Schema().ID == schema0 {
		t.Errorf("schema id still %d after a column was added", schema0)
	}
	if _, ok := tbl.Schema().FindFieldByName("channel"); !ok {
		t.Errorf("schema lacks the added column: %s", tbl.Schema())
	}
	if n := len(tbl.Metadata().Schemas()); n != 2 {
		t.Errorf("%d schemas in the metadata, want 2", n)
	}
	want = csvShellRows(t, lakeDir, "orders", "channel")
	got := csvIcebergRows(t, tbl, "channel")
	if !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of orders after the new column: %q\nlive files: %q", got, want)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, "|web") }) ||
		!slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, "|NULL") }) {
		t.Errorf("want new rows with channel and old rows reading null: %q", got)
	}
	// ddl registers it beside events and rejects.
	code, out, errOut := runCLI(t, "ddl", "--format", "iceberg", "--engine", "spark", "--lake", lakeDir)
	if code != 0 || !strings.Contains(out, ".orders', metadata_file => '"+tbl.MetadataLocation()+"'") {
		t.Errorf("ddl --format iceberg: exit %d, no registration of orders from %s\n%s%s", code, tbl.MetadataLocation(), out, errOut)
	}
	// iceberg sync finds every table up to date.
	code, out, errOut = runCLI(t, "iceberg", "sync", "--lake", lakeDir)
	if code != 0 || !strings.Contains(out, "iceberg table orders is up to date") || !strings.Contains(out, "iceberg table events is up to date") {
		t.Errorf("iceberg sync: exit %d\n%s%s", code, out, errOut)
	}
}
