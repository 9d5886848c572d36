package main

import (
	dbsql "database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// lifecycleLake loads compactSources in two loads: 2 domains × 2 days,
// every partition with one file per load (8 files, 74 rows, 60 events).
func lifecycleLake(t *testing.T) string {
	t.Helper()
	lake := t.TempDir()
	a, b := compactSources(t)
	for _, src := range []string{a, b} {
		if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
			t.Fatalf("load %s: exit %d\n%s", src, code, errOut)
		}
	}
	return lake
}

// perPartition counts rows of a view per partition through DuckDB, as CSV
// lines "domain,event_date,n".
func perPartition(t *testing.T, lake, view string) (lines []string, stderr string) {
	t.Helper()
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c",
		"select domain, event_date, count(*) as n from "+view+" group by all order by all")
	if code != 0 {
		t.Fatalf("sql on %s: exit %d\n%s", view, code, errOut)
	}
	return strings.Split(strings.TrimSpace(out), "\n")[1:], errOut
}

func without(lines []string, prefix string) []string {
	return slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

const gonePartition = "domain=cards/event_date=2024-02-01"

// A partition folder deleted by hand: the shell answers on the rest of the
// lake and warns once, naming the missing files and what to do.
func TestMissingPartitionShell(t *testing.T) {
	lake := lifecycleLake(t)
	rawBefore, _ := perPartition(t, lake, "events_raw")
	eventsBefore, _ := perPartition(t, lake, "events")
	gone := listFiles(t, filepath.Join(lake, "events", gonePartition))
	if len(rawBefore) != 4 || len(gone) != 2 {
		t.Fatalf("lake: %q, %d files in %s", rawBefore, len(gone), gonePartition)
	}
	if err := os.RemoveAll(filepath.Join(lake, "events", gonePartition)); err != nil {
		t.Fatal(err)
	}
	raw, errOut := perPartition(t, lake, "events_raw")
	if want := without(rawBefore, "cards,2024-02-01"); !slices.Equal(raw, want) {
		t.Errorf("events_raw after the rm: %q, want %q", raw, want)
	}
	if ev, _ := perPartition(t, lake, "events"); !slices.Equal(ev, without(eventsBefore, "cards,2024-02-01")) {
		t.Errorf("events after the rm: %q, want %q", ev, without(eventsBefore, "cards,2024-02-01"))
	}
	for _, f := range gone {
		if !strings.Contains(errOut, "events/"+gonePartition+"/"+f) {
			t.Errorf("warning does not name %s:\n%s", f, errOut)
		}
	}
	if !strings.Contains(errOut, "eventlake check") || !strings.Contains(errOut, "backup") {
		t.Errorf("warning does not say what to do:\n%s", errOut)
	}
	// Several statements, typed views too: one warning.
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c",
		"select count(*) as n from events where domain = 'account'; select count(*) as n from events_raw; select count(*) as n from eventlake.files")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if n := strings.Count(errOut, "eventlake check"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, errOut)
	}
	if strings.Contains(errOut, "CREATE") || strings.Contains(errOut, "IO Error") {
		t.Errorf("stderr shows an error:\n%s", errOut)
	}
	if !strings.HasPrefix(out, "n\n") {
		t.Errorf("output %q", out)
	}

	// status counts the missing files.
	code, out, _ = runCLI(t, "status", "--lake", lake, "--json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	if st["missing_files"] != 2.0 {
		t.Errorf("status missing_files = %v, want 2\n%s", st["missing_files"], out)
	}
	if code, out, _ := runCLI(t, "status", "--lake", lake); code != 0 || !strings.Contains(out, "2 live files missing") || !strings.Contains(out, "eventlake check") {
		t.Errorf("status text: exit %d\n%s", code, out)
	}
}

