package compact

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/laketest"
)

// benchLake loads a corpus of many small loads (the situation compaction
// exists for) and returns the lake.
func benchLake(b *testing.B) string {
	b.Helper()
	lake := b.TempDir()
	loadAll(b, lake, corpus{loads: 8, objects: 4, perObject: 1000, pad: 200, days: 3}.write(b))
	return lake
}

// queries are typical analyst queries through the events view's
// de-duplication, over the files the catalog lists.
var benchQueries = map[string]string{
	"dedup-count": `SELECT count(*) FROM (SELECT event_id FROM FILES
		QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at DESC, _load_id DESC, _object, _line) = 1)`,
	"time-window": `SELECT event_type, count(DISTINCT event_id) FROM FILES
		WHERE event_time BETWEEN '2024-02-02 06:00:00+00' AND '2024-02-02 07:00:00+00' GROUP BY ALL`,
}

func benchQuery(b *testing.B, db *sql.DB, lake, q string) {
	from := readParquet(lake, liveFiles(b, lake))
	query := strings.ReplaceAll(q, "FILES", from)
	b.ResetTimer()
	for b.Loop() {
		laketest.Rows(b, db, query)
	}
}

// BenchmarkQueries compares query times on the same lake before and after
// compaction (a compacted lake must answer at least as fast):
//
//	go test -run '^$' -bench Queries ./partitions/compact/
func BenchmarkQueries(b *testing.B) {
	lake := benchLake(b)
	db := laketest.DuckDB(b)
	for name, q := range benchQueries {
		b.Run("before/"+name, func(b *testing.B) { benchQuery(b, db, lake, q) })
	}
	if _, err := Run(context.Background(), Options{Lake: lake}); err != nil {
		b.Fatal(err)
	}
	for name, q := range benchQueries {
		b.Run("after/"+name, func(b *testing.B) { benchQuery(b, db, lake, q) })
	}
}

// BenchmarkCompact measures a whole compaction (rows read per second).
func BenchmarkCompact(b *testing.B) {
	template := benchLake(b)
	var rows int64
	for b.Loop() {
		b.StopTimer()
		lake := copyDir(b, template)
		b.StartTimer()
		sum, err := Run(context.Background(), Options{Lake: lake})
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.RowsBefore
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
