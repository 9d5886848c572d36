package compact

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

// TestMain lets the test binary act as a compaction child process that the
// crash tests kill.
func TestMain(m *testing.M) {
	if lake := os.Getenv("EVENTLAKE_TEST_COMPACT_LAKE"); lake != "" {
		target, _ := strconv.ParseInt(os.Getenv("EVENTLAKE_TEST_COMPACT_TARGET"), 10, 64)
		_, err := Run(context.Background(), Options{Lake: lake, TargetBytes: target, LockWait: time.Minute})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashTarget makes the crash corpus's partitions roll over into several
// files, so that publish and delete have many files to go through.
const crashTarget = 256 << 10

func compactChild(lake string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_COMPACT_LAKE="+lake, "EVENTLAKE_TEST_COMPACT_TARGET="+strconv.Itoa(crashTarget))
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// crashLake loads a corpus (with re-deliveries) into a template lake and
// returns it with the rows the events view shows, which any compaction,
// interrupted or not, must preserve exactly.
func crashLake(t *testing.T, c corpus) (string, [][]string) {
	t.Helper()
	template := t.TempDir()
	loadAll(t, template, c.write(t))
	db := laketest.DuckDB(t)
	return template, dedupRows(t, db, template, liveFiles(t, template))
}

// checkAfterCrash verifies a lake between a crash and the re-run: whatever
// instant the compaction died at, readers following the catalog see files
// that all exist and the same events as before.
func checkAfterCrash(t *testing.T, lake string, want [][]string, when string) {
	t.Helper()
	live := liveFiles(t, lake)
	for _, p := range live {
		if _, err := os.Stat(lake + "/" + p); err != nil {
			t.Errorf("%s: live file %s: %v", when, p, err)
		}
	}
	sameRows(t, when+": events view", dedupRows(t, laketest.DuckDB(t), lake, live), want)
}

// checkCompacted verifies a lake after the re-run: every row of the lake is
// a row of the events view before compaction, value by value, no duplicate
// is left, the files on disk are exactly the live files, staging is empty.
func checkCompacted(t *testing.T, lake string, want [][]string, when string) {
	t.Helper()
	sameRows(t, when+": compacted lake", rawRows(t, laketest.DuckDB(t), lake, liveFiles(t, lake)), want)
	checkClean(t, lake)
	if again := run(t, Options{Lake: lake, TargetBytes: crashTarget}); again.Partitions != 0 {
		t.Errorf("%s: a third run compacted again: %+v", when, again)
	}
}

func TestCrashAtEveryStep(t *testing.T) {
	template, want := crashLake(t, corpus{loads: 3, objects: 3, perObject: 400, pad: 150})
	for _, step := range protocolSteps {
		t.Run(step, func(t *testing.T) {
			lake := copyDir(t, template)
			out, err := compactChild(lake, "EVENTLAKE_CRASH_AT=compact-"+step).CombinedOutput()
			if err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("child was not killed at %s: %v\n%s", step, err, out)
			}
			checkAfterCrash(t, lake, want, "after a crash at "+step)
			sum := run(t, Options{Lake: lake, TargetBytes: crashTarget})
			// Once committed, the crashed compaction is finished by
			// recovery and the re-run has nothing left to compact; before,
			// it is discarded and the re-run compacts everything.
			committed := slices.Index(protocolSteps, step) >= slices.Index(protocolSteps, "after-commit")
			if sum.Recovered == "" || committed != (sum.Partitions == 0) {
				t.Errorf("re-run after a crash at %s: %+v, want recovery and %s", step, sum, map[bool]string{true: "nothing to compact", false: "a compaction"}[committed])
			}
			checkCompacted(t, lake, want, "after a crash at "+step+" and a re-run")
		})
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
	template, want := crashLake(t, corpus{loads: 3, objects: 4, perObject: 1000, pad: 200})
	// Time a clean compaction (in a child, like the trials).
	clean := copyDir(t, template)
	start := time.Now()
	if out, err := compactChild(clean).CombinedOutput(); err != nil {
		t.Fatalf("clean compaction: %v\n%s", err, out)
	}
	took := time.Since(start)
	checkCompacted(t, clean, want, "clean run")

	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; i < trials; i++ {
		lake := copyDir(t, template)
		// Kill somewhere between start-up and a little after a clean run's
		// end. The sleep picks the instant; nothing waits on it.
		delay := time.Duration(r.Int63n(int64(took)*3/2 + 1))
		cmd := compactChild(lake)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		when := fmt.Sprintf("trial %d (kill after %v of a %v compaction)", i, delay, took)
		checkAfterCrash(t, lake, want, when)
		run(t, Options{Lake: lake, TargetBytes: crashTarget})
		checkCompacted(t, lake, want, when)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d trials; a clean compaction takes %v", trials, took)
}

// TestLoadRecoversInterruptedCompaction: after a compaction dies between
// the swap and the deletion, the next *load* (which recovers first, like
// every writer) deletes the replaced files.
func TestLoadRecoversInterruptedCompaction(t *testing.T) {
	dirs := smallCorpus.write(t)
	lake := t.TempDir()
	loadAll(t, lake, dirs[:2])
	want := dedupRows(t, laketest.DuckDB(t), lake, liveFiles(t, lake))
	if out, err := compactChild(lake, "EVENTLAKE_CRASH_AT=compact-during-delete").CombinedOutput(); err == nil {
		t.Fatalf("child was not killed: %s", out)
	}
	if len(diskFiles(t, lake)) == len(liveFiles(t, lake)) {
		t.Fatalf("the crash left no replaced file behind; the test proves nothing")
	}
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, []loader.SourceSpec{{URL: dirs[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != 0 || sum.Recovered == "" {
		t.Errorf("load after the crash: %+v, want recovery and nothing new", sum)
	}
	checkClean(t, lake)
	sameRows(t, "after recovery by a load", rawRows(t, laketest.DuckDB(t), lake, liveFiles(t, lake)), want)
}
