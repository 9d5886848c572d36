package loader_test

import (
	"context"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

func testdata(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", "testdata"}, parts...)...)
}

func load(t *testing.T, lake string, sources ...string) *loader.Summary {
	t.Helper()
	var specs []loader.SourceSpec
	for _, s := range sources {
		specs = append(specs, loader.SourceSpec{URL: s})
	}
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, specs)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return sum
}

// The good sample corpus: Pismo main_stream (raw + gzipped, with two
// re-delivered events), an additional subscriber's pretty-printed two-org
// file (one duplicate inside) and a BOM+CRLF JSON array, and a gzipped
// fulfillmenttools day folder export.
var goodSources = []string{"pismo", "subscriber", "fulfillmenttools"}

const (
	goodObjects  = 8
	goodRows     = 32 // 9 + 7 + 4 + 2 + 10
	goodDistinct = 29 // minus 2 re-delivered, minus 1 duplicate in the subscriber file
)

func goodLake(t *testing.T) (string, *loader.Summary) {
	lake := t.TempDir()
	var srcs []string
	for _, s := range goodSources {
		srcs = append(srcs, testdata(s))
	}
	return lake, load(t, lake, srcs...)
}

func TestLoadReadBack(t *testing.T) {
	lake, sum := goodLake(t)
	if sum.Objects != goodObjects || sum.Committed != goodObjects || sum.Records != goodRows || sum.Rejects != 0 || !sum.OK() {
		t.Fatalf("summary = %+v, want %d objects committed, %d records, no rejects", sum, goodObjects, goodRows)
	}
	db := laketest.DuckDB(t)
	ev := laketest.Events(lake)
	if got := laketest.Rows(t, db, "select count(*), count(distinct event_id) from "+ev); got[0][0] != "32" || got[0][1] != "29" {
		t.Errorf("rows, distinct event_ids = %v, want 32, 29", got[0])
	}
	gotParts := laketest.Rows(t, db, "select domain, event_date::varchar, count(*) from "+ev+" group by all order by all")
	wantParts := [][]string{
		{"account", "2024-02-01", "5"},       // 3 creations + 1 status change + 1 re-delivered creation
		{"authorization", "2024-02-01", "2"}, // 23:59:59.999999Z stays on the 1st
		{"cards", "2019-07-20", "1"},         // 01:00+02:00 is the 20th in UTC
		{"cards", "2024-02-01", "5"},         // 12:1x-03:00 → 4 + 1 re-delivered
		{"cards", "2024-02-02", "3"},
		{"dataplatform", "2024-02-01", "1"},
		{"onboarding", "2019-07-20", "3"},
		{"onboarding", "2019-07-21", "2"},
		{"order", "2024-02-01", "2"},
		{"order", "2024-02-02", "2"},
		{"pickjob", "2024-02-01", "2"},
		{"pickjob", "2024-02-02", "1"},
	}
	// fulfillmenttools: day 1 has events 0..5 → order-created (0,3), pickjob (1,4), order-updated (2,5)
	wantParts[8] = []string{"order", "2024-02-01", "4"}
	wantParts[9] = []string{"order", "2024-02-02", "3"}
	if !reflect.DeepEqual(gotParts, wantParts) {
		t.Errorf("partitions:\n%s\nwant:\n%s", laketest.Table(gotParts), laketest.Table(wantParts))
	}
	// Folder names are the Hive layout.
	files := laketest.Files(t, filepath.Join(lake, "events"))
	for _, f := range files {
		parts := strings.Split(f, "/")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "domain=") || !strings.HasPrefix(parts[1], "event_date=") ||
			!strings.HasPrefix(parts[2], "part-"+sum.LoadID+"-") || !strings.HasSuffix(parts[2], ".parquet") {
			t.Errorf("unexpected file %s", f)
		}
	}
	if len(files) != sum.Files {
		t.Errorf("%d files on disk, summary says %d", len(files), sum.Files)
	}
	// Column types as external engines see them, and no partition column inside the files.
	types := laketest.Rows(t, db, "select column_name, column_type from (describe select * from read_parquet('"+laketest.EventsGlob(lake)+"', hive_partitioning = false))")
	wantTypes := [][]string{
		{"event_id", "VARCHAR"}, {"event_type", "VARCHAR"}, {"schema_version", "INTEGER"}, {"org_id", "VARCHAR"},
		{"cid", "VARCHAR"}, {"event_time", "TIMESTAMP WITH TIME ZONE"}, {"data", "JSON"}, {"_object", "VARCHAR"},
		{"_line", "BIGINT"}, {"_offset", "BIGINT"}, {"_load_id", "VARCHAR"}, {"_ingested_at", "TIMESTAMP WITH TIME ZONE"},
	}
	if !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("file schema:\n%s\nwant:\n%s", laketest.Table(types), laketest.Table(wantTypes))
	}
	// Values survive exactly: an event with escapes in its data, a null cid, a string schema_version.
	row := laketest.Rows(t, db, `select org_id, cid, schema_version, strftime(event_time at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f'), data->>'$.note', _line, _offset
		from `+ev+` where event_id = '7f1e2d3c-0000-4000-8000-000000000001'`)
	// The fourth pretty-printed object starts on line 31, byte 840 (checked by hand).
	want := [][]string{{"TN-a1db4e4e-315f-4a67-9036-ecacd370b561", "NULL", "1", "2019-07-20T23:00:00.000000", "line1\nline2 {not a brace}", "31", "840"}}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %q, want %q", row, want)
	}
	// Line and offset point at the record in the (decompressed) object.
	lines := laketest.Rows(t, db, "select _line, _offset from "+ev+" where _object like '%batch-002' order by _line")
	// After the 3-byte BOM and "[\r\n  ", the first element starts at byte 8 on line 2.
	if !reflect.DeepEqual(lines, [][]string{{"2", "8"}, {"14", "336"}}) {
		t.Errorf("array element lines/offsets = %v", lines)
	}
}

