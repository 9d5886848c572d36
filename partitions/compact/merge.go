package compact

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// Merging one partition takes two passes over its files.
//
// Pass 1 reads only the columns that decide which row of an event_id wins
// (event_id, _ingested_at, _load_id, _object, _line) and keeps, per distinct
// event_id, the winner's rank and position (file, row). The rule is the
// events view's, schema.EventsDedup: latest _ingested_at, then latest
// _load_id, then smallest _object, then smallest _line. This map is the one structure that grows
// with the partition: about 100–150 bytes per distinct event_id (the id
// string plus a 40-byte entry in a Go map; _load_id and _object are
// interned). A partition of 10 million distinct events needs ~1.5 GB, so a
// daily partition of a busy stream fits on an ordinary machine.
//
// The map is then turned into one bit per row (which rows survive) and
// dropped, and pass 2 streams every column of the files in order, keeping
// only surviving rows. Rows are collected in a buffer bounded by
// SortBufferBytes, sorted by event_time and written; a partition that fits
// in one buffer is thus written fully sorted, which makes event_time
// filters prune row groups by their statistics. A larger partition is
// written as consecutive sorted runs (still better clustered than the input
// files). The writer rolls over to a new file at TargetBytes and bounds its
// row groups as partitions.WriterOptions does for loads.
//
// Rows keep every column value as stored, including the winner's _load_id
// and _ingested_at, so the events view answers exactly as before.

// readBatch is the number of rows read from a file at a time.
const readBatch = 256

// keyRow is the projection read by pass 1: event_id and the order columns
// of schema.EventsDedup (a test checks). Reading a subset of the file's
// columns makes parquet-go decode only those column chunks.
type keyRow struct {
	EventID    string `parquet:"event_id"`
	Object     string `parquet:"_object,dict"`
	Line       int64  `parquet:"_line"`
	LoadID     string `parquet:"_load_id,dict"`
	IngestedAt int64  `parquet:"_ingested_at,timestamp(microsecond:utc)"`
}

// idRow is the projection read by the duplicate check.
type idRow struct {
	EventID string `parquet:"event_id"`
}

// eventColumns are the names of the events file columns (partitions.EventRow
// writes exactly these).
var eventColumns = func() map[string]bool {
	m := make(map[string]bool)
	for _, c := range schema.EventColumns {
		m[c.Name] = true
	}
	return m
}()

// winner is the best row seen so far for one event_id.
type winner struct {
	ingested int64
	line     int64
	row      int64 // row index within its file
	file     int32 // index into the partition's files
	load     int32 // interned _load_id
	object   int32 // interned _object
}

// interner maps the few distinct _load_id and _object strings of a
// partition to small integers, so the winner map does not hold a string
// header per entry for them.
type interner struct {
	ids  map[string]int32
	strs []string
}

func (in *interner) id(s string) (int32, error) {
	if id, ok := in.ids[s]; ok {
		return id, nil
	}
	if len(in.strs) >= math.MaxInt32 {
		return 0, errors.New("too many distinct _load_id/_object values")
	}
	id := int32(len(in.strs))
	in.ids[s] = id
	in.strs = append(in.strs, s)
	return id, nil
}

// beats reports whether a wins over b under the events view's order
// (schema.EventsDedup).
func (in *interner) beats(a, b *winner) bool {
	ra := schema.EventRank{IngestedAt: a.ingested, LoadID: in.strs[a.load], Object: in.strs[a.object], Line: a.line}
	rb := schema.EventRank{IngestedAt: b.ingested, LoadID: in.strs[b.load], Object: in.strs[b.object], Line: b.line}
	return schema.CompareEvents(&ra, &rb) < 0
}

// merged is the outcome of one partition.
type merged struct {
	Partition
	files []partitions.File
}

