package compact

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/laketest"
	lk "github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
)

// smallCorpus: 3 loads of 4 objects, 3 domains × 2 days = 6 partitions with
// several files each, re-deliveries within and across loads.
var smallCorpus = corpus{loads: 3, objects: 4, perObject: 150, pad: 40}

func TestCompactDeduplicatesAndSwaps(t *testing.T) {
	lake := t.TempDir()
	loadAll(t, lake, smallCorpus.write(t))
	db := laketest.DuckDB(t)
	before := liveFiles(t, lake)
	want := dedupRows(t, db, lake, before)
	rawBefore := laketest.One(t, db, "SELECT count(*) FROM "+readParquet(lake, before))
	parts := laketest.Rows(t, db, "SELECT DISTINCT domain || '/' || event_date::varchar FROM "+readParquet(lake, before))
	if n, _ := strconv.Atoi(rawBefore); n <= len(want) || len(parts) != 6 || len(before) < 2*len(parts) {
		t.Fatalf("corpus: %s rows, %d distinct, %d partitions, %d files: want duplicates and several files per partition", rawBefore, len(want), len(parts), len(before))
	}

	sum := run(t, Options{Lake: lake})

	after := liveFiles(t, lake)
	// Every row of the compacted lake, duplicates included: exactly the rows
	// the events view showed before, value by value.
	sameRows(t, "compacted lake", rawRows(t, db, lake, after), want)
	checkClean(t, lake)
	for _, p := range before {
		if _, err := os.Stat(filepath.Join(lake, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("replaced file %s still on disk (%v)", p, err)
		}
	}
	if len(after) != len(parts) {
		t.Errorf("%d files after compaction, want one per partition (%d)", len(after), len(parts))
	}

	nRaw, _ := strconv.ParseInt(rawBefore, 10, 64)
	if sum.LoadID == "" || sum.Partitions != len(parts) || sum.Skipped != 0 || sum.FilesBefore != len(before) || sum.FilesAfter != len(after) ||
		sum.RowsBefore != nRaw || sum.RowsAfter != int64(len(want)) || sum.Duplicates != nRaw-int64(len(want)) ||
		sum.BytesBefore <= 0 || sum.BytesAfter <= 0 || len(sum.Details) != len(parts) {
		t.Errorf("summary = %+v\nwant %d partitions, %d → %d files, %d → %d rows", sum, len(parts), len(before), len(after), nRaw, len(want))
	}
	for _, d := range sum.Details {
		if d.Reason != ReasonFiles || !d.Sorted || d.FilesAfter != 1 {
			t.Errorf("partition %+v: want reason files, sorted, 1 file", d)
		}
	}

	// Rows are written in event_time order.
	unsorted := laketest.One(t, db, `SELECT count(*) FROM (
	  SELECT event_time < lag(event_time) OVER (PARTITION BY filename ORDER BY file_row_number) AS back
	  FROM read_parquet('`+laketest.EventsGlob(lake)+`', filename = true, file_row_number = true)) WHERE back`)
	if unsorted != "0" {
		t.Errorf("%s rows are out of event_time order", unsorted)
	}

	// The catalog records the swap.
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	replaced, err := cat.ReplacedFiles(context.Background(), sum.LoadID)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(before)
	if strings.Join(replaced, ",") != strings.Join(before, ",") {
		t.Errorf("catalog: replaced files %q, want %q", replaced, before)
	}
	var removed, command, status string
	if err := cat.DB().QueryRow(`SELECT (SELECT count(*) FROM files WHERE status = 'removed' AND removed_by = ?1), command, status FROM loads WHERE load_id = ?1`,
		sum.LoadID).Scan(&removed, &command, &status); err != nil {
		t.Fatal(err)
	}
	if removed != strconv.Itoa(len(before)) || command != catalog.CompactCommand || status != "published" {
		t.Errorf("catalog: %s files removed, load command %q status %q; want %d, compact, published", removed, command, status, len(before))
	}

	// A second run finds every partition compacted and reads nothing.
	again := run(t, Options{Lake: lake})
	if again.LoadID != "" || again.Partitions != 0 || again.Skipped != len(parts) {
		t.Errorf("second run: %+v, want nothing to do and %d partitions skipped", again, len(parts))
	}
}

func TestCompactAfterNewLoadKeepsLatest(t *testing.T) {
	// Compact, load more (re-deliveries of compacted events among them),
	// compact again: the second compaction merges the compacted file with the
	// new one and still keeps the row the view keeps.
	dirs := smallCorpus.write(t)
	lake := t.TempDir()
	loadAll(t, lake, dirs[:2])
	run(t, Options{Lake: lake})
	loadAll(t, lake, dirs[2:])
	db := laketest.DuckDB(t)
	want := dedupRows(t, db, lake, liveFiles(t, lake))
	sum := run(t, Options{Lake: lake})
	if sum.Partitions == 0 || sum.Duplicates == 0 {
		t.Errorf("second compaction: %+v, want partitions with duplicates", sum)
	}
	sameRows(t, "after a second compaction", rawRows(t, db, lake, liveFiles(t, lake)), want)
	checkClean(t, lake)
}

func TestTargetSizeAndSortBuffer(t *testing.T) {
	lake := t.TempDir()
	loadAll(t, lake, corpus{loads: 2, objects: 3, perObject: 600, pad: 300, domains: []string{"cards"}, days: 1}.write(t))
	db := laketest.DuckDB(t)
	want := dedupRows(t, db, lake, liveFiles(t, lake))

	const target = 96 << 10
	sum := run(t, Options{Lake: lake, TargetBytes: target, SortBufferBytes: 200 << 10})
	if sum.Partitions != 1 || sum.FilesAfter < 3 {
		t.Fatalf("summary %+v: want one partition rolled over into several files", sum)
	}
	d := sum.Details[0]
	if d.Sorted {
		t.Errorf("partition %+v: reported sorted although it did not fit the sort buffer", d)
	}
	after := liveFiles(t, lake)
	for _, p := range after[:len(after)-1] { // the last file holds the remainder
		st, err := os.Stat(filepath.Join(lake, p))
		if err != nil {
			t.Fatal(err)
		}
		// A file is finished once its size (written plus buffered) reaches
		// the target; the footer and the last chunk of rows add a little.
		if st.Size() < target/2 || st.Size() > target*3/2 {
			t.Errorf("file %s is %d bytes, want about %d", p, st.Size(), target)
		}
	}
	sameRows(t, "rolled-over files", rawRows(t, db, lake, after), want)
	checkClean(t, lake)

	// All files come from one compaction: nothing to do.
	if again := run(t, Options{Lake: lake, TargetBytes: target}); again.Partitions != 0 {
		t.Errorf("second run compacted %+v", again)
	}
}

func TestCandidatesAndFilter(t *testing.T) {
	// One load: each partition gets one file. Duplicates inside the load
	// make every partition a "duplicates" candidate although it has a single
	// file; with none, single files are skipped.
	dirs := corpus{loads: 1, objects: 1, perObject: 400, pad: 10, redeliverP: 5}.write(t)
	lake := t.TempDir()
	loadAll(t, lake, dirs)
	db := laketest.DuckDB(t)
	want := dedupRows(t, db, lake, liveFiles(t, lake))
	if n := len(liveFiles(t, lake)); n != 6 {
		t.Fatalf("%d files, want one per partition (6)", n)
	}

	// Restricted to one partition (given with the events/ prefix).
	one := "events/domain=cards/event_date=2024-02-01/"
	sum := run(t, Options{Lake: lake, Partitions: []string{one}})
	if sum.Partitions != 1 || sum.Details[0].Partition != "domain=cards/event_date=2024-02-01" || sum.Details[0].Reason != ReasonDuplicates || sum.Details[0].Duplicates == 0 {
		t.Fatalf("restricted run: %+v", sum)
	}
	if sum.Skipped != 0 {
		t.Errorf("restricted run skipped %d partitions, want 0 (only one was selected)", sum.Skipped)
	}
	// The rest.
	sum = run(t, Options{Lake: lake})
	if sum.Partitions != 5 || sum.Skipped != 1 {
		t.Errorf("second run: %d partitions compacted, %d skipped; want 5 and 1", sum.Partitions, sum.Skipped)
	}
	sameRows(t, "compacted lake", rawRows(t, db, lake, liveFiles(t, lake)), want)
	checkClean(t, lake)

	// A partition without live files is an error; a malformed one too.
	for _, p := range []string{"domain=cards/event_date=1999-01-01", "cards/2024-02-01", "domain=a/b/event_date=2024-02-01"} {
		if _, err := Run(context.Background(), Options{Lake: lake, Partitions: []string{p}}); err == nil {
			t.Errorf("partition %q: no error", p)
		}
	}
}

func TestMinFilesSkipsCleanPartitions(t *testing.T) {
	// Two loads without any re-delivery: two files per partition, no
	// duplicates. --min-files 3 leaves them alone (after checking them for
	// duplicates); the default compacts them.
	dirs := corpus{loads: 2, objects: 1, perObject: 60, redeliverP: 1 << 30}.write(t)
	lake := t.TempDir()
	loadAll(t, lake, dirs)
	before := liveFiles(t, lake)
	if sum := run(t, Options{Lake: lake, MinFiles: 3}); sum.Partitions != 0 || sum.Skipped != 6 {
		t.Errorf("min-files 3: %+v, want 6 skipped", sum)
	}
	if got := liveFiles(t, lake); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("files changed by a run that compacted nothing")
	}
	if sum := run(t, Options{Lake: lake}); sum.Partitions != 6 || sum.Duplicates != 0 || sum.FilesAfter != 6 {
		t.Errorf("default run: %+v, want 6 partitions, no duplicates", sum)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	lake := t.TempDir()
	loadAll(t, lake, smallCorpus.write(t))
	before := diskFiles(t, lake)
	catBefore, err := os.ReadFile(filepath.Join(lake, "_eventlake", "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	// A dry run takes no lock: it works while a writer holds it.
	lock, err := lk.AcquireLock(lake, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	sum := run(t, Options{Lake: lake, DryRun: true})
	lock.Release()
	if !sum.DryRun || sum.LoadID != "" || sum.Partitions != 6 || sum.FilesBefore != len(before) || sum.RowsBefore == 0 || sum.BytesBefore == 0 || sum.FilesAfter != 0 {
		t.Errorf("dry run summary %+v", sum)
	}
	catAfter, err := os.ReadFile(filepath.Join(lake, "_eventlake", "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	if got := diskFiles(t, lake); strings.Join(got, ",") != strings.Join(before, ",") || string(catAfter) != string(catBefore) {
		t.Errorf("dry run changed the lake or the catalog")
	}
}

// A missing or damaged live file makes compaction leave its partition as
// it is, with the file named in Summary.Damaged, and compact the others.
func TestBadFilesSkipPartition(t *testing.T) {
	cases := map[string]struct {
		damage  func(t *testing.T, path string)
		problem string
	}{
		"missing": {func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, partitions.ProblemMissing},
		"corrupt": {func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Keep the footer, garble the pages.
			for i := 4; i < len(b)/2; i++ {
				b[i] = byte(i * 7)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, partitions.ProblemChecksum},
		"not parquet": {func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, partitions.ProblemSize},
	}
	dirs := smallCorpus.write(t)
	template := t.TempDir()
	loadAll(t, template, dirs)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			lake := copyDir(t, template)
			live := liveFiles(t, lake)
			bad := live[len(live)/2]
			badDir := path.Dir(bad)
			c.damage(t, filepath.Join(lake, bad))
			var partBefore []string
			for _, f := range diskFiles(t, lake) {
				if path.Dir(f) == badDir {
					partBefore = append(partBefore, f)
				}
			}
			sum, err := Run(context.Background(), Options{Lake: lake})
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Damaged) != 1 || len(sum.Damaged[0].Files) != 1 || sum.Damaged[0].Files[0].Path != bad || sum.Damaged[0].Files[0].Problem != c.problem {
				t.Fatalf("damaged = %+v, want %s (%s)", sum.Damaged, bad, c.problem)
			}
			if sum.Partitions == 0 || sum.LoadID == "" {
				t.Errorf("the other partitions were not compacted: %+v", sum)
			}
			// The damaged partition is as it was, on disk and in the catalog.
			var partAfter, liveAfter []string
			for _, f := range diskFiles(t, lake) {
				if path.Dir(f) == badDir {
					partAfter = append(partAfter, f)
				}
			}
			if strings.Join(partAfter, ",") != strings.Join(partBefore, ",") {
				t.Errorf("damaged partition changed on disk:\n got %q\nwant %q", partAfter, partBefore)
			}
			for _, f := range liveFiles(t, lake) {
				if path.Dir(f) == badDir {
					liveAfter = append(liveAfter, f)
				}
			}
			var liveBefore []string
			for _, f := range live {
				if path.Dir(f) == badDir {
					liveBefore = append(liveBefore, f)
				}
			}
			if strings.Join(liveAfter, ",") != strings.Join(liveBefore, ",") {
				t.Errorf("live files of the damaged partition changed")
			}
			if st := laketest.Files(t, filepath.Join(lake, "_eventlake", "staging")); len(st) != 0 {
				t.Errorf("staging left behind: %q", st)
			}
		})
	}
}

func TestRefusesUnknownColumns(t *testing.T) {
	lake := t.TempDir()
	loadAll(t, lake, corpus{loads: 2, objects: 1, perObject: 20}.write(t))
	live := liveFiles(t, lake)
	// Rewrite one file with an extra column through DuckDB: compacting it
	// would lose that column, so compaction must refuse.
	db := laketest.DuckDB(t)
	p := filepath.Join(lake, live[0])
	tmp := p + ".tmp"
	if _, err := db.Exec(`COPY (SELECT *, 42 AS extra FROM read_parquet('` + p + `', hive_partitioning = false)) TO '` + tmp + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	// It is not the file that was written: its partition is left alone.
	sum, err := Run(context.Background(), Options{Lake: lake})
	if err != nil || len(sum.Damaged) != 1 || sum.Damaged[0].Files[0].Path != live[0] {
		t.Fatalf("summary %+v, %v; want %s damaged", sum, err, live[0])
	}
	// Even recorded as it is now (a catalog of an older eventlake, without
	// checksums), it is refused for its column.
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(filepath.Join(lake, "_eventlake", "catalog.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.DB().Exec(`UPDATE files SET bytes = ?, checksum = NULL WHERE path = ?`, st.Size(), live[0]); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	sum, err = Run(context.Background(), Options{Lake: lake, MinFiles: 1})
	if err != nil || len(sum.Damaged) != 1 || sum.Damaged[0].Files[0].Path != live[0] || !strings.Contains(sum.Damaged[0].Files[0].Detail, "extra") {
		t.Errorf("summary %+v, %v; want a refusal naming column extra and %s", sum, err, live[0])
	}
}

func TestOptionsAndParsing(t *testing.T) {
	sizes := map[string]int64{"128MiB": 128 << 20, "128MB": 128e6, "1 GiB": 1 << 30, "64kb": 64000, "12345": 12345, "2KiB": 2048, "3g": 3e9}
	for in, want := range sizes {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "12XB", "-3MB", "1.5GB", "99999999999999999999"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
	parts := map[string]string{
		"domain=cards/event_date=2024-02-01":                      "domain=cards/event_date=2024-02-01",
		" events/domain=a%2Fb/event_date=2024-02-01/":             "domain=a%2Fb/event_date=2024-02-01",
		"domain=__HIVE_DEFAULT_PARTITION__/event_date=2024-02-01": "domain=__HIVE_DEFAULT_PARTITION__/event_date=2024-02-01",
	}
	for in, want := range parts {
		if got, err := NormalizePartition(in); err != nil || got != want {
			t.Errorf("NormalizePartition(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "domain=cards", "event_date=2024-02-01/domain=cards", "domain=a/b/event_date=x", "domain=%zz/event_date=2024-02-01", "domain=a%2fb/event_date=2024-02-01", "domain=/event_date=2024-02-01"} {
		if got, err := NormalizePartition(in); err == nil {
			t.Errorf("NormalizePartition(%q) = %q, want an error", in, got)
		}
	}
	for _, o := range []Options{{}, {Lake: "x", MinFiles: -1}, {Lake: "x", TargetBytes: -1}, {Lake: "x", ZstdLevel: 5}, {Lake: t.TempDir()}} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}

func TestEqualIngestTimeFallsBackToLoadID(t *testing.T) {
	// Two loads with the same clock: their rows share _ingested_at, so the
	// later _load_id must win, as in the events view.
	dirs := corpus{loads: 2, objects: 2, perObject: 150, redeliverP: 3}.write(t)
	lake := t.TempDir()
	fixed := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range dirs {
		o := loader.Options{Lake: lake, Workers: 2, Now: func() time.Time { return fixed }}
		if _, err := loader.Run(context.Background(), o, []loader.SourceSpec{{URL: d}}); err != nil {
			t.Fatal(err)
		}
	}
	db := laketest.DuckDB(t)
	before := liveFiles(t, lake)
	if n := laketest.One(t, db, "SELECT count(DISTINCT _ingested_at) FROM "+readParquet(lake, before)); n != "1" {
		t.Fatalf("%s distinct _ingested_at values, want 1", n)
	}
	want := dedupRows(t, db, lake, before)
	run(t, Options{Lake: lake})
	sameRows(t, "compacted lake", rawRows(t, db, lake, liveFiles(t, lake)), want)
}