// compact skips a partition with a missing file, compacts the others and
// exits 1 at the end.
func TestCompactSkipsMissing(t *testing.T) {
	lake := lifecycleLake(t)
	eventsBefore, _ := perPartition(t, lake, "events")
	if err := os.RemoveAll(filepath.Join(lake, "events", gonePartition)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "compact", "--lake", lake, "--json")
	if code != 1 {
		t.Fatalf("compact: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var sum struct {
		Partitions int `json:"partitions"`
		Damaged    []struct {
			Partition string `json:"partition"`
			Files     []struct{ Path, Problem string }
		} `json:"damaged"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if sum.Partitions != 3 || len(sum.Damaged) != 1 || sum.Damaged[0].Partition != gonePartition ||
		len(sum.Damaged[0].Files) != 2 || sum.Damaged[0].Files[0].Problem != "missing" {
		t.Errorf("summary = %s, want 3 partitions compacted and %s skipped", out, gonePartition)
	}
	if !strings.Contains(errOut, gonePartition) || !strings.Contains(errOut, "eventlake check") {
		t.Errorf("stderr does not name the skipped partition:\n%s", errOut)
	}
	for _, p := range []string{"domain=account/event_date=2024-02-01", "domain=account/event_date=2024-02-02", "domain=cards/event_date=2024-02-02"} {
		if got := listFiles(t, filepath.Join(lake, "events", p)); len(got) != 1 {
			t.Errorf("%s after compaction: %q, want one file", p, got)
		}
	}
	// The compacted partitions answer as before; their duplicates are gone.
	want := without(eventsBefore, "cards,2024-02-01")
	if ev, _ := perPartition(t, lake, "events"); !slices.Equal(ev, want) {
		t.Errorf("events after compaction: %q, want %q", ev, want)
	}
	if raw, _ := perPartition(t, lake, "events_raw"); !slices.Equal(raw, want) {
		t.Errorf("events_raw after compaction: %q, want %q", raw, want)
	}
	// Text form.
	if code, out, errOut := runCLI(t, "compact", "--lake", lake); code != 1 || !strings.Contains(errOut, gonePartition) {
		t.Errorf("second compact: exit %d\n%s\n%s", code, out, errOut)
	}
}

type checkJSON struct {
	Format  int   `json:"format"`
	OK      bool  `json:"ok"`
	Files   int   `json:"files"`
	Bytes   int64 `json:"bytes"`
	Damaged []struct {
		Path, Problem, Detail string
		LoadID                string `json:"load_id"`
	} `json:"damaged"`
	Orphans []struct {
		Path  string
		Bytes int64
	} `json:"orphans"`
}

func runCheckJSON(t *testing.T, lake string) (int, checkJSON, string) {
	t.Helper()
	code, out, errOut := runCLI(t, "check", "--lake", lake, "--json")
	var r checkJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check --json: exit %d, stdout is not JSON: %v\n%s\n%s", code, err, out, errOut)
	}
	if r.Format != 1 {
		t.Errorf("format %d, want 1", r.Format)
	}
	return code, r, out
}

func TestCheckCommand(t *testing.T) {
	lake := lifecycleLake(t)
	// Clean.
	code, r, out := runCheckJSON(t, lake)
	if code != 0 || !r.OK || r.Files != 8 || r.Bytes == 0 || len(r.Damaged) != 0 || len(r.Orphans) != 0 {
		t.Errorf("clean lake: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "check", "--lake", lake); code != 0 || !strings.Contains(out, "8 live files") || !strings.Contains(out, "no problems") {
		t.Errorf("clean lake, text: exit %d\n%s", code, out)
	}

	// 4-byte flips at 4 offsets of one file: same size, same row count.
	dir := filepath.Join(lake, "events", "domain=account", "event_date=2024-02-01")
	names := listFiles(t, dir)
	flippedRel := "events/domain=account/event_date=2024-02-01/" + names[0]
	p := filepath.Join(dir, names[0])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, frac := range []int{10, 30, 50, 70} {
		off := len(b) * frac / 100
		for i := range 4 {
			b[off+i] ^= 0x5a
		}
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, r, out = runCheckJSON(t, lake)
	if code != 1 || r.OK || len(r.Damaged) != 1 || r.Damaged[0].Path != flippedRel || r.Damaged[0].Problem != "checksum" || r.Damaged[0].LoadID == "" {
		t.Errorf("bit flips: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "check", "--lake", lake); code != 1 || !strings.Contains(out, flippedRel) || !strings.Contains(out, "checksum") {
		t.Errorf("bit flips, text: exit %d\n%s", code, out)
	}

	// A deleted file.
	deletedRel := "events/domain=cards/event_date=2024-02-02/" + listFiles(t, filepath.Join(lake, "events", "domain=cards", "event_date=2024-02-02"))[0]
	if err := os.Remove(filepath.Join(lake, filepath.FromSlash(deletedRel))); err != nil {
		t.Fatal(err)
	}
	// An orphan: a file no load wrote (a restored backup, a lost catalog).
	orphanRel := "events/domain=account/event_date=2024-03-01/part-restored-00000.parquet"
	if err := os.MkdirAll(filepath.Join(lake, "events", "domain=account", "event_date=2024-03-01"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lake, filepath.FromSlash(orphanRel)), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Hidden files are no one's concern (Spark and Hive ignore them too).
	if err := os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, r, out = runCheckJSON(t, lake)
	var problems []string
	for _, d := range r.Damaged {
		problems = append(problems, d.Path+" "+d.Problem)
	}
	want := []string{deletedRel + " missing", flippedRel + " checksum"}
	slices.Sort(want)
	if code != 1 || !slices.Equal(problems, want) || len(r.Orphans) != 1 || r.Orphans[0].Path != orphanRel || r.Orphans[0].Bytes != int64(len(b)) {
		t.Errorf("deleted file and orphan: exit %d, damaged %q (want %q)\n%s", code, problems, want, out)
	}
	code, out, _ = runCLI(t, "check", "--lake", lake)
	for _, s := range []string{deletedRel, "missing", orphanRel, "not in the catalog", "backup"} {
		if !strings.Contains(out, s) {
			t.Errorf("text report lacks %q:\n%s", s, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}

	// Usage errors.
	if code, _, _ := runCLI(t, "check"); code != 2 {
		t.Errorf("no lake: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "check", "--lake", lake, "extra"); code != 2 {
		t.Errorf("argument: exit %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, "check", "--lake", t.TempDir()); code != 1 || !strings.Contains(errOut, "no catalog") {
		t.Errorf("no catalog: exit %d %s", code, errOut)
	}
}

// A file that lost bytes at its end (truncated copy) and a file of an old
// load without a checksum whose footer was damaged are both found.
func TestCheckWithoutChecksum(t *testing.T) {
	lake := lifecycleLake(t)
	// Make every file look like an old one (no checksum recorded).
	cat := filepath.Join(lake, "_eventlake", "catalog.db")
	execSQLite(t, cat, `UPDATE files SET checksum = NULL`)
	if code, _, out := runCheckJSON(t, lake); code != 0 {
		t.Fatalf("clean lake without checksums: exit %d\n%s", code, out)
	}
	dir := filepath.Join(lake, "events", "domain=account", "event_date=2024-02-02")
	names := listFiles(t, dir)
	p := filepath.Join(dir, names[0])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[len(b)-40:], strings.Repeat("\xff", 32))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(dir, names[1])
	if err := os.Truncate(q, 100); err != nil {
		t.Fatal(err)
	}
	code, r, out := runCheckJSON(t, lake)
	var problems []string
	for _, d := range r.Damaged {
		problems = append(problems, d.Problem)
	}
	slices.Sort(problems)
	if code != 1 || !slices.Equal(problems, []string{"footer", "size"}) {
		t.Errorf("exit %d, problems %q\n%s", code, problems, out)
	}
}

// execSQLite runs a statement on the catalog file (as an older eventlake,
// or a hand edit, would have left it).
func execSQLite(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := dbsql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
}

// Compaction reads each file back against its checksum before rewriting
// it: a file with flipped bytes keeps its partition as it is (its damage is
// not laundered into a new file with a valid checksum).
func TestCompactSkipsBitFlips(t *testing.T) {
	lake := lifecycleLake(t)
	dir := filepath.Join(lake, "events", "domain=account", "event_date=2024-02-01")
	names := listFiles(t, dir)
	p := filepath.Join(dir, names[1])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, frac := range []int{20, 40, 60, 80} {
		off := len(b) * frac / 100
		for i := range 4 {
			b[off+i] ^= 0x5a
		}
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Only the damaged partition: nothing is compacted, exit 1.
	code, out, errOut := runCLI(t, "compact", "--lake", lake, "--json", "--partition", "domain=account/event_date=2024-02-01")
	var sum struct {
		LoadID     string `json:"load_id"`
		Partitions int    `json:"partitions"`
		Damaged    []struct {
			Partition string
			Files     []struct{ Path, Problem string }
		} `json:"damaged"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("exit %d, stdout not JSON: %v\n%s\n%s", code, err, out, errOut)
	}
	if code != 1 || sum.LoadID != "" || sum.Partitions != 0 || len(sum.Damaged) != 1 || sum.Damaged[0].Files[0].Problem != "checksum" ||
		sum.Damaged[0].Files[0].Path != "events/domain=account/event_date=2024-02-01/"+names[1] {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	if got := listFiles(t, dir); !slices.Equal(got, names) {
		t.Errorf("the damaged partition changed: %q, want %q", got, names)
	}
	// All of them: the other three are compacted.
	code, out, errOut = runCLI(t, "compact", "--lake", lake)
	if code != 1 || !strings.Contains(out, "3 partitions, 6 files -> 3") || !strings.Contains(errOut, names[1]+": checksum") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// A compacted partition (held by the query cache) that loses its file:
// compact skips it and rebuilds the cache without it; the shell answers.
func TestCompactedFileMissing(t *testing.T) {
	lake := lifecycleLake(t)
	if code, _, errOut := runCLI(t, "compact", "--lake", lake); code != 0 {
		t.Fatal(errOut)
	}
	eventsBefore, _ := perPartition(t, lake, "events")
	part := "domain=account/event_date=2024-02-02"
	if err := os.RemoveAll(filepath.Join(lake, "events", part)); err != nil {
		t.Fatal(err)
	}
	// The cache is gone too (or must be rebuilt for another partition).
	if err := os.Remove(filepath.Join(lake, "_eventlake", "query-cache.duckdb")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "compact", "--lake", lake, "--min-files", "1")
	if code != 1 || !strings.Contains(errOut, part) || strings.Contains(errOut, "query cache") {
		t.Errorf("compact: exit %d\n%s\n%s", code, out, errOut)
	}
	if ev, _ := perPartition(t, lake, "events"); !slices.Equal(ev, without(eventsBefore, "account,2024-02-02")) {
		t.Errorf("events: %q, want %q", ev, without(eventsBefore, "account,2024-02-02"))
	}
}
