package main

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/testservers"
	lk "github.com/eventlake/eventlake/lake"
)

// A lake URL of a scheme no store serves is refused by every command, and
// never becomes a local folder named after the scheme.
func TestLakeUnknownSchemeRefused(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range [][]string{
		{"load", "--lake", "ftp://bucket/lake", "-q", testdata("pismo")},
		{"load", "--lake", "file:///tmp/lake", "-q", testdata("pismo")},
		{"status", "--lake", "ftp://bucket/lake"},
		{"sql", "--lake", "ftp://bucket/lake", "-c", "select 1"},
		{"compact", "--lake", "ftp://bucket/lake"},
		{"ddl", "--lake", "ftp://bucket/lake", "--engine", "spark", "--location", "s3://x/y"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, "is not a place a lake can live") {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and the unknown scheme named", args[0], code, errOut)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the refused lake left %v in the working folder", ents)
	}
}

// arrive copies the testdata corpus into src in three batches: batch 1, 2,
// 3 each add two objects (batch 0 adds nothing).
func arrive(t *testing.T, src string, batch int) {
	t.Helper()
	sets := [][]string{nil,
		{"pismo/main_stream/2024/02/01/09/", "fulfillmenttools/2024-02-01/events-2024-02-01-000"},
		{"pismo/main_stream/2024/02/01/10/", "fulfillmenttools/2024-02-01/events-2024-02-01-001"},
		{"fulfillmenttools/2024-02-02/"}}
	for _, name := range []string{"pismo", "fulfillmenttools"} {
		copyTree(t, testdata(name), filepath.Join(src, name), func(rel string) bool {
			for _, p := range sets[batch] {
				if strings.HasPrefix(filepath.ToSlash(filepath.Join(name, rel)), p) {
					return true
				}
			}
			return false
		})
	}
}

// bucketStores are the stores a lake in a bucket is tested on: each starts
// a fake server on loopback and returns the URL of a new lake in it.
var bucketStores = []struct {
	name    string
	newLake func(t *testing.T) string
}{
	{"s3", func(t *testing.T) string {
		srv := testservers.S3(t)
		srv.CreateBucket(t, "lakes")
		return srv.URL("lakes", "prod/lake/", nil)
	}},
	{"gcs", func(t *testing.T) string {
		srv := testservers.GCS(t)
		srv.CreateBucket("lakes")
		return srv.URL("lakes", "prod/lake/")
	}},
}

// forEachBucket runs test once per store, as a subtest named after it.
func forEachBucket(t *testing.T, test func(t *testing.T, newLake func(*testing.T) string)) {
	for _, st := range bucketStores {
		t.Run(st.name, func(t *testing.T) { test(t, st.newLake) })
	}
}

// Three scheduled runs, each on a fresh machine (new working folder and
// HOME, no cache), continue the lake in the bucket where the last one left
// it: the rows are exactly those of the corpus, nothing is staged, nothing
// is written locally.
func TestBucketLakeScheduledRuns(t *testing.T) { forEachBucket(t, testBucketLakeScheduledRuns) }

func testBucketLakeScheduledRuns(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	src := t.TempDir()
	for batch := 1; batch <= 3; batch++ {
		arrive(t, src, batch)
		cwd := freshRunner(t)
		code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--json",
			filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", batch, code, out, errOut)
		}
		if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
			t.Errorf("run %d left %v in its working folder", batch, ents)
		}
	}
	// A fourth run finds nothing new.
	freshRunner(t)
	code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--json",
		filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
	if code != 0 || !strings.Contains(out, `"objects":0`) {
		t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
	}
	wantRows, wantDistinct := localLakeRows(t)
	rows, distinct := bucketRows(t, lakeURL, "events")
	t.Logf("bucket lake: %d rows, %d distinct; keys %v", rows, distinct, bucketKeys(t, lakeURL))
	if wantRows == 0 {
		t.Fatal("the corpus has no rows")
	}
	if rows != wantRows || distinct != wantDistinct {
		t.Errorf("bucket lake holds %d rows (%d distinct), a local lake of the same corpus %d (%d)", rows, distinct, wantRows, wantDistinct)
	}
	for _, k := range bucketKeys(t, lakeURL) {
		if strings.HasPrefix(k, "_eventlake/staging/") {
			t.Errorf("staged file left: %s", k)
		}
	}
}

