package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/catalog"
)

// repairSetup copies the Pismo and fulfillmenttools test data to a source
// folder, loads it into a lake and into a reference lake, and returns the
// source, the lake and the reference lake's counts.
func repairSetup(t *testing.T) (src, lake string, raw, dedup int64) {
	t.Helper()
	src = filepath.Join(t.TempDir(), "src")
	for _, d := range []string{"pismo", "fulfillmenttools"} {
		if err := os.CopyFS(filepath.Join(src, d), os.DirFS(testdata(d))); err != nil {
			t.Fatal(err)
		}
	}
	ref := t.TempDir()
	lake = t.TempDir()
	for _, l := range []string{ref, lake} {
		if code, _, errOut := runCLI(t, "load", "--lake", l, "-q", src); code != 0 {
			t.Fatalf("load: exit %d\n%s", code, errOut)
		}
	}
	raw = sqlInt(t, ref, "select count(*) from events_raw")
	dedup = sqlInt(t, ref, "select count(*) from events")
	if g := sqlInt(t, ref, "select count(*) from "+parquetGlob(ref)); g != raw {
		t.Fatalf("reference lake: glob %d rows, shell %d", g, raw)
	}
	return src, lake, raw, dedup
}

// eventsFiles lists the events Parquet files of a lake (catalog paths).
func eventsFiles(t *testing.T, lake string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(lake, "events"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(lake, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// assertWhole checks that the lake reads like the reference: the shell and
// a raw Parquet glob give the same counts, and check finds nothing.
func assertWhole(t *testing.T, lake string, raw, dedup int64) {
	t.Helper()
	if n := sqlInt(t, lake, "select count(*) from events_raw"); n != raw {
		t.Errorf("events_raw: %d rows, want %d", n, raw)
	}
	if n := sqlInt(t, lake, "select count(*) from events"); n != dedup {
		t.Errorf("events: %d rows, want %d", n, dedup)
	}
	if n := sqlInt(t, lake, "select count(*) from "+parquetGlob(lake)); n != raw {
		t.Errorf("raw Parquet glob: %d rows, want %d", n, raw)
	}
	if code, out, errOut := runCLI(t, "check", "--lake", lake); code != 0 {
		t.Errorf("check after repair: exit %d\n%s%s", code, out, errOut)
	}
}

func TestRepairMissingFile(t *testing.T) {
	src, lake, raw, dedup := repairSetup(t)
	victim := eventsFiles(t, lake)[0]
	if err := os.Remove(filepath.Join(lake, victim)); err != nil {
		t.Fatal(err)
	}
	// --dry-run lists and changes nothing.
	before := treeState(t, lake)
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--dry-run", "--settle", "0", src)
	if code != 0 || !strings.Contains(out, "would retire missing file "+victim) || !strings.Contains(out, "would reload") {
		t.Fatalf("repair --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	if after := treeState(t, lake); !slices.Equal(withoutSHM(before), withoutSHM(after)) {
		t.Fatalf("repair --dry-run changed the lake:\nbefore %q\nafter  %q", before, after)
	}
	code, out, errOut = runCLI(t, "repair", "--lake", lake, "--settle", "0", src)
	if code != 0 || !strings.Contains(out, "retired missing file "+victim) || !strings.Contains(out, "repaired") {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	assertWhole(t, lake, raw, dedup)
	// The catalog says the lost file is retired, and a second repair has
	// nothing to do.
	if n := sqlInt(t, lake, "select count(*) from eventlake.files where path = '"+victim+"' and status = 'removed'"); n != 1 {
		t.Errorf("lost file not recorded as removed")
	}
	if code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", src); code != 0 || !strings.Contains(out, "nothing to repair") {
		t.Errorf("second repair: exit %d\n%s%s", code, out, errOut)
	}
}

// With no SOURCE, repair reloads from the sources the catalog records.
func TestRepairBitFlipRecordedSources(t *testing.T) {
	_, lake, raw, dedup := repairSetup(t)
	files := eventsFiles(t, lake)
	victim := files[len(files)-1]
	b, err := os.ReadFile(filepath.Join(lake, victim))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(filepath.Join(lake, victim), b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0")
	if code != 0 || !strings.Contains(out, "retired checksum file "+victim) {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	assertWhole(t, lake, raw, dedup)
	kept, _ := filepath.Glob(filepath.Join(lake, "_eventlake", "damaged", "*", filepath.FromSlash(victim)))
	if len(kept) != 1 {
		t.Errorf("damaged file not kept aside: %v", kept)
	}
}

func TestRepairSourceGone(t *testing.T) {
	src, lake, _, _ := repairSetup(t)
	victim := eventsFiles(t, lake)[0]
	if err := os.Remove(filepath.Join(lake, victim)); err != nil {
		t.Fatal(err)
	}
	// One object of the load that wrote the file vanishes from the source.
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cat.LostFileObjects(t.Context(), victim)
	cat.Close()
	if err != nil || len(objs) < 2 {
		t.Fatalf("objects of %s: %v %v", victim, objs, err)
	}
	gone := objs[0]
	goneFile := strings.TrimPrefix(gone.URL(), "file://")
	if err := os.Remove(goneFile); err != nil {
		t.Fatalf("removing the source object %s: %v", gone.URL(), err)
	}
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", "--json", src)
	var rep struct {
		OK   bool `json:"ok"`
		Lost []struct {
			Path, Problem string
		} `json:"lost"`
		Gone []struct {
			Object  string `json:"object"`
			Records int64  `json:"records"`
		} `json:"gone"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK {
		t.Fatalf("repair --json: exit %d, want 1, %v\n%s%s", code, err, out, errOut)
	}
	if len(rep.Gone) != 1 || rep.Gone[0].Object != gone.URL() || rep.Gone[0].Records != gone.Records ||
		len(rep.Lost) != 1 || rep.Lost[0].Path != victim || rep.Lost[0].Problem != "missing" {
		t.Fatalf("repair --json: want %s gone (%d records) and %s lost\n%s", gone.URL(), gone.Records, victim, out)
	}
	if code, out, errOut := runCLI(t, "check", "--lake", lake); code != 0 {
		t.Errorf("check after repair: exit %d\n%s%s", code, out, errOut)
	}
	// The other objects are whole: one row per record they recorded.
	for _, ob := range objs[1:] {
		if n := sqlInt(t, lake, "select count(*) from events_raw where _object = '"+ob.URL()+"'"); n != ob.Records {
			t.Errorf("%s: %d rows, want %d", ob.URL(), n, ob.Records)
		}
	}
}

func TestRepairOrphan(t *testing.T) {
	_, lake, raw, dedup := repairSetup(t)
	victim := eventsFiles(t, lake)[0]
	orphan := filepath.Join(filepath.Dir(victim), "part-copied-by-hand.parquet")
	b, err := os.ReadFile(filepath.Join(lake, victim))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lake, orphan), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, "check", "--lake", lake); code != 1 {
		t.Fatalf("check with an orphan: exit %d, want 1", code)
	}
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0")
	if code != 0 || !strings.Contains(out, "moved orphan "+orphan) {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	assertWhole(t, lake, raw, dedup)
	kept, _ := filepath.Glob(filepath.Join(lake, "_eventlake", "orphans", "*", filepath.FromSlash(orphan)))
	if len(kept) != 1 {
		t.Errorf("orphan not kept aside: %v", kept)
	}
}

// A file the catalog lost but its load's manifest names is adopted back.
func TestRepairAdoptsManifestedFile(t *testing.T) {
	_, lake, raw, dedup := repairSetup(t)
	victim := eventsFiles(t, lake)[0]
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.DB().Exec(`DELETE FROM files WHERE path = ?`, victim); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0")
	if code != 0 || !strings.Contains(out, "adopted "+victim) {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	assertWhole(t, lake, raw, dedup)
}

// withoutSHM drops SQLite's shared-memory index (a reader touches it) from a
// treeState listing.
func withoutSHM(state []string) []string {
	return slices.DeleteFunc(slices.Clone(state), func(s string) bool { return strings.Contains(s, "catalog.db-shm ") })
}

// TestRepairCrashSteps kills repair at each step of its retiring commit and
// of the reload; running repair again leaves the lake whole.
func TestRepairCrashSteps(t *testing.T) {
	for _, point := range []string{"repair-after-begin", "repair-before-commit", "repair-after-commit", "repair-after-swap", "superseding", "after-commit"} {
		t.Run(point, func(t *testing.T) {
			src, lake, raw, dedup := repairSetup(t)
			victim := filepath.Join(lake, eventsFiles(t, lake)[0])
			b, err := os.ReadFile(victim)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			if err := os.WriteFile(victim, b, 0o644); err != nil {
				t.Fatal(err)
			}
			runKilled(t, point, "repair", "--lake", lake, "--settle", "0", "-q", src)
			if code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", src); code != 0 {
				t.Fatalf("repair after a crash at %s: exit %d\n%s%s", point, code, out, errOut)
			}
			assertWhole(t, lake, raw, dedup)
		})
	}
}

// A lost file a compaction wrote holds rows of several loads: repair
// reloads the objects of every load that wrote its partition.
func TestRepairCompactedFile(t *testing.T) {
	a, b := compactSources(t)
	ref, lake := t.TempDir(), t.TempDir()
	for _, l := range []string{ref, lake} {
		for _, src := range []string{a, b} {
			if code, _, errOut := runCLI(t, "load", "--lake", l, "-q", src); code != 0 {
				t.Fatalf("load: exit %d\n%s", code, errOut)
			}
		}
		if code, _, errOut := runCLI(t, "compact", "--lake", l); code != 0 {
			t.Fatalf("compact: exit %d\n%s", code, errOut)
		}
	}
	dedup := sqlInt(t, ref, "select count(*) from events")
	sum := sqlValue(t, ref, "select sum(cast(data->>'n' as int)) from events")
	victim := eventsFiles(t, lake)[0]
	if err := os.Remove(filepath.Join(lake, victim)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", a, b)
	if code != 0 || !strings.Contains(out, "retired missing file "+victim) {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	if n := sqlInt(t, lake, "select count(*) from events"); n != dedup {
		t.Errorf("events after repair: %d rows, want %d", n, dedup)
	}
	if s := sqlValue(t, lake, "select sum(cast(data->>'n' as int)) from events"); s != sum {
		t.Errorf("events after repair: sum %s, want %s", s, sum)
	}
	if code, out, errOut := runCLI(t, "check", "--lake", lake); code != 0 {
		t.Errorf("check after repair: exit %d\n%s%s", code, out, errOut)
	}
	// Rows superseded in other compacted files leave the folders at the
	// next compaction.
	if code, _, errOut := runCLI(t, "compact", "--lake", lake); code != 0 {
		t.Fatalf("compact: exit %d\n%s", code, errOut)
	}
	raw := sqlInt(t, lake, "select count(*) from events_raw")
	if g := sqlInt(t, lake, "select count(*) from "+parquetGlob(lake)); g != raw {
		t.Errorf("after compact: glob %d rows, shell %d", g, raw)
	}
}

// An object whose source is broken now is not reloaded: repair says so and
// exits 1; the next repair, once the source is fixed, completes.
func TestRepairSourceBroken(t *testing.T) {
	src, lake, raw, dedup := repairSetup(t)
	victim := eventsFiles(t, lake)[0]
	if err := os.Remove(filepath.Join(lake, victim)); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cat.LostFileObjects(t.Context(), victim)
	cat.Close()
	if err != nil || len(objs) == 0 {
		t.Fatalf("objects of %s: %v %v", victim, objs, err)
	}
	broken := strings.TrimPrefix(objs[0].URL(), "file://")
	good, err := os.ReadFile(broken)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", src)
	if code != 1 || !strings.Contains(out, "the reload did not load every object") || !strings.Contains(out, objs[0].URL()) {
		t.Fatalf("repair with a broken source object: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if err := os.WriteFile(broken, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", src); code != 0 {
		t.Fatalf("repair once the source is fixed: exit %d\n%s%s", code, out, errOut)
	}
	assertWhole(t, lake, raw, dedup)
}

// The lake's Iceberg table follows the repair's own commit: a lost file
// whose objects are gone for good leaves the current snapshot.
func TestRepairIceberg(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	if err := os.CopyFS(src, os.DirFS(testdata("pismo"))); err != nil {
		t.Fatal(err)
	}
	lake := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", "--iceberg", src); code != 0 {
		t.Fatalf("load: exit %d\n%s", code, errOut)
	}
	victim := eventsFiles(t, lake)[0]
	if err := os.Remove(filepath.Join(lake, victim)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "repair", "--lake", lake, "--settle", "0", src)
	if code != 1 || !strings.Contains(out, "GONE FOR GOOD") {
		t.Fatalf("repair: exit %d, want 1\n%s%s", code, out, errOut)
	}
	assertSnapshotIsCatalog(t, lake)
}
