package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// assertTableIsCatalog checks that the current snapshot of the Iceberg
// table of a lake table lists exactly the catalog's live files of it.
func assertTableIsCatalog(t *testing.T, lakeDir string, it *icetable.Table) {
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
	code, out, errOut := runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live' and table_name = '"+it.Name()+"' order by path")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	var want []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		want = append(want, filepath.Join(lakeDir, filepath.FromSlash(p)))
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("%s: current snapshot files:\n%q\ncatalog live files:\n%q", it.Name(), have, want)
	}
}

// TestIcebergTableCrashSteps kills a load at each step of the Iceberg
// commits of _rejects and of a CSV table (orders), named per table, then
// re-runs it: every table's current snapshot is the catalog's live files,
// and iceberg-go reads orders as its files.
func TestIcebergTableCrashSteps(t *testing.T) {
	for _, point := range []string{
		"iceberg-rejects-before-commit",
		"iceberg-rejects-after-commit",
		"iceberg-orders-before-commit",
		"iceberg-orders-after-commit",
		"iceberg-orders-after-schema",
	} {
		t.Run(point, func(t *testing.T) {
			lakeDir := t.TempDir()
			args := []string{"load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", "--profile", "jwo-orders", testdata("jwo")}
			if point == "iceberg-orders-after-schema" {
				// A second report adds a column: the new schema is
				// committed, then the load is killed before its snapshot.
				if code, out, errOut := runCLI(t, args...); code != 0 {
					t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
				}
				args = []string{"load", "--lake", lakeDir, "--settle", "0", "-q", "--profile", "jwo-orders", jwoWithChannel(t)}
			}
			runKilled(t, point, args...)
			if code, out, errOut := runCLI(t, args...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
			}
			l := lake.At(lakeDir)
			orders := icetable.CSVTable(l, "orders", icetable.Options{})
			for _, it := range []*icetable.Table{icetable.Events(l, icetable.Options{}), icetable.Rejects(l, icetable.Options{}), orders} {
				assertTableIsCatalog(t, lakeDir, it)
			}
			tbl, err := orders.Load(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			col := "order_id"
			if point == "iceberg-orders-after-schema" {
				col = "channel"
			}
			if got, want := csvIcebergRows(t, tbl, col), csvShellRows(t, lakeDir, "orders", col); !slices.Equal(got, want) {
				t.Errorf("iceberg-go scan of orders: %q\nlive files: %q", got, want)
			}
		})
	}
}
