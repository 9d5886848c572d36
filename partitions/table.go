package partitions

import (
	"fmt"
	"io"
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
// a load (see set: with WriterOptions.Spill, however many partitions). Not
// safe for concurrent use.
type TableWriter struct {
	set *set[TableRow]
}

// NewTableWriter returns a writer of table's files with the given data
// column names staging into s. Column names must be unique and must not
// start with '_' (the caller renames).
func NewTableWriter(s *Stage, table string, columns []string, o WriterOptions) (*TableWriter, error) {
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
	newWriter := func(opts []parquet.WriterOption) func(io.Writer) rowWriter[TableRow] {
		return func(w io.Writer) rowWriter[TableRow] {
			return &tableRowWriter{w: parquet.NewWriter(w, opts...), layout: &layout}
		}
	}
	st := newSet(s, table, o, schema, nil, newWriter, func(r *TableRow) int64 { return r.ReportTime }, &tableSpillCodec)
	st.zeroTimeUnknown = true
	return &TableWriter{set: st}, nil
}

// Write appends rows to partition, an escaped partition directory as Dir
// returns it (e.g. "report_date=2024-06-05"), or "" for none. The rows may
// be reused by the caller after Write returns.
func (w *TableWriter) Write(partition string, rows []TableRow) error {
	return w.set.write(partition, rows)
}

// Close finishes every file and returns all files written, sorted by Path.
// On error the caller should Abort.
func (w *TableWriter) Close() ([]File, error) { return w.set.close() }

// Abort closes and deletes every file this writer created.
func (w *TableWriter) Abort() { w.set.abort() }

// tableLayout places a TableRow's values in the schema's leaf order.
type tableLayout struct {
	cols                                                 []int // leaf of each data column
	n                                                    int
	reportTime, object, line, offset, loadID, ingestedAt int
}

// tableRowWriter adapts a parquet.Writer of a table's dynamic schema to the
// rows of a set.
type tableRowWriter struct {
	w      *parquet.Writer
	layout *tableLayout
	buf    []parquet.Row
}

func (t *tableRowWriter) Write(rows []TableRow) (int, error) {
	l := t.layout
	if cap(t.buf) < len(rows) {
		t.buf = make([]parquet.Row, 0, len(rows))
	}
	buf := t.buf[:len(rows)]
	for i := range rows {
		r := &rows[i]
		row := buf[i]
		if cap(row) < l.n {
			row = make(parquet.Row, l.n)
		}
		row = row[:l.n]
		for j, k := range l.cols {
			if j < len(r.Fields) {
				row[k] = parquet.ByteArrayValue(unsafeBytes(r.Fields[j])).Level(0, 1, k)
			} else {
				row[k] = parquet.NullValue().Level(0, 0, k)
			}
		}
		if r.ReportTime != 0 {
			row[l.reportTime] = parquet.Int64Value(r.ReportTime).Level(0, 1, l.reportTime)
		} else {
			row[l.reportTime] = parquet.NullValue().Level(0, 0, l.reportTime)
		}
		row[l.object] = parquet.ByteArrayValue(unsafeBytes(r.Object)).Level(0, 0, l.object)
		row[l.line] = parquet.Int64Value(r.Line).Level(0, 0, l.line)
		row[l.offset] = parquet.Int64Value(r.Offset).Level(0, 0, l.offset)
		row[l.loadID] = parquet.ByteArrayValue(unsafeBytes(r.LoadID)).Level(0, 0, l.loadID)
		row[l.ingestedAt] = parquet.Int64Value(r.IngestedAt).Level(0, 0, l.ingestedAt)
		buf[i] = row
	}
	n, err := t.w.WriteRows(buf)
	for i := range buf {
		clear(buf[i]) // drop the references to the caller's text
	}
	return n, err
}

func (t *tableRowWriter) Flush() error           { return t.w.Flush() }
func (t *tableRowWriter) Close() error           { return t.w.Close() }
func (t *tableRowWriter) Size() int64            { return t.w.Size() }
func (t *tableRowWriter) Reset(out io.Writer)    { t.w.Reset(out) }
func (t *tableRowWriter) File() parquet.FileView { return t.w.File() }

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