// localLakeRows loads the whole corpus into a local lake and counts its
// rows as bucketRows does.
func localLakeRows(t *testing.T) (rows, distinct int64) {
	t.Helper()
	lake := t.TempDir()
	code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools"))
	if code != 0 {
		t.Fatalf("local load: exit %d %s", code, errOut)
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

// loggedFiles returns every file path the bucket lake's commit log names.
func loggedFiles(t *testing.T, lakeURL string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range bucketLog(t, lakeURL) {
		for _, f := range e.Files {
			out[f.Path] = true
		}
	}
	return out
}

// A SIGKILL at each step of the bucket commit protocol, then a re-run on a
// fresh machine, gives exactly the rows of one clean run; a Hive reader
// listing the bucket never sees a file no commit names, and recovery
// leaves nothing staged.
func TestBucketLakeCrashAtEachStep(t *testing.T) { forEachBucket(t, testBucketLakeCrashAtEachStep) }

func testBucketLakeCrashAtEachStep(t *testing.T, newLake func(*testing.T) string) {
	wantRows, wantDistinct := localLakeRows(t)
	steps := []string{"after-begin", "before-commit", "bucket-during-upload", "bucket-after-upload", "bucket-after-log",
		"after-commit", "during-publish", "after-publish", "after-swap", "bucket-after-finish", "bucket-after-checkpoint"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			lakeURL := newLake(t)
			src := t.TempDir()
			for b := 1; b <= 3; b++ {
				arrive(t, src, b)
			}
			cwd := freshRunner(t)
			cmd := exec.Command(os.Args[0], "load", "--lake", lakeURL, "--settle", "0", "-q",
				filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
			cmd.Dir = cwd
			cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+step, "EVENTLAKE_CHECKPOINT_EVERY=1")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the load was not killed at %s: %v\n%s", step, err, out)
			}
			logged := loggedFiles(t, lakeURL)
			for _, k := range bucketKeys(t, lakeURL) {
				if strings.HasPrefix(k, "events/") && !logged[k] {
					t.Errorf("after a kill at %s a reader sees %s, which no commit names", step, k)
				}
			}
			freshRunner(t)
			code, stdout, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--json",
				filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
			if code != 0 {
				t.Fatalf("re-run: exit %d\n%s%s", code, stdout, errOut)
			}
			if rows, distinct := bucketRows(t, lakeURL, "events"); rows != wantRows || distinct != wantDistinct {
				t.Errorf("after a kill at %s and a re-run: %d rows (%d distinct), want %d (%d)", step, rows, distinct, wantRows, wantDistinct)
			}
			for _, k := range bucketKeys(t, lakeURL) {
				if strings.HasPrefix(k, "_eventlake/staging/") {
					t.Errorf("staged file left after recovery: %s", k)
				}
			}
		})
	}
}

// Two runners that load the same sources into the bucket lake at once (two
// processes): they never both commit the same objects; each log entry is
// one load; a re-run is exact.
func TestBucketLakeConcurrentWriters(t *testing.T) { forEachBucket(t, testBucketLakeConcurrentWriters) }

