package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// snapshotDeletes lists the position delete files of a snapshot.
func snapshotDeletes(t *testing.T, tbl *table.Table, snap *table.Snapshot) []string {
	t.Helper()
	var out []string
	for _, e := range mustEntries(t, tbl, snap) {
		switch e.DataFile().ContentType() {
		case iceberg.EntryContentPosDeletes:
			out = append(out, e.DataFile().FilePath())
		case iceberg.EntryContentEqDeletes:
			t.Errorf("unexpected equality delete file %s", e.DataFile().FilePath())
		}
	}
	slices.Sort(out)
	return out
}

// duckRowsMinusDeletes reads the manifest-listed data files with DuckDB,
// leaving out the rows the position delete files name (file_path, pos),
// as an Iceberg reader applying them does.
func duckRowsMinusDeletes(t *testing.T, lakeDir string, files map[string]map[int]any, deletes []string) []string {
	t.Helper()
	if len(deletes) == 0 {
		return duckRows(t, lakeDir, files)
	}
	quote := func(ps []string) string {
		var q []string
		for _, p := range ps {
			q = append(q, "'"+p+"'")
		}
		return "[" + strings.Join(q, ",") + "]"
	}
	var data []string
	for p := range files {
		data = append(data, p)
	}
	from := "(select d.* from read_parquet(" + quote(data) + ", filename = true, file_row_number = true) d" +
		" anti join read_parquet(" + quote(deletes) + ") x on x.file_path = d.filename and x.pos = d.file_row_number)"
	return shellRows(t, lakeDir, from)
}

// assertIcebergIsShell checks that the current snapshot, read by
// iceberg-go's scanner and by DuckDB over its data files minus its
// position deletes, is the shell's events_raw, and returns its delete
// files.
func assertIcebergIsShell(t *testing.T, lakeDir, when string) []string {
	t.Helper()
	tbl := loadIcebergTable(t, lakeDir)
	want := shellRows(t, lakeDir, "events_raw")
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("%s: iceberg-go scan %d rows, events_raw %d; differ", when, len(got), len(want))
	}
	snap := tbl.CurrentSnapshot()
	dels := snapshotDeletes(t, tbl, snap)
	if got := duckRowsMinusDeletes(t, lakeDir, snapshotFiles(t, tbl, snap), dels); !slices.Equal(got, want) {
		t.Errorf("%s: DuckDB over the data files minus the position deletes: %d rows, events_raw %d; differ", when, len(got), len(want))
	}
	assertSnapshotIsCatalog(t, lakeDir)
	return dels
}

// metadataVersion is the number N of the table's vN.metadata.json.
func metadataVersion(t *testing.T, tbl *table.Table) int {
	t.Helper()
	var v int
	if _, err := fmt.Sscanf(filepath.Base(tbl.MetadataLocation()), "v%d.metadata.json", &v); err != nil {
		t.Fatalf("metadata file %s: %v", tbl.MetadataLocation(), err)
	}
	return v
}

// TestIcebergReprocessPositionDeletes: a reprocess that reloads an object
// whose rows share files with other objects' commits, in one metadata
// version, the new rows and position deletes of the superseded ones, so the
// table reads as the shell's events_raw; a forget commits its own
// snapshot; compaction drops the delete files with the files they apply to.
func TestIcebergReprocessPositionDeletes(t *testing.T) {
	lakeDir := t.TempDir()
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", src); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	rows := sqlInt(t, lakeDir, "select count(*) from events_raw")
	before := loadIcebergTable(t, lakeDir)
	const obj = "**09-00-00*"
	if code, out, errOut := runCLI(t, "reprocess", "--lake", lakeDir, "--object", obj, "--settle", "0", "-q", src); code != 0 {
		t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
	}
	dels := assertIcebergIsShell(t, lakeDir, "after reprocess")
	if len(dels) == 0 {
		t.Fatal("no position delete file after a reprocess of rows sharing files")
	}
	tbl := loadIcebergTable(t, lakeDir)
	if n := len(icebergRows(t, tbl, 0)); n != int(rows) {
		t.Errorf("table rows after reprocess = %d, want %d", n, rows)
	}
	// One metadata version past the load's: the reprocessed rows and the
	// deletes are published at the same instant. (The reprocess also
	// retires a file whose every row it superseded: its removal and the new
	// rows are one snapshot, the deletes a second one in the same version.)
	if got, want := metadataVersion(t, tbl), metadataVersion(t, before)+1; got != want {
		t.Errorf("%d metadata versions before the current one after reprocess, want %d", got, want)
	}
	added := 0
	for _, sn := range tbl.Metadata().Snapshots() {
		if before.Metadata().SnapshotByID(sn.SnapshotID) != nil {
			continue
		}
		if sn.Summary.Properties["eventlake.load-id"] != tbl.CurrentSnapshot().Summary.Properties["eventlake.load-id"] {
			t.Errorf("snapshot %d of load %s committed with the reprocess", sn.SnapshotID, sn.Summary.Properties["eventlake.load-id"])
		}
		for _, e := range mustEntries(t, tbl, &sn) {
			if e.Status() == iceberg.EntryStatusADDED && e.SnapshotID() == sn.SnapshotID {
				added |= 1 << int(e.DataFile().ContentType())
			}
		}
	}
	if added != 1<<iceberg.EntryContentData|1<<iceberg.EntryContentPosDeletes {
		t.Errorf("reprocess snapshots add content %b, want data and position deletes", added)
	}
	// Running sync again commits nothing more.
	if code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeDir); code != 0 || !strings.Contains(out, "iceberg table events is up to date") {
		t.Errorf("iceberg sync after reprocess: exit %d\n%s%s", code, out, errOut)
	}

	// forget: its own snapshot, the forgotten rows deleted.
	if code, out, errOut := runCLI(t, "forget", "--lake", lakeDir, "--object", "**10-05-00*"); code != 0 || !strings.Contains(out, "forgot") {
		t.Fatalf("forget: exit %d\n%s%s", code, out, errOut)
	}
	n := len(loadIcebergTable(t, lakeDir).Metadata().Snapshots())
	if n != len(tbl.Metadata().Snapshots())+1 {
		t.Errorf("%d snapshots after forget, want %d", n, len(tbl.Metadata().Snapshots())+1)
	}
	if sqlInt(t, lakeDir, "select count(*) from events_raw") >= rows {
		t.Fatal("forget removed no row; the test needs another object")
	}
	assertIcebergIsShell(t, lakeDir, "after forget")

	// Compaction drops the superseded rows and the delete files with the
	// files they applied to.
	if code, _, errOut := runCLI(t, "compact", "--lake", lakeDir, "--query-cache=false"); code != 0 {
		t.Fatalf("compact: exit %d\n%s", code, errOut)
	}
	if dels := assertIcebergIsShell(t, lakeDir, "after compaction"); len(dels) != 0 {
		t.Errorf("delete files after compaction: %q", dels)
	}
}

