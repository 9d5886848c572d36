package main

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// runKilled runs the CLI as a child process that EVENTLAKE_CRASH_AT kills
// at point, and checks that it was killed.
func runKilled(t *testing.T, point string, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+point)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("%s: the child was not killed at %s: %v\n%s", strings.Join(args, " "), point, err, out)
	}
}

// TestIcebergCrashSteps kills a load and a compaction at each step of the
// Iceberg commit; the re-run leaves a table whose current snapshot is the
// catalog's live files, read back as events_raw.
func TestIcebergCrashSteps(t *testing.T) {
	a, b := compactSources(t)
	for _, tc := range []struct{ point, cmd string }{
		{"iceberg-before-commit", "load"},
		{"iceberg-after-commit", "load"},
		{"after-publish", "load"},
		{"compact-iceberg-before-commit", "compact"},
		{"compact-iceberg-after-commit", "compact"},
		{"compact-after-swap", "compact"},
		{"compact-iceberg-after-expire", "compact"},
	} {
		t.Run(tc.point, func(t *testing.T) {
			lakeDir := t.TempDir()
			if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", a); code != 0 {
				t.Fatalf("load a: exit %d\n%s", code, errOut)
			}
			var args []string
			if tc.cmd == "load" {
				args = []string{"load", "--lake", lakeDir, "--settle", "0", "-q", b}
			} else {
				if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", b); code != 0 {
					t.Fatalf("load b: exit %d\n%s", code, errOut)
				}
				args = []string{"compact", "--lake", lakeDir, "--iceberg-retention", "1ns"}
			}
			runKilled(t, tc.point, args...)
			if code, _, errOut := runCLI(t, args...); code != 0 {
				t.Fatalf("re-run: exit %d\n%s", code, errOut)
			}
			assertSnapshotIsCatalog(t, lakeDir)
			tbl := loadIcebergTable(t, lakeDir)
			want := shellRows(t, lakeDir, "events_raw")
			if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
				t.Errorf("iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
			}
			if tc.cmd == "compact" {
				if op := tbl.CurrentSnapshot().Summary.Operation; op != "replace" {
					t.Errorf("after the re-run the current snapshot is %s, want replace", op)
				}
			}
		})
	}
}
