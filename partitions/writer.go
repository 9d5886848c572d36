package partitions

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"

	"github.com/eventlake/eventlake/internal/native"
)

// File describes one finished staged file.
type File struct {
	Table     string // "events", "_rejects", or a CSV table name
	Partition string // relative partition dir, e.g. "domain=account/event_date=2024-01-02"
	Path      string // relative path of the file under the lake (and under the staging root), '/'-separated
	Rows      int64
	Bytes     int64
	// MinTime and MaxTime are the min/max event_time micros of the file's
	// rows (0 when the table has no event time, e.g. _rejects).
	MinTime, MaxTime int64
	// Checksum is the xxhash64 of the whole file ("xxh64:<16 hex digits>",
	// see FileChecksum), computed from the bytes as they were written.
	Checksum string
}

// WriterOptions configures a writer set (EventWriter, RejectWriter). Zero
// values select the defaults.
//
// Memory: each open file holds at most one row group in memory (its encoded,
// compressed pages plus one uncompressed page buffer per column), so a writer
// needs roughly MemoryBytes plus a small fixed cost per open file (page
// buffers), whatever the number of partitions or rows written.
type WriterOptions struct {
	// MaxOpenFiles is the number of files a writer keeps open (default 128).
	// When a row arrives for a partition that has no open file and the limit
	// is reached, the least-recently-used file is finished and a later row
	// for that partition starts a new part file — unless Spill is set.
	MaxOpenFiles int
	// Spill keeps one file per partition however many partitions a writer
	// sees: rows of a partition that finds MaxOpenFiles files open go to a
	// compact temporary run of that partition instead (spill.go), and Close
	// writes each spilled partition as one file. Only a writer whose rows
	// need no order across partitions sets it (the loader's sink); it is
	// ignored with SortingColumns.
	Spill bool
	// SpillBytes caps the spilled rows a writer buffers before compressing
	// and writing them to its run file (default 8 MiB).
	SpillBytes int64
	// RowGroupRows is the maximum number of rows per row group (default 65536).
	RowGroupRows int64
	// MaxFileRows rolls over to a new part file after this many rows
	// (default 4_000_000).
	MaxFileRows int64
	// MaxFileBytes, when positive, also rolls over to a new part file once
	// the current one reaches this size: bytes written plus the row group
	// being buffered, as parquet-go estimates it (checked every few dozen
	// rows, so a file ends within one small chunk of rows of the limit).
	// Zero means no byte limit. Compaction uses it for its target file size.
	MaxFileBytes int64
	// ZstdLevel is the zstd level of the pages, 1 (fastest, the default) to
	// MaxZstdLevel; values out of range are clamped. Without the system's
	// libzstd the pure-Go encoder uses the nearest of its four levels (see
	// zstdCodec).
	ZstdLevel int
	// RowGroupBytes caps the memory one open file buffers for its current
	// row group (encoded pages plus pending values, as estimated by
	// parquet-go); when reached, the row group is flushed early even if it
	// holds fewer than RowGroupRows rows. It protects memory against very
	// large rows. Default 16 MiB.
	RowGroupBytes int64
	// MemoryBytes caps what all open files of the set buffer together:
	// when the sum of their pending row groups passes it, the largest one is
	// flushed (the file stays open). Many partitions then cost smaller row
	// groups, not more files or more memory. Default 24 MiB.
	MemoryBytes int64
	// BloomColumns names columns that get a bloom filter in every row
	// group besides the table's own (event_id and cid for events); a CSV
	// table passes its key columns.
	BloomColumns []string
	// SortingColumns declares, in every row group's sorting_columns, that
	// the rows are in ascending order of these columns. Only a caller that
	// writes rows in that order may set it (compaction, by event_time),
	// and it must call EndRowGroups between runs that are not in order
	// with each other.
	SortingColumns []string
}

