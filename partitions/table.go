package partitions

import (
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// TableRow is one row of a delimited-file table (CSV): the fields as text,
// exactly as received, plus where they came from. Types are applied by the
// SQL views from the schema inferred at load (the Parquet file keeps the
// raw text, so a widened type never needs a rewrite).
type TableRow struct {
	Fields []string
	// ReportTime is the report's time taken from the object key (micros,
	// UTC); 0 when the key carries none.
	ReportTime int64
	Object     string
	Line       int64
	Offset     int64
	LoadID     string
	IngestedAt int64
}

// Meta columns of every table file, after the data columns.
var tableMeta = []string{"_report_time", "_object", "_line", "_offset", "_load_id", "_ingested_at"}

// TableMetaColumns lists the meta column names of table files.
func TableMetaColumns() []string { return append([]string(nil), tableMeta...) }

// TableWriter writes the rows of one delimited-file table with one set of
// data columns to one Parquet file per partition, across all the objects of
// a load (see set: with WriterOptions.Spill, however many partitions). Its
// methods are safe for concurrent use, and its TableBuilders fill row groups
// in parallel (see NewBuilder).
type TableWriter struct {
	mu     sync.Mutex
	set    *set[TableRow]
	layout *tableLayout
}

// NewTableWriter returns a writer of table's files with the given data
// column names staging into s. Column names must be unique and must not
// start with '_' (the caller renames).
func NewTableWriter(s *Stage, table string, columns []string, o WriterOptions) (*TableWriter, error) {
	return newTableWriter(s, table, columns, o, newTableRowWriter)
}

// newTableWriter is NewTableWriter with the adapter of the parquet-go
// writers to the rows (tests compare adapters).
func newTableWriter(s *Stage, table string, columns []string, o WriterOptions, adapt func(*parquet.Writer, *tableLayout) rowWriter[TableRow]) (*TableWriter, error) {
	o = o.withDefaults()
	group := parquet.Group{}
	for _, c := range columns {
		if _, dup := group[c]; dup || len(c) > 0 && c[0] == '_' {
			return nil, fmt.Errorf("partitions: table %s: column %q is duplicated or reserved", table, c)
		}
		group[c] = boundedNode{parquet.Optional(parquet.Compressed(parquet.String(), zstdCodecs[o.ZstdLevel]))}
	}
	ts := parquet.Timestamp(parquet.Microsecond)
	group["_report_time"] = parquet.Optional(ts)
	group["_object"] = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	group["_line"] = parquet.Int(64)
	group["_offset"] = parquet.Int(64)
	group["_load_id"] = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	group["_ingested_at"] = ts
	schema := parquet.NewSchema(table, group)

	// Leaf index of each column in the schema's (sorted) order.
	index := map[string]int{}
	for i, path := range schema.Columns() {
		index[path[0]] = i
	}
	cols := make([]int, len(columns))
	for j, c := range columns {
		cols[j] = index[c]
	}
	layout := tableLayout{cols: cols, n: len(columns) + len(tableMeta),
		reportTime: index["_report_time"], object: index["_object"], line: index["_line"],
		offset: index["_offset"], loadID: index["_load_id"], ingestedAt: index["_ingested_at"]}
	layout.src = make([]int, layout.n)
	for j, k := range cols {
		layout.src[k] = j
	}
	layout.src[layout.reportTime] = srcReportTime
	layout.src[layout.object] = srcObject
	layout.src[layout.line] = srcLine
	layout.src[layout.offset] = srcOffset
	layout.src[layout.loadID] = srcLoadID
	layout.src[layout.ingestedAt] = srcIngestedAt
	newWriter := func(opts []parquet.WriterOption) func(io.Writer) rowWriter[TableRow] {
		return func(w io.Writer) rowWriter[TableRow] {
			return adapt(parquet.NewWriter(w, opts...), &layout)
		}
	}
	st := newSet(s, table, o, schema, nil, newWriter, func(r *TableRow) int64 { return r.ReportTime }, &tableSpillCodec)
	st.zeroTimeUnknown = true
	return &TableWriter{set: st, layout: &layout}, nil
}

// Write appends rows to partition, an escaped partition directory as Dir
// returns it (e.g. "report_date=2024-06-05"), or "" for none. The rows may
// be reused by the caller after Write returns.
func (w *TableWriter) Write(partition string, rows []TableRow) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.set.write(partition, rows)
}

