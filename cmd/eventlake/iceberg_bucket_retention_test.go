package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/lake/icetable"
)

// assertBucketMetadataReferenced checks that every object under the bucket
// lake's events/_iceberg/ is referenced by the current metadata, and that at
// most max metadata versions are kept besides the current one.
func assertBucketMetadataReferenced(t *testing.T, lakeURL string, max int, when string) {
	t.Helper()
	tbl := loadBucketIcebergTable(t, lakeURL)
	ref := icebergReferenced(t, tbl)
	root := openBucket(t, lakeURL).URL()
	prefix := "events/" + icetable.MetaFolder + "/"
	ref[root+prefix+icetable.HintFile] = true
	versions := 0
	for _, k := range bucketKeys(t, lakeURL) {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if !ref[root+k] {
			t.Errorf("%s: %s is in the bucket's metadata folder, referenced by no retained snapshot or logged version", when, k)
		}
		if strings.HasSuffix(k, ".metadata.json") {
			versions++
		}
	}
	if versions > max+1 {
		t.Errorf("%s: %d metadata versions kept, want at most %d + the current one", when, versions, max)
	}
}

// The metadata retention of a bucket lake: after many commits of every
// writer with --metadata-versions 3, the bucket's events/_iceberg/ holds
// only what the current metadata refers to.
func TestIcebergBucketMetadataRetention(t *testing.T) {
	forEachBucket(t, testIcebergBucketMetadataRetention)
}

func testIcebergBucketMetadataRetention(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	a, b := compactSources(t)
	freshRunner(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", src); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	steps := [][]string{
		{"iceberg", "sync", "--lake", lakeURL, "--metadata-versions", "3"},
		{"load", "--lake", lakeURL, "--settle", "0", "-q", a},
		{"reprocess", "--lake", lakeURL, "--object", "**09-00-00*", "--settle", "0", "-q", src},
		{"load", "--lake", lakeURL, "--settle", "0", "-q", b},
		{"forget", "--lake", lakeURL, "--object", "**10-05-00*"},
		{"iceberg", "sync", "--lake", lakeURL},
		{"compact", "--lake", lakeURL, "--query-cache=false", "--iceberg-retention", "1ms"},
		{"iceberg", "sync", "--lake", lakeURL, "--iceberg-retention", "1ms"},
	}
	for i, args := range steps {
		freshRunner(t)
		if code, out, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		if i > 0 {
			assertBucketMetadataReferenced(t, lakeURL, 3, strings.Join(args[:1], " "))
		}
	}
	tbl := loadBucketIcebergTable(t, lakeURL)
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Errorf("%d snapshots after expiry, want 1", n)
	}
	if dels := assertBucketIcebergIsShell(t, lakeURL, "after expiry"); len(dels) != 0 {
		t.Errorf("delete files after compaction: %q", dels)
	}
	for _, k := range bucketKeys(t, lakeURL) {
		if strings.Contains(k, "/"+icetable.MetaFolder+"/deletes-") {
			t.Errorf("delete file left in the bucket after expiry: %s", k)
		}
	}
}

// A SIGKILL of the real binary at each step of a reprocess's Iceberg
// commit (its position deletes written to the bucket), and of a
// compaction's sweep, on a bucket lake; the re-run on a fresh machine
// leaves a table that reads as events_raw through the bucket and, by
// DuckDB, over its data files minus its position deletes.
func TestIcebergBucketSupersedeCrashSteps(t *testing.T) {
	forEachBucket(t, testIcebergBucketSupersedeCrashSteps)
}

func testIcebergBucketSupersedeCrashSteps(t *testing.T, newLake func(*testing.T) string) {
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ point, cmd string }{
		{"iceberg-before-commit", "reprocess"},
		{"iceberg-after-commit", "reprocess"},
		{"bucket-after-finish", "reprocess"},
		{"compact-iceberg-during-sweep", "compact"},
	} {
		t.Run(tc.point, func(t *testing.T) {
			lakeURL := newLake(t)
			freshRunner(t)
			if code, _, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--iceberg", src); code != 0 {
				t.Fatalf("load: exit %d\n%s", code, errOut)
			}
			rows := len(shellRows(t, lakeURL, "events_raw"))
			reprocess := []string{"reprocess", "--lake", lakeURL, "--object", "**09-00-00*", "--settle", "0", "-q", src}
			args, rerun := reprocess, []string{"load", "--lake", lakeURL, "--settle", "0", "-q", src}
			if tc.cmd == "compact" {
				if code, out, errOut := runCLI(t, reprocess...); code != 0 {
					t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
				}
				args = []string{"compact", "--lake", lakeURL, "--query-cache=false", "--iceberg-retention", "1ns"}
				rerun = args
			}
			freshRunner(t)
			runKilled(t, tc.point, args...)
			freshRunner(t)
			if code, out, errOut := runCLI(t, rerun...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
			}
			if n := len(shellRows(t, lakeURL, "events_raw")); n != rows && tc.cmd != "compact" {
				t.Errorf("events_raw has %d rows after the re-run, want %d", n, rows)
			}
			dels := assertBucketIcebergIsShell(t, lakeURL, "after the re-run")
			if tc.cmd == "compact" {
				if len(dels) != 0 {
					t.Errorf("delete files after compaction: %q", dels)
				}
				if code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeURL, "--iceberg-retention", "1ns"); code != 0 {
					t.Fatalf("iceberg sync: exit %d\n%s%s", code, out, errOut)
				}
				assertBucketMetadataReferenced(t, lakeURL, 100, "after the re-run")
			} else if len(dels) == 0 {
				t.Error("no position delete file after the re-run")
			}
		})
	}
}
