package partitions

import (
	"fmt"
	"os"

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

// WriteTable writes rows with the given data column names into one staged
// file of table under partition, an escaped partition directory as Dir
// returns it (e.g. "report_date=2024-06-05"). Column
// names must be unique and must not start with '_' (the caller renames).
func WriteTable(s *Stage, table, partition string, columns []string, rows []TableRow, o WriterOptions) (File, error) {
	o = o.withDefaults()
	group := parquet.Group{}
	for _, c := range columns {
		if _, dup := group[c]; dup || len(c) > 0 && c[0] == '_' {
			return File{}, fmt.Errorf("partitions: table %s: column %q is duplicated or reserved", table, c)
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
	rel := partition + "/" + s.NextName()
	if partition == "" {
		rel = s.NextName()
	}
	rel = table + "/" + rel
	f, _, err := s.create(rel)
	if err != nil {
		return File{}, err
	}
	fail := func(err error) (File, error) {
		f.Close()
		os.Remove(f.Name())
		return File{}, fmt.Errorf("partitions: writing %s: %w", rel, err)
	}
	out := &countingWriter{w: f}
	w := parquet.NewWriter(out, writerOptions(s, o, schema, nil)...)
	buf := make([]parquet.Row, 0, 256)
	n := len(columns) + len(tableMeta)
	for i := range rows {
		r := &rows[i]
		row := make(parquet.Row, n)
		for j, c := range columns {
			k := index[c]
			if j < len(r.Fields) {
				row[k] = parquet.ByteArrayValue([]byte(r.Fields[j])).Level(0, 1, k)
			} else {
				row[k] = parquet.NullValue().Level(0, 0, k)
			}
		}
		if r.ReportTime != 0 {
			row[index["_report_time"]] = parquet.Int64Value(r.ReportTime).Level(0, 1, index["_report_time"])
		} else {
			row[index["_report_time"]] = parquet.NullValue().Level(0, 0, index["_report_time"])
		}
		row[index["_object"]] = parquet.ByteArrayValue([]byte(r.Object)).Level(0, 0, index["_object"])
		row[index["_line"]] = parquet.Int64Value(r.Line).Level(0, 0, index["_line"])
		row[index["_offset"]] = parquet.Int64Value(r.Offset).Level(0, 0, index["_offset"])
		row[index["_load_id"]] = parquet.ByteArrayValue([]byte(r.LoadID)).Level(0, 0, index["_load_id"])
		row[index["_ingested_at"]] = parquet.Int64Value(r.IngestedAt).Level(0, 0, index["_ingested_at"])
		buf = append(buf, row)
		if len(buf) == cap(buf) || i == len(rows)-1 {
			if _, err := w.WriteRows(buf); err != nil {
				return fail(err)
			}
			buf = buf[:0]
		}
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return File{}, err
	}
	var min, max int64
	for i := range rows {
		if t := rows[i].ReportTime; t != 0 && (min == 0 || t < min) {
			min = t
		}
		if t := rows[i].ReportTime; t > max {
			max = t
		}
	}
	return File{Table: table, Partition: partition, Path: rel, Rows: int64(len(rows)), Bytes: out.n, MinTime: min, MaxTime: max,
		Checksum: formatChecksum(out.h.Sum64())}, nil
}