// Close finishes every file and returns all files written, sorted by Path.
// On error the caller should Abort. Every builder must have been flushed.
func (w *TableWriter) Close() ([]File, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.set.close()
}

// Abort closes and deletes every file this writer created.
func (w *TableWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.set.abort()
}

// tableLayout places a TableRow's values in the schema's leaf order.
type tableLayout struct {
	cols                                                 []int // leaf of each data column
	n                                                    int
	reportTime, object, line, offset, loadID, ingestedAt int
	// src is what each leaf holds: a data column's index in Fields, or one
	// of the src* meta columns.
	src []int
}

// Meta columns in tableLayout.src.
const (
	srcReportTime = -1 - iota
	srcObject
	srcLine
	srcOffset
	srcLoadID
	srcIngestedAt
)

// tableRowWriter adapts a parquet.Writer of a table's dynamic schema to the
// rows of a set. It writes column by column: each column's values of the
// rows, straight to that column's writer. This is what
// (*parquet.Writer).WriteRows does once it has split its rows into columns
// (it too hands each column the values of at most 64 rows at a time, and
// a page ends only between such calls), so the files are the same, without
// assembling a parquet.Row per row first.
type tableRowWriter struct {
	w      *parquet.Writer
	rg     *parquet.ConcurrentRowGroupWriter // when set: rows go to this row group, not to w's own (TableBuilder)
	layout *tableLayout
	vals   []parquet.Value
}

func newTableRowWriter(w *parquet.Writer, l *tableLayout) rowWriter[TableRow] {
	return &tableRowWriter{w: w, layout: l}
}

func (t *tableRowWriter) Write(rows []TableRow) (int, error) {
	written := 0
	for len(rows) > 0 {
		n := min(len(rows), maxRowsPerColumnWrite)
		if err := t.write(rows[:n]); err != nil {
			return written, err
		}
		written += n
		rows = rows[n:]
	}
	return written, nil
}

// maxRowsPerColumnWrite is the most rows whose values go to a column
// writer at once: parquet-go's WriteRows works in slices of 64 rows too,
// and pages end between them.
const maxRowsPerColumnWrite = 64

func (t *tableRowWriter) write(rows []TableRow) error {
	if cap(t.vals) < len(rows) {
		t.vals = make([]parquet.Value, len(rows))
	}
	vals := t.vals[:len(rows)]
	var columns []*parquet.ColumnWriter
	if t.rg != nil {
		columns = t.rg.ColumnWriters()
	} else {
		columns = t.w.ColumnWriters()
	}
	for k, src := range t.layout.src {
		switch src {
		case srcReportTime:
			m, null := intValueAt(1, k), parquet.NullValue().Level(0, 0, k)
			for i := range rows {
				if rt := rows[i].ReportTime; rt != 0 {
					m.put(&vals[i], rt)
				} else {
					vals[i] = null
				}
			}
		case srcObject:
			m := textValue(0, k)
			for i := range rows {
				m.put(&vals[i], rows[i].Object)
			}
		case srcLine:
			m := intValue(k)
			for i := range rows {
				m.put(&vals[i], rows[i].Line)
			}
		case srcOffset:
			m := intValue(k)
			for i := range rows {
				m.put(&vals[i], rows[i].Offset)
			}
		case srcLoadID:
			m := textValue(0, k)
			for i := range rows {
				m.put(&vals[i], rows[i].LoadID)
			}
		case srcIngestedAt:
			m := intValue(k)
			for i := range rows {
				m.put(&vals[i], rows[i].IngestedAt)
			}
		default:
			text, null := textValue(1, k), parquet.NullValue().Level(0, 0, k)
			if !fastText {
				for i := range rows {
					if f := rows[i].Fields; src < len(f) {
						vals[i] = text.slow(f[src])
					} else {
						vals[i] = null
					}
				}
				break
			}
			for i := range rows {
				if f := rows[i].Fields; src < len(f) {
					text.putFast(&vals[i], f[src])
				} else {
					vals[i] = null
				}
			}
		}
		if _, err := columns[k].WriteRowValues(vals); err != nil {
			clear(vals)
			return err
		}
	}
	clear(vals) // drop the references to the caller's text
	return nil
}

