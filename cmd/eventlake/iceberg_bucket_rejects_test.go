package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// Rejects superseded by a reprocess of a bucket lake, in a _rejects file
// shared with another object's rejects, are hidden by position deletes in
// the bucket: iceberg-go's scan through the bucket and DuckDB over the
// downloaded data files minus the deletes are the shell's rejects.
func TestIcebergBucketRejectsPositionDeletes(t *testing.T) {
	forEachBucket(t, testIcebergBucketRejectsPositionDeletes)
}

func testIcebergBucketRejectsPositionDeletes(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	root := t.TempDir()
	src := filepath.Join(root, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		body := `{"uuid":"` + name + `-1","ts":"2024-03-01T10:00:00Z","kind":"order-placed"}` + "\n" +
			"{not json " + name + "\n" +
			`{"uuid":"` + name + `-2","ts":"2024-03-01T11:00:00Z","kind":"order-placed"}` + "\n"
		if err := os.WriteFile(filepath.Join(src, name+".ndjson"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(root, "eventlake.yaml")
	if err := os.WriteFile(cfg, []byte("profiles:\n  acme: {event_id: uuid, timestamp: ts, event_type: kind, domain: \"=acme\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	freshRunner(t)
	if code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", "--config", cfg, "--profile", "acme", src); code > 1 {
		t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
	}
	freshRunner(t)
	if code, out, errOut := runCLI(t, "reprocess", "--lake", lakeURL, "--object", "a.ndjson", "--settle", "0", "-q", "--config", cfg, "--profile", "acme", src); code > 1 {
		t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
	}
	sqlKeys := func(q string) []string {
		t.Helper()
		code, out, errOut := runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c", q)
		if code != 0 {
			t.Fatalf("sql: exit %d\n%s", code, errOut)
		}
		rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
		slices.Sort(rows)
		return rows
	}
	want := sqlKeys("select object || '|' || line as k from eventlake.rejects order by k")
	if len(want) != 2 {
		t.Fatalf("shell rejects %q, want one per object", want)
	}
	tbl, err := icetable.Rejects(lake.Layout{}, icetable.Options{Bucket: openBucket(t, lakeURL)}).Load(t.Context())
	if err != nil || tbl == nil {
		t.Fatalf("no _rejects Iceberg table: %v", err)
	}
	dels := snapshotDeletes(t, tbl, tbl.CurrentSnapshot())
	if len(dels) == 0 {
		t.Fatal("no position delete file in _rejects after the reprocess")
	}
	got := icebergKeys(t, tbl, 0, "object", "line")
	if !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of _rejects: %q, shell %q", got, want)
	}
	var urls []string
	for u := range snapshotFiles(t, tbl, tbl.CurrentSnapshot()) {
		urls = append(urls, u)
	}
	dir, local := downloadBucketFiles(t, lakeURL, append(slices.Clone(urls), dels...))
	var data, delList []string
	for _, u := range urls {
		data = append(data, "'"+local[u]+"'")
	}
	for _, u := range dels {
		delList = append(delList, "'"+local[u]+"'")
	}
	from := "(select d.* from read_parquet([" + strings.Join(data, ",") + "], filename = true, file_row_number = true) d" +
		" anti join read_parquet([" + strings.Join(delList, ",") + "]) x on x.file_path = '" + openBucket(t, lakeURL).URL() +
		"' || substr(d.filename, " + strconv.Itoa(len(dir)+2) + ") and x.pos = d.file_row_number)"
	if duck := sqlKeys("select object || '|' || line as k from " + from + " order by k"); !slices.Equal(duck, want) {
		t.Errorf("DuckDB over the _rejects data files minus the deletes: %q, shell %q", duck, want)
	}
}
