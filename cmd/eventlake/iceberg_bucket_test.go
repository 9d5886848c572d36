package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// loadBucketIcebergTable loads the bucket lake's events table through the
// lake's own store (iceberg-go reads every file through it).
func loadBucketIcebergTable(t *testing.T, lakeURL string) *table.Table {
	t.Helper()
	st := openBucket(t, lakeURL)
	tbl, err := icetable.Events(lake.Layout{}, icetable.Options{Bucket: st}).Load(context.Background())
	if err != nil || tbl == nil {
		t.Fatalf("load the bucket's iceberg table: %v (nil: %v)", err, tbl == nil)
	}
	return tbl
}

// bucketDuckRows downloads exactly the files a snapshot's manifests list
// (by their bucket URLs) and reads them with DuckDB as duckRows does.
func bucketDuckRows(t *testing.T, lakeURL string, files map[string]map[int]any) []string {
	t.Helper()
	st := openBucket(t, lakeURL)
	dir := t.TempDir()
	local := map[string]map[int]any{}
	for u, part := range files {
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
		local[p] = part
	}
	return duckRows(t, lakeURL, local)
}

// assertBucketSnapshotIsCatalog checks that the current snapshot lists
// exactly the catalog's live files of events, by their URLs.
func assertBucketSnapshotIsCatalog(t *testing.T, lakeURL string) {
	t.Helper()
	tbl := loadBucketIcebergTable(t, lakeURL)
	got := snapshotFiles(t, tbl, tbl.CurrentSnapshot())
	code, out, errOut := runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live' and table_name = 'events' order by path")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	var want, have []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		want = append(want, openBucket(t, lakeURL).URL()+p)
	}
	for p := range got {
		have = append(have, p)
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(have, want) {
		t.Errorf("current snapshot files:\n%q\ncatalog live files:\n%q", have, want)
	}
}

// Loads on a bucket lake keep its Iceberg table in the bucket: metadata
// under events/_iceberg/, files named by their URLs; iceberg-go's own
// scanner over the bucket, and DuckDB over exactly the files the manifests
// list, both read the shell's events_raw.
func TestIcebergBucketLake(t *testing.T) { forEachBucket(t, testIcebergBucketLake) }

func testIcebergBucketLake(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	a, b := compactSources(t)
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", b); code != 0 {
		t.Fatalf("load b: exit %d\n%s", code, errOut)
	}
	tbl := loadBucketIcebergTable(t, lakeURL)
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Fatalf("%d snapshots after two loads, want 2", n)
	}
	root := openBucket(t, lakeURL).URL() // s3://lakes/prod/lake/, no parameters
	if !strings.HasPrefix(tbl.MetadataLocation(), root+"events/_iceberg/v") || tbl.Location() != root+"events" {
		t.Errorf("metadata %s, location %s; want them under %sevents", tbl.MetadataLocation(), tbl.Location(), root)
	}
	want := shellRows(t, lakeURL, "events_raw")
	if len(want) != 74 {
		t.Fatalf("events_raw has %d rows, want 74", len(want))
	}
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
	}
	before := tbl.CurrentSnapshot()
	beforeFiles := snapshotFiles(t, tbl, before)
	if got := bucketDuckRows(t, lakeURL, beforeFiles); !slices.Equal(got, want) {
		t.Errorf("DuckDB over the manifests' files: %d rows, want %d", len(got), len(want))
	}

	assertBucketSnapshotIsCatalog(t, lakeURL)

	// Compaction of a bucket lake is refused on this branch; sync finds
	// the table up to date and prints its metadata file's URL.
	freshRunner(t)
	code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeURL)
	if code != 0 || !strings.Contains(out, "up to date") || !strings.Contains(out, "metadata: "+root+"events/_iceberg/v3.metadata.json") {
		t.Fatalf("iceberg sync: exit %d\n%s%s", code, out, errOut)
	}
	hint, _, err := openBucket(t, lakeURL).Get(context.Background(), "events/_iceberg/version-hint.text")
	if err != nil || string(hint) != "3" {
		t.Errorf("version hint %q, %v; want 3", hint, err)
	}
}

