package compact

import (
	"testing"

	"github.com/eventlake/eventlake/internal/parquetcheck"
)

// TestCompactedFilesPageIndex checks, with Arrow's Parquet reader, the
// files of a real load and of its compaction: valid column indexes, point
// lookups of every event_id and cid through them, bloom filters, and on
// the compacted files event_time in sorting_columns, true in every row
// group, also when the partition is written as several sorted runs.
func TestCompactedFilesPageIndex(t *testing.T) {
	lake := t.TempDir()
	loadAll(t, lake, corpus{loads: 2, objects: 3, perObject: 600, pad: 300, domains: []string{"cards", "account"}, days: 1}.write(t))
	bloom := map[string][]string{"events": {"event_id", "cid"}}
	rep, err := parquetcheck.CheckLake(lake, parquetcheck.Options{Bloom: bloom})
	if err != nil {
		t.Fatalf("loaded lake: %v", err)
	}
	t.Logf("loaded: %+v, bloom false-positive rate %.3f", rep, rep.FalsePositiveRate())

	sum := run(t, Options{Lake: lake, TargetBytes: 96 << 10, SortBufferBytes: 200 << 10})
	if sum.Partitions != 2 || sum.Details[0].Sorted {
		t.Fatalf("summary %+v: want two partitions, written as several sorted runs", sum)
	}
	rep, err = parquetcheck.CheckLake(lake, parquetcheck.Options{Bloom: bloom, Sorted: map[string][]string{"events": {"event_time"}}})
	if err != nil {
		t.Fatalf("compacted lake: %v", err)
	}
	t.Logf("compacted: %+v, bloom false-positive rate %.3f", rep, rep.FalsePositiveRate())
	if rep.SortedRowGroups != rep.RowGroups || rep.Lookups == 0 || rep.FalsePositiveRate() > 0.05 {
		t.Errorf("compacted lake: %+v", rep)
	}
	checkClean(t, lake)
}
