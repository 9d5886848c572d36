package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// downloadBucketFiles downloads the objects named by their bucket URLs into
// a local folder (keeping their keys) and returns the folder and each
// URL's local path.
func downloadBucketFiles(t *testing.T, lakeURL string, urls []string) (string, map[string]string) {
	t.Helper()
	st := openBucket(t, lakeURL)
	dir := t.TempDir()
	out := map[string]string{}
	for _, u := range urls {
		key, ok := strings.CutPrefix(u, st.URL())
		if !ok {
			t.Fatalf("manifest lists %s, not a URL in the lake %s", u, st.URL())
		}
		var buf bytes.Buffer
		if err := st.Download(context.Background(), key, &buf); err != nil {
			t.Fatalf("manifest lists %s: %v", u, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out[u] = p
	}
	return dir, out
}

// assertBucketIcebergIsShell checks that the bucket lake's current snapshot,
// read by iceberg-go's scanner through the bucket and by DuckDB over its
// downloaded data files minus the rows its (downloaded) position delete
// files name, is the shell's events_raw and the catalog's live files; it
// returns the snapshot's delete files.
func assertBucketIcebergIsShell(t *testing.T, lakeURL, when string) []string {
	t.Helper()
	tbl := loadBucketIcebergTable(t, lakeURL)
	want := shellRows(t, lakeURL, "events_raw")
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("%s: iceberg-go scan %d rows, events_raw %d; differ", when, len(got), len(want))
	}
	snap := tbl.CurrentSnapshot()
	files := snapshotFiles(t, tbl, snap)
	dels := snapshotDeletes(t, tbl, snap)
	var urls []string
	for u := range files {
		urls = append(urls, u)
	}
	dir, local := downloadBucketFiles(t, lakeURL, append(urls, dels...))
	quote := func(ps []string) string {
		var q []string
		for _, p := range ps {
			q = append(q, "'"+p+"'")
		}
		return "[" + strings.Join(q, ",") + "]"
	}
	var data, delLocal []string
	for _, u := range urls {
		data = append(data, local[u])
	}
	for _, u := range dels {
		delLocal = append(delLocal, local[u])
	}
	var got []string
	if len(dels) == 0 {
		lf := map[string]map[int]any{}
		for u, part := range files {
			lf[local[u]] = part
		}
		got = duckRows(t, lakeURL, lf)
	} else {
		// The delete files name data files by their URLs: the local copy
		// of root+key is dir/key.
		root := openBucket(t, lakeURL).URL()
		from := "(select d.* from read_parquet(" + quote(data) + ", filename = true, file_row_number = true) d" +
			" anti join read_parquet(" + quote(delLocal) + ") x on x.file_path = '" + root + "' || substr(d.filename, " +
			itoa(int64(len(dir)+2)) + ") and x.pos = d.file_row_number)"
		got = shellRows(t, lakeURL, from)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: DuckDB over the data files minus the position deletes: %d rows, events_raw %d; differ", when, len(got), len(want))
	}
	assertBucketSnapshotIsCatalog(t, lakeURL)
	return dels
}

// Every writer of a bucket lake commits its Iceberg snapshot: two loads, a
// compaction, a reprocess (its superseded rows hidden by position delete
// files written to the bucket), a forget and an expiry; after each, the
// table read by iceberg-go through the bucket and by DuckDB over exactly the
// manifests' files minus the delete positions is the shell's events_raw.
func TestIcebergBucketWriters(t *testing.T) { forEachBucket(t, testIcebergBucketWriters) }

func testIcebergBucketWriters(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	run := func(step string, args ...string) {
		t.Helper()
		freshRunner(t)
		if code, out, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", step, code, out, errOut)
		}
	}
	snapshots := func() int { return len(loadBucketIcebergTable(t, lakeURL).Metadata().Snapshots()) }

	run("load", "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", src)
	assertBucketIcebergIsShell(t, lakeURL, "after the first load")
	run("second load", "load", "--lake", lakeURL, "--settle", "0", "-q", testdata("fulfillmenttools"))
	assertBucketIcebergIsShell(t, lakeURL, "after the second load")

	n := snapshots()
	run("compact", "compact", "--lake", lakeURL, "--query-cache=false")
	if snapshots() <= n {
		t.Errorf("compaction committed no snapshot")
	}
	assertBucketIcebergIsShell(t, lakeURL, "after compaction")
	all := len(shellRows(t, lakeURL, "events_raw")) // compaction drops duplicates

	run("reprocess", "reprocess", "--lake", lakeURL, "--object", "**09-00-00*", "--settle", "0", "-q", src)
	if dels := assertBucketIcebergIsShell(t, lakeURL, "after reprocess"); len(dels) == 0 {
		t.Error("no position delete file after a reprocess of rows sharing files")
	}
	if got := len(shellRows(t, lakeURL, "events_raw")); got != all {
		t.Errorf("events_raw has %d rows after reprocess, want %d", got, all)
	}

	n = snapshots()
	run("forget", "forget", "--lake", lakeURL, "--object", "**10-05-00*")
	if snapshots() != n+1 {
		t.Errorf("forget committed %d snapshots, want 1", snapshots()-n)
	}
	if len(shellRows(t, lakeURL, "events_raw")) >= all {
		t.Fatal("forget removed no row; the test needs another object")
	}
	assertBucketIcebergIsShell(t, lakeURL, "after forget")

	before := loadBucketIcebergTable(t, lakeURL).CurrentSnapshot().SnapshotID
	left := len(shellRows(t, lakeURL, "events_raw"))
	run("expire", "expire", "--lake", lakeURL, "--before", "2024-02-02")
	if loadBucketIcebergTable(t, lakeURL).CurrentSnapshot().SnapshotID == before {
		t.Error("the expiry made no snapshot")
	}
	if got := len(shellRows(t, lakeURL, "events_raw")); got == 0 || got >= left {
		t.Fatalf("events_raw has %d rows after expiry, had %d", got, left)
	}
	assertBucketIcebergIsShell(t, lakeURL, "after expiry")
}

// watch --iceberg on a bucket lake: its round is a load with the Iceberg
// hooks, committing one snapshot that reads as events_raw.
func TestIcebergBucketWatch(t *testing.T) { forEachBucket(t, testIcebergBucketWatch) }

func testIcebergBucketWatch(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	a, b := compactSources(t)
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	freshRunner(t)
	watchOneRound(t, "--settle", "0", "--lake", lakeURL, "--iceberg", "--interval", "1h", b)
	tbl := loadBucketIcebergTable(t, lakeURL)
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Errorf("%d snapshots after a load and a watch round, want 2", n)
	}
	if n := len(shellRows(t, lakeURL, "events_raw")); n != 74 {
		t.Fatalf("events_raw has %d rows, want 74", n)
	}
	assertBucketIcebergIsShell(t, lakeURL, "after the watch round")
}
