package loader_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

// TestMain lets the test binary act as a loader child process that the
// crash tests kill.
func TestMain(m *testing.M) {
	if lake := os.Getenv("EVENTLAKE_TEST_CHILD_LAKE"); lake != "" {
		var specs []loader.SourceSpec
		for _, s := range strings.Split(os.Getenv("EVENTLAKE_TEST_CHILD_SOURCES"), ",") {
			specs = append(specs, loader.SourceSpec{URL: s})
		}
		_, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2, LockWait: time.Minute}, specs)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashCorpus writes n Pismo-like objects (half gzipped) with re-delivered
// events between them, big enough that a load takes a noticeable time.
func crashCorpus(t *testing.T, n, perObject int) string { return crashCorpusDays(t, n, perObject, 3) }

// crashCorpusDays is crashCorpus over days days from 2024-02-01 (a load of
// more than a few dozen partitions is made durable by syncfs where there is
// one, see partitions.Stage.Sync).
func crashCorpusDays(t *testing.T, n, perObject, days int) string {
	dir := t.TempDir()
	r := rand.New(rand.NewSource(42))
	domains := []string{"account", "cards", "authorization", "transaction"}
	id := 0
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "main_stream", "2024", "02", fmt.Sprintf("%02d", 1+i%3), fmt.Sprintf("%02d", i%24), fmt.Sprintf("obj-%03d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		var w interface {
			Write([]byte) (int, error)
		} = f
		var gz *gzip.Writer
		if i%2 == 1 {
			gz = gzip.NewWriter(f)
			w = gz
		}
		for j := 0; j < perObject; j++ {
			eid := id
			if j%10 == 9 && id > 5 {
				eid = r.Intn(id) // re-delivered event
			} else {
				id++
			}
			d := domains[eid%len(domains)]
			fmt.Fprintf(w, `{"event_id":"e-%07d","domain":"%s","event_type":"%s-change-1","schema_version":1,"org_id":"TN-%d","cid":"c-%d","timestamp":"%sT%02d:%02d:00.%03dZ","data":{"n":%d,"pad":"%s"}}`+"\n",
				eid, d, d, eid%3, eid, time.Date(2024, 2, 1+eid%days, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), eid%24, eid%60, eid%1000, eid, strings.Repeat("x", 200+eid%300))
		}
		if gz != nil {
			gz.Close()
		}
		f.Close()
	}
	return dir
}

// lakeRows is the multiset of loaded rows that must be identical after
// any crash + re-run: which event came from which object and line.
func lakeRows(t *testing.T, lake string) []string {
	db := laketest.DuckDB(t)
	rows := laketest.Rows(t, db, "select event_id, regexp_extract(_object, '[^/]+$'), _line, domain, event_date::varchar, md5(data) from "+laketest.Events(lake)+" order by all")
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, "|"))
	}
	return out
}

