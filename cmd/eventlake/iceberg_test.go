package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/lake/icetable"
)

// icebergRows reads a snapshot (0: the current one) with iceberg-go's own
// scanner and returns its rows as sorted "event_id|_object|_line" keys.
func icebergRows(t *testing.T, tbl *table.Table, snapshot int64) []string {
	t.Helper()
	return icebergKeys(t, tbl, snapshot, "event_id", "_object", "_line")
}

// icebergKeys reads a snapshot (0: the current one) of an Iceberg table
// with iceberg-go's own scanner and returns one sorted key per row: the
// named columns' values joined by "|" (NULL for a null).
func icebergKeys(t *testing.T, tbl *table.Table, snapshot int64, columns ...string) []string {
	t.Helper()
	var opts []table.ScanOption
	if snapshot != 0 {
		opts = append(opts, table.WithSnapshotID(snapshot))
	}
	at, err := tbl.Scan(opts...).ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("iceberg-go scan: %v", err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	var out []string
	idx := make([]int, len(columns))
	vals := make([]string, len(columns))
	for tr.Next() {
		rec := tr.RecordBatch()
		for j, name := range columns {
			f := rec.Schema().FieldIndices(name)
			if len(f) != 1 {
				t.Fatalf("scan has no column %s: %s", name, rec.Schema())
			}
			idx[j] = f[0]
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			for j, c := range idx {
				vals[j] = "NULL"
				if !rec.Column(c).IsNull(i) {
					vals[j] = rec.Column(c).ValueStr(i)
				}
			}
			out = append(out, strings.Join(vals, "|"))
		}
	}
	slices.Sort(out)
	return out
}

// shellRows returns the shell's events_raw as the same keys.
func shellRows(t *testing.T, lakeDir, from string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select event_id || '|' || _object || '|' || _line as k from "+from+" order by k")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	slices.Sort(rows)
	return rows
}

// snapshotFiles lists a snapshot's data files (not its delete files) with
// their partitions.
func snapshotFiles(t *testing.T, tbl *table.Table, snap *table.Snapshot) map[string]map[int]any {
	t.Helper()
	fs, err := tbl.FS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := snap.Manifests(fs)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int]any{}
	for _, mf := range mfs {
		entries, err := mf.FetchEntries(fs, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.DataFile().ContentType() == iceberg.EntryContentData {
				out[e.DataFile().FilePath()] = e.DataFile().Partition()
			}
		}
	}
	return out
}

// duckRows reads the listed files with DuckDB (the shell, read_parquet),
// the domain taken from each file's manifest partition, as Iceberg readers
// do, and checked against the file's folder.
func duckRows(t *testing.T, lakeDir string, files map[string]map[int]any) []string {
	t.Helper()
	var paths []string
	for p, part := range files {
		dom, _ := part[1000].(string)
		if !strings.Contains(filepath.ToSlash(p), "/domain="+dom+"/") {
			t.Errorf("file %s: manifest domain %q is not its folder's", p, dom)
		}
		paths = append(paths, "'"+p+"'")
	}
	return shellRows(t, lakeDir, "read_parquet(["+strings.Join(paths, ",")+"])")
}

func loadIcebergTable(t *testing.T, lakeDir string) *table.Table {
	t.Helper()
	tbl, err := icetable.Events(lake.At(lakeDir), icetable.Options{}).Load(context.Background())
	if err != nil || tbl == nil {
		t.Fatalf("load iceberg table: %v (nil: %v)", err, tbl == nil)
	}
	return tbl
}