func TestRerunIsNoop(t *testing.T) {
	lake, _ := goodLake(t)
	before := laketest.Files(t, lake)
	var srcs []string
	for _, s := range goodSources {
		srcs = append(srcs, testdata(s))
	}
	sum := load(t, lake, srcs...)
	if sum.LoadID != "" || sum.Objects != 0 || sum.Skipped != goodObjects || !sum.OK() {
		t.Fatalf("re-run summary = %+v, want nothing loaded and %d skipped", sum, goodObjects)
	}
	after := laketest.Files(t, lake)
	// Only the catalog's own files may change (WAL); the lake's data must not.
	strip := func(fs []string) []string {
		var out []string
		for _, f := range fs {
			if !strings.HasPrefix(f, "_eventlake/") {
				out = append(out, f)
			}
		}
		return out
	}
	if !reflect.DeepEqual(strip(before), strip(after)) {
		t.Errorf("re-run changed files:\nbefore %q\nafter  %q", strip(before), strip(after))
	}
}

func TestBadFiles(t *testing.T) {
	lake := t.TempDir()
	sum := load(t, lake, testdata("bad"))
	// truncated-gzip fails (nothing of it loads), binary-garbage is quarantined
	// whole, the two files with some bad records load their good ones.
	if sum.Objects != 4 || sum.Failed != 1 || sum.Quarantined != 1 || sum.Committed != 2 || sum.OK() {
		t.Fatalf("summary = %+v", sum)
	}
	if sum.Records != 5 || sum.Rejects != 6 {
		t.Errorf("records, rejects = %d, %d, want 5, 6", sum.Records, sum.Rejects)
	}
	db := laketest.DuckDB(t)
	got := laketest.Rows(t, db, `select regexp_extract(object, '[^/]+$'), line, reason from read_parquet('`+filepath.ToSlash(lake)+`/_rejects/*/*.parquet') order by all`)
	want := []struct{ object, line, reason string }{
		{"binary-garbage", "1", "unrecognised content"},
		{"mixed-bad-lines.ndjson", "2", "invalid JSON"},
		{"mixed-bad-lines.ndjson", "4", "missing required field event_id"},
		{"mixed-bad-lines.ndjson", "5", "unparseable timestamp"},
		{"mixed-bad-lines.ndjson", "6", "domain:"},
		{"pretty-broken-middle", "11", "unterminated"},
	}
	if len(got) != len(want) {
		t.Fatalf("rejects:\n%s", laketest.Table(got))
	}
	for i, w := range want {
		if got[i][0] != w.object || got[i][1] != w.line || !strings.Contains(got[i][2], w.reason) {
			t.Errorf("reject %d = %q, want %s line %s reason containing %q", i, got[i], w.object, w.line, w.reason)
		}
	}
	if n := laketest.One(t, db, "select count(*) from "+laketest.Events(lake)); n != "5" {
		t.Errorf("%s rows loaded, want 5", n)
	}
	// The failed object is retried by the next run (and fails again); the
	// others are done.
	sum2 := load(t, lake, testdata("bad"))
	if sum2.Objects != 1 || sum2.Failed != 1 || sum2.Skipped != 3 {
		t.Errorf("second run = %+v, want only the failed object retried", sum2)
	}
}

func TestSinceUntilPrunesListing(t *testing.T) {
	lake := t.TempDir()
	day := func(s string) time.Time {
		d, _ := time.Parse("2006-01-02", s)
		return d
	}
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake}, []loader.SourceSpec{
		{URL: testdata("fulfillmenttools"), Since: day("2024-02-02")},
		{URL: testdata("pismo"), Until: day("2024-01-31")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != 2 || sum.Records != 4 {
		t.Errorf("since/until: %d objects, %d records; want 2 objects (the 2024-02-02 folder), 4 records", sum.Objects, sum.Records)
	}
}

// TestFileURLHostIsAPathSegment: file://relative/path names the folder
// relative/path (a common slip for file:relative/path), for a load as for
// every other user of a file:// source.
func TestFileURLHostIsAPathSegment(t *testing.T) {
	want := load(t, t.TempDir(), testdata("pismo"))
	got := load(t, t.TempDir(), "file://../testdata/pismo") // tests run in loader/
	if got.Committed != want.Committed || got.Records != want.Records || got.Records == 0 {
		t.Fatalf("file://../testdata/pismo: %d objects, %d records; want %d, %d", got.Committed, got.Records, want.Committed, want.Records)
	}
}