// A SIGKILL of the real binary at each step of the Iceberg commit on a
// bucket lake, then a re-run on a fresh machine: the current snapshot is
// the catalog's live files and reads as events_raw.
func TestIcebergBucketCrashSteps(t *testing.T) { forEachBucket(t, testIcebergBucketCrashSteps) }

func testIcebergBucketCrashSteps(t *testing.T, newLake func(*testing.T) string) {
	a, b := compactSources(t)
	// (Compaction of a bucket lake is refused on this branch: its steps
	// are tested on folder lakes, TestIcebergCrashSteps.)
	for _, point := range []string{"iceberg-before-commit", "iceberg-after-commit", "after-publish", "bucket-after-finish"} {
		t.Run(point, func(t *testing.T) {
			lakeURL := newLake(t)
			freshRunner(t)
			if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", a); code != 0 {
				t.Fatalf("load a: exit %d\n%s", code, errOut)
			}
			args := []string{"load", "--lake", lakeURL, "--settle", "0", "-q", b}
			cwd := freshRunner(t)
			cmd := exec.Command(os.Args[0], args...)
			cmd.Dir = cwd
			cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+point)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("not killed at %s: %v\n%s", point, err, out)
			}
			freshRunner(t)
			if code, _, errOut := runCLI(t, args...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s", code, errOut)
			}
			assertBucketSnapshotIsCatalog(t, lakeURL)
			tbl := loadBucketIcebergTable(t, lakeURL)
			want := shellRows(t, lakeURL, "events_raw")
			if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
				t.Errorf("iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
			}
			for _, k := range bucketKeys(t, lakeURL) {
				if strings.HasPrefix(k, "_eventlake/staging/") {
					t.Errorf("staged file left: %s", k)
				}
			}
		})
	}
}

// ddl --format iceberg on a bucket lake registers the tables from their
// metadata files' URLs in the bucket (no --location: the bucket is where
// engines read); Athena is refused a gs:// lake and BigQuery an s3:// one,
// each saying which store it cannot read.
func TestDDLIcebergBucketLake(t *testing.T) { forEachBucket(t, testDDLIcebergBucketLake) }

func testDDLIcebergBucketLake(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	root := openBucket(t, lakeURL).URL()
	a, _ := compactSources(t)
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	code, _, errOut := runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeURL, "--engine", "spark")
	if code != 2 || !strings.Contains(errOut, "eventlake iceberg sync") {
		t.Fatalf("ddl --format iceberg without a table: exit %d, want 2 naming `eventlake iceberg sync`\n%s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeURL); code != 0 {
		t.Fatalf("iceberg sync: exit %d\n%s", code, errOut)
	}
	meta := root + "events/_iceberg/v2.metadata.json"
	s3 := strings.HasPrefix(root, "s3://")
	for _, c := range []struct {
		engine, want string
		refused      bool
	}{
		{"athena", `"metadata_location":"` + meta + `"`, !s3},
		{"spark", "metadata_file => '" + meta + "'", false},
		{"trino", `"metadata_location":"` + meta + `"`, false},
		{"snowflake", "REFRESH 'events/_iceberg/v2.metadata.json'", false},
		{"bigquery", "uris = ['" + meta + "']", s3},
	} {
		code, out, errOut := runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeURL, "--engine", c.engine)
		if c.refused {
			if code != 2 || !strings.Contains(errOut, "cannot read") {
				t.Errorf("%s on %s: exit %d, want 2 saying it cannot read the store\n%s%s", c.engine, root, code, out, errOut)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.engine, code, errOut)
		}
		if !strings.Contains(out, c.want) || !strings.Contains(out, root+"_rejects/_iceberg/v") {
			t.Errorf("%s: output does not contain %s and the _rejects table:\n%s", c.engine, c.want, out)
		}
		if strings.Contains(out, "local path") || strings.Contains(out, "endpoint=") {
			t.Errorf("%s: the output speaks of local paths or URL parameters:\n%s", c.engine, out)
		}
	}
	code, _, errOut = runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeURL, "--engine", "spark", "--location", "s3://elsewhere/")
	if code != 2 || !strings.Contains(errOut, "--location") {
		t.Errorf("--location on a bucket lake: exit %d, want 2\n%s", code, errOut)
	}
}