func TestIcebergLoadsAndCompaction(t *testing.T) {
	lakeDir := t.TempDir()
	a, b := compactSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", "--iceberg", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	// The second load keeps the table without being asked.
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "--settle", "0", "-q", b); code != 0 {
		t.Fatalf("load b: exit %d\n%s", code, errOut)
	}
	tbl := loadIcebergTable(t, lakeDir)
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Fatalf("%d snapshots after two loads, want 2", n)
	}
	cur := tbl.CurrentSnapshot()
	if cur.Summary.Operation != table.OpAppend {
		t.Errorf("load snapshot operation = %s, want append", cur.Summary.Operation)
	}
	want := shellRows(t, lakeDir, "events_raw")
	if len(want) != 74 {
		t.Fatalf("events_raw has %d rows, want 74", len(want))
	}
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
	}
	beforeFiles := snapshotFiles(t, tbl, cur)
	if got := duckRows(t, lakeDir, beforeFiles); !slices.Equal(got, want) {
		t.Errorf("DuckDB over the manifests' files: %d rows, want %d", len(got), len(want))
	}
	// Bounds and counts come from the footers.
	for _, e := range mustEntries(t, tbl, cur) {
		df := e.DataFile()
		if df.ValueCounts()[1] != df.Count() || len(df.LowerBoundValues()[6]) != 8 || len(df.UpperBoundValues()[1]) == 0 {
			t.Errorf("file %s: value counts %v, bounds %v / %v", df.FilePath(), df.ValueCounts(), df.LowerBoundValues(), df.UpperBoundValues())
		}
	}

	// Compaction: one replace snapshot, the same rows as events_raw.
	if code, _, errOut := runCLI(t, "compact", "--lake", lakeDir); code != 0 {
		t.Fatalf("compact: exit %d\n%s", code, errOut)
	}
	tbl = loadIcebergTable(t, lakeDir)
	after := tbl.CurrentSnapshot()
	if after.Summary.Operation != table.OpReplace {
		t.Errorf("compaction snapshot operation = %s, want replace", after.Summary.Operation)
	}
	want = shellRows(t, lakeDir, "events_raw")
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("after compaction, iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
	}
	afterFiles := snapshotFiles(t, tbl, after)
	if got := duckRows(t, lakeDir, afterFiles); !slices.Equal(got, want) {
		t.Errorf("after compaction, DuckDB over the manifests' files: %d rows, want %d", len(got), len(want))
	}
	if len(afterFiles) != 4 {
		t.Errorf("compacted snapshot lists %d files, want 4", len(afterFiles))
	}
	// A reader holding the old snapshot still reads it: its files are
	// kept within the retention window.
	for p := range beforeFiles {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("file of the replaced snapshot is gone: %v", err)
		}
	}
	if got := icebergRows(t, tbl, cur.SnapshotID); len(got) != 74 {
		t.Errorf("old snapshot reads %d rows, want 74", len(got))
	}

	// Past the window, sync expires the old snapshots and deletes the
	// replaced files; the current snapshot is the catalog's live files.
	time.Sleep(5 * time.Millisecond)
	code, out, errOut := runCLI(t, "iceberg", "sync", "--lake", lakeDir, "--iceberg-retention", "1ms")
	if code != 0 || !strings.Contains(out, "up to date") || !strings.Contains(out, "deleted") {
		t.Fatalf("iceberg sync: exit %d\n%s%s", code, out, errOut)
	}
	tbl = loadIcebergTable(t, lakeDir)
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Errorf("%d snapshots after expiry, want 1", n)
	}
	for p := range beforeFiles {
		if _, ok := afterFiles[p]; ok {
			continue
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("replaced file %s still on disk after expiry: %v", p, err)
		}
	}
	assertSnapshotIsCatalog(t, lakeDir)
}