const (
	defaultMaxOpenFiles  = 128
	defaultMemoryBytes   = 24 << 20
	defaultRowGroupRows  = 65536
	defaultMaxFileRows   = 4_000_000
	defaultRowGroupBytes = 16 << 20

	// pageBufferSize is the uncompressed page size per column (parquet-go's
	// default). zstd compresses each page on its own: on the benchmark corpus
	// 256 KiB pages made 8 % smaller files than 128 KiB at the same speed.
	// parquet-go keeps buffers of about this size per column of every open
	// file; the loader can afford it since one writer owns each partition
	// (a load has one open file per partition, not one per worker).
	pageBufferSize = 256 << 10
	// dictionaryMaxBytes bounds each dictionary-encoded column's dictionary
	// per row group; past it the column falls back to PLAIN encoding, so a
	// high-cardinality "dict" column cannot grow memory unboundedly.
	dictionaryMaxBytes = 1 << 20
	// writeChunkRows is the largest slice handed to parquet-go at once, so
	// the row-group byte budget is checked at a fine granularity (parquet-go
	// itself works in slices of 64 rows, so this costs nothing).
	writeChunkRows = 64
	// maxRowGroups rolls a part file over after this many row groups.
	maxRowGroups = 64
	// bloomBitsPerValue sizes the split-block bloom filters: parquet-go
	// sizes each row group's filter from its number of values, at this
	// many bits per value (about 1 % false positives).
	bloomBitsPerValue = 10

	loadIDMetadataKey = "eventlake.load_id"
	modulePath        = "github.com/eventlake/eventlake"
)

func (o WriterOptions) withDefaults() WriterOptions {
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = defaultMaxOpenFiles
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = defaultRowGroupRows
	}
	if o.MaxFileRows <= 0 {
		o.MaxFileRows = defaultMaxFileRows
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = defaultRowGroupBytes
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = defaultMemoryBytes
	}
	if o.SpillBytes <= 0 {
		o.SpillBytes = defaultSpillBytes
	}
	o.ZstdLevel = min(max(o.ZstdLevel, 1), MaxZstdLevel)
	return o
}

// zstdCodec compresses pages with the system's libzstd when it is loaded
// (internal/native), at a real zstd level, and otherwise with the pure-Go
// klauspost encoder at the nearest of its four levels. Pages are always
// decoded by the pure-Go decoder.
type zstdCodec struct {
	level    int
	fallback *zstd.Codec
}

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error)    { return c.fallback.Decode(dst, src) }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	if native.HasZstd() {
		return native.ZstdCompress(dst, src, c.level)
	}
	return c.fallback.Encode(dst, src)
}

// MaxZstdLevel is the highest zstd level a writer accepts (zstd's 20–22
// "ultra" levels need hundreds of MB per encoder).
const MaxZstdLevel = 19

// The klauspost levels, shared by all writers: a codec pools its encoders.
var (
	goZstdFastest = &zstd.Codec{Level: zstd.SpeedFastest}
	goZstdDefault = &zstd.Codec{Level: zstd.SpeedDefault}
	goZstdBetter  = &zstd.Codec{Level: zstd.SpeedBetterCompression}
	goZstdBest    = &zstd.Codec{Level: zstd.SpeedBestCompression}
)

// zstdCodecs holds one codec per zstd level, 1 to MaxZstdLevel.
var zstdCodecs = func() (c [MaxZstdLevel + 1]*zstdCodec) {
	for l := 1; l <= MaxZstdLevel; l++ {
		fb := goZstdFastest // klauspost: fastest ≈ level 1, default ≈ 3, better ≈ 7–8, best ≈ 11+
		switch {
		case l >= 10:
			fb = goZstdBest
		case l >= 6:
			fb = goZstdBetter
		case l >= 3:
			fb = goZstdDefault
		}
		c[l] = &zstdCodec{level: l, fallback: fb}
	}
	return c
}()