// mergePartition writes the de-duplicated rows of c into new staged files.
// Rows whose (_object, _load_id) is in drop (superseded by a reprocess or a
// forget) take no part: they are neither winners nor written.
func mergePartition(ctx context.Context, o Options, stage *partitions.Stage, c candidate, drop map[catalog.ObjectLoad]bool) (merged, error) {
	res := merged{Partition: Partition{Partition: c.partition, Reason: c.reason, FilesBefore: len(c.files)}}
	domain, date, err := parsePartition(c.partition)
	if err != nil {
		return res, err
	}
	if len(c.files) > math.MaxInt32 {
		return res, fmt.Errorf("%d files: too many for one partition", len(c.files))
	}

	// Pass 1: pick the winner of every event_id.
	var hint int64
	for _, f := range c.files {
		res.BytesBefore += f.Bytes
		hint += f.Rows
	}
	wins := make(map[string]winner, min(hint, 1<<24))
	in := &interner{ids: make(map[string]int32)}
	rows := make([]int64, len(c.files)) // rows per file
	for fi, f := range c.files {
		n, err := withFile(o.root, f, func(pf *parquet.File) (int64, error) {
			n, dropped, err := scanKeys(ctx, pf, int32(fi), wins, in, drop)
			res.Superseded += dropped
			return n, err
		})
		if err != nil {
			return res, readError(ctx, f.Path, err)
		}
		rows[fi] = n
		res.RowsBefore += n
	}

	// Keep one bit per row instead of the map.
	keep := make([][]uint64, len(c.files))
	for fi, n := range rows {
		keep[fi] = make([]uint64, (n+63)/64)
	}
	for _, w := range wins {
		keep[w.file][w.row/64] |= 1 << (w.row % 64)
	}
	// wins is not used past this point, so the garbage collector can free
	// it while pass 2 allocates rows.
	survivors := int64(len(wins))

	// Pass 2: stream the survivors into the writer.
	// Every row group lies within one sorted run (sortBuffer.flush ends
	// the row group), so each declares event_time in sorting_columns.
	w := partitions.NewEventWriter(stage, partitions.WriterOptions{MaxOpenFiles: 1, MaxFileBytes: o.TargetBytes, ZstdLevel: o.ZstdLevel,
		SortingColumns: []string{"event_time"}})
	sb := &sortBuffer{limit: o.SortBufferBytes, w: w}
	day := dayChecker{date: date}
	for fi, f := range c.files {
		_, err := withFile(o.root, f, func(pf *parquet.File) (int64, error) {
			return 0, copyRows(ctx, pf, rows[fi], keep[fi], domain, &day, sb)
		})
		if err != nil {
			w.Abort()
			return res, err
		}
		keep[fi] = nil
	}
	if err := sb.flush(); err != nil {
		w.Abort()
		return res, err
	}
	files, err := w.Close()
	if err != nil {
		w.Abort()
		return res, err
	}
	var written int64
	for _, f := range files {
		if f.Partition != c.partition {
			w.Abort()
			return res, fmt.Errorf("rows would be written to partition %s, not %s (escaping differs from the existing directory)", f.Partition, c.partition)
		}
		written += f.Rows
		res.BytesAfter += f.Bytes
	}
	if written != survivors {
		// Only possible if a file changed between the passes, which the
		// lake lock rules out for eventlake's own writers.
		w.Abort()
		return res, fmt.Errorf("wrote %d rows but pass 1 found %d distinct event_ids (did a file change during compaction?)", written, survivors)
	}
	res.files = files
	res.FilesAfter = len(files)
	res.RowsAfter = written
	res.Duplicates = res.RowsBefore - res.Superseded - written
	res.Sorted = sb.flushes <= 1
	return res, nil
}

