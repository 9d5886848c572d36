package loader_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions"
	"github.com/parquet-go/parquet-go"
)

// TestObjectRowsGroupedByType: an object's rows reach its partition's file
// grouped by event type (types in byte order, line order within a type),
// whether the object is handed to the writers whole or is large enough to
// spill (then each spilled batch is grouped).
func TestObjectRowsGroupedByType(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	types := []string{"c-1", "a-1", "b-1"}
	const n = 600
	for i := range n {
		fmt.Fprintf(&b, `{"event_id":"e%d","domain":"account","event_type":"%s","timestamp":"2024-01-01T00:00:%02dZ","data":{"n":%d}}`+"\n",
			i, types[i%3], i%60, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "mixed"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		buffer    int
		maxChange int // type changes in file order
	}{
		{"whole", 0, 2},           // one run per type
		{"spilled", 16 << 10, 60}, // a few per spilled batch, far below n-1
	} {
		t.Run(c.name, func(t *testing.T) {
			lake := t.TempDir()
			sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, BufferBytes: c.buffer}, []loader.SourceSpec{{URL: dir}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Records != n {
				t.Fatalf("loaded %d records, want %d", sum.Records, n)
			}
			files := laketest.Files(t, filepath.Join(lake, "events"))
			if len(files) != 1 {
				t.Fatalf("files %q, want one", files)
			}
			rows, err := parquet.ReadFile[partitions.EventRow](filepath.Join(lake, "events", files[0]))
			if err != nil {
				t.Fatal(err)
			}
			changes := 0
			for i := 1; i < len(rows); i++ {
				prev, cur := rows[i-1], rows[i]
				if cur.EventType != prev.EventType {
					changes++
				} else if cur.Line < prev.Line {
					t.Fatalf("row %d: line %d after line %d within type %s", i, cur.Line, prev.Line, cur.EventType)
				}
			}
			if changes > c.maxChange {
				t.Errorf("%d changes of event type in file order, want at most %d", changes, c.maxChange)
			}
			if c.maxChange == 2 && (rows[0].EventType != "a-1" || rows[n-1].EventType != "c-1") {
				t.Errorf("types from %s to %s, want a-1 first and c-1 last", rows[0].EventType, rows[n-1].EventType)
			}
		})
	}
}