var buildVersion = sync.OnceValues(func() (version, build string) {
	version, build = "devel", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	} else {
		for _, m := range bi.Deps {
			if m.Path == modulePath && m.Version != "" {
				version = m.Version
			}
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			build = s.Value[:min(len(s.Value), 12)]
		}
	}
	return
})

// writerOptions are the parquet-go options shared by every file of a set.
// schema is the table's schema (with bounded text columns, see
// bounds.go); bloom lists the columns that get bloom filters besides
// o.BloomColumns.
//
// Data pages are written in format version 1: every Parquet reader (older
// Hive, Athena and Spark included) supports it, while v2 pages are still
// mishandled by some.
func writerOptions(s *Stage, o WriterOptions, schema *parquet.Schema, bloom []string) []parquet.WriterOption {
	version, build := buildVersion()
	opts := []parquet.WriterOption{
		schema,
		parquet.Compression(zstdCodecs[o.ZstdLevel]),
		parquet.MaxRowsPerRowGroup(o.RowGroupRows),
		parquet.PageBufferSize(pageBufferSize),
		parquet.DictionaryMaxBytes(dictionaryMaxBytes),
		parquet.DataPageVersion(1),
		// Text columns that could be long report bounds already truncated
		// by their page (bounds.go); the others are short dictionary
		// values, kept exact. parquet-go's own truncation is off.
		parquet.ColumnIndexSizeLimit(func([]string) int { return 0 }),
		parquet.KeyValueMetadata(loadIDMetadataKey, s.LoadID()),
		parquet.CreatedBy("eventlake", version, build),
	}
	var filters []parquet.BloomFilterColumn
	for _, c := range slices.Concat(bloom, o.BloomColumns) {
		filters = append(filters, parquet.SplitBlockFilter(bloomBitsPerValue, c))
	}
	if len(filters) > 0 {
		opts = append(opts, parquet.BloomFilters(filters...))
	}
	if len(o.SortingColumns) > 0 {
		var cols []parquet.SortingColumn
		for _, c := range o.SortingColumns {
			cols = append(cols, parquet.Ascending(c))
		}
		opts = append(opts, parquet.SortingWriterConfig(parquet.SortingColumns(cols...)))
	}
	return opts
}

// rowWriter is the part of a parquet writer a set needs. It is satisfied by
// *parquet.GenericWriter[T] for struct rows, and can be adapted for rows of a
// dynamic parquet.Schema (e.g. CSV tables) by a small wrapper.
type rowWriter[T any] interface {
	Write(rows []T) (int, error)
	Flush() error
	Close() error
	Size() int64
	// Reset starts a new file on out after Close, keeping the writer's
	// buffers (see recycle).
	Reset(out io.Writer)
	// File is the file written so far (its footer after Close).
	File() parquet.FileView
}

// recycle prepares a closed writer for Reset. parquet-go's Reset clears in
// place the footer of the file just written, whose slices share arrays
// with the writer's own configuration: each column chunk's path_in_schema
// is the column's path, and every row group's sorting_columns is the
// writer's; cleared, the next file would name no column and sort by the
// first. The footer is written: dropping those references leaves the
// writer's arrays alone, so a reused writer writes the same file as a new
// one (TestReusedWriterWritesTheSameFile).
func recycle(f parquet.FileView) {
	if f == nil {
		return
	}
	md := f.Metadata()
	for i := range md.RowGroups {
		rg := &md.RowGroups[i]
		rg.SortingColumns = nil
		for j := range rg.Columns {
			m := &rg.Columns[j].MetaData
			m.PathInSchema, m.Encoding, m.KeyValueMetadata = nil, nil, nil
		}
	}
}

// structWriter returns a factory of parquet writers for struct rows of type T.
func structWriter[T any](opts []parquet.WriterOption) func(io.Writer) rowWriter[T] {
	return func(w io.Writer) rowWriter[T] { return parquet.NewGenericWriter[T](w, opts...) }
}