// withFile opens a live file of the lake as Parquet, checks that its columns
// are events columns, and runs fn. Errors (including a panic of the Parquet
// library on a corrupt file) name the file.
func withFile(lake string, f catalog.LiveFile, fn func(*parquet.File) (int64, error)) (n int64, err error) {
	osf, err := os.Open(filepath.Join(lake, filepath.FromSlash(f.Path)))
	if err != nil {
		return 0, openError(f.Path, err)
	}
	defer osf.Close()
	st, err := osf.Stat()
	if err != nil {
		return 0, openError(f.Path, err)
	}
	defer func() {
		// parquet-go panics on some malformed inputs instead of returning
		// an error; a damaged file must fail the compaction, not crash it.
		if r := recover(); r != nil {
			err = &fileError{DamagedFile: DamagedFile{Path: f.Path, Problem: partitions.ProblemUnreadable, Detail: fmt.Sprintf("unreadable Parquet: %v", r)}}
		}
	}()
	pf, err := parquet.OpenFile(osf, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, &fileError{DamagedFile: DamagedFile{Path: f.Path, Problem: partitions.ProblemFooter, Detail: "the Parquet footer does not parse: " + err.Error()}, err: err}
	}
	for _, path := range pf.Schema().Columns() {
		// Rewriting a file with a column EventRow does not know would
		// silently drop that column's data.
		if len(path) != 1 || !eventColumns[path[0]] {
			return 0, fmt.Errorf("file %s has column %q, which is not an events column: refusing to rewrite it", f.Path, path)
		}
	}
	n, err = fn(pf)
	if err != nil {
		return n, fmt.Errorf("file %s: %w", f.Path, err)
	}
	return n, nil
}

// readError classifies an error of a pass that only reads a file: unless
// the context ended, the file cannot be read as written (a fileError).
func readError(ctx context.Context, rel string, err error) error {
	var fe *fileError
	if ctx.Err() != nil || errors.As(err, &fe) {
		return err
	}
	return &fileError{DamagedFile: DamagedFile{Path: rel, Problem: partitions.ProblemUnreadable, Detail: err.Error()}, err: err}
}

// scanKeys is pass 1 over one file: it updates wins (skipping the rows of
// the pairs in drop) and returns the file's row count and the rows skipped.
func scanKeys(ctx context.Context, pf *parquet.File, fi int32, wins map[string]winner, in *interner, drop map[catalog.ObjectLoad]bool) (int64, int64, error) {
	r := parquet.NewGenericReader[keyRow](pf)
	defer r.Close()
	buf := make([]keyRow, readBatch)
	var row, dropped int64
	for {
		if err := ctx.Err(); err != nil {
			return row, dropped, err
		}
		n, err := r.Read(buf)
		for i := range buf[:n] {
			k := &buf[i]
			if len(drop) > 0 && drop[catalog.ObjectLoad{Object: k.Object, LoadID: k.LoadID}] {
				dropped++
				row++
				continue
			}
			load, lerr := in.id(k.LoadID)
			obj, oerr := in.id(k.Object)
			if lerr != nil || oerr != nil {
				return row, dropped, errors.Join(lerr, oerr)
			}
			cand := winner{ingested: k.IngestedAt, line: k.Line, row: row, file: fi, load: load, object: obj}
			if cur, ok := wins[k.EventID]; !ok || in.beats(&cand, &cur) {
				wins[k.EventID] = cand
			}
			row++
		}
		if errors.Is(err, io.EOF) {
			return row, dropped, nil
		}
		if err != nil {
			return row, dropped, fmt.Errorf("row %d: %w", row, err)
		}
	}
}

// hasDuplicates reports whether an event_id occurs twice among the files,
// reading only the event_id column and stopping at the first repeat.
func hasDuplicates(ctx context.Context, lake string, files []catalog.LiveFile) (bool, error) {
	var hint int64
	for _, f := range files {
		hint += f.Rows
	}
	seen := make(map[string]struct{}, min(hint, 1<<24))
	for _, f := range files {
		dup := false
		_, err := withFile(lake, f, func(pf *parquet.File) (int64, error) {
			r := parquet.NewGenericReader[idRow](pf)
			defer r.Close()
			buf := make([]idRow, readBatch)
			for {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
				n, err := r.Read(buf)
				for _, k := range buf[:n] {
					if _, ok := seen[k.EventID]; ok {
						dup = true
						return 0, nil
					}
					seen[k.EventID] = struct{}{}
				}
				if errors.Is(err, io.EOF) {
					return 0, nil
				}
				if err != nil {
					return 0, err
				}
			}
		})
		if err != nil {
			return false, readError(ctx, f.Path, err)
		}
		if dup {
			return true, nil
		}
	}
	return false, nil
}