func testBucketLakeConcurrentWriters(t *testing.T, newLake func(*testing.T) string) {
	wantRows, wantDistinct := localLakeRows(t)
	lakeURL := newLake(t)
	src := t.TempDir()
	for b := 1; b <= 3; b++ {
		arrive(t, src, b)
	}
	cwd := freshRunner(t)
	var cmds []*exec.Cmd
	outs := make([]*strings.Builder, 2)
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "load", "--lake", lakeURL, "--settle", "0", "-q", "--lock-wait", "0",
			filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1")
		outs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	ok := 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err == nil {
			ok++
		} else if !strings.Contains(outs[i].String(), "is held by pid") && !strings.Contains(outs[i].String(), "another writer committed first") {
			t.Errorf("writer %d failed without saying another writer holds the lake: %v\n%s", i, err, outs[i])
		}
	}
	if ok == 0 {
		t.Fatal("neither writer succeeded")
	}
	freshRunner(t)
	if code, out, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--json",
		filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools")); code != 0 {
		t.Fatalf("re-run: exit %d %s%s", code, out, errOut)
	}
	if rows, distinct := bucketRows(t, lakeURL, "events"); rows != wantRows || distinct != wantDistinct {
		t.Errorf("after two concurrent writers and a re-run: %d rows (%d distinct), want %d (%d)", rows, distinct, wantRows, wantDistinct)
	}
	loads := map[string]bool{}
	st := openBucket(t, lakeURL)
	for _, k := range bucketKeys(t, lakeURL) {
		if strings.HasPrefix(k, "_eventlake/log/") {
			b, _, _ := st.Get(context.Background(), k)
			var e lk.LogEntry
			json.Unmarshal(b, &e)
			if loads[e.LoadID] {
				t.Errorf("load %s committed twice", e.LoadID)
			}
			loads[e.LoadID] = true
		}
	}
}

// `sql` and `status` on a lake in a bucket (no DuckDB extension: the live
// files are cached locally) answer like a local lake of the same corpus.
func TestBucketLakeSQLAndStatus(t *testing.T) { forEachBucket(t, testBucketLakeSQLAndStatus) }

func testBucketLakeSQLAndStatus(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	local := t.TempDir()
	freshRunner(t)
	for _, l := range []string{lakeURL, local} {
		if code, out, errOut := runCLI(t, "load", "--lake", l, "--settle", "0", "-q", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
			t.Fatalf("load %s: exit %d %s%s", l, code, out, errOut)
		}
	}
	queries := []string{
		"select count(*), count(distinct event_id) from events_raw",
		"select domain, event_date, count(*) from events group by all order by all",
		"select count(*) from eventlake.files",
	}
	for _, q := range queries {
		cwd := freshRunner(t)
		code, got, errOut := runCLI(t, "sql", "--lake", lakeURL, "-c", q)
		if code != 0 {
			t.Fatalf("sql on the bucket: exit %d %s", code, errOut)
		}
		_, want, _ := runCLI(t, "sql", "--lake", local, "-c", q)
		if got != want || want == "" {
			t.Errorf("%s:\nbucket lake:\n%s\nlocal lake:\n%s", q, got, want)
		}
		if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
			t.Errorf("sql left %v in its working folder", ents)
		}
	}
	freshRunner(t)
	code, out, errOut := runCLI(t, "status", "--lake", lakeURL, "--json")
	if code != 0 {
		t.Fatalf("status: exit %d %s", code, errOut)
	}
	_, want, _ := runCLI(t, "status", "--lake", local, "--json")
	var got, exp map[string]any
	json.Unmarshal([]byte(out), &got)
	json.Unmarshal([]byte(want), &exp)
	for _, k := range []string{"loads", "objects", "files", "rows", "records"} {
		if fmt_(got[k]) != fmt_(exp[k]) {
			t.Errorf("status %s: bucket %v, local %v", k, got[k], exp[k])
		}
	}
	if len(got) == 0 || fmt_(got["loads"]) == "null" {
		t.Errorf("status printed no loads: %s", out)
	}
}

func fmt_(v any) string { b, _ := json.Marshal(v); return string(b) }

