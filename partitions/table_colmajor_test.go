package partitions

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// tableCase is one table load: rows handed to a TableWriter in batches,
// each batch to one partition.
type tableCase struct {
	columns []string
	batches []tableBatch
	opts    WriterOptions
}

type tableBatch struct {
	partition string
	rows      []TableRow
}

// randomTableCase returns rows with hard values: long text (truncated page
// bounds), multibyte runes, 0xFF runs, empty strings, missing trailing
// fields (NULL), rows with and without a report time, object names that
// change per batch or per row (a dictionary that falls back to PLAIN),
// batch sizes that are not multiples of 64, several partitions.
func randomTableCase(r *rand.Rand, nRows int) tableCase {
	ncol := 1 + r.IntN(8)
	var c tableCase
	for j := range ncol {
		c.columns = append(c.columns, fmt.Sprintf("c%d_%s", j, []string{"id", "note", "amount", "ts"}[j%4]))
	}
	parts := []string{"report_date=2024-06-04", "report_date=2024-06-05", "report_date=2024-06-06", ""}
	longObjects := r.IntN(4) == 0
	for i := 0; i < nRows; {
		n := min(nRows-i, 1+r.IntN(300))
		b := tableBatch{partition: parts[r.IntN(len(parts))]}
		object := fmt.Sprintf("s3://b/Order/2024-06-05/%02d/ALL%02d.csv000", r.IntN(24), r.IntN(96))
		rt := int64(0)
		if r.IntN(3) != 0 {
			rt = day0 + r.Int64N(day)
		}
		for k := range n {
			row := TableRow{ReportTime: rt, Object: object, Line: int64(k + 2), Offset: int64(k) * 97, LoadID: "L", IngestedAt: day0 + 5}
			if longObjects {
				row.Object = object + strings.Repeat("/", 1500) + fmt.Sprint(i+k)
			}
			nf := ncol
			if r.IntN(10) == 0 {
				nf = r.IntN(ncol + 1)
			}
			for j := range nf {
				var v string
				switch r.IntN(4) {
				case 0:
					v = edgeValue(r, i+k+j)
				case 1:
					v = ""
				default:
					v = fmt.Sprintf("%d.%02d", r.IntN(1000), r.IntN(100))
				}
				row.Fields = append(row.Fields, v)
			}
			b.rows = append(b.rows, row)
		}
		c.batches = append(c.batches, b)
		i += n
	}
	return c
}

// writeTableCase writes c through a TableWriter with the given adapter
// into a fresh stage and returns the files and the staging root.
func writeTableCase(t testing.TB, dir string, c tableCase, adapt func(*parquet.Writer, *tableLayout) rowWriter[TableRow]) ([]File, string) {
	t.Helper()
	root := filepath.Join(dir, "staging")
	stage, err := NewStage(root, "L")
	if err != nil {
		t.Fatal(err)
	}
	w, err := newTableWriter(stage, "orders", c.columns, c.opts, adapt)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range c.batches {
		// The writer may keep nothing of the rows: hand it a copy and
		// scribble over it afterwards.
		rows := cloneTableRows(b.rows)
		if err := w.Write(b.partition, rows); err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			for j := range rows[i].Fields {
				rows[i].Fields[j] = "overwritten"
			}
			rows[i].Object = "overwritten"
		}
	}
	files, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return files, root
}

func cloneTableRows(rows []TableRow) []TableRow {
	out := make([]TableRow, len(rows))
	for i, r := range rows {
		r.Fields = append([]string(nil), r.Fields...)
		out[i] = r
	}
	return out
}