// dayChecker verifies that every row belongs to the partition's event_date:
// the writer routes rows by event_time, so a row of another day (a file
// moved by hand, say) would otherwise land in another partition and break
// the de-duplication, which is per partition.
type dayChecker struct {
	date string
	day  int64
	set  bool
}

const microsPerDay = 86_400_000_000

func (d *dayChecker) check(micros int64) error {
	day := micros / microsPerDay
	if micros%microsPerDay < 0 {
		day--
	}
	if d.set {
		if day == d.day {
			return nil
		}
	} else if partitions.EventDate(micros) == d.date {
		d.day, d.set = day, true
		return nil
	}
	return fmt.Errorf("event_time on %s does not belong to partition event_date=%s", partitions.EventDate(micros), d.date)
}

// copyRows is pass 2 over one file of n rows: it adds the rows whose bit is
// set in keep to the sort buffer.
func copyRows(ctx context.Context, pf *parquet.File, n int64, keep []uint64, domain string, day *dayChecker, sb *sortBuffer) error {
	r := parquet.NewGenericReader[partitions.EventRow](pf)
	defer r.Close()
	var row int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A fresh batch each time: the sort buffer keeps the rows.
		buf := make([]partitions.EventRow, readBatch)
		got, err := r.Read(buf)
		for i := range buf[:got] {
			if row >= n {
				return fmt.Errorf("the file has more rows than the %d of the first pass (did it change during compaction?)", n)
			}
			if keep[row/64]&(1<<(row%64)) != 0 {
				e := &buf[i]
				if derr := day.check(e.EventTime); derr != nil {
					return fmt.Errorf("row %d (event_id %q): %w", row, e.EventID, derr)
				}
				e.Domain = domain
				if ferr := sb.add(e); ferr != nil {
					return ferr
				}
			}
			row++
		}
		if errors.Is(err, io.EOF) {
			if row != n {
				return fmt.Errorf("the file has %d rows, not the %d of the first pass (did it change during compaction?)", row, n)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("row %d: %w", row, err)
		}
	}
}

// rowOverhead estimates the memory of one buffered row beyond its string
// bytes: the struct plus the three small pointer targets.
const rowOverhead = int64(unsafe.Sizeof(partitions.EventRow{})) + 3*16

// sortBuffer collects rows up to a memory limit, then writes them sorted by
// event_time (stable, so equal times keep file order).
type sortBuffer struct {
	limit   int64
	w       *partitions.EventWriter
	rows    []partitions.EventRow
	bytes   int64
	flushes int
}

func (b *sortBuffer) add(e *partitions.EventRow) error {
	b.rows = append(b.rows, *e)
	b.bytes += rowOverhead + int64(len(e.EventID)+len(e.EventType)+len(e.Data)+len(e.Object)+len(e.LoadID))
	if e.OrgID != nil {
		b.bytes += int64(len(*e.OrgID))
	}
	if e.CID != nil {
		b.bytes += int64(len(*e.CID))
	}
	if b.bytes >= b.limit {
		return b.flush()
	}
	return nil
}

// flush sorts and writes the buffered rows, then ends the row group, so
// no row group mixes two runs and every one is in event_time order. It
// counts every flush that wrote rows, so a single flush means the whole
// partition is sorted.
func (b *sortBuffer) flush() error {
	if len(b.rows) == 0 {
		return nil
	}
	slices.SortStableFunc(b.rows, func(x, y partitions.EventRow) int { return cmp.Compare(x.EventTime, y.EventTime) })
	if err := b.w.Write(b.rows); err != nil {
		return err
	}
	if err := b.w.EndRowGroups(); err != nil {
		return err
	}
	b.flushes++
	clear(b.rows) // drop references so the strings can be collected
	b.rows = b.rows[:0]
	b.bytes = 0
	return nil
}
