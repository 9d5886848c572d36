package icetable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
)

// partitionValues reads a file's partition values from its catalog
// partition ("domain=<escaped>/event_date=YYYY-MM-DD") and time range: the
// domain unescaped (nil for the default partition), the day of event_time.
func partitionValues(f catalog.FileRecord) (map[int]any, error) {
	var domain any
	found := false
	for _, kv := range strings.Split(f.Partition, "/") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k != "domain" {
			continue
		}
		d, err := partitions.Unescape(v)
		if err != nil {
			return nil, fmt.Errorf("icetable: file %s: partition %q: %w", f.Path, f.Partition, err)
		}
		if d != "" {
			domain = d
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("icetable: file %s: partition %q has no domain", f.Path, f.Partition)
	}
	day := partitions.EventDay(f.MinTime)
	if f.Rows > 0 && partitions.EventDay(f.MaxTime) != day {
		return nil, fmt.Errorf("icetable: file %s spans more than one day of event_time", f.Path)
	}
	return map[int]any{partDomain: domain, partEventDay: iceberg.Date(day)}, nil
}

// rejectPartition reads a _rejects file's load date from its catalog
// partition ("load_date=YYYY-MM-DD").
func rejectPartition(f catalog.FileRecord) (map[int]any, error) {
	v, ok := strings.CutPrefix(f.Partition, "load_date=")
	if !ok {
		return nil, fmt.Errorf("icetable: file %s: partition %q is not load_date=…", f.Path, f.Partition)
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return nil, fmt.Errorf("icetable: file %s: partition %q: %w", f.Path, f.Partition, err)
	}
	return map[int]any{partLoadDate: iceberg.Date(d.Unix() / 86400)}, nil
}

// dataFile describes one lake file to Iceberg: its path (abs), partition,
// row count and size from the catalog, and per-column sizes, value and
// null counts and bounds from its Parquet footer (the writer's own
// statistics; bounds are those of the column chunks, already valid when
// truncated).
func dataFile(k *kind, spec iceberg.PartitionSpec, f catalog.FileRecord, abs string, fsys iceio.IO) (iceberg.DataFile, error) {
	part, err := k.partition(f)
	if err != nil {
		return nil, err
	}
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, abs, iceberg.ParquetFile, part, nil, nil, f.Rows, f.Bytes)
	if err != nil {
		return nil, fmt.Errorf("icetable: file %s: %w", f.Path, err)
	}
	st, err := footerStats(fsys, abs, f.Bytes, k.columns)
	if err != nil {
		return nil, fmt.Errorf("icetable: file %s: %w", f.Path, err)
	}
	if st.rows != f.Rows {
		return nil, fmt.Errorf("icetable: file %s holds %d rows, the catalog says %d", f.Path, st.rows, f.Rows)
	}
	b.ColumnSizes(st.sizes).ValueCounts(st.values).NullValueCounts(st.nulls).
		LowerBoundValues(st.lower).UpperBoundValues(st.upper)
	if len(st.splits) > 0 {
		b.SplitOffsets(st.splits)
	}
	return b.Build(), nil
}

type stats struct {
	rows                 int64
	sizes, values, nulls map[int]int64
	lower, upper         map[int][]byte
	splits               []int64
}

// footerStats reads a Parquet file's footer and merges its column chunks'
// statistics per field id. A column with a chunk lacking min/max gets no
// bounds.
func footerStats(fsys iceio.IO, path string, size int64, columns map[string]column) (*stats, error) {
	var fh iceio.File
	var err error
	if b, ok := fsys.(bucketIO); ok {
		fh, err = b.openSized(path, size) // the catalog's size: no request for it
	} else {
		fh, err = fsys.Open(path)
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(fh, fi.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	md := pf.Metadata()
	st := &stats{rows: md.NumRows, sizes: map[int]int64{}, values: map[int]int64{}, nulls: map[int]int64{},
		lower: map[int][]byte{}, upper: map[int][]byte{}}
	noBounds := map[int]bool{}
	for _, rg := range md.RowGroups {
		for i, cc := range rg.Columns {
			cm := cc.MetaData
			if i == 0 {
				off := cm.DataPageOffset
				if cm.DictionaryPageOffset > 0 && cm.DictionaryPageOffset < off {
					off = cm.DictionaryPageOffset
				}
				st.splits = append(st.splits, off)
			}
			col, ok := columns[strings.Join(cm.PathInSchema, ".")]
			if !ok {
				continue
			}
			id := col.id
			st.sizes[id] += cm.TotalCompressedSize
			st.values[id] += cm.NumValues
			st.nulls[id] += cm.Statistics.NullCount
			if !col.bounds || noBounds[id] {
				continue
			}
			lo, hi := cm.Statistics.MinValue, cm.Statistics.MaxValue
			if lo == nil || hi == nil {
				if cm.NumValues > cm.Statistics.NullCount {
					noBounds[id] = true
					delete(st.lower, id)
					delete(st.upper, id)
				}
				continue
			}
			less := lessFunc(cm.Type)
			if less == nil {
				noBounds[id] = true
				continue
			}
			if cur, ok := st.lower[id]; !ok || less(lo, cur) {
				st.lower[id] = bytes.Clone(lo)
			}
			if cur, ok := st.upper[id]; !ok || less(cur, hi) {
				st.upper[id] = bytes.Clone(hi)
			}
		}
	}
	return st, nil
}

// lessFunc orders plain-encoded statistics values of a physical type; the
// encodings (little-endian int32/int64, UTF-8 bytes) are also Iceberg's
// single-value serialization of int, long, timestamptz and string.
func lessFunc(t format.Type) func(a, b []byte) bool {
	switch t {
	case format.Int32:
		return func(a, b []byte) bool {
			return int32(binary.LittleEndian.Uint32(a)) < int32(binary.LittleEndian.Uint32(b))
		}
	case format.Int64:
		return func(a, b []byte) bool {
			return int64(binary.LittleEndian.Uint64(a)) < int64(binary.LittleEndian.Uint64(b))
		}
	case format.ByteArray:
		return func(a, b []byte) bool { return bytes.Compare(a, b) < 0 }
	}
	return nil
}
