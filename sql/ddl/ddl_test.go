package ddl_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/sql/ddl"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testdata(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", "..", "testdata"}, parts...)...)
}

// TestColumnsMatchFiles: every engine's column list is the files' schema,
// in file order, with the Parquet type DuckDB reads; the partitions are the
// folder names.
func TestColumnsMatchFiles(t *testing.T) {
	lake := t.TempDir()
	if _, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: testdata("pismo")}}); err != nil {
		t.Fatal(err)
	}
	db := laketest.DuckDB(t)
	got := laketest.Rows(t, db, "select column_name, column_type from (describe select * from read_parquet('"+laketest.EventsGlob(lake)+"', hive_partitioning = false))")
	if len(got) != len(ddl.Columns) {
		t.Fatalf("files have %d columns, DDL lists %d", len(got), len(ddl.Columns))
	}
	for i, c := range ddl.Columns {
		if got[i][0] != c.Name || got[i][1] != c.Parquet {
			t.Errorf("column %d: files have %s %s, DDL says %s %s", i, got[i][0], got[i][1], c.Name, c.Parquet)
		}
	}
	for _, f := range laketest.Files(t, filepath.Join(lake, "events")) {
		parts := strings.Split(f, "/")
		if !strings.HasPrefix(parts[0], ddl.Partitions[0].Name+"=") || !strings.HasPrefix(parts[1], ddl.Partitions[1].Name+"=") {
			t.Errorf("folder %s does not match the partition columns", f)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, engine := range ddl.Engines {
		t.Run(engine, func(t *testing.T) {
			got, err := ddl.Generate(ddl.Options{Engine: engine, Location: "s3://acme-lake/prod/", Domains: []string{"cards", "account"}, FirstDate: "2024-02-01"})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", engine+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s DDL changed:\n%s\nwant:\n%s", engine, got, want)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []ddl.Options{
		{Engine: "athena"},
		{Engine: "oracle", Location: "s3://b/"},
		{Engine: "spark", Location: "s3://b/'; drop table x; --"},
	} {
		if _, err := ddl.Generate(o); err == nil {
			t.Errorf("Generate(%+v) accepted", o)
		}
	}
}
