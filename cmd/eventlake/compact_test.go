package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compactSources writes two source folders of Pismo events: the second
// re-delivers every third event of the first (same id and timestamp).
// Events span 2 domains × 2 days.
func compactSources(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	line := func(id int) string {
		d := []string{"account", "cards"}[id%2]
		return fmt.Sprintf(`{"event_id":"ev-%04d","domain":"%s","event_type":"%s-change","schema_version":1,"timestamp":"2024-02-0%dT10:00:%02dZ","data":{"n":%d}}`,
			id, d, d, 1+id/2%2, id%60, id) + "\n"
	}
	var a, b strings.Builder
	for i := 0; i < 40; i++ {
		a.WriteString(line(i))
		if i%3 == 0 {
			b.WriteString(line(i))
		}
	}
	for i := 40; i < 60; i++ {
		b.WriteString(line(i))
	}
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b")}
	for i, content := range []string{a.String(), b.String()} {
		p := filepath.Join(dirs[i], "main_stream", "2024", "02", "01", "10", "batch")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dirs[0], dirs[1]
}

func TestCompactCommand(t *testing.T) {
	lake := t.TempDir()
	a, b := compactSources(t)
	for _, src := range []string{a, b} {
		if code, _, errOut := runCLI(t, "load", "--lake", lake, "--settle", "0", "-q", src); code != 0 {
			t.Fatalf("load %s: exit %d\n%s", src, code, errOut)
		}
	}
	filesBefore := listFiles(t, filepath.Join(lake, "events"))

	// Dry run: the plan, nothing changed.
	code, out, errOut := runCLI(t, "compact", "--lake", lake, "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errOut)
	}
	var plan map[string]any
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("dry run stdout is not one JSON object: %v\n%s", err, out)
	}
	if plan["dry_run"] != true || plan["partitions"] != 4.0 || plan["files_before"] != 8.0 || plan["rows_before"] != 74.0 {
		t.Errorf("dry run = %s, want 4 partitions, 8 files, 74 rows", out)
	}
	if got := listFiles(t, filepath.Join(lake, "events")); strings.Join(got, ",") != strings.Join(filesBefore, ",") {
		t.Errorf("dry run changed the lake")
	}
	if code, out, _ := runCLI(t, "compact", "--lake", lake, "--dry-run"); code != 0 || !strings.Contains(out, "would compact 4 partitions") ||
		!strings.Contains(out, "domain=cards/event_date=2024-02-02: 2 files") {
		t.Errorf("dry run text: exit %d\n%s", code, out)
	}

	// One partition, as text.
	code, out, errOut = runCLI(t, "compact", "--lake", lake, "--partition", "domain=account/event_date=2024-02-01")
	if code != 0 || !strings.Contains(out, "1 partitions, 2 files -> 1") || !strings.Contains(out, "duplicates dropped") {
		t.Errorf("compact one partition: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// The rest, as JSON.
	code, out, errOut = runCLI(t, "compact", "--lake", lake, "--json", "--target-size", "64MB")
	if code != 0 {
		t.Fatalf("compact: exit %d\n%s", code, errOut)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"load_id", "partitions", "skipped", "files_before", "files_after", "rows_before", "rows_after", "duplicates", "bytes_before", "bytes_after", "seconds", "details", "query_cache"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, out)
		}
	}
	// 60 distinct events, 14 re-delivered; 4 partitions of which one is done.
	if sum["partitions"] != 3.0 || sum["skipped"] != 1.0 || sum["files_after"] != 3.0 || sum["load_id"] == "" {
		t.Errorf("summary = %s, want 3 partitions compacted into 3 files, 1 skipped", out)
	}
	if got := listFiles(t, filepath.Join(lake, "events")); len(got) != 4 {
		t.Errorf("files after compaction: %q, want one per partition", got)
	}

	// Nothing left.
	if code, out, _ := runCLI(t, "compact", "--lake", lake); code != 0 || !strings.Contains(out, "nothing to compact (4 partitions need nothing)") {
		t.Errorf("third run: exit %d\n%s", code, out)
	}
	// The status sees 4 live files holding the 60 distinct events.
	if code, out, _ := runCLI(t, "status", "--lake", lake, "--json"); code != 0 || !strings.Contains(out, `"files": 4`) || !strings.Contains(out, `"rows": 60`) {
		t.Errorf("status after compaction: exit %d\n%s", code, out)
	}
	// The query cache holds the compacted partitions; the shell reads them
	// from it; --query-cache=false removes it.
	if _, err := os.Stat(filepath.Join(lake, "_eventlake", "query-cache.duckdb")); err != nil {
		t.Errorf("no query cache after compaction: %v", err)
	}
	if code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", "select count(*) as n from events"); code != 0 || out != "n\n60\n" {
		t.Errorf("events through the cache: exit %d %q %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "compact", "--lake", lake, "--query-cache=false"); code != 0 {
		t.Errorf("compact --query-cache=false: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(lake, "_eventlake", "query-cache.duckdb")); !os.IsNotExist(err) {
		t.Errorf("--query-cache=false left the cache: %v", err)
	}
}

func TestCompactExitCodes(t *testing.T) {
	loaded := t.TempDir()
	a, _ := compactSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", loaded, "--settle", "0", "-q", a); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no lake", []string{"compact"}, 2, "no lake"},
		{"argument", []string{"compact", "--lake", "LAKE", "extra"}, 2, "unknown command"},
		{"bad size", []string{"compact", "--lake", "LAKE", "--target-size", "big"}, 2, "--target-size"},
		{"zero size", []string{"compact", "--lake", "LAKE", "--target-size", "0"}, 2, "--target-size"},
		{"bad sort buffer", []string{"compact", "--lake", "LAKE", "--sort-buffer", "1.5GB"}, 2, "--sort-buffer"},
		{"bad min files", []string{"compact", "--lake", "LAKE", "--min-files", "0"}, 2, "--min-files"},
		{"bad zstd", []string{"compact", "--lake", "LAKE", "--zstd-level", "20"}, 2, "--zstd-level"},
		{"bad partition", []string{"compact", "--lake", "LAKE", "--partition", "cards"}, 2, "domain=<domain>/event_date="},
		{"unknown partition", []string{"compact", "--lake", "LAKE", "--partition", "domain=cards/event_date=1999-01-01"}, 1, "no live files"},
		{"empty lake", []string{"compact", "--lake", "EMPTY"}, 1, "no catalog"},
		{"ok", []string{"compact", "--lake", "LAKE", "--min-files", "5"}, 0, "nothing to compact"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := make([]string, len(c.args))
			for i, x := range c.args {
				x = strings.ReplaceAll(x, "LAKE", loaded)
				args[i] = strings.ReplaceAll(x, "EMPTY", t.TempDir())
			}
			code, out, errOut := runCLI(t, args...)
			if code != c.code || !strings.Contains(out+errOut, c.msg) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, c.code, c.msg, out, errOut)
			}
		})
	}
}

// listFiles lists the files under dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
