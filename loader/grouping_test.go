package loader_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/internal/parquetcheck"
	"github.com/eventlake/eventlake/loader"
)

// TestObjectRowsGroupedByType: an object's rows reach its partition's file
// grouped by event type (types in byte order, line order within a type),
// whether the object is written whole or is large enough to spill (then
// each spilled batch is grouped). The file is read back by Apache Arrow's
// reader.
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
			// Read back in file order by Apache Arrow's reader.
			path := filepath.Join(lake, "events", files[0])
			types, err := parquetcheck.Column[string](path, "event_type")
			if err != nil {
				t.Fatal(err)
			}
			lines, err := parquetcheck.Column[int64](path, "_line")
			if err != nil {
				t.Fatal(err)
			}
			if len(types) != n || len(lines) != n {
				t.Fatalf("%d types and %d lines read, want %d", len(types), len(lines), n)
			}
			changes := 0
			for i := 1; i < n; i++ {
				if types[i] != types[i-1] {
					changes++
				} else if lines[i] < lines[i-1] {
					t.Fatalf("row %d: line %d after line %d within type %s", i, lines[i], lines[i-1], types[i])
				}
			}
			if changes > c.maxChange {
				t.Errorf("%d changes of event type in file order, want at most %d", changes, c.maxChange)
			}
			if c.maxChange == 2 && (types[0] != "a-1" || types[n-1] != "c-1") {
				t.Errorf("types from %s to %s, want a-1 first and c-1 last", types[0], types[n-1])
			}
		})
	}
}