// checkPublished verifies that every file under events/ is a committed file
// of the catalog and that no staging area is left.
func checkPublished(t *testing.T, lake string) {
	t.Helper()
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	live, err := cat.LiveFiles(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range live {
		known[f.Path] = true
	}
	for _, f := range laketest.Files(t, filepath.Join(lake, "events")) {
		if !known["events/"+f] {
			t.Errorf("file events/%s is visible but not committed in the catalog", f)
		}
	}
	if st := laketest.Files(t, filepath.Join(lake, "_eventlake", "staging")); len(st) != 0 {
		t.Errorf("staging left behind: %q", st)
	}
}

func runChild(t *testing.T, lake, src string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CHILD_LAKE="+lake, "EVENTLAKE_TEST_CHILD_SOURCES="+src)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// crashAndRerun kills a load of src into a new lake at the commit step
// point, loads src again, and checks the lake holds want and every file it
// names is published. It returns the lake.
func crashAndRerun(t *testing.T, src, point string, want []string) string {
	t.Helper()
	lake := t.TempDir()
	cmd := runChild(t, lake, src, "EVENTLAKE_CRASH_AT="+point)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child was not killed at %s: %v\n%s", point, err, out)
	}
	sum := load(t, lake, src)
	if got := lakeRows(t, lake); !reflect.DeepEqual(got, want) {
		t.Errorf("after a crash at %s and a re-run: %d rows, want %d (summary %+v)", point, len(got), len(want), sum)
	}
	checkPublished(t, lake)
	return lake
}

func TestCrashAtEveryCommitStep(t *testing.T) {
	src := crashCorpus(t, 6, 300)
	ref := t.TempDir()
	load(t, ref, src)
	want := lakeRows(t, ref)
	for _, point := range []string{"after-begin", "before-commit", "after-commit", "during-publish", "before-manifest", "after-publish"} {
		t.Run(point, func(t *testing.T) {
			lake := crashAndRerun(t, src, point, want)
			if again := load(t, lake, src); again.Objects != 0 {
				t.Errorf("third run loaded %d objects, want 0", again.Objects)
			}
		})
	}
}

// TestCrashAtEveryCommitStepWide is TestCrashAtEveryCommitStep for a load
// of hundreds of partitions, whose files and folders are made durable by
// one syncfs each (where the kernel has one) rather than an fsync each.
func TestCrashAtEveryCommitStepWide(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of files per load")
	}
	src := crashCorpusDays(t, 4, 300, 101)
	ref := t.TempDir()
	if sum := load(t, ref, src); sum.Files < 300 {
		t.Fatalf("reference load wrote %d files, want hundreds", sum.Files)
	}
	want := lakeRows(t, ref)
	for _, point := range []string{"before-commit", "after-commit", "during-publish", "after-publish"} {
		t.Run(point, func(t *testing.T) { crashAndRerun(t, src, point, want) })
	}
}

func TestCrashAtRandomInstants(t *testing.T) {
	trials := 4
	if v, _ := strconv.Atoi(os.Getenv("EVENTLAKE_CRASH_TRIALS")); v > 0 {
		trials = v
	}
	if testing.Short() {
		trials = 2
	}
	src := crashCorpus(t, 16, 2000)
	ref := t.TempDir()
	start := time.Now()
	load(t, ref, src)
	clean := time.Since(start)
	want := lakeRows(t, ref)
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	// The child's start-up (exec, DuckDB-free but still a test binary)
	// comes before its load: measure it so the kills spread over the load.
	probe := runChild(t, t.TempDir(), src)
	pstart := time.Now()
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("child load: %v\n%s", err, out)
	}
	childTotal := time.Since(pstart)
	phases := map[string]int{}
	for i := 0; i < trials; i++ {
		lake := t.TempDir()
		delay := time.Duration(r.Int63n(int64(childTotal) + 1))
		cmd := runChild(t, lake, src)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		phases[killedIn(t, lake)]++
		load(t, lake, src)
		if got := lakeRows(t, lake); !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d (kill after %v of a %v child run): %d rows after re-run, want %d", i, delay, childTotal, len(got), len(want))
		}
		checkPublished(t, lake)
	}
	t.Logf("%d trials (a clean load takes %v in-process, %v as a child); killed: %v", trials, clean, childTotal, phases)
	if trials >= 20 && phases["writing"] == 0 {
		t.Errorf("no kill landed while the load was writing: %v", phases)
	}
}

// killedIn tells from the catalog where a killed load was: before its load
// row, writing (running), publishing (committed), or done (published).
func killedIn(t *testing.T, lake string) string {
	path := loader.CatalogPath(lake)
	if _, err := os.Stat(path); err != nil {
		return "starting"
	}
	cat, err := catalog.Open(path, catalog.Options{ReadOnly: true})
	if err != nil {
		return "starting"
	}
	defer cat.Close()
	var status string
	if err := cat.DB().QueryRow("SELECT status FROM loads ORDER BY started_at DESC LIMIT 1").Scan(&status); err != nil {
		return "starting"
	}
	return map[string]string{"running": "writing", "committed": "publishing", "published": "done"}[status]
}