// set routes rows of type T to one Parquet part file per partition of one
// table, keeping at most MaxOpenFiles files open (least recently used is
// finished first, or, with Spill, further partitions are spilled and
// written at close) and rolling files over at MaxFileRows. It is the shared
// engine of EventWriter and RejectWriter and is independent of the row type
// and schema. Not safe for concurrent use.
type set[T any] struct {
	stage     *Stage
	table     string
	opts      WriterOptions
	newWriter func(io.Writer) rowWriter[T]
	// Writers with smaller page buffers, for spilled partitions known to
	// be small (see writerFor).
	writerOpts []parquet.WriterOption
	factory    func([]parquet.WriterOption) func(io.Writer) rowWriter[T]
	small      map[int]func(io.Writer) rowWriter[T]
	// idle keeps one closed writer per page buffer size for the next file
	// (nil: writers are not reused, see reusable).
	idle     map[int]rowWriter[T]
	reused   int            // files written by a reused writer (tests)
	sizeHint int64          // bytes of the partition being drained; 0: unknown
	timeOf   func(*T) int64 // nil: MinTime/MaxTime stay 0
	// zeroTimeUnknown: a time of 0 is no time (a CSV row whose object key
	// carries no report time), left out of MinTime/MaxTime.
	zeroTimeUnknown bool

	open       map[string]*part[T]
	head, tail *part[T] // LRU list of open parts, most recently used at head
	pending    int64    // bytes buffered by all open parts' current row groups
	done       []File
	orphans    []string // absolute paths of created files that are not valid (failed to finish)
	err        error    // sticky: first I/O or encoding error
	closed     bool
	spill      *spill[T] // nil: no spilling (see WriterOptions.Spill)
	draining   bool      // closing: spilled partitions are being written
}

// part is one open part file.
type part[T any] struct {
	partition string
	rel, abs  string
	f         *os.File
	out       countingWriter
	w         rowWriter[T]
	pageSize  int // page buffer size of w

	rows    int64 // rows in the file
	rgRows  int64 // rows in the current row group
	rgBase  int64 // w.Size() when the current row group started
	pending int64 // w.Size() - rgBase as last accounted in set.pending
	groups  int   // row groups flushed into the file
	times   timeSpan

	prev, next *part[T]
}

// countingWriter counts and hashes the bytes written to the file: the
// writer only appends, so they are the file's bytes and the checksum costs
// no second read.
type countingWriter struct {
	w io.Writer
	n int64
	h xxhash.Digest
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	_, _ = c.h.Write(b[:n]) // never fails
	return n, err
}

func newSet[T any](s *Stage, table string, o WriterOptions, schema *parquet.Schema, bloom []string, newWriter func([]parquet.WriterOption) func(io.Writer) rowWriter[T], timeOf func(*T) int64, codec *spillCodec[T]) *set[T] {
	o = o.withDefaults()
	wopts := writerOptions(s, o, schema, bloom)
	st := &set[T]{
		stage:      s,
		table:      table,
		opts:       o,
		newWriter:  newWriter(wopts),
		writerOpts: wopts,
		factory:    newWriter,
		timeOf:     timeOf,
		open:       make(map[string]*part[T]),
	}
	if o.Spill && codec != nil && len(o.SortingColumns) == 0 {
		st.spill = newSpill(s.Root(), o.SpillBytes, *codec)
	}
	// A finished file's writer, recycled and Reset, writes the next file
	// with the buffers it grew: a backfill writes thousands of small
	// files, and building a writer allocated more than encoding their
	// rows.
	st.idle = map[int]rowWriter[T]{}
	return st
}

func (s *set[T]) closedErr() error {
	return fmt.Errorf("partitions: %s writer for load %s is closed", s.table, s.stage.LoadID())
}