// TestIcebergRejectsPositionDeletes: rejects superseded by a reprocess,
// in a _rejects file shared with another object's rejects, are hidden by
// position deletes of the _rejects table: iceberg-go's scan and DuckDB
// over its data files minus the deletes are the shell's rejects.
func TestIcebergRejectsPositionDeletes(t *testing.T) {
	lakeDir := t.TempDir()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		body := `{"uuid":"` + name + `-1","ts":"2024-03-01T10:00:00Z","kind":"order-placed"}` + "\n" +
			"{not json " + name + "\n" +
			`{"uuid":"` + name + `-2","ts":"2024-03-01T11:00:00Z","kind":"order-placed"}` + "\n"
		if err := os.WriteFile(filepath.Join(src, name+".ndjson"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(root, "eventlake.yaml")
	if err := os.WriteFile(cfg, []byte("profiles:\n  acme: {event_id: uuid, timestamp: ts, event_type: kind, domain: \"=acme\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", "--config", cfg, "--profile", "acme", src); code > 1 {
		t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "reprocess", "--lake", lakeDir, "--object", "a.ndjson", "--settle", "0", "-q", "--config", cfg, "--profile", "acme", src); code > 1 {
		t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select object || '|' || line as k from eventlake.rejects order by k")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	want := strings.Split(strings.TrimSpace(out), "\n")[1:]
	slices.Sort(want)
	if len(want) != 2 {
		t.Fatalf("shell rejects %q, want one per object", want)
	}
	rt := icetable.Rejects(lake.At(lakeDir), icetable.Options{})
	tbl, err := rt.Load(t.Context())
	if err != nil || tbl == nil {
		t.Fatalf("no _rejects Iceberg table: %v", err)
	}
	dels := snapshotDeletes(t, tbl, tbl.CurrentSnapshot())
	if len(dels) == 0 {
		t.Fatal("no position delete file in _rejects after the reprocess")
	}
	got := icebergKeys(t, tbl, 0, "object", "line")
	if !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of _rejects: %q, shell %q", got, want)
	}
	var data []string
	for p := range snapshotFiles(t, tbl, tbl.CurrentSnapshot()) {
		data = append(data, "'"+p+"'")
	}
	var delList []string
	for _, p := range dels {
		delList = append(delList, "'"+p+"'")
	}
	from := "(select d.* from read_parquet([" + strings.Join(data, ",") + "], filename = true, file_row_number = true) d" +
		" anti join read_parquet([" + strings.Join(delList, ",") + "]) x on x.file_path = d.filename and x.pos = d.file_row_number)"
	code, out, errOut = runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c", "select object || '|' || line as k from "+from+" order by k")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	duck := strings.Split(strings.TrimSpace(out), "\n")[1:]
	slices.Sort(duck)
	if !slices.Equal(duck, want) {
		t.Errorf("DuckDB over the _rejects data files minus the deletes: %q, shell %q", duck, want)
	}
}

// TestIcebergSyncAfterReprocess: a lake whose rows were superseded before
// it had an Iceberg table gets, from iceberg sync, a table that reads as
// the shell's events_raw.
func TestIcebergSyncAfterReprocess(t *testing.T) {
	lakeDir := t.TempDir()
	src := filepath.Join(t.TempDir(), "pismo")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", src); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "reprocess", "--lake", lakeDir, "--object", "**09-00-00*", "--settle", "0", "-q", src); code != 0 {
		t.Fatalf("reprocess: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeDir); code != 0 {
		t.Fatalf("iceberg sync: exit %d\n%s%s", code, out, errOut)
	}
	if dels := assertIcebergIsShell(t, lakeDir, "after iceberg sync"); len(dels) == 0 {
		t.Error("no position delete file")
	}
}
