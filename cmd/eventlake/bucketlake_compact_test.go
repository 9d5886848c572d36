package main

import (
	"bytes"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	lk "github.com/eventlake/eventlake/lake"
)

// loadInBatches loads the corpus into lake in three loads (the three
// batches of arrive), so that partitions hold several files.
func loadInBatches(t *testing.T, lake string) {
	t.Helper()
	src := t.TempDir()
	for b := 1; b <= 3; b++ {
		arrive(t, src, b)
		if code, out, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q",
			filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools")); code != 0 {
			t.Fatalf("load %d into %s: exit %d %s%s", b, lake, code, out, errOut)
		}
	}
}

// localCompactedRows loads the corpus in batches into a local lake,
// compacts it, and counts the rows of its events files.
func localCompactedRows(t *testing.T) (rows, distinct int64) {
	t.Helper()
	lake := t.TempDir()
	loadInBatches(t, lake)
	if code, out, errOut := runCLI(t, "compact", "--lake", lake, "--query-cache=false"); code != 0 {
		t.Fatalf("local compact: exit %d %s%s", code, out, errOut)
	}
	db, err := dbsql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT event_id) FROM read_parquet('`+lake+`/events/**/*.parquet')`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

// liveKeys replays the bucket lake's commit log: the files committed and
// not replaced since, and those replaced.
func liveKeys(t *testing.T, lakeURL string) (live, replaced map[string]bool) {
	t.Helper()
	live, replaced = map[string]bool{}, map[string]bool{}
	for _, e := range bucketLog(t, lakeURL) {
		for _, f := range e.Files {
			live[f.Path] = true
		}
		for _, p := range e.Replaces {
			delete(live, p)
			replaced[p] = true
		}
	}
	return live, replaced
}

// checkDataPrefix fails unless the bucket's table files are exactly the
// live files of its log, and nothing is staged.
func checkDataPrefix(t *testing.T, lakeURL, when string) {
	t.Helper()
	live, _ := liveKeys(t, lakeURL)
	seen := map[string]bool{}
	for _, k := range bucketKeys(t, lakeURL) {
		switch {
		case strings.HasPrefix(k, "_eventlake/staging/"):
			t.Errorf("%s: staged file left: %s", when, k)
		case strings.HasPrefix(k, "_eventlake/"):
		case !live[k]:
			t.Errorf("%s: a reader listing the bucket sees %s, which is not a live file", when, k)
		default:
			seen[k] = true
		}
	}
	for k := range live {
		if !seen[k] {
			t.Errorf("%s: live file %s is missing from the bucket", when, k)
		}
	}
}

// compactJSON decodes compact --json's output.
func compactJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("compact --json printed %q: %v", out, err)
	}
	return m
}

// compact on a lake in a bucket, from a fresh machine: it downloads the
// partitions' live files, merges them, and commits through the log; the
// bucket then holds exactly the rows of a compacted local lake, and its
// data prefix only the new files.
func TestBucketLakeCompact(t *testing.T) { forEachBucket(t, testBucketLakeCompact) }

func testBucketLakeCompact(t *testing.T, newLake func(*testing.T) string) {
	wantRows, wantDistinct := localCompactedRows(t)
	lakeURL := newLake(t)
	freshRunner(t)
	loadInBatches(t, lakeURL)
	// A dry run plans from the bucket and changes nothing in it.
	keys := strings.Join(bucketKeys(t, lakeURL), ",")
	freshRunner(t)
	code, out, errOut := runCLI(t, "compact", "--lake", lakeURL, "--json", "--dry-run")
	if plan := compactJSON(t, out); code != 0 || plan["partitions"].(float64) < 1 {
		t.Errorf("compact --dry-run: exit %d %s%s; want partitions planned", code, out, errOut)
	}
	dryDownloaded := compactJSON(t, out)["bytes_downloaded"].(float64)
	if after := strings.Join(bucketKeys(t, lakeURL), ","); after != keys {
		t.Errorf("compact --dry-run changed the bucket")
	}
	cwd := freshRunner(t)
	code, out, errOut = runCLI(t, "compact", "--lake", lakeURL, "--json")
	if code != 0 {
		t.Fatalf("compact: exit %d %s%s", code, out, errOut)
	}
	sum := compactJSON(t, out)
	t.Logf("compact: %v partitions, %v files -> %v, %v bytes downloaded, %.3fs", sum["partitions"], sum["files_before"],
		sum["files_after"], sum["bytes_downloaded"], sum["seconds"])
	if dryDownloaded >= sum["bytes_downloaded"].(float64) {
		t.Errorf("the dry run downloaded %v bytes, the compaction %v: a dry run reads only what it scans for duplicates", dryDownloaded, sum["bytes_downloaded"])
	}
	if sum["partitions"].(float64) < 1 || sum["bytes_downloaded"].(float64) <= 0 {
		t.Errorf("compact compacted %v partitions after downloading %v bytes; want some of each: %s", sum["partitions"], sum["bytes_downloaded"], out)
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("compact left %v in its working folder", ents)
	}
	if rows, distinct := bucketRows(t, lakeURL, "events"); rows != wantRows || distinct != wantDistinct {
		t.Errorf("compacted bucket lake: %d rows (%d distinct), a compacted local lake %d (%d)", rows, distinct, wantRows, wantDistinct)
	}
	checkDataPrefix(t, lakeURL, "after compact")
	if _, replaced := liveKeys(t, lakeURL); len(replaced) == 0 {
		t.Error("the compaction replaced no file")
	}
	// A second run leaves the compacted partitions alone without
	// downloading them (it reads only partitions of one load's file, for
	// duplicates).
	freshRunner(t)
	code, out, errOut = runCLI(t, "compact", "--lake", lakeURL, "--json")
	if again := compactJSON(t, out); code != 0 || again["partitions"].(float64) != 0 ||
		again["bytes_downloaded"].(float64) >= sum["bytes_downloaded"].(float64) {
		t.Errorf("second compact: exit %d, %s%s; want nothing compacted, less downloaded than the first", code, out, errOut)
	}
	// sql reads the compacted lake.
	freshRunner(t)
	code, out, errOut = runCLI(t, "sql", "--lake", lakeURL, "-c", "select count(*) from events_raw")
	if code != 0 || !strings.Contains(out, itoa(wantRows)) {
		t.Errorf("sql after compact: exit %d %s%s; want %d rows", code, out, errOut, wantRows)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A truncated Parquet file in the bucket: its partition is left alone, the
// others are compacted, and compact exits 1 naming it.
func TestBucketLakeCompactDamagedFile(t *testing.T) {
	forEachBucket(t, testBucketLakeCompactDamagedFile)
}

func testBucketLakeCompactDamagedFile(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	freshRunner(t)
	loadInBatches(t, lakeURL)
	live, _ := liveKeys(t, lakeURL)
	perPartition := map[string][]string{}
	for k := range live {
		if strings.HasPrefix(k, "events/") {
			perPartition[filepath.Dir(k)] = append(perPartition[filepath.Dir(k)], k)
		}
	}
	var victim, partition string
	var parts []string
	for p, files := range perPartition {
		if len(files) >= 2 {
			parts = append(parts, p)
		}
	}
	sort.Strings(parts)
	if len(parts) < 2 {
		t.Fatalf("want two partitions with several files, have %v", perPartition)
	}
	partition = parts[0]
	sort.Strings(perPartition[partition])
	victim = perPartition[partition][0]
	st := openBucket(t, lakeURL)
	var buf bytes.Buffer
	if err := st.Download(context.Background(), victim, &buf); err != nil {
		t.Fatal(err)
	}
	cut := buf.Bytes()[:buf.Len()/2]
	if _, err := st.Put(context.Background(), victim, bytes.NewReader(cut), int64(len(cut)), lk.PutCond{}); err != nil {
		t.Fatal(err)
	}
	freshRunner(t)
	code, out, errOut := runCLI(t, "compact", "--lake", lakeURL, "--json")
	if code != 1 || !strings.Contains(errOut, victim) {
		t.Fatalf("compact with a truncated file: exit %d, stderr %q; want exit 1 naming %s", code, errOut, victim)
	}
	sum := compactJSON(t, out)
	if sum["partitions"].(float64) < 1 {
		t.Errorf("no other partition was compacted: %s", out)
	}
	after, _ := liveKeys(t, lakeURL)
	for _, k := range perPartition[partition] {
		if !after[k] {
			t.Errorf("the damaged partition's file %s was replaced", k)
		}
	}
}

// compactSteps are the crash points of a compaction of a lake in a
// bucket, in protocol order.
var compactSteps = []string{"after-begin", "during-merge", "before-commit", "bucket-during-upload", "bucket-after-upload",
	"bucket-after-log", "after-commit", "during-publish", "after-publish", "after-swap", "during-delete", "after-delete",
	"bucket-after-finish", "bucket-after-checkpoint"}

// A SIGKILL of the real binary at each step of a compaction of a lake in a
// bucket, then a compact from a fresh machine, gives exactly the rows of a
// clean compaction; before recovery a reader listing the bucket never sees
// a staged file, after it neither a staged nor a replaced one.
func TestBucketLakeCompactCrashAtEachStep(t *testing.T) {
	forEachBucket(t, testBucketLakeCompactCrashAtEachStep)
}

func testBucketLakeCompactCrashAtEachStep(t *testing.T, newLake func(*testing.T) string) {
	wantRows, wantDistinct := localCompactedRows(t)
	for _, step := range compactSteps {
		t.Run(step, func(t *testing.T) {
			lakeURL := newLake(t)
			freshRunner(t)
			loadInBatches(t, lakeURL)
			cwd := freshRunner(t)
			cmd := exec.Command(os.Args[0], "compact", "--lake", lakeURL)
			cmd.Dir = cwd
			cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT=compact-"+step, "EVENTLAKE_CHECKPOINT_EVERY=1")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("compact was not killed at %s: %v\n%s", step, err, out)
			}
			live, replaced := liveKeys(t, lakeURL)
			for _, k := range bucketKeys(t, lakeURL) {
				if !strings.HasPrefix(k, "_eventlake/") && !live[k] && !replaced[k] {
					t.Errorf("after a kill at %s a reader sees %s, which no commit names", step, k)
				}
			}
			freshRunner(t)
			code, stdout, errOut := runCLI(t, "compact", "--lake", lakeURL, "--json")
			if code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, stdout, errOut)
			}
			if rows, distinct := bucketRows(t, lakeURL, "events"); rows != wantRows || distinct != wantDistinct {
				t.Errorf("after a kill at %s and a re-run: %d rows (%d distinct), want %d (%d)", step, rows, distinct, wantRows, wantDistinct)
			}
			checkDataPrefix(t, lakeURL, "after a kill at "+step+" and a re-run")
		})
	}
}

// A load killed between its commit (the log entry) and the copy of its
// files leaves them only in the bucket's staging area: sql on a fresh
// machine reads the committed rows from the staged copies, and changes
// nothing in the bucket.
func TestBucketLakeSQLAfterCrashBeforePublish(t *testing.T) {
	forEachBucket(t, testBucketLakeSQLAfterCrashBeforePublish)
}

func testBucketLakeSQLAfterCrashBeforePublish(t *testing.T, newLake func(*testing.T) string) {
	local := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", local, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
		t.Fatalf("local load: exit %d %s", code, errOut)
	}
	for _, step := range []string{"bucket-after-log", "after-commit"} {
		t.Run(step, func(t *testing.T) {
			lakeURL := newLake(t)
			cwd := freshRunner(t)
			cmd := exec.Command(os.Args[0], "load", "--lake", lakeURL, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools"))
			cmd.Dir = cwd
			cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+step)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the load was not killed at %s: %v\n%s", step, err, out)
			}
			before := bucketKeys(t, lakeURL)
			for _, k := range before {
				if strings.HasPrefix(k, "events/") {
					t.Fatalf("after a kill at %s %s is already published", step, k)
				}
			}
			for _, q := range []string{"select count(*), count(distinct event_id) from events_raw",
				"select domain, event_date, count(*) from events group by all order by all"} {
				freshRunner(t)
				code, got, errOut := runCLI(t, "sql", "--lake", lakeURL, "-c", q)
				if code != 0 {
					t.Fatalf("sql after a kill at %s: exit %d %s", step, code, errOut)
				}
				_, want, _ := runCLI(t, "sql", "--lake", local, "-c", q)
				if got != want || want == "" {
					t.Errorf("%s after a kill at %s:\nbucket lake:\n%s\nlocal lake:\n%s", q, step, got, want)
				}
			}
			if after := bucketKeys(t, lakeURL); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("sql changed the bucket: %v -> %v", before, after)
			}
		})
	}
}

// A compaction killed between its commit and the copy of the merged files:
// sql on a fresh machine reads the compacted rows, the merged files from
// their staged copies.
func TestBucketLakeSQLAfterCompactCrashBeforePublish(t *testing.T) {
	forEachBucket(t, testBucketLakeSQLAfterCompactCrashBeforePublish)
}

func testBucketLakeSQLAfterCompactCrashBeforePublish(t *testing.T, newLake func(*testing.T) string) {
	local := t.TempDir()
	loadInBatches(t, local)
	if code, out, errOut := runCLI(t, "compact", "--lake", local, "--query-cache=false"); code != 0 {
		t.Fatalf("local compact: exit %d %s%s", code, out, errOut)
	}
	lakeURL := newLake(t)
	freshRunner(t)
	loadInBatches(t, lakeURL)
	cwd := freshRunner(t)
	cmd := exec.Command(os.Args[0], "compact", "--lake", lakeURL)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT=compact-after-commit")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("compact was not killed: %v\n%s", err, out)
	}
	live, _ := liveKeys(t, lakeURL)
	keys := map[string]bool{}
	for _, k := range bucketKeys(t, lakeURL) {
		keys[k] = true
	}
	unpublished := 0
	for k := range live {
		if !keys[k] {
			unpublished++
		}
	}
	if unpublished == 0 {
		t.Fatal("every merged file is already published: the kill came too late")
	}
	for _, q := range []string{"select count(*), count(distinct event_id) from events_raw",
		"select domain, event_date, count(*) from events group by all order by all"} {
		freshRunner(t)
		code, got, errOut := runCLI(t, "sql", "--lake", lakeURL, "-c", q)
		if code != 0 {
			t.Fatalf("sql: exit %d %s", code, errOut)
		}
		_, want, _ := runCLI(t, "sql", "--lake", local, "-c", q)
		if got != want || want == "" {
			t.Errorf("%s:\nbucket lake:\n%s\ncompacted local lake:\n%s", q, got, want)
		}
	}
}

// ddl (Hive) on a lake in a bucket reads the catalog from the bucket and
// takes the bucket's URL as the LOCATION: the same DDL as for a folder
// lake of the same corpus given that URL. Athena reads S3 only: a lake in
// GCS is refused for it.
func TestBucketLakeDDL(t *testing.T) { forEachBucket(t, testBucketLakeDDL) }

func testBucketLakeDDL(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	local := t.TempDir()
	freshRunner(t)
	for _, l := range []string{lakeURL, local} {
		if code, out, errOut := runCLI(t, "load", "--lake", l, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
			t.Fatalf("load %s: exit %d %s%s", l, code, out, errOut)
		}
	}
	root := openBucket(t, lakeURL).URL()
	for _, engine := range []string{"athena", "spark", "trino"} {
		cwd := freshRunner(t)
		code, got, errOut := runCLI(t, "ddl", "--lake", lakeURL, "--engine", engine)
		if engine == "athena" && strings.HasPrefix(root, "gs://") {
			if code != 2 || !strings.Contains(errOut, "Athena reads S3 only") {
				t.Errorf("ddl --engine athena on a lake in GCS: exit %d, stderr %q; want exit 2 and the reason", code, errOut)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("ddl --engine %s on the bucket: exit %d %s", engine, code, errOut)
		}
		_, want, _ := runCLI(t, "ddl", "--lake", local, "--engine", engine, "--location", root)
		if got != want || !strings.Contains(got, root+"events/") {
			t.Errorf("ddl --engine %s:\nbucket lake:\n%s\nfolder lake at --location %s:\n%s", engine, got, root, want)
		}
		if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
			t.Errorf("ddl left %v in its working folder", ents)
		}
	}
	// --location still names the lake as the engine sees it.
	code, got, errOut := runCLI(t, "ddl", "--lake", lakeURL, "--engine", "spark", "--location", "s3a://mirror/lake/")
	if code != 0 || !strings.Contains(got, "s3a://mirror/lake/events/") {
		t.Errorf("ddl --location on a bucket lake: exit %d %s%s", code, got, errOut)
	}
}