// write appends rows, all belonging to partition, to that partition's open
// part file (opening one if needed).
func (s *set[T]) write(partition string, rows []T) error {
	if s.closed {
		return s.closedErr()
	}
	if s.err != nil {
		return s.err
	}
	if s.spill != nil && !s.draining && s.open[partition] == nil &&
		(s.spill.has(partition) || len(s.open) >= s.opts.MaxOpenFiles) {
		if err := s.spill.add(partition, rows); err != nil {
			s.err = err
			return err
		}
		return nil
	}
	for len(rows) > 0 {
		p, err := s.acquire(partition)
		if err != nil {
			s.err = err
			return err
		}
		n := int(min(int64(len(rows)), s.opts.MaxFileRows-p.rows, s.opts.RowGroupRows-p.rgRows, writeChunkRows))
		chunk := rows[:n]
		if _, err := p.w.Write(chunk); err != nil {
			return s.fail(p, err)
		}
		s.addTimes(&p.times, chunk)
		p.rows += int64(n)
		p.rgRows += int64(n)
		s.account(p)
		if p.rgRows >= s.opts.RowGroupRows || p.pending >= s.opts.RowGroupBytes {
			if err := s.flush(p); err != nil {
				return err
			}
		}
		for s.pending > s.opts.MemoryBytes {
			big := s.largest()
			if big == nil || big.pending == 0 {
				break
			}
			if err := s.flush(big); err != nil {
				return err
			}
		}
		if p.w != nil && s.fileFull(p) {
			if err := s.finish(p); err != nil {
				return err
			}
		}
		rows = rows[n:]
	}
	return nil
}

// account updates the set's pending bytes with p's current row group.
func (s *set[T]) account(p *part[T]) {
	now := p.w.Size() - p.rgBase
	s.pending += now - p.pending
	p.pending = now
}

// flush writes p's current row group out. The file stays open unless it
// reached maxRowGroups: a writer keeps every row group's metadata until the
// file is closed, so files are rolled over rather than let that grow with
// the input.
func (s *set[T]) flush(p *part[T]) error {
	if err := p.w.Flush(); err != nil {
		return s.fail(p, err)
	}
	s.rowGroupOut(p)
	if p.groups++; p.groups >= maxRowGroups {
		return s.finish(p)
	}
	return nil
}

// rowGroupOut records that p's buffered rows went out as a row group: none
// are pending any more.
func (s *set[T]) rowGroupOut(p *part[T]) {
	p.rgRows = 0
	p.rgBase = p.w.Size()
	s.pending -= p.pending
	p.pending = 0
}

// fileFull reports whether p reached MaxFileRows or MaxFileBytes: its file
// is finished, and the partition's next rows start another.
func (s *set[T]) fileFull(p *part[T]) bool {
	return p.rows >= s.opts.MaxFileRows || (s.opts.MaxFileBytes > 0 && p.w.Size() >= s.opts.MaxFileBytes)
}

// timeSpan is the smallest and largest time of some rows (ok: any).
type timeSpan struct {
	min, max int64
	ok       bool
}

func (t *timeSpan) add(v int64) {
	if !t.ok {
		t.min, t.max, t.ok = v, v, true
		return
	}
	t.min, t.max = min(t.min, v), max(t.max, v)
}

func (t *timeSpan) merge(o timeSpan) {
	if o.ok {
		t.add(o.min)
		t.add(o.max)
	}
}

// addTimes adds the times of rows to span (with zeroTimeUnknown, a time of
// 0 is no time).
func (s *set[T]) addTimes(span *timeSpan, rows []T) {
	if s.timeOf == nil {
		return
	}
	for i := range rows {
		if t := s.timeOf(&rows[i]); t != 0 || !s.zeroTimeUnknown {
			span.add(t)
		}
	}
}

// endRowGroups writes out the current row group of every open part, so
// rows written later start new row groups.
func (s *set[T]) endRowGroups() error {
	if s.closed {
		return s.closedErr()
	}
	if s.err != nil {
		return s.err
	}
	for p := s.head; p != nil; {
		next := p.next // flush may finish p, unlinking it
		if p.rgRows > 0 {
			if err := s.flush(p); err != nil {
				return err
			}
		}
		p = next
	}
	return nil
}

