package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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

// killedAt runs the real binary with args on a fresh machine and requires
// it to die by SIGKILL at the crash point step.
func killedAt(t *testing.T, step string, args ...string) {
	t.Helper()
	cwd := freshRunner(t)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+step)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("%v was not killed at %s: %v\n%s", args, step, err, out)
	}
}

// liveMissing returns the live files (as a fresh reader of the bucket
// lake's commit log sees them) that the bucket does not hold.
func liveMissing(t *testing.T, lakeURL string) []string {
	t.Helper()
	freshRunner(t)
	code, out, errOut := runCLI(t, "sql", "--lake", lakeURL, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live'")
	if code != 0 {
		t.Fatalf("sql: exit %d %s", code, errOut)
	}
	keys := map[string]bool{}
	for _, k := range bucketKeys(t, lakeURL) {
		keys[k] = true
	}
	var missing []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		if !keys[p] {
			missing = append(missing, p)
		}
	}
	return missing
}

// A SIGKILL of the real binary at each step of expire, forget and a
// reprocess marking on a lake in a bucket, then a re-run from a fresh
// machine, gives the lake of one clean run; right after the kill, no file a
// fresh reader sees as live is missing from the bucket.
func TestBucketLakeLifecycleCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	forEachBucket(t, testBucketLakeLifecycleCrash)
}

func testBucketLakeLifecycleCrash(t *testing.T, newLake func(*testing.T) string) {
	pismo, ft := lifecycleCorpus(t)
	load := []string{"load", "--settle", "0", "-q", pismo, ft}
	tx := []string{"after-begin", "before-commit", "bucket-after-upload", "bucket-after-log", "after-commit",
		"after-publish", "after-swap"}
	deletes := []string{"during-delete", "after-delete", "bucket-after-finish"}
	cases := []struct {
		name  string
		op    []string // run with --lake after the first load
		after [][]string
		steps []string
	}{
		{"expire", []string{"expire", "--before", "2024-02-02", "--table", "events"}, nil, append(append([]string{}, tx...), deletes...)},
		{"forget", []string{"forget", "--object", "**events-2024-02-02-*"}, nil, append(append([]string{"superseding"}, tx...), deletes...)},
		{"reprocess", []string{"reprocess", "--object", "**09-00-00*"}, [][]string{load}, append(append([]string{}, tx...), "bucket-after-finish")},
	}
	withLake := func(args []string, lake string) []string {
		return append([]string{args[0], "--lake", lake}, args[1:]...)
	}
	run := func(t *testing.T, args []string) {
		t.Helper()
		freshRunner(t)
		if code, out, errOut := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clean := newLake(t)
			run(t, withLake(load, clean))
			before := lifecycleState(t, clean)
			run(t, withLake(c.op, clean))
			for _, a := range c.after {
				run(t, withLake(a, clean))
			}
			want := lifecycleState(t, clean)
			if want == before {
				t.Fatalf("%v changes nothing: %s", c.op, want)
			}
			for _, step := range c.steps {
				t.Run(step, func(t *testing.T) {
					lake := newLake(t)
					run(t, withLake(load, lake))
					killedAt(t, c.name+"-"+step, withLake(c.op, lake)...)
					if m := liveMissing(t, lake); len(m) > 0 {
						t.Errorf("after a kill at %s a reader sees live files the bucket lacks: %v", step, m)
					}
					run(t, withLake(c.op, lake))
					for _, a := range c.after {
						run(t, withLake(a, lake))
					}
					if got, want := hiveRows(t, lake), hiveRows(t, clean); got != want {
						t.Errorf("after a kill at %s and a re-run a Hive reader lists %d rows, want %d", step, got, want)
					}
					if got := lifecycleState(t, lake); got != want {
						t.Errorf("after a kill at %s and a re-run: %s, want %s", step, got, want)
					}
					for _, k := range bucketKeys(t, lake) {
						if strings.HasPrefix(k, "_eventlake/staging/") {
							t.Errorf("staged file left: %s", k)
						}
					}
				})
			}
		})
	}
}

// hiveRows counts the rows of the events files a Hive reader lists in the
// bucket.
func hiveRows(t *testing.T, lakeURL string) int64 {
	rows, _ := bucketRows(t, lakeURL, "events")
	return rows
}