// The commands that do not work on a lake in a bucket yet say so.
// ddl --format iceberg on a bucket lake without an Iceberg table says how
// to create one, naming the bucket lake.
func TestBucketLakeIcebergDDLWithoutTable(t *testing.T) {
	forEachBucket(t, testBucketLakeIcebergDDLWithoutTable)
}

func testBucketLakeIcebergDDLWithoutTable(t *testing.T, newLake func(*testing.T) string) {
	lakeURL := newLake(t)
	freshRunner(t)
	code, _, errOut := runCLI(t, "ddl", "--format", "iceberg", "--lake", lakeURL, "--engine", "spark")
	if code != 2 || !strings.Contains(errOut, "eventlake iceberg sync --lake "+lakeURL) {
		t.Errorf("exit %d, stderr %q; want exit 2 saying how to create the table", code, errOut)
	}
}

// A SIGKILL at a random instant of a load into a bucket lake (measured from
// a clean run's duration), then a re-run on a fresh machine, gives exactly
// the rows of one clean run; at the kill, a Hive reader never lists a file
// no commit names. EVENTLAKE_CRASH_TRIALS sets the kills per store (3).
func TestBucketLakeCrashAtRandomInstants(t *testing.T) {
	forEachBucket(t, testBucketLakeCrashAtRandomInstants)
}

func testBucketLakeCrashAtRandomInstants(t *testing.T, newLake func(*testing.T) string) {
	wantRows, wantDistinct := localLakeRows(t)
	trials := 3
	if v, _ := strconv.Atoi(os.Getenv("EVENTLAKE_CRASH_TRIALS")); v > 0 {
		trials = v
	}
	load := func(lakeURL, src string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "load", "--lake", lakeURL, "--settle", "0", "-q",
			filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
		cmd.Dir = freshRunner(t)
		cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CHECKPOINT_EVERY=1")
		return cmd
	}
	corpus := func() string {
		src := t.TempDir()
		for b := 1; b <= 3; b++ {
			arrive(t, src, b)
		}
		return src
	}
	// A clean run's duration bounds the instants.
	start := time.Now()
	if out, err := load(newLake(t), corpus()).CombinedOutput(); err != nil {
		t.Fatalf("clean run: %v\n%s", err, out)
	}
	span := time.Since(start)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("clean run %s; seed %d", span, seed)
	killed := 0
	for i := 0; i < trials; i++ {
		lakeURL, src := newLake(t), corpus()
		at := time.Duration(rng.Int63n(int64(span)))
		cmd := load(lakeURL, src)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(at, func() { cmd.Process.Kill() })
		err := cmd.Wait()
		if timer.Stop() {
			t.Logf("trial %d: the load ended before %s (%v)", i, at, err)
		} else {
			killed++
		}
		logged := loggedFiles(t, lakeURL)
		for _, k := range bucketKeys(t, lakeURL) {
			if strings.HasPrefix(k, "events/") && !logged[k] {
				t.Errorf("trial %d (kill after %s): a reader sees %s, which no commit names", i, at, k)
			}
		}
		freshRunner(t)
		code, stdout, errOut := runCLI(t, "load", "--lake", lakeURL, "--settle", "0", "-q", "--json",
			filepath.Join(src, "pismo"), filepath.Join(src, "fulfillmenttools"))
		if code != 0 {
			t.Fatalf("trial %d (kill after %s): re-run exit %d\n%s%s", i, at, code, stdout, errOut)
		}
		if rows, distinct := bucketRows(t, lakeURL, "events"); rows != wantRows || distinct != wantDistinct {
			t.Errorf("trial %d (kill after %s): %d rows (%d distinct) after the re-run, want %d (%d)", i, at, rows, distinct, wantRows, wantDistinct)
		}
		for _, k := range bucketKeys(t, lakeURL) {
			if strings.HasPrefix(k, "_eventlake/staging/") {
				t.Errorf("trial %d (kill after %s): staged file left after recovery: %s", i, at, k)
			}
		}
	}
	t.Logf("%d of %d loads killed", killed, trials)
}