// largest returns the open part buffering the most.
func (s *set[T]) largest() *part[T] {
	var best *part[T]
	for p := s.head; p != nil; p = p.next {
		if best == nil || p.pending > best.pending {
			best = p
		}
	}
	return best
}

// acquire returns the open part of partition, marking it most recently used,
// or opens a new one, finishing the least recently used part when
// MaxOpenFiles are open.
func (s *set[T]) acquire(partition string) (*part[T], error) {
	if p := s.open[partition]; p != nil {
		s.moveToFront(p)
		return p, nil
	}
	for len(s.open) >= s.opts.MaxOpenFiles && s.tail != nil {
		if err := s.finish(s.tail); err != nil {
			return nil, err
		}
	}
	rel := s.table + "/" + partition + "/" + s.stage.NextName()
	if partition == "" {
		rel = s.table + "/" + s.stage.NextName()
	}
	f, abs, err := s.stage.create(rel)
	if err != nil {
		return nil, err
	}
	p := &part[T]{partition: partition, rel: rel, abs: abs, f: f}
	p.out.w = f
	p.out.h.Reset()
	p.pageSize = s.pageSizeFor(s.sizeHint)
	if w := s.idle[p.pageSize]; w != nil {
		delete(s.idle, p.pageSize)
		w.Reset(&p.out)
		p.w = w
		s.reused++
	} else {
		p.w = s.writerFor(p.pageSize)(&p.out)
	}
	s.open[partition] = p
	s.pushFront(p)
	return p, nil
}

// minPageBuffer is the smallest page buffer of a writer of a small
// partition.
const minPageBuffer = 16 << 10

// pageSizeFor returns the page buffer size for a file that will hold about
// n bytes of rows (0: unknown). A partition of a few dozen rows — most of a
// backfill's — needs no 256 KiB page buffer per column: with a buffer of at
// least its size every column still fits one page, so the file is the same,
// while allocating (and collecting) it cost more than encoding the rows.
func (s *set[T]) pageSizeFor(n int64) int {
	if n <= 0 || n >= pageBufferSize {
		return pageBufferSize
	}
	size := minPageBuffer
	for int64(size) < n {
		size *= 2
	}
	return min(size, pageBufferSize)
}

// writerFor returns the writer factory of page buffer size (pageSizeFor).
func (s *set[T]) writerFor(size int) func(io.Writer) rowWriter[T] {
	if size >= pageBufferSize {
		return s.newWriter
	}
	if f := s.small[size]; f != nil {
		return f
	}
	if s.small == nil {
		s.small = map[int]func(io.Writer) rowWriter[T]{}
	}
	// Later options win: the page buffer size overrides the default.
	f := s.factory(append(slices.Clip(s.writerOpts), parquet.PageBufferSize(size)))
	s.small[size] = f
	return f
}

// finish completes p's Parquet footer, closes the file, and records it as
// done. The file is fsynced later, with all others, by Stage.Sync.
func (s *set[T]) finish(p *part[T]) error {
	s.unlink(p)
	s.pending -= p.pending
	p.pending = 0
	err := p.w.Close()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && s.idle != nil && s.idle[p.pageSize] == nil {
		// One idle writer per size is enough: a set finishes a file
		// before it opens the next once all MaxOpenFiles are open, and
		// drains spilled partitions one at a time.
		recycle(p.w.File())
		s.idle[p.pageSize] = p.w
	}
	p.w = nil
	if err != nil {
		s.orphans = append(s.orphans, p.abs)
		s.err = fmt.Errorf("partitions: finish %s: %w", p.rel, err)
		return s.err
	}
	s.stage.SyncLater(p.rel)
	s.done = append(s.done, File{
		Table:     s.table,
		Partition: p.partition,
		Path:      p.rel,
		Rows:      p.rows,
		Bytes:     p.out.n,
		MinTime:   p.times.min,
		MaxTime:   p.times.max,
		Checksum:  formatChecksum(p.out.h.Sum64()),
	})
	return nil
}

