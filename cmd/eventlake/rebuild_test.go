package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
)

// lakeCounts is what a reader of the lake sees: through the catalog
// (status, the shell's views) and through the raw Parquet globs external
// engines read.
type lakeCounts struct {
	Objects               map[string]int64
	Files, Rows, Rejects  int64
	RawEvents, RawOrders  int64
	ShellEvents, ShellRaw int64
	ShellOrders           int64
	ParquetFilesOnDisk    int
}

func statusJSON(t *testing.T, lake string) map[string]any {
	t.Helper()
	code, out, errOut := runCLI(t, "status", "--lake", lake, "--json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

func parquetFiles(t *testing.T, lake string) []string {
	t.Helper()
	var out []string
	for _, f := range listFiles(t, lake) {
		if strings.HasSuffix(f, ".parquet") && !strings.HasPrefix(f, "_eventlake/") {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func countLake(t *testing.T, lake string) lakeCounts {
	t.Helper()
	st := statusJSON(t, lake)
	c := lakeCounts{Objects: map[string]int64{}}
	for k, v := range st["objects"].(map[string]any) {
		c.Objects[k] = int64(v.(float64))
	}
	c.Files, c.Rows, c.Rejects = int64(st["files"].(float64)), int64(st["rows"].(float64)), int64(st["rejects"].(float64))
	db := laketest.DuckDB(t)
	n := func(q string) int64 {
		var v int64
		if err := db.QueryRow(q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	c.RawEvents = n(`select count(*) from read_parquet('` + filepath.Join(lake, "events", "**", "*.parquet") + `', hive_partitioning = true)`)
	if _, err := os.Stat(filepath.Join(lake, "orders")); err == nil {
		c.RawOrders = n(`select count(*) from read_parquet('` + filepath.Join(lake, "orders", "**", "*.parquet") + `', hive_partitioning = true)`)
	}
	shell := shellDB(t, lake)
	var v int64
	if err := shell.QueryRow(`select count(*) from events`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	c.ShellEvents = v
	if err := shell.QueryRow(`select count(*) from events_raw`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	c.ShellRaw = v
	if c.RawOrders > 0 {
		if err := shell.QueryRow(`select count(*) from orders`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		c.ShellOrders = v
	}
	c.ParquetFilesOnDisk = len(parquetFiles(t, lake))
	return c
}

// moveCatalogAway moves catalog.db and its -wal and -shm files to a folder
// outside the lake and returns the new path of catalog.db.
func moveCatalogAway(t *testing.T, lake string) string {
	t.Helper()
	dir := t.TempDir()
	p := loader.CatalogPath(lake)
	for _, suf := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(p+suf, filepath.Join(dir, "catalog.db"+suf)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "catalog.db")
}

func copyCatalog(t *testing.T, from, to string) {
	t.Helper()
	for _, suf := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(from + suf)
		if os.IsNotExist(err) {
			os.Remove(to + suf)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to+suf, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// TestLostCatalogIsRebuilt: with the catalog moved away, status and load
// refuse (naming catalog rebuild) instead of reporting an empty lake and
// writing a second copy; catalog rebuild restores what status showed, and a
// re-run of the same load is a no-op.
func TestLostCatalogIsRebuilt(t *testing.T) {
	lake := t.TempDir()
	srcs := []string{testdata("pismo"), testdata("fulfillmenttools"), testdata("jwo", "Order"), testdata("bad", "mixed-bad-lines.ndjson")}
	runCLI(t, append([]string{"load", "--lake", lake, "-q"}, srcs...)...) // exit 1: the bad file is quarantined
	before := countLake(t, lake)
	if before.RawEvents == 0 || before.RawOrders == 0 || before.Files == 0 {
		t.Fatalf("nothing loaded: %+v", before)
	}
	filesBefore := parquetFiles(t, lake)
	moveCatalogAway(t, lake)

	code, out, errOut := runCLI(t, "status", "--lake", lake)
	if code == 0 || !strings.Contains(errOut, "eventlake catalog rebuild") {
		t.Errorf("status without catalog: exit %d, want a refusal naming catalog rebuild\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, append([]string{"load", "--lake", lake, "-q"}, srcs...)...)
	if code == 0 || !strings.Contains(errOut, "eventlake catalog rebuild") {
		t.Errorf("load without catalog: exit %d, want a refusal naming catalog rebuild\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "compact", "--lake", lake)
	if code == 0 || !strings.Contains(errOut, "eventlake catalog rebuild") {
		t.Errorf("compact without catalog: exit %d, stderr: %s", code, errOut)
	}
	// --catalog pointing elsewhere: the same rule.
	code, _, errOut = runCLI(t, append([]string{"load", "--lake", lake, "--catalog", filepath.Join(t.TempDir(), "c.db"), "-q"}, srcs...)...)
	if code == 0 || !strings.Contains(errOut, "eventlake catalog rebuild") {
		t.Errorf("load with a new --catalog: exit %d, stderr: %s", code, errOut)
	}
	if got := parquetFiles(t, lake); strings.Join(got, "\n") != strings.Join(filesBefore, "\n") {
		t.Fatalf("refused writers changed the lake's files:\n%v\nwant\n%v", got, filesBefore)
	}

	out = mustRun(t, "catalog", "rebuild", "--lake", lake, "--dry-run")
	if _, err := os.Stat(loader.CatalogPath(lake)); err == nil {
		t.Fatal("--dry-run created a catalog")
	}
	if !strings.Contains(out, "dry run") {
		t.Errorf("dry run output: %s", out)
	}
	mustRun(t, "catalog", "rebuild", "--lake", lake)
	after := countLake(t, lake)
	if !equalCounts(before, after) {
		t.Errorf("rebuilt lake:\n%+v\nwant\n%+v", after, before)
	}
	// A re-run of the same load is a no-op: nothing new, no new file.
	code, out, errOut = runCLI(t, append([]string{"load", "--lake", lake, "--json", "-q"}, srcs...)...)
	if !strings.Contains(out, `"committed":0`) {
		t.Errorf("re-run after rebuild: exit %d\n%s\n%s", code, out, errOut)
	}
	again := countLake(t, lake)
	if again.RawEvents != before.RawEvents || again.ShellEvents != before.ShellEvents || again.RawOrders != before.RawOrders {
		t.Errorf("re-run after rebuild changed the lake:\n%+v\nwant\n%+v", again, before)
	}
	for _, f := range parquetFiles(t, lake) {
		if !contains(strings.Join(filesBefore, "\n"), f) {
			t.Errorf("re-run after rebuild wrote %s", f)
		}
	}
	// A second rebuild is refused while a catalog is there.
	if code, _, errOut := runCLI(t, "catalog", "rebuild", "--lake", lake); code == 0 || !strings.Contains(errOut, "already") {
		t.Errorf("rebuild over an existing catalog: exit %d, %s", code, errOut)
	}
}

func equalCounts(a, b lakeCounts) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestRebuildCompactedLake: a compacted lake is rebuilt without counting
// both the compacted files and the files they replaced, even when a crash
// left replaced files on disk.
func TestRebuildCompactedLake(t *testing.T) {
	a, b := compactSources(t)
	lake := t.TempDir()
	mustRun(t, "load", "--lake", lake, "-q", a)
	mustRun(t, "load", "--lake", lake, "-q", b)
	saved := t.TempDir()
	pre := parquetFiles(t, lake)
	for _, f := range pre {
		data, err := os.ReadFile(filepath.Join(lake, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(saved, f)), 0o755)
		os.WriteFile(filepath.Join(saved, f), data, 0o644)
	}
	mustRun(t, "compact", "--lake", lake, "--min-files", "2")
	before := countLake(t, lake)
	if before.ParquetFilesOnDisk >= len(pre) {
		t.Fatalf("compaction replaced nothing: %d files before, %d after", len(pre), before.ParquetFilesOnDisk)
	}
	moveCatalogAway(t, lake)
	// A crash between the swap and the deletion leaves replaced files.
	for _, f := range pre {
		if _, err := os.Stat(filepath.Join(lake, f)); os.IsNotExist(err) {
			data, _ := os.ReadFile(filepath.Join(saved, f))
			if err := os.WriteFile(filepath.Join(lake, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustRun(t, "catalog", "rebuild", "--lake", lake)
	after := countLake(t, lake)
	if !equalCounts(before, after) {
		t.Errorf("rebuilt compacted lake:\n%+v\nwant\n%+v", after, before)
	}
	code, out, _ := runCLI(t, "load", "--lake", lake, "--json", "-q", a, b)
	if code != 0 || !strings.Contains(out, `"committed":0`) {
		t.Errorf("re-run after rebuild: exit %d %s", code, out)
	}
	if again := countLake(t, lake); again.RawEvents != before.RawEvents {
		t.Errorf("re-run after rebuild: %d raw rows, want %d", again.RawEvents, before.RawEvents)
	}
}

// TestRestoredCatalogIsRefused: a catalog backed up after load 1 and
// restored after load 2 is older than the lake's files; writers refuse it
// with instructions (instead of loading load 2's objects a second time),
// readers warn; catalog rebuild makes it right.
func TestRestoredCatalogIsRefused(t *testing.T) {
	a, b := compactSources(t)
	lake := t.TempDir()
	mustRun(t, "load", "--lake", lake, "-q", a)
	backup := filepath.Join(t.TempDir(), "catalog.db")
	copyCatalog(t, loader.CatalogPath(lake), backup)
	mustRun(t, "load", "--lake", lake, "-q", b)
	before := countLake(t, lake)
	filesBefore := parquetFiles(t, lake)

	copyCatalog(t, backup, loader.CatalogPath(lake))
	code, out, errOut := runCLI(t, "load", "--lake", lake, "-q", a, b)
	if code == 0 || !strings.Contains(errOut, "older than the lake") || !strings.Contains(errOut, "eventlake catalog rebuild") {
		t.Errorf("load with a restored catalog: exit %d, want a refusal\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "compact", "--lake", lake, "--min-files", "2")
	if code == 0 || !strings.Contains(errOut, "older than the lake") {
		t.Errorf("compact with a restored catalog: exit %d, %s", code, errOut)
	}
	if got := parquetFiles(t, lake); strings.Join(got, "\n") != strings.Join(filesBefore, "\n") {
		t.Fatalf("refused writers changed the lake's files")
	}
	code, _, errOut = runCLI(t, "status", "--lake", lake)
	if code != 0 || !strings.Contains(errOut, "older than the lake") {
		t.Errorf("status with a restored catalog: exit %d, want 0 with a warning; stderr: %s", code, errOut)
	}

	moveCatalogAway(t, lake)
	mustRun(t, "catalog", "rebuild", "--lake", lake)
	if after := countLake(t, lake); !equalCounts(before, after) {
		t.Errorf("rebuilt:\n%+v\nwant\n%+v", after, before)
	}
	code, out, _ = runCLI(t, "load", "--lake", lake, "--json", "-q", a, b)
	if code != 0 || !strings.Contains(out, `"committed":0`) {
		t.Errorf("re-run after rebuild: exit %d %s", code, out)
	}
	if got := parquetFiles(t, lake); len(got) != len(filesBefore) {
		t.Errorf("re-run after rebuild wrote files: %d, want %d", len(got), len(filesBefore))
	}
}

// crashCLI runs the CLI in a child process killed at the named step of the
// commit protocol.
func crashCLI(t *testing.T, point string, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+point)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("%v was not killed at %s: %v\n%s", args, point, err, out)
	}
}

// manifests lists the load manifests published in the lake.
func manifests(t *testing.T, lake string) []string {
	t.Helper()
	var out []string
	for _, f := range listFiles(t, lake) {
		if strings.HasPrefix(f, "_eventlake/loads/") {
			out = append(out, f)
		}
	}
	return out
}

// TestCrashBeforeManifestIsRebuilt: a writer killed between its catalog
// commit and the publish of its manifest (before its files are published,
// while they are, and once they all are) leaves a lake that the next run
// completes — every published load with its manifest — and that catalog
// rebuild can rebuild when the catalog is lost too: the lake then ends
// exactly as one clean run leaves it, and a further run is a no-op.
func TestCrashBeforeManifestIsRebuilt(t *testing.T) {
	a, b := compactSources(t)
	ref := t.TempDir()
	mustRun(t, "load", "--lake", ref, "-q", a)
	mustRun(t, "load", "--lake", ref, "-q", b)
	want := countLake(t, ref)
	refCompacted := filepath.Join(t.TempDir(), "lake")
	copyDir(t, ref, refCompacted)
	mustRun(t, "compact", "--lake", refCompacted, "--min-files", "2")
	wantCompacted := countLake(t, refCompacted)

	for _, point := range []string{"after-commit", "during-publish", "before-manifest", "compact-before-manifest"} {
		t.Run(point, func(t *testing.T) {
			lake := t.TempDir()
			mustRun(t, "load", "--lake", lake, "-q", a)
			rerun := []string{"load", "--lake", lake, "--settle", "0", "-q", b}
			expect := want
			if strings.HasPrefix(point, "compact-") {
				mustRun(t, "load", "--lake", lake, "-q", b)
				rerun = []string{"compact", "--lake", lake, "--min-files", "2"}
				expect = wantCompacted
			}
			crashCLI(t, point, rerun...)
			lost := filepath.Join(t.TempDir(), "lake")
			copyDir(t, lake, lost)

			// The next run completes the crashed one.
			mustRun(t, rerun...)
			if got := countLake(t, lake); !equalCounts(got, expect) {
				t.Errorf("re-run after the crash:\n%+v\nwant\n%+v", got, expect)
			}
			if n := len(manifests(t, lake)); n != 2+map[bool]int{true: 1}[strings.HasPrefix(point, "compact-")] {
				t.Errorf("re-run after the crash: %d manifests published: %v", n, manifests(t, lake))
			}

			// The crashed lake with its catalog lost as well.
			moveCatalogAway(t, lost)
			out := mustRun(t, "catalog", "rebuild", "--lake", lost, "--json")
			var rep map[string]any
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("rebuild --json: %v\n%s", err, out)
			}
			// Before any file is in the lake the commit cannot be told
			// from a load that never committed: it is left out and loads
			// again; after, it is published and rebuilt.
			uncommitted := len(rep["uncommitted"].([]any))
			if (point == "after-commit") != (uncommitted == 1) {
				t.Errorf("rebuild: %s", out)
			}
			if len(rep["missing"].([]any)) != 0 || len(rep["untracked"].([]any)) != 0 {
				t.Errorf("rebuild: %s", out)
			}
			args := append([]string{}, rerun...)
			args[2] = lost
			if strings.HasPrefix(point, "compact-") {
				args = []string{"load", "--lake", lost, "-q", a, b}
			}
			mustRun(t, args...)
			if got := countLake(t, lost); !equalCounts(got, expect) {
				t.Errorf("rebuilt, then re-run:\n%+v\nwant\n%+v", got, expect)
			}
			code, out, errOut := runCLI(t, "load", "--lake", lost, "--json", "-q", a, b)
			if code != 0 || !strings.Contains(out, `"committed":0`) {
				t.Errorf("a further run: exit %d %s %s", code, out, errOut)
			}
		})
	}
}