// checkTableEquivalent writes c through the row-major oracle and the
// column-major writer and requires the same files, byte for byte, and
// every value read back equal to the rows written.
func checkTableEquivalent(t testing.TB, c tableCase) {
	t.Helper()
	oldFiles, oldRoot := writeTableCase(t, filepath.Join(t.TempDir(), "old"), c, newRowMajorTableWriter)
	newFiles, newRoot := writeTableCase(t, filepath.Join(t.TempDir(), "new"), c, newTableRowWriter)
	if !reflect.DeepEqual(oldFiles, newFiles) {
		t.Fatalf("files differ:\nrow-major    %+v\ncolumn-major %+v", oldFiles, newFiles)
	}
	want := map[string][]TableRow{}
	for _, b := range c.batches {
		want[b.partition] = append(want[b.partition], b.rows...)
	}
	for _, f := range newFiles {
		ob, err := os.ReadFile(StagedPath(oldRoot, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		nb, err := os.ReadFile(StagedPath(newRoot, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ob, nb) {
			t.Fatalf("%s: %d bytes row-major, %d column-major, not the same", f.Path, len(ob), len(nb))
		}
		got := readTableFile(t, nb, len(c.columns))
		exp := want[f.Partition][:len(got)]
		want[f.Partition] = want[f.Partition][len(got):]
		for i := range got {
			if !reflect.DeepEqual(normRow(exp[i], len(c.columns)), got[i]) {
				t.Fatalf("%s row %d:\ngot  %+v\nwant %+v", f.Path, i, got[i], normRow(exp[i], len(c.columns)))
			}
		}
	}
	for p, rest := range want {
		if len(rest) != 0 {
			t.Fatalf("partition %q: %d rows not in any file", p, len(rest))
		}
	}
}

// tableValue is a row as read back: data fields with NULL as nil.
type tableValue struct {
	Fields       []*string
	ReportTime   *int64
	Object       string
	Line, Offset int64
	LoadID       string
	IngestedAt   int64
}

func normRow(r TableRow, ncol int) tableValue {
	v := tableValue{Object: r.Object, Line: r.Line, Offset: r.Offset, LoadID: r.LoadID, IngestedAt: r.IngestedAt}
	for j := range ncol {
		if j < len(r.Fields) {
			s := r.Fields[j]
			v.Fields = append(v.Fields, &s)
		} else {
			v.Fields = append(v.Fields, nil)
		}
	}
	if r.ReportTime != 0 {
		rt := r.ReportTime
		v.ReportTime = &rt
	}
	return v
}

// readTableFile reads a table file's rows back, and checks its page index
// covers every page of every column chunk.
func readTableFile(t testing.TB, b []byte, ncol int) []tableValue {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	cols := pf.Schema().Columns()
	if len(cols) != ncol+len(tableMeta) {
		t.Fatalf("%d columns, want %d", len(cols), ncol+len(tableMeta))
	}
	for _, rg := range pf.RowGroups() {
		for _, cc := range rg.ColumnChunks() {
			ci, err := cc.ColumnIndex()
			if err != nil {
				t.Fatal(err)
			}
			oi, err := cc.OffsetIndex()
			if err != nil {
				t.Fatal(err)
			}
			if ci.NumPages() != oi.NumPages() || ci.NumPages() == 0 {
				t.Fatalf("column %d: column index of %d pages, offset index of %d", cc.Column(), ci.NumPages(), oi.NumPages())
			}
		}
	}
	rows := make([]parquet.Row, 100)
	var out []tableValue
	r := parquet.NewReader(pf)
	defer r.Close()
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			var v tableValue
			data := 0
			for k, val := range row {
				switch name := cols[k][0]; name {
				case "_report_time":
					if !val.IsNull() {
						x := val.Int64()
						v.ReportTime = &x
					}
				case "_object":
					v.Object = string(val.ByteArray())
				case "_line":
					v.Line = val.Int64()
				case "_offset":
					v.Offset = val.Int64()
				case "_load_id":
					v.LoadID = string(val.ByteArray())
				case "_ingested_at":
					v.IngestedAt = val.Int64()
				default:
					data++
					if val.IsNull() {
						v.Fields = append(v.Fields, nil)
					} else {
						s := string(val.ByteArray())
						v.Fields = append(v.Fields, &s)
					}
				}
			}
			out = append(out, v)
		}
		if err != nil {
			break
		}
	}
	return out
}

// TestTableWriterColumnMajorSameFiles checks the column-major table writer
// against the former row-major one: the same files byte for byte (schema,
// pages and their bounds, statistics, page index, bloom filters, metadata)
// and every value read back equal to the rows written, across row-group
// and file roll-overs, early flushes under the memory cap, and spilling.
func TestTableWriterColumnMajorSameFiles(t *testing.T) {
	opts := map[string]WriterOptions{
		"defaults":   {},
		"loader":     {BloomColumns: []string{"c0_id"}, Spill: true, MaxOpenFiles: 16, MemoryBytes: 16 << 20},
		"spill":      {BloomColumns: []string{"c0_id"}, Spill: true, MaxOpenFiles: 1, SpillBytes: 64 << 10},
		"smallgroup": {RowGroupRows: 1000, MaxFileRows: 3500, ZstdLevel: 3},
		"tightmem":   {MemoryBytes: 1 << 20, RowGroupBytes: 512 << 10, MaxOpenFiles: 2},
		"filebytes":  {MaxFileBytes: 2 << 20, BloomColumns: []string{"c1_note"}},
	}
	for name, o := range opts {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(name, "/", seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 77))
				c := randomTableCase(r, 2000+r.IntN(12000))
				c.opts = o
				if o.BloomColumns != nil && len(c.columns) < 2 {
					c.columns = append(c.columns, "c1_note")
				}
				checkTableEquivalent(t, c)
			})
		}
	}
}