func mustEntries(t *testing.T, tbl *table.Table, snap *table.Snapshot) []iceberg.ManifestEntry {
	t.Helper()
	fs, _ := tbl.FS(context.Background())
	mfs, err := snap.Manifests(fs)
	if err != nil {
		t.Fatal(err)
	}
	var out []iceberg.ManifestEntry
	for _, mf := range mfs {
		es, err := mf.FetchEntries(fs, true)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

// assertSnapshotIsCatalog checks that the current snapshot lists exactly
// the catalog's live files of events.
func assertSnapshotIsCatalog(t *testing.T, lakeDir string) {
	t.Helper()
	tbl := loadIcebergTable(t, lakeDir)
	got := snapshotFiles(t, tbl, tbl.CurrentSnapshot())
	code, out, errOut := runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select path from eventlake.files where status = 'live' and table_name = 'events' order by path")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	var want, have []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		want = append(want, filepath.Join(lakeDir, filepath.FromSlash(p)))
	}
	for p := range got {
		have = append(have, p)
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(have, want) {
		t.Errorf("current snapshot files:\n%q\ncatalog live files:\n%q", have, want)
	}
}

// syncBuffer is an output stream the test reads while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchOneRound runs `eventlake watch` with args until its first load is
// committed (and so published), then stops it; a failure or no load
// within 60 s fails the test.
func watchOneRound(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, append([]string{"watch"}, args...), streams{in: strings.NewReader(""), out: &out, errOut: &errOut})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(errOut.String(), `"msg":"load committed"`) {
		select {
		case code := <-done:
			t.Fatalf("watch ended (exit %d) before its first load\n%s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no load from the watch round within 60s\n%s", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch: exit %d\n%s", code, errOut.String())
	}
}

// TestIcebergWatch: a watch round on a lake with an Iceberg table commits
// the round's snapshot, without --iceberg, like load.
func TestIcebergWatch(t *testing.T) {
	lakeDir := t.TempDir()
	a, b := compactSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "-q", "--iceberg", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	watchOneRound(t, "--settle", "0", "--lake", lakeDir, "--interval", "1h", b)
	tbl := loadIcebergTable(t, lakeDir)
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Errorf("%d snapshots after a load and a watch round, want 2", n)
	}
	want := shellRows(t, lakeDir, "events_raw")
	if len(want) != 74 {
		t.Fatalf("events_raw has %d rows, want 74", len(want))
	}
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
	}
	assertSnapshotIsCatalog(t, lakeDir)
}

// TestIcebergRejects: the _rejects table is kept beside events, partitioned
// by identity(load_date) as its folders are, and iceberg-go's scanner reads
// exactly the shell's rejects.
func TestIcebergRejects(t *testing.T) {
	lakeDir := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "-q", "--iceberg", "--profile", "jwo-orders", testdata("jwo")); code != 0 {
		t.Fatalf("load jwo: exit %d\n%s", code, errOut)
	}
	a, _ := compactSources(t)
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "-q", a); code != 0 {
		t.Fatalf("load a: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, "sql", "--lake", lakeDir, "--format", "csv", "-c",
		"select object || '|' || line as k from eventlake.rejects order by k")
	if code != 0 {
		t.Fatalf("sql: exit %d\n%s", code, errOut)
	}
	want := strings.Split(strings.TrimSpace(out), "\n")[1:]
	slices.Sort(want)
	if len(want) == 0 {
		t.Fatal("the jwo load quarantined nothing; the test needs rejects")
	}
	tbl, err := icetable.Rejects(lake.At(lakeDir), icetable.Options{}).Load(context.Background())
	if err != nil || tbl == nil {
		t.Fatalf("no _rejects Iceberg table: %v", err)
	}
	if !strings.HasPrefix(tbl.MetadataLocation(), filepath.Join(lakeDir, "_rejects", icetable.MetaFolder)+string(filepath.Separator)) {
		t.Errorf("metadata at %s, want under _rejects/_iceberg", tbl.MetadataLocation())
	}
	got := icebergKeys(t, tbl, 0, "object", "line")
	if !slices.Equal(got, want) {
		t.Errorf("iceberg-go scan of _rejects: %d rows %v, shell %d %v", len(got), got, len(want), want)
	}
	files := snapshotFiles(t, tbl, tbl.CurrentSnapshot())
	if len(files) == 0 {
		t.Fatal("the _rejects snapshot lists no files")
	}
	for p, part := range files {
		d, ok := part[1000].(iceberg.Date)
		day := time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
		if !ok || !strings.Contains(filepath.ToSlash(p), "/_rejects/load_date="+day+"/") {
			t.Errorf("file %s: manifest load_date %v (%s) is not its folder's", p, part[1000], day)
		}
	}
	// The events table is kept too, and sync finds both up to date.
	assertSnapshotIsCatalog(t, lakeDir)
	code, out, errOut = runCLI(t, "iceberg", "sync", "--lake", lakeDir)
	if code != 0 || !strings.Contains(out, "iceberg table events is up to date") || !strings.Contains(out, "iceberg table _rejects is up to date") {
		t.Errorf("iceberg sync: exit %d\n%s%s", code, out, errOut)
	}
}

// An expiry is a snapshot of the Iceberg table: the expired files leave
// its current snapshot (an overwrite that deletes them), a reader of the
// earlier snapshot still reads them within the retention window, and the
// current snapshot is the shell's events_raw.
func TestIcebergExpire(t *testing.T) {
	lakeDir := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lakeDir, "-q", "--iceberg", testdata("pismo"), testdata("fulfillmenttools")); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	tbl := loadIcebergTable(t, lakeDir)
	before := tbl.CurrentSnapshot()
	all := icebergRows(t, tbl, 0)
	if code, _, errOut := runCLI(t, "expire", "--lake", lakeDir, "--before", "2024-02-02"); code != 0 {
		t.Fatalf("expire: exit %d\n%s", code, errOut)
	}
	tbl = loadIcebergTable(t, lakeDir)
	cur := tbl.CurrentSnapshot()
	if cur.SnapshotID == before.SnapshotID {
		t.Fatal("the expiry made no snapshot")
	}
	if cur.Summary.Operation != table.OpOverwrite && cur.Summary.Operation != table.OpDelete {
		t.Errorf("expiry snapshot operation = %s, want overwrite or delete", cur.Summary.Operation)
	}
	want := shellRows(t, lakeDir, "events_raw")
	if len(want) == 0 || len(want) >= len(all) {
		t.Fatalf("events_raw has %d rows after expiry, had %d", len(want), len(all))
	}
	if got := icebergRows(t, tbl, 0); !slices.Equal(got, want) {
		t.Errorf("after expiry, iceberg-go scan: %d rows, events_raw %d; differ", len(got), len(want))
	}
	if got := icebergRows(t, tbl, before.SnapshotID); len(got) != len(all) {
		t.Errorf("the snapshot before the expiry reads %d rows, want %d", len(got), len(all))
	}
	assertSnapshotIsCatalog(t, lakeDir)
}
