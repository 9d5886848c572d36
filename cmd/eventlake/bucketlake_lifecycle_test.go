package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// lifecycleState is what a reader of a lake sees: the shell's rows, the
// live files, the superseded history, and the rows a Hive reader lists.
func lifecycleState(t *testing.T, lake string) string {
	t.Helper()
	freshRunner(t)
	return sqlValue(t, lake, "select count(*) || '/' || count(distinct event_id) from events") + " " +
		sqlValue(t, lake, "select count(*) || '/' || coalesce(sum(rows), 0) from eventlake.files where status = 'live'") + " " +
		sqlValue(t, lake, "select count(*) from eventlake.supersedes")
}

// lifecycleCorpus copies the whole test corpus into a new source folder.
func lifecycleCorpus(t *testing.T) (pismo, ft string) {
	t.Helper()
	src := t.TempDir()
	for b := 1; b <= 3; b++ {
		arrive(t, src, b)
	}
	return filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools")
}

// The lifecycle commands work on a lake in a bucket exactly as on a lake in
// a folder, each run from a fresh machine: a reprocess mark made by one run
// is seen by the next load, forget and expire change what readers see and
// what a Hive reader lists, and `catalog rebuild` (from the commit log)
// gives back the same lake.
func TestBucketLakeLifecycle(t *testing.T) { forEachBucket(t, testBucketLakeLifecycle) }

func testBucketLakeLifecycle(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	local := t.TempDir()
	pismo, ft := lifecycleCorpus(t)
	steps := [][]string{
		{"load", "--settle", "0", "-q", pismo, ft},
		{"reprocess", "--object", "**09-00-00*"},
		{"load", "--settle", "0", "-q", pismo, ft},
		{"forget", "--object", "**events-2024-02-01-000*"},
		{"expire", "--before", "2024-02-02", "--table", "events"},
	}
	for i, s := range steps {
		var states [2]string
		for j, l := range []string{local, lakeURL} {
			freshRunner(t)
			args := append([]string{s[0], "--lake", l}, s[1:]...)
			if code, out, errOut := runCLI(t, args...); code != 0 {
				t.Fatalf("step %d %v: exit %d\n%s%s", i, args, code, out, errOut)
			}
			states[j] = lifecycleState(t, l)
		}
		if states[0] != states[1] {
			t.Errorf("after %v: bucket lake %s, folder lake %s", s, states[1], states[0])
		}
		rows, _ := bucketRows(t, lakeURL, "events")
		want := sqlValue(t, local, "select count(*) from read_parquet('"+local+"/events/**/*.parquet')")
		if got := strconv.FormatInt(rows, 10); got != want {
			t.Errorf("after %v: a Hive reader of the bucket lists %s rows, of the folder %s", s, got, want)
		}
		t.Logf("after %v: %s", s, states[1])
	}
	want := lifecycleState(t, lakeURL)
	freshRunner(t)
	if code, out, errOut := runCLI(t, "catalog", "rebuild", "--lake", lakeURL); code != 0 {
		t.Fatalf("catalog rebuild: exit %d\n%s%s", code, out, errOut)
	}
	if got := lifecycleState(t, lakeURL); got != want {
		t.Errorf("after catalog rebuild: %s, want %s", got, want)
	}
	for _, k := range bucketKeys(t, lakeURL) {
		if strings.HasPrefix(k, "_eventlake/staging/") {
			t.Errorf("staged file left: %s", k)
		}
	}
}

// After forget, a reprocessing load and repair, a lake whose catalog is lost
// is rebuilt from its manifests with the same live files and rows: the
// manifests record what those commits retired and superseded.
func TestRebuildAfterLifecycle(t *testing.T) {
	lake := t.TempDir()
	pismo, ft := lifecycleCorpus(t)
	for _, args := range [][]string{
		{"load", "--lake", lake, "--settle", "0", "-q", pismo, ft},
		{"reprocess", "--lake", lake, "--object", "**09-00-00*", "--settle", "0", "-q", pismo},
		{"forget", "--lake", lake, "--object", "**events-2024-02-01-000*"},
	} {
		if code, out, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	// A lost file, retired and reloaded by repair.
	var lost string
	filepath.WalkDir(filepath.Join(lake, "events"), func(p string, d os.DirEntry, err error) error {
		if err == nil && lost == "" && strings.HasSuffix(p, ".parquet") {
			lost = p
		}
		return nil
	})
	if err := os.Remove(lost); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", "-q", pismo, ft); code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	want := lifecycleState(t, lake)
	cat := filepath.Join(lake, "_eventlake", "catalog.db")
	for _, suf := range []string{"", "-wal", "-shm"} {
		os.Remove(cat + suf)
	}
	if code, out, errOut := runCLI(t, "catalog", "rebuild", "--lake", lake); code != 0 {
		t.Fatalf("catalog rebuild: exit %d\n%s%s", code, out, errOut)
	}
	if got := lifecycleState(t, lake); got != want {
		t.Errorf("after catalog rebuild: %s, want %s", got, want)
	}
	if code, out, errOut := runCLI(t, "check", "--lake", lake); code != 0 {
		t.Errorf("check after rebuild: exit %d\n%s%s", code, out, errOut)
	}
}
