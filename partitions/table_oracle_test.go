package partitions

import (
	"io"

	"github.com/parquet-go/parquet-go"
)

// rowMajorTableWriter is the former tableRowWriter, kept as the oracle of
// the column-major one: it assembles each TableRow into a parquet.Row in
// the schema's leaf order and hands the rows to (*parquet.Writer).WriteRows.
type rowMajorTableWriter struct {
	w      *parquet.Writer
	layout *tableLayout
	buf    []parquet.Row
}

func newRowMajorTableWriter(w *parquet.Writer, l *tableLayout) rowWriter[TableRow] {
	return &rowMajorTableWriter{w: w, layout: l}
}

func (t *rowMajorTableWriter) Write(rows []TableRow) (int, error) {
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
		clear(buf[i])
	}
	return n, err
}

func (t *rowMajorTableWriter) Flush() error           { return t.w.Flush() }
func (t *rowMajorTableWriter) Close() error           { return t.w.Close() }
func (t *rowMajorTableWriter) Size() int64            { return t.w.Size() }
func (t *rowMajorTableWriter) Reset(out io.Writer)    { t.w.Reset(out) }
func (t *rowMajorTableWriter) File() parquet.FileView { return t.w.File() }