// FuzzTableWriterColumnMajor drives the row shapes and batch sizes from the
// fuzzer's bytes and compares the two writers.
func FuzzTableWriterColumnMajor(f *testing.F) {
	f.Add(uint64(1), uint16(500), uint8(0))
	f.Add(uint64(2), uint16(64), uint8(1))
	f.Add(uint64(3), uint16(3000), uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, rows uint16, mode uint8) {
		r := rand.New(rand.NewPCG(seed, uint64(mode)))
		c := randomTableCase(r, 1+int(rows)%3000)
		switch mode % 3 {
		case 1:
			c.opts = WriterOptions{Spill: true, MaxOpenFiles: 1, RowGroupRows: 50 + int64(rows)%700}
		case 2:
			c.opts = WriterOptions{MemoryBytes: 256 << 10, MaxFileRows: 200 + int64(rows)%2000}
		}
		checkTableEquivalent(t, c)
	})
}

// TestTextMaker checks the values a textMaker makes against parquet-go's
// constructors, and that its fast path is on with this parquet-go.
func TestTextMaker(t *testing.T) {
	if !fastText {
		t.Error("fastText is off: parquet.Value's layout is no longer the one valueLayout mirrors")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 500 {
		s := edgeValue(r, i)
		def, col := i%2, i%300
		want := parquet.ByteArrayValue([]byte(s)).Level(0, def, col)
		m := textValue(def, col)
		got := m.make(s)
		var put parquet.Value
		m.put(&put, s)
		for _, got := range []parquet.Value{got, put} {
			if !parquet.Equal(want, got) || got.Column() != col || got.DefinitionLevel() != def || got.RepetitionLevel() != 0 || got.Kind() != parquet.ByteArray {
				t.Fatalf("%q at level %d column %d: %#v, want %#v", s, def, col, got, want)
			}
		}
	}
}

// TestIntMaker checks the INT64 values an intMaker makes against
// parquet-go's constructors.
func TestIntMaker(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	for i := range 500 {
		n, col, def := int64(r.Uint64()), i%300, i%2
		want := parquet.Int64Value(n).Level(0, def, col)
		m := intValueAt(def, col)
		got := m.make(n)
		var put parquet.Value
		m.put(&put, n)
		for _, got := range []parquet.Value{got, put} {
			if !parquet.Equal(want, got) || got.Int64() != n || got.Column() != col || got.DefinitionLevel() != def || got.Kind() != parquet.Int64 ||
				*(*valueLayout)(unsafe.Pointer(&got)) != *(*valueLayout)(unsafe.Pointer(&want)) {
				t.Fatalf("%d column %d: %#v, want %#v", n, col, got, want)
			}
		}
	}
}
