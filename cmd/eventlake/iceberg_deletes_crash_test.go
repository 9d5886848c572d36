package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIcebergSupersedeCrashSteps kills the binary at each step of the
// Iceberg commits that delete superseded rows (a reprocess's load, a
// forget) and of the metadata folder's sweep, then re-runs: the current
// snapshot is the catalog's live files less the superseded rows, read as
// the shell's events_raw by iceberg-go's scanner and by DuckDB over the
// data files minus the position deletes, and the metadata folder holds
// nothing the metadata does not refer to.
func TestIcebergSupersedeCrashSteps(t *testing.T) {
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	const obj = "**09-00-00*"
	for _, tc := range []struct{ point, cmd string }{
		{"iceberg-before-commit", "reprocess"},
		{"iceberg-after-commit", "reprocess"},
		{"after-publish", "reprocess"},
		{"forget-iceberg-before-commit", "forget"},
		{"forget-iceberg-after-commit", "forget"},
		{"compact-iceberg-after-expire", "compact"},
		{"compact-iceberg-during-sweep", "compact"},
	} {
		t.Run(tc.point, func(t *testing.T) {
			lakeDir := t.TempDir()
			if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", src); code != 0 {
				t.Fatalf("load: exit %d\n%s", code, errOut)
			}
			// (compaction also drops exact duplicates: its rows are checked
			// against the shell only.)
			rows := sqlInt(t, lakeDir, "select count(*) from events_raw")
			reprocess := []string{"reprocess", "--lake", lakeDir, "--object", obj, "--settle", "0", "-q", src}
			args, rerun := reprocess, []string{"load", "--lake", lakeDir, "--settle", "0", "-q", src}
			switch tc.cmd {
			case "forget":
				args = []string{"forget", "--lake", lakeDir, "--object", obj}
				rerun = args
				rows -= sqlInt(t, lakeDir, "select count(*) from events_raw where _object like '%09-00-00%'")
			case "compact":
				if code, out, errOut := runCLI(t, reprocess...); code != 0 {
					t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
				}
				args = []string{"compact", "--lake", lakeDir, "--query-cache=false", "--iceberg-retention", "1ns"}
				rerun = args
			}
			runKilled(t, tc.point, args...)
			if code, out, errOut := runCLI(t, rerun...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
			}
			if n := sqlInt(t, lakeDir, "select count(*) from events_raw"); n != rows && tc.cmd != "compact" {
				t.Errorf("events_raw has %d rows after the re-run, want %d", n, rows)
			}
			dels := assertIcebergIsShell(t, lakeDir, "after the re-run")
			switch tc.cmd {
			case "compact":
				if len(dels) != 0 {
					t.Errorf("delete files after compaction: %q", dels)
				}
				if code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeDir, "--iceberg-retention", "1ns"); code != 0 {
					t.Fatalf("iceberg sync: exit %d\n%s%s", code, out, errOut)
				}
				assertMetadataFolderReferenced(t, lakeDir, 100, "after the re-run")
			default:
				if len(dels) == 0 {
					t.Error("no position delete file after the re-run")
				}
			}
		})
	}
}
