package partitions

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/eventlake/eventlake/internal/parquetcheck"
)

// TestTableBuildersWriteWhatTheyAreGiven: several goroutines, a builder
// each, fill row groups of one table at once, some rows also go through the
// writer itself, and the rows are scribbled over once handed in. Every
// partition must come out as one file (or its roll-overs) holding exactly
// its rows, with the right counts and report-time bounds, and every file
// must read back through Arrow's reader with valid page indexes and bloom
// filters — also when partitions spill (MaxOpenFiles reached), row groups
// and files roll over, and the builders' memory forces early commits.
func TestTableBuildersWriteWhatTheyAreGiven(t *testing.T) {
	opts := map[string]struct {
		o      WriterOptions
		memory int64
	}{
		"loader":     {WriterOptions{BloomColumns: []string{"c0_id"}, Spill: true, MaxOpenFiles: 16, MemoryBytes: 16 << 20}, 0},
		"spill":      {WriterOptions{BloomColumns: []string{"c0_id"}, Spill: true, MaxOpenFiles: 2, SpillBytes: 64 << 10}, 0},
		"smallgroup": {WriterOptions{Spill: true, RowGroupRows: 1000, MaxFileRows: 3500, ZstdLevel: 3}, 0},
		"tightmem":   {WriterOptions{Spill: true, BloomColumns: []string{"c0_id"}, RowGroupBytes: 256 << 10}, 128 << 10},
	}
	for name, tc := range opts {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(name, "/", seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 91))
				c := randomTableCase(r, 3000+r.IntN(15000))
				if len(c.columns) < 2 {
					c.columns = append(c.columns, "c1_note")
				}
				c.opts = tc.o
				stage, err := NewStage(filepath.Join(t.TempDir(), "staging"), "L")
				if err != nil {
					t.Fatal(err)
				}
				w, err := NewTableWriter(stage, "orders", c.columns, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				const builders = 3
				var wg sync.WaitGroup
				errs := make([]error, builders+1)
				for g := range builders + 1 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var b *TableBuilder
						if g < builders {
							b = w.NewBuilder(tc.memory)
						}
						for i := g; i < len(c.batches); i += builders + 1 {
							rows := cloneTableRows(c.batches[i].rows)
							var err error
							if b != nil {
								err = b.Write(c.batches[i].partition, rows)
							} else {
								err = w.Write(c.batches[i].partition, rows) // the writer's own path, at the same time
							}
							if err != nil {
								errs[g] = err
								return
							}
							for k := range rows {
								for j := range rows[k].Fields {
									rows[k].Fields[j] = "overwritten"
								}
								rows[k].Object = "overwritten"
							}
						}
						if b != nil {
							errs[g] = b.Flush()
						}
					}()
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				files, err := w.Close()
				if err != nil {
					t.Fatal(err)
				}
				want := map[string][]tableValue{}
				bounds := map[string][2]int64{}
				for _, b := range c.batches {
					for _, row := range b.rows {
						want[b.partition] = append(want[b.partition], normRow(row, len(c.columns)))
						if rt := row.ReportTime; rt != 0 {
							bd, ok := bounds[b.partition]
							if !ok {
								bd = [2]int64{rt, rt}
							}
							bounds[b.partition] = [2]int64{min(bd[0], rt), max(bd[1], rt)}
						}
					}
				}
				got := map[string][]tableValue{}
				perPartition := map[string]int{}
				for _, f := range files {
					path := stage.Staged(f.Path)
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					vals := readTableFile(t, b, len(c.columns))
					if int64(len(vals)) != f.Rows {
						t.Fatalf("%s: %d rows read back, File.Rows %d", f.Path, len(vals), f.Rows)
					}
					got[f.Partition] = append(got[f.Partition], vals...)
					perPartition[f.Partition]++
					if _, err := parquetcheck.CheckFile(path, c.opts.BloomColumns, nil, 50); err != nil {
						t.Fatalf("%s: %v", f.Path, err)
					}
					if bd, ok := bounds[f.Partition]; ok && perPartition[f.Partition] == 1 && f.Rows == int64(len(want[f.Partition])) {
						if f.MinTime != bd[0] || f.MaxTime != bd[1] {
							t.Fatalf("%s: times %d..%d, want %d..%d", f.Path, f.MinTime, f.MaxTime, bd[0], bd[1])
						}
					}
				}
				for p, rows := range want {
					maxFiles := 1
					if c.opts.MaxFileRows > 0 {
						maxFiles = (len(rows)+int(c.opts.MaxFileRows)-1)/int(c.opts.MaxFileRows) + builders
					}
					if perPartition[p] < 1 || perPartition[p] > maxFiles {
						t.Fatalf("partition %q: %d files, want 1..%d", p, perPartition[p], maxFiles)
					}
					sortValues(rows)
					sortValues(got[p])
					if !reflect.DeepEqual(rows, got[p]) {
						t.Fatalf("partition %q: %d rows read back, want %d (or different values)", p, len(got[p]), len(rows))
					}
				}
				if len(got) != len(want) {
					t.Fatalf("%d partitions written, want %d", len(got), len(want))
				}
			})
		}
	}
}

func sortValues(v []tableValue) {
	slices.SortFunc(v, func(a, b tableValue) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Offset, b.Offset),
			cmp.Compare(fmt.Sprint(a.ReportTime != nil, deref(a.ReportTime)), fmt.Sprint(b.ReportTime != nil, deref(b.ReportTime))),
			cmp.Compare(fieldsKey(a.Fields), fieldsKey(b.Fields)))
	})
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func fieldsKey(f []*string) string {
	s := ""
	for _, x := range f {
		if x == nil {
			s += "\x00N"
		} else {
			s += "\x00V" + *x
		}
	}
	return s
}
