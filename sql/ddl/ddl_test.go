package ddl_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

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

// TestRejectColumnsMatchFiles: the rejects table's columns are the
// _rejects files' schema.
func TestRejectColumnsMatchFiles(t *testing.T) {
	lake := t.TempDir()
	if _, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{{URL: testdata("jwo"), Profile: "jwo-orders"}}); err != nil {
		t.Fatal(err)
	}
	db := laketest.DuckDB(t)
	got := laketest.Rows(t, db, "select column_name, column_type from (describe select * from read_parquet('"+
		filepath.ToSlash(filepath.Join(lake, "_rejects", "*", "*.parquet"))+"', hive_partitioning = false))")
	if len(got) != len(ddl.RejectColumns) {
		t.Fatalf("files have %d columns, DDL lists %d", len(got), len(ddl.RejectColumns))
	}
	for i, c := range ddl.RejectColumns {
		if got[i][0] != c.Name || got[i][1] != c.Parquet {
			t.Errorf("column %d: files have %s %s, DDL says %s %s", i, got[i][0], got[i][1], c.Name, c.Parquet)
		}
	}
	for _, f := range laketest.Files(t, filepath.Join(lake, "_rejects")) {
		if !strings.HasPrefix(f, ddl.RejectPartitions[0].Name+"=") {
			t.Errorf("folder %s does not match the partition column", f)
		}
	}
}

// goldenLake has plain domains, one orders table and one rejects day;
// goldenHostile adds a domain whose folder name is not its value, which
// turns Athena's projection into listed partitions.
var (
	goldenNow  = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	goldenLake = ddl.Lake{
		Events:  []string{"domain=account/event_date=2024-02-01", "domain=cards/event_date=2024-02-01", "domain=cards/event_date=2024-02-02"},
		Rejects: []string{"load_date=2024-02-03"},
		Tables: []ddl.Table{{Name: "orders", Columns: []ddl.TableColumn{{"order_id", "BIGINT"}, {"store_id", "VARCHAR"},
			{"order_total", "DECIMAL(38,2)"}, {"is_refund", "BOOLEAN"}, {"order_date", "DATE"}, {"local_time", "TIMESTAMP"}, {"updated_at", "TIMESTAMPTZ"}},
			Key: []string{"order_id"}, Order: "updated_at", Partition: "report_date", Partitions: []string{"report_date=2024-02-01"}}},
	}
	goldenHostile = ddl.Lake{
		Events: []string{"domain=__HIVE_DEFAULT_PARTITION__/event_date=2024-02-01", "domain=a%2Fb/event_date=2024-02-01",
			"domain=o%27brien, jr/event_date=2024-02-01", "domain=cards/event_date=0001-01-01"},
	}
)

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name, engine string
		lake         *ddl.Lake
	}{
		{"athena", "athena", &goldenLake}, {"spark", "spark", &goldenLake}, {"trino", "trino", &goldenLake},
		{"athena-listed", "athena", &goldenHostile}, {"spark-no-lake", "spark", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := ddl.Generate(ddl.Options{Engine: c.engine, Location: "s3://acme-lake/prod/", Lake: c.lake, Now: goldenNow})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Text
			for _, w := range res.Warnings {
				got += "-- warning: " + w + "\n"
			}
			path := filepath.Join("testdata", c.name+".golden")
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
				t.Errorf("%s DDL changed:\n%s\nwant:\n%s", c.name, got, want)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []ddl.Options{
		{Engine: "athena", Lake: &ddl.Lake{}},
		{Engine: "oracle", Location: "s3://b/"},
		{Engine: "spark", Location: "s3://b/'; drop table x; --"},
		{Engine: "athena", Location: "s3://b/"}, // no lake: partitions unknown
	} {
		if _, err := ddl.Generate(o); err == nil {
			t.Errorf("Generate(%+v) accepted", o)
		}
	}
	if _, err := ddl.Generate(ddl.Options{Engine: "athena", Location: "s3://b/"}); !errors.Is(err, ddl.ErrNeedLake) {
		t.Errorf("athena without a lake: %v, want ErrNeedLake", err)
	}
}
