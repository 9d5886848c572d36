package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sqlValue runs one query in the shell and returns its single value.
func sqlValue(t *testing.T, lake, query string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", query)
	if code != 0 {
		t.Fatalf("sql %q: exit %d\n%s", query, code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func sqlInt(t *testing.T, lake, query string) int64 {
	t.Helper()
	v := sqlValue(t, lake, query)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("sql %q = %q, not a number", query, v)
	}
	return n
}

// parquetGlob reads the events folder as an external engine would (the
// string is split so the shell's statement splitter sees no comment).
func parquetGlob(lake string) string {
	return "read_parquet('" + filepath.ToSlash(filepath.Join(lake, "events")) + "/**' || '/' || '*.parquet', hive_partitioning = true)"
}

// reprocessSources copies the Pismo test data and writes an object that no
// built-in profile recognises (profile acme in the config returned).
func reprocessSources(t *testing.T) (src, cfg string) {
	t.Helper()
	root := t.TempDir()
	src = filepath.Join(root, "src")
	if err := os.CopyFS(filepath.Join(src, "pismo"), os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "acme"), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 1; i <= 3; i++ {
		b.WriteString(`{"uuid":"acme-` + strconv.Itoa(i) + `","ts":"2024-03-0` + strconv.Itoa(i) + `T10:00:00Z","kind":"order-placed","n":` + strconv.Itoa(i) + "}\n")
	}
	if err := os.WriteFile(filepath.Join(src, "acme", "batch.ndjson"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(root, "eventlake.yaml")
	if err := os.WriteFile(cfg, []byte("profiles:\n  acme: {event_id: uuid, timestamp: ts, event_type: kind, domain: \"=acme\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return src, cfg
}

// TestReprocessQuarantined: an object quarantined for want of a profile is
// loaded once the profile is given, its stale reject is gone, and the
// catalog keeps the history.
func TestReprocessQuarantined(t *testing.T) {
	lake := t.TempDir()
	src, cfg := reprocessSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 1 {
		t.Fatalf("first load: exit %d, want 1 (quarantined)\n%s", code, errOut)
	}
	rows := sqlInt(t, lake, "select count(*) from events_raw")
	if n := sqlInt(t, lake, "select count(*) from eventlake.rejects"); n != 1 {
		t.Fatalf("rejects after the first load = %d, want 1", n)
	}
	// The reported problem: the right profile alone loads nothing.
	if code, out, errOut := runCLI(t, "load", "--lake", lake, "--config", cfg, "--profile", "acme", src); code != 0 || !strings.Contains(out+errOut, "nothing new to load") {
		t.Fatalf("load --profile acme: exit %d\n%s%s", code, out, errOut)
	}

	// --dry-run lists the object and changes nothing.
	catalogBytes := func() []byte {
		b, err := os.ReadFile(filepath.Join(lake, "_eventlake", "catalog.db"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := catalogBytes()
	code, out, errOut := runCLI(t, "reprocess", "--lake", lake, "--status", "quarantined", "--dry-run")
	if code != 0 || !strings.Contains(out, "acme/batch.ndjson") || !strings.Contains(out, "1 object version(s)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if string(catalogBytes()) != string(before) {
		t.Fatal("reprocess --dry-run changed the catalog")
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.objects where reprocess_at is not null"); n != 0 {
		t.Fatalf("dry run marked %d objects", n)
	}

	code, out, errOut = runCLI(t, "reprocess", "--lake", lake, "--status", "quarantined", "--config", cfg, "--profile", "acme", "-q", src)
	if code != 0 {
		t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from events_raw where domain = 'acme'"); n != 3 {
		t.Errorf("acme rows = %d, want 3", n)
	}
	if n := sqlInt(t, lake, "select count(*) from events_raw"); n != rows+3 {
		t.Errorf("rows = %d, want %d", n, rows+3)
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.rejects"); n != 0 {
		t.Errorf("stale rejects = %d, want 0", n)
	}
	if v := sqlValue(t, lake, "select status || ' ' || profile || ' ' || (reprocess_at is null) from eventlake.objects where \"key\" like 'acme/%'"); v != "committed acme true" {
		t.Errorf("object row = %q", v)
	}
	if v := sqlValue(t, lake, "select reason || ' ' || old_status || ' ' || rejects || ' ' || (new_load <> old_load and new_load = (select max_by(load_id, started_at) from eventlake.loads)) from eventlake.supersedes"); v != "reprocess quarantined 1 true" {
		t.Errorf("history = %q", v)
	}
	// The rejects file held only that reject: no longer live, deleted.
	if n := sqlInt(t, lake, "select count(*) from eventlake.files where table_name = '_rejects' and status = 'live'"); n != 0 {
		t.Errorf("live rejects files = %d, want 0", n)
	}
	if _, out, _ := runCLI(t, "status", "--lake", lake); !strings.Contains(out, "rejects: 0") || !strings.Contains(out, "superseded: 1 object version(s)") {
		t.Errorf("status:\n%s", out)
	}
	// Loaded once: a further load has nothing to do.
	if code, out, errOut := runCLI(t, "load", "--lake", lake, "--config", cfg, "--profile", "acme", src); code != 0 || !strings.Contains(out+errOut, "nothing new to load") {
		t.Fatalf("load after reprocess: exit %d\n%s%s", code, out, errOut)
	}
}

// TestReprocessCommittedAndForget: a committed object reprocessed leaves no
// duplicate in the shell at once and none in the Parquet files after
// compaction; a forgotten one disappears the same way and loads fresh later.
func TestReprocessCommittedAndForget(t *testing.T) {
	lake := t.TempDir()
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	const obj = "**09-00-00*"
	rows := sqlInt(t, lake, "select count(*) from events_raw")
	objRows := sqlInt(t, lake, "select count(*) from events_raw where _object like '%09-00-00%'")
	if objRows == 0 || objRows == rows {
		t.Fatalf("object rows %d of %d: the test needs an object sharing files with another", objRows, rows)
	}

	if code, out, errOut := runCLI(t, "reprocess", "--lake", lake, "--object", obj, "-q", src); code != 0 {
		t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from events_raw"); n != rows {
		t.Errorf("shell rows after reprocess = %d, want %d (no duplicate)", n, rows)
	}
	if n := sqlInt(t, lake, "select count(distinct _load_id) from events_raw where _object like '%09-00-00%'"); n != 1 {
		t.Errorf("reprocessed object's rows come from %d loads, want 1", n)
	}
	// Old rows share files with the other object's: still stored, hidden.
	stale := "select count(*) from " + parquetGlob(lake) + " g join eventlake.supersedes s on g._object = s.object and g._load_id = s.old_load"
	if n := sqlInt(t, lake, stale); n == 0 {
		t.Fatal("no superseded row stored before compaction: the test does not exercise the shell's exclusion")
	}
	if n := sqlInt(t, lake, "select sum(\"rows\") from eventlake.superseded_files"); n != objRows {
		t.Errorf("superseded rows counted = %d, want %d", n, objRows)
	}
	ddlNote := func() bool {
		code, out, errOut := runCLI(t, "ddl", "--lake", lake, "--engine", "trino", "--location", "s3://b/lake/")
		if code != 0 {
			t.Fatalf("ddl: exit %d\n%s", code, errOut)
		}
		return strings.Contains(out, "-- note: ") && strings.Contains(out, "until `eventlake compact`")
	}
	if !ddlNote() {
		t.Error("ddl does not say that external readers see the superseded rows")
	}
	if code, _, errOut := runCLI(t, "compact", "--lake", lake, "--query-cache=false"); code != 0 {
		t.Fatalf("compact: exit %d\n%s", code, errOut)
	}
	if ddlNote() {
		t.Error("ddl still warns after compaction")
	}
	if n := sqlInt(t, lake, stale); n != 0 {
		t.Errorf("superseded rows in the Parquet files after compact = %d, want 0", n)
	}
	if n, m := sqlInt(t, lake, "select count(*) from "+parquetGlob(lake)), sqlInt(t, lake, "select count(*) from events_raw"); n != m {
		t.Errorf("after compact: %d rows in the files, %d in the shell", n, m)
	}
	after := sqlInt(t, lake, "select count(*) from events_raw")

	// forget: dry run first, then for real.
	code, out, _ := runCLI(t, "forget", "--lake", lake, "--object", obj, "--dry-run")
	if code != 0 || !strings.Contains(out, "would forget") {
		t.Fatalf("forget --dry-run: exit %d\n%s", code, out)
	}
	if n := sqlInt(t, lake, "select count(*) from events_raw"); n != after {
		t.Fatalf("dry run changed the rows: %d, want %d", n, after)
	}
	if code, out, errOut := runCLI(t, "forget", "--lake", lake, "--object", obj); code != 0 || !strings.Contains(out, "forgot") {
		t.Fatalf("forget: exit %d\n%s%s", code, out, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from events_raw where _object like '%09-00-00%'"); n != 0 {
		t.Errorf("forgotten object's rows in the shell = %d, want 0", n)
	}
	if n := sqlInt(t, lake, "select count(*) from eventlake.objects where superseded_by is not null"); n != 1 {
		t.Errorf("forgotten objects = %d, want 1", n)
	}
	if code, _, errOut := runCLI(t, "compact", "--lake", lake, "--query-cache=false"); code != 0 {
		t.Fatalf("compact: exit %d\n%s", code, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from "+parquetGlob(lake)+" where _object like '%09-00-00%'"); n != 0 {
		t.Errorf("forgotten object's rows in the files after compact = %d, want 0", n)
	}
	// A later load reads it as new.
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
		t.Fatalf("load after forget: exit %d\n%s", code, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from events_raw where _object like '%09-00-00%'"); n != objRows {
		t.Errorf("rows of the object loaded again = %d, want %d", n, objRows)
	}
}

// TestReprocessForgetCrash kills reprocess's load and forget at each step
// of their commit, then re-runs: the lake holds exactly the rows of one
// clean run.
func TestReprocessForgetCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	const obj = "**09-00-00*"
	child := func(t *testing.T, crashAt string, args ...string) {
		t.Helper()
		if args[0] == "load" {
			args = append([]string{"load", "--settle", "0"}, args[1:]...) // the files were just copied
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "EVENTLAKE_TEST_CLI=1", "EVENTLAKE_CRASH_AT="+crashAt)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
			t.Fatalf("%v at %s: want killed, got %v\n%s", args, crashAt, err, out)
		}
	}
	state := func(t *testing.T, lake string) string {
		return sqlValue(t, lake, "select count(*) || '/' || count(distinct _load_id) || '/' || count(distinct event_id) from events_raw") +
			" " + sqlValue(t, lake, "select count(*) || '/' || count(distinct old_load) from eventlake.supersedes")
	}
	base := func(t *testing.T) string {
		lake := t.TempDir()
		if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
		return lake
	}
	// Clean runs to compare against.
	clean := base(t)
	runCLI(t, "reprocess", "--lake", clean, "--object", obj, "-q", src)
	wantReprocess := state(t, clean)
	runCLI(t, "forget", "--lake", clean, "--object", obj)
	wantForget := state(t, clean)

	for _, step := range []string{"superseding", "before-commit", "after-commit", "after-publish", "after-swap", "during-delete", "after-delete"} {
		t.Run("reprocess-"+step, func(t *testing.T) {
			lake := base(t)
			if code, _, errOut := runCLI(t, "reprocess", "--lake", lake, "--object", obj); code != 0 {
				t.Fatalf("mark: exit %d\n%s", code, errOut)
			}
			child(t, step, "load", "--lake", lake, "-q", src)
			if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
				t.Fatalf("re-run: exit %d\n%s", code, errOut)
			}
			if got := state(t, lake); got != wantReprocess {
				t.Errorf("after a crash at %s and a re-run: %s, want %s", step, got, wantReprocess)
			}
		})
	}
	for _, step := range []string{"after-begin", "superseding", "before-commit", "after-commit", "after-publish", "after-swap", "during-delete", "after-delete"} {
		t.Run("forget-"+step, func(t *testing.T) {
			lake := base(t)
			runCLI(t, "reprocess", "--lake", lake, "--object", obj, "-q", src)
			child(t, "forget-"+step, "forget", "--lake", lake, "--object", obj)
			if code, _, errOut := runCLI(t, "forget", "--lake", lake, "--object", obj); code != 0 {
				t.Fatalf("re-run: exit %d\n%s", code, errOut)
			}
			if got := state(t, lake); got != wantForget {
				t.Errorf("after a crash at forget-%s and a re-run: %s, want %s", step, got, wantForget)
			}
			if _, err := os.Stat(filepath.Join(lake, "_eventlake", "staging")); err == nil {
				if es, _ := os.ReadDir(filepath.Join(lake, "_eventlake", "staging")); len(es) > 0 {
					t.Errorf("staging left: %v", es)
				}
			}
		})
	}
}
