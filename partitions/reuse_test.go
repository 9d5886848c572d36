package partitions

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// writeFresh and writeReused write the same rows through a set whose
// writers are built for each file or reused (Reset) from file to file, and
// return the staged files' bytes by path.
type setCase struct {
	name string
	opts WriterOptions
	// write writes the case's rows; reuse false turns writer reuse off.
	write func(t *testing.T, s *Stage, o WriterOptions, reuse bool) ([]File, int)
}

func eventCase(rows []EventRow, batch int) func(*testing.T, *Stage, WriterOptions, bool) ([]File, int) {
	return func(t *testing.T, s *Stage, o WriterOptions, reuse bool) ([]File, int) {
		w := NewEventWriter(s, o)
		if !reuse {
			w.set.idle = nil
		}
		for i := 0; i < len(rows); i += batch {
			if err := w.Write(rows[i:min(i+batch, len(rows))]); err != nil {
				t.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		return files, w.set.reused
	}
}

// TestReusedWriterWritesTheSameFile checks that a writer reused for file
// after file (Reset) writes every file byte for byte as a new writer does:
// data, statistics, page index, bloom filters and key-value metadata,
// whatever the previous file held (more columns with values, more row
// groups, another partition).
func TestReusedWriterWritesTheSameFile(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	var spread, big []EventRow
	domains := []string{"account", "cards", "authorization"}
	for i := range 3000 {
		// Days and domains interleaved: more partitions than open files.
		d := domains[r.IntN(len(domains))]
		spread = append(spread, pismoRow(r, i, d, day0+int64(r.IntN(40))*day+int64(i)))
	}
	for i := range 5000 {
		row := pismoRow(r, i, "account", day0+int64(i/50%3)*day+int64(i))
		if i%7 == 0 {
			row.CID, row.OrgID, row.SchemaVersion = nil, nil, nil
		}
		big = append(big, row)
	}
	var table []TableRow
	for i := range 2000 {
		n := 1 + r.IntN(3) // missing trailing fields are nulls
		fields := []string{fmt.Sprint("order-", r.IntN(500)), fmt.Sprint(r.IntN(1e6)), "x"}[:n]
		rt := int64(0)
		if r.IntN(5) != 0 {
			rt = day0 + int64(r.IntN(30))*day
		}
		table = append(table, TableRow{Fields: fields, ReportTime: rt, Object: "o", Line: int64(i), Offset: int64(i) * 10, LoadID: "L", IngestedAt: day0})
	}
	cases := []setCase{
		{"lru", WriterOptions{MaxOpenFiles: 4}, eventCase(spread, 37)},
		{"spill", WriterOptions{MaxOpenFiles: 4, Spill: true, SpillBytes: 64 << 10}, eventCase(spread, 37)},
		{"row groups and roll-over", WriterOptions{MaxOpenFiles: 1, RowGroupRows: 20, MaxFileRows: 45}, eventCase(big, 101)},
		// Compaction's writers declare sorting columns (rows in order).
		{"sorting columns", WriterOptions{MaxOpenFiles: 1, RowGroupRows: 30, SortingColumns: []string{"event_time"}}, eventCase(big, 64)},
		{"few open, spill, big", WriterOptions{MaxOpenFiles: 1, Spill: true, RowGroupRows: 1000}, eventCase(append(big[:2000:2000], spread...), 50)},
		{"table", WriterOptions{MaxOpenFiles: 3, Spill: true, BloomColumns: []string{"id"}}, func(t *testing.T, s *Stage, o WriterOptions, reuse bool) ([]File, int) {
			w, err := NewTableWriter(s, "orders", []string{"id", "amount", "note"}, o)
			if err != nil {
				t.Fatal(err)
			}
			if !reuse {
				w.set.idle = nil
			}
			for i := 0; i < len(table); i += 13 {
				for _, row := range table[i:min(i+13, len(table))] {
					part := ""
					if row.ReportTime != 0 {
						part = fmt.Sprintf("report_date=%d", row.ReportTime/day)
					}
					if err := w.Write(part, []TableRow{row}); err != nil {
						t.Fatal(err)
					}
				}
			}
			files, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			return files, w.set.reused
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			read := func(reuse bool) (map[string][]byte, int) {
				s, err := NewStage(stagingDir(t.TempDir(), "L"), "L")
				if err != nil {
					t.Fatal(err)
				}
				files, reused := c.write(t, s, c.opts, reuse)
				out := map[string][]byte{}
				for _, f := range files {
					b, err := os.ReadFile(s.Staged(f.Path))
					if err != nil {
						t.Fatal(err)
					}
					out[f.Path] = b
				}
				return out, reused
			}
			fresh, n0 := read(false)
			reused, n1 := read(true)
			if n0 != 0 || n1 == 0 {
				t.Fatalf("writers reused: %d without reuse, %d with it (want 0 and more)", n0, n1)
			}
			if len(fresh) != len(reused) {
				t.Fatalf("%d files fresh, %d reused", len(fresh), len(reused))
			}
			for path, want := range fresh {
				got, ok := reused[path]
				if !ok {
					t.Errorf("%s: missing (or another checksum) when writers are reused", path)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes reused, %d fresh: files differ", path, len(got), len(want))
					if os.Getenv("DEBUG_REUSE") != "" {
						diffMeta(t, want, got)
						t.FailNow()
					}
				}
			}
			t.Logf("%d files, %d written by a reused writer", len(fresh), n1)
		})
	}
}

// TestParquetResetClearsFooterArrays pins why a writer is recycled before
// Reset: parquet-go's Reset clears the last file's footer in place, and with
// it the sorting_columns and column paths the writer was configured with.
// If the first half fails, parquet-go no longer does, and recycle can go.
func TestParquetResetClearsFooterArrays(t *testing.T) {
	type row struct {
		A int64 `parquet:"a"`
		B int64 `parquet:"b"`
	}
	opts := parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending("b")))
	for _, recycled := range []bool{false, true} {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[row](&buf, opts)
		file := func() *parquet.File {
			if _, err := w.Write([]row{{1, 2}}); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		intact := func(f *parquet.File) bool {
			sc := f.RowGroups()[0].SortingColumns()
			md := f.Metadata().RowGroups[0].Columns[1].MetaData
			return len(sc) == 1 && sc[0].Path()[0] == "b" && len(md.PathInSchema) == 1 && md.PathInSchema[0] == "b"
		}
		if !intact(file()) {
			t.Fatal("fresh writer: sorting columns or column paths missing")
		}
		if recycled {
			recycle(w.File())
		}
		buf.Reset()
		w.Reset(&buf)
		switch ok := intact(file()); {
		case !recycled && ok:
			t.Error("parquet-go's Reset keeps the footer's arrays now: recycle is no longer needed")
		case recycled && !ok:
			t.Error("a recycled writer lost its sorting columns or column paths")
		}
	}
}

func diffMeta(t *testing.T, a, b []byte) {
	fa, err := parquet.OpenFile(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for i < min(len(a), len(b)) && a[i] == b[i] {
		i++
	}
	t.Logf("first difference at byte %d of %d/%d", i, len(a), len(b))
	ma, mb := fmt.Sprintf("%+v", *fa.Metadata()), fmt.Sprintf("%+v", *fb.Metadata())
	j := 0
	for j < min(len(ma), len(mb)) && ma[j] == mb[j] {
		j++
	}
	t.Logf("metadata differs at %d:\nfresh:  %s\nreused: %s", j, ma[max(0, j-300):min(len(ma), j+300)], mb[max(0, j-300):min(len(mb), j+300)])
	ca, cb := fa.ColumnIndexes(), fb.ColumnIndexes()
	t.Logf("column indexes equal: %v; offset indexes equal: %v", fmt.Sprint(ca) == fmt.Sprint(cb), fmt.Sprint(fa.OffsetIndexes()) == fmt.Sprint(fb.OffsetIndexes()))
}