// A SIGKILL at each step of a reprocess marking on a lake in a folder, then
// a re-run and the load that reads the marked objects, gives the lake of
// one clean run; a rebuild from the manifests keeps the marks.
func TestReprocessMarkCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	pismo, ft := lifecycleCorpus(t)
	base := func(t *testing.T) string {
		lake := t.TempDir()
		if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", pismo, ft); code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
		return lake
	}
	mark := []string{"reprocess", "--object", "**09-00-00*"}
	finish := func(t *testing.T, lake string) string {
		if code, _, errOut := runCLI(t, append(mark[:1:1], append([]string{"--lake", lake}, mark[1:]...)...)...); code != 0 {
			t.Fatalf("reprocess: exit %d\n%s", code, errOut)
		}
		if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", pismo, ft); code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
		return lifecycleState(t, lake)
	}
	want := finish(t, base(t))
	for _, step := range []string{"after-begin", "before-commit", "after-commit", "before-manifest", "after-publish", "after-swap"} {
		t.Run(step, func(t *testing.T) {
			lake := base(t)
			killedAt(t, "reprocess-"+step, "reprocess", "--lake", lake, "--object", "**09-00-00*")
			if got := finish(t, lake); got != want {
				t.Errorf("after a kill at reprocess-%s and a re-run: %s, want %s", step, got, want)
			}
		})
	}
	// The marks alone, then a lost catalog: the rebuilt one has them.
	lake := base(t)
	if code, _, errOut := runCLI(t, "reprocess", "--lake", lake, "--object", "**09-00-00*"); code != 0 {
		t.Fatalf("reprocess: exit %d\n%s", code, errOut)
	}
	cat := filepath.Join(lake, "_eventlake", "catalog.db")
	for _, suf := range []string{"", "-wal", "-shm"} {
		os.Remove(cat + suf)
	}
	if code, out, errOut := runCLI(t, "catalog", "rebuild", "--lake", lake); code != 0 {
		t.Fatalf("catalog rebuild: exit %d\n%s%s", code, out, errOut)
	}
	if got := sqlValue(t, lake, "select count(*) from eventlake.objects where reprocess_at is not null"); got != "1" {
		t.Errorf("after a rebuild %s objects are marked for reprocessing, want 1", got)
	}
}

// retention: in the config expires the partitions past their window after
// a load into a lake in a bucket, as it does in a folder: the expiry is in
// the commit log (a fresh reader sees it) and its files leave the bucket.
func TestBucketLakeRetention(t *testing.T) { forEachBucket(t, testBucketLakeRetention) }

func testBucketLakeRetention(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	local := t.TempDir()
	pismo, ft := lifecycleCorpus(t)
	// events keep 2024-02-02 and later.
	days := int(time.Since(time.Date(2024, 2, 2, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
	cfg := filepath.Join(t.TempDir(), "eventlake.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("retention: {events: %dd}\n", days)), 0o644); err != nil {
		t.Fatal(err)
	}
	var states [2]string
	for i, l := range []string{local, lakeURL} {
		freshRunner(t)
		code, out, errOut := runCLI(t, "load", "--lake", l, "--config", cfg, "--settle", "0", "-q", "--json", pismo, ft)
		if code != 0 || !strings.Contains(out, `"expired_files":`) || strings.Contains(out, `"expired_files":0`) {
			t.Fatalf("load into %s: exit %d\n%s%s", l, code, out, errOut)
		}
		states[i] = lifecycleState(t, l)
	}
	if states[0] != states[1] {
		t.Errorf("after a load with retention: bucket lake %s, folder lake %s", states[1], states[0])
	}
	want := sqlValue(t, local, "select count(*) from read_parquet('"+local+"/events/**/*.parquet')")
	if got := strconv.FormatInt(hiveRows(t, lakeURL), 10); got != want {
		t.Errorf("a Hive reader lists %s rows in the bucket, %s in the folder", got, want)
	}
	if got := sqlValue(t, lakeURL, "select count(*) from eventlake.loads where command = 'expire'"); got != "1" {
		t.Errorf("%s expiry loads in the bucket's log, want 1", got)
	}
}