func (t *tableRowWriter) Flush() error           { return t.w.Flush() }
func (t *tableRowWriter) Close() error           { return t.w.Close() }
func (t *tableRowWriter) Size() int64            { return t.w.Size() }
func (t *tableRowWriter) Reset(out io.Writer)    { t.w.Reset(out) }
func (t *tableRowWriter) File() parquet.FileView { return t.w.File() }

// intValue returns the maker of INT64 values of leaf column (definition
// and repetition level 0).
func intValue(column int) intMaker { return intValueAt(0, column) }

// intValueAt returns the maker of INT64 values of leaf column at
// definition level def (repetition level 0).
func intValueAt(def, column int) intMaker {
	m := intMaker{template: parquet.Int64Value(0).Level(0, def, column)}
	m.tail = (*valueWords)(unsafe.Pointer(&m.template)).tail
	return m
}

// intMaker makes INT64 values of one column: the value
// parquet.Int64Value(n).Level(0, def, column) would be, by setting the
// template's bits when fastText.
type intMaker struct {
	template parquet.Value
	tail     uint64 // the template's last word (see valueWords)
}

// put stores the value make(n) returns at v, a word at a time (see
// textMaker.putFast).
func (m *intMaker) put(v *parquet.Value, n int64) {
	if !fastText {
		*v = m.slow(n)
		return
	}
	w := (*valueWords)(unsafe.Pointer(v))
	w.ptr, w.u64, w.tail = nil, uint64(n), m.tail
}

func (m *intMaker) make(n int64) parquet.Value {
	if !fastText {
		return m.slow(n)
	}
	v := m.template
	(*valueLayout)(unsafe.Pointer(&v)).u64 = uint64(n)
	return v
}

//go:noinline
func (m *intMaker) slow(n int64) parquet.Value {
	return parquet.Int64Value(n).Level(0, int(m.template.DefinitionLevel()), m.template.Column())
}

// textValue returns the maker of BYTE_ARRAY values of leaf column at
// definition level def (repetition level 0).
func textValue(def, column int) textMaker {
	m := textMaker{template: parquet.ByteArrayValue(nil).Level(0, def, column)}
	m.tail = (*valueWords)(unsafe.Pointer(&m.template)).tail
	return m
}

// textMaker makes BYTE_ARRAY values of one column and level: the value
// parquet.ByteArrayValue(b).Level(0, def, column) would be. Value.Level is
// not inlined, and a CSV table has a value per row and column; when
// parquet.Value's layout is the one valueLayout mirrors (checked once
// against parquet-go's own constructors, see fastText), the maker only
// sets the template's data pointer and length.
type textMaker struct {
	template parquet.Value
	tail     uint64 // the template's last word (see valueWords)
}

func (m *textMaker) make(s string) parquet.Value {
	if !fastText {
		return m.slow(s)
	}
	return m.fast(s)
}

// fast sets the template's pointer and length; only when fastText.
func (m *textMaker) fast(s string) parquet.Value {
	v := m.template
	l := (*valueLayout)(unsafe.Pointer(&v))
	l.ptr, l.u64 = unsafe.StringData(s), uint64(len(s))
	return v
}

// put stores the value make(s) returns at v.
func (m *textMaker) put(v *parquet.Value, s string) {
	if !fastText {
		*v = m.slow(s)
		return
	}
	m.putFast(v, s)
}

// putFast stores the value fast(s) returns at v, a word at a time; only
// when fastText. (Assigning fast's result copies a value built in a
// temporary, whose words were just written one by one: the copy's wider
// loads wait for those stores, at every value.)
func (m *textMaker) putFast(v *parquet.Value, s string) {
	w := (*valueWords)(unsafe.Pointer(v))
	w.ptr, w.u64, w.tail = unsafe.StringData(s), uint64(len(s)), m.tail
}

//go:noinline
func (m *textMaker) slow(s string) parquet.Value {
	return parquet.ByteArrayValue(unsafeBytes(s)).Level(int(m.template.RepetitionLevel()), int(m.template.DefinitionLevel()), int(m.template.Column()))
}