// fail records a write error on p: p's file can no longer be completed, so
// it is closed and kept only for Abort to delete. The error is sticky.
func (s *set[T]) fail(p *part[T], err error) error {
	s.discard(p)
	s.err = fmt.Errorf("partitions: write %s: %w", p.rel, err)
	return s.err
}

// discard closes p's file without completing it and remembers it as an
// orphan.
func (s *set[T]) discard(p *part[T]) {
	s.unlink(p)
	s.pending -= p.pending
	p.pending = 0
	_ = p.f.Close() // the file is invalid and will be deleted; its close error adds nothing
	p.w = nil
	s.orphans = append(s.orphans, p.abs)
}

// close finishes every open part and returns all files written, sorted by
// path. After an error the returned slice is nil and the caller should call
// abort to delete what was written.
func (s *set[T]) close() ([]File, error) {
	if s.closed {
		return nil, s.closedErr()
	}
	if s.err == nil {
		// Finish in path order so the outcome does not depend on LRU order.
		parts := make([]*part[T], 0, len(s.open))
		for _, p := range s.open {
			parts = append(parts, p)
		}
		slices.SortFunc(parts, func(a, b *part[T]) int { return cmp.Compare(a.rel, b.rel) })
		for _, p := range parts {
			if err := s.finish(p); err != nil {
				break
			}
		}
	}
	if s.err == nil && s.spill != nil {
		s.drain()
	}
	if s.spill != nil {
		s.spill.remove()
	}
	s.closed = true
	s.idle = nil
	if s.err != nil {
		for s.head != nil {
			s.discard(s.head)
		}
		return nil, s.err
	}
	files := slices.Clone(s.done)
	slices.SortFunc(files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	return files, nil
}

// drain writes each spilled partition, one after the other, as one file
// (rolled over only at MaxFileRows or MaxFileBytes). Errors are sticky in
// s.err.
func (s *set[T]) drain() {
	s.draining = true
	defer func() { s.sizeHint = 0 }()
	for _, partition := range s.spill.partitions() {
		s.sizeHint = s.spill.bytes(partition)
		err := s.spill.replay(partition, func(rows []T) error { return s.write(partition, rows) })
		if err == nil {
			if p := s.open[partition]; p != nil {
				err = s.finish(p)
			}
		}
		if err != nil {
			if s.err == nil {
				s.err = err
			}
			return
		}
	}
}

// abort closes every open file and deletes every file the set created.
func (s *set[T]) abort() {
	s.closed = true
	s.idle = nil
	if s.spill != nil {
		s.spill.remove()
	}
	for s.head != nil {
		s.discard(s.head)
	}
	paths := s.orphans
	for _, f := range s.done {
		paths = append(paths, s.stage.Staged(f.Path))
	}
	for _, p := range paths {
		// Removal is best effort: Abort has no error to report to, and the
		// caller removes the whole staging root afterwards anyway.
		_ = os.Remove(p)
	}
	s.done, s.orphans = nil, nil
	if s.err == nil {
		s.err = fmt.Errorf("partitions: %s writer for load %s was aborted", s.table, s.stage.LoadID())
	}
}

func (s *set[T]) pushFront(p *part[T]) {
	p.prev, p.next = nil, s.head
	if s.head != nil {
		s.head.prev = p
	}
	s.head = p
	if s.tail == nil {
		s.tail = p
	}
}

func (s *set[T]) moveToFront(p *part[T]) {
	if s.head == p {
		return
	}
	s.remove(p)
	s.pushFront(p)
}

// remove takes p out of the LRU list.
func (s *set[T]) remove(p *part[T]) {
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		s.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		s.tail = p.prev
	}
	p.prev, p.next = nil, nil
}

// unlink takes p out of the LRU list and the open map.
func (s *set[T]) unlink(p *part[T]) {
	s.remove(p)
	delete(s.open, p.partition)
}