// valueLayout is parquet.Value's layout in parquet-go v0.32 (value.go): a
// BYTE_ARRAY value points at its bytes and holds their length in u64; an
// INT64 value holds its bits in u64.
type valueLayout struct {
	ptr             *byte
	u64             uint64
	kind            int8
	definitionLevel byte
	repetitionLevel byte
	columnIndex     uint16
}

// valueWords is parquet.Value's layout as three words: the pointer, the
// bits, and the last word holding the kind, levels and column index (and
// padding), which a maker's template fixes.
type valueWords struct {
	ptr  *byte
	u64  uint64
	tail uint64
}

// fastText reports whether textMaker may set a value's pointer and length
// itself, and intMaker an INT64 value's bits: the values they make are
// those of parquet-go's constructors, field by field, for a few texts,
// integers, levels and columns.
var fastText = func() bool {
	if unsafe.Sizeof(parquet.Value{}) != unsafe.Sizeof(valueLayout{}) || unsafe.Sizeof(parquet.Value{}) != unsafe.Sizeof(valueWords{}) ||
		unsafe.Offsetof(valueLayout{}.kind) != unsafe.Offsetof(valueWords{}.tail) {
		return false
	}
	for _, n := range []int64{0, 1, -1, 1 << 62, -1 << 63} {
		for _, col := range []int{0, 5, 1000} {
			want := parquet.Int64Value(n).Level(0, 0, col)
			v := parquet.Int64Value(0).Level(0, 0, col)
			l := (*valueLayout)(unsafe.Pointer(&v))
			l.u64 = uint64(n)
			if *(*valueLayout)(unsafe.Pointer(&want)) != *l || !parquet.Equal(want, v) || v.Int64() != n || v.Column() != col {
				return false
			}
			var p parquet.Value
			m := intValue(col)
			(*valueWords)(unsafe.Pointer(&p)).ptr, (*valueWords)(unsafe.Pointer(&p)).u64, (*valueWords)(unsafe.Pointer(&p)).tail = nil, uint64(n), m.tail
			if *(*valueLayout)(unsafe.Pointer(&p)) != *l {
				return false
			}
		}
	}
	for _, s := range []string{"", "x", "some text", string(make([]byte, 1000))} {
		for _, lv := range [][3]int{{0, 0, 0}, {0, 1, 3}, {0, 1, 1000}, {0, 0, 77}} {
			want := parquet.ByteArrayValue(unsafeBytes(s)).Level(lv[0], lv[1], lv[2])
			v := parquet.ByteArrayValue(nil).Level(lv[0], lv[1], lv[2])
			l := (*valueLayout)(unsafe.Pointer(&v))
			l.ptr, l.u64 = unsafe.StringData(s), uint64(len(s))
			// Field by field (== on the mirrors skips their padding).
			if *(*valueLayout)(unsafe.Pointer(&want)) != *l || !parquet.Equal(want, v) || v.Column() != lv[2] || v.DefinitionLevel() != lv[1] ||
				string(v.ByteArray()) != s {
				return false
			}
			var p parquet.Value
			m := textValue(lv[1], lv[2])
			m.putFast(&p, s)
			if *(*valueLayout)(unsafe.Pointer(&p)) != *l {
				return false
			}
		}
	}
	return true
}()

// unsafeBytes returns s's bytes without copying; the writer copies the
// values it keeps, and never modifies them.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// WriteTable writes rows with the given data column names into one staged
// file of table under partition, an escaped partition directory as Dir
// returns it (e.g. "report_date=2024-06-05"). Column
// names must be unique and must not start with '_' (the caller renames).
func WriteTable(s *Stage, table, partition string, columns []string, rows []TableRow, o WriterOptions) (File, error) {
	w, err := NewTableWriter(s, table, columns, o)
	if err != nil {
		return File{}, err
	}
	if err := w.Write(partition, rows); err != nil {
		w.Abort()
		return File{}, err
	}
	files, err := w.Close()
	if err != nil {
		w.Abort()
		return File{}, err
	}
	if len(files) != 1 {
		w.Abort()
		return File{}, fmt.Errorf("partitions: table %s: %d rows made %d files, not one", table, len(rows), len(files))
	}
	return files[0], nil
}
