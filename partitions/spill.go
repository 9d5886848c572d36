package partitions

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"unsafe"

	"github.com/klauspost/compress/s2"
)

// Spilled partitions.
//
// A set keeps at most MaxOpenFiles Parquet files open: each open file holds
// a row group and a page buffer per column. Without spilling, a row of one
// more partition finishes the least recently used file, and a later row of
// that partition starts another file, so a load over thousands of
// partitions (a backfill over years of days) made several small files per
// partition. With WriterOptions.Spill, rows of partitions that find no open
// file are appended instead to a run of their own in a temporary file of the
// stage: encoded compactly (spillCodec), in s2-compressed blocks, one chain
// of blocks per partition. When the set closes, each spilled partition is
// read back and written as one Parquet file (or more only past MaxFileRows
// or MaxFileBytes). Memory stays bounded by SpillBytes of buffered runs plus
// the open files, whatever the number of partitions; the temporary file is
// never published and goes with the staging folder on abort.

// spillCodec encodes one row into a spill run and decodes it back. Decoded
// strings may alias the block they were read from: the block stays
// untouched until the decoded rows are written.
type spillCodec[T any] struct {
	encode func(dst []byte, r *T) []byte
	// decode reads one row from the start of src and returns the rest.
	decode func(src []byte, r *T) ([]byte, error)
}

const (
	// defaultSpillBytes is how much a set buffers of encoded, not yet
	// compressed spill runs before writing the largest out.
	defaultSpillBytes = 8 << 20
	// spillBlockBytes is the size at which a partition's run is compressed
	// and written as one block.
	spillBlockBytes = 128 << 10
)

var errSpillCorrupt = errors.New("partitions: spill run is corrupt")

// spillBlock is one compressed block of a partition's run in the file.
type spillBlock struct {
	off int64
	n   int
}

// spillRun is one partition's spilled rows.
type spillRun struct {
	buf    []byte // encoded rows not yet written out
	blocks []spillBlock
	rows   int64
	bytes  int64 // encoded bytes of all its rows
}

// spill is a set's temporary run file and the runs of its partitions.
type spill[T any] struct {
	codec    spillCodec[T]
	dir      string
	limit    int64
	f        *os.File
	w        *bufio.Writer
	off      int64
	runs     map[string]*spillRun
	buffered int64
	zbuf     []byte
	row      []byte // one encoded row, before it is appended to its run
	raw      []byte // decompressed block being replayed
	// free holds emptied run buffers by capacity (powers of two), at most
	// limit/2 bytes of them: appending thousands of runs' rows to buffers
	// grown from nothing allocated (and collected) several times the
	// spilled bytes.
	free      map[int][][]byte
	freeBytes int64
}

// minSpillBuf is the capacity of a run's first buffer.
const minSpillBuf = 1 << 10

// grow returns b with room for n more bytes: b itself, or its bytes moved to
// a buffer of the next power-of-two capacity (a free one when there is),
// giving b back.
func (sp *spill[T]) grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	c := minSpillBuf
	for c < len(b)+n {
		c <<= 1
	}
	var nb []byte
	if l := sp.free[c]; len(l) > 0 {
		nb = l[len(l)-1][:0]
		l[len(l)-1] = nil
		sp.free[c] = l[:len(l)-1]
		sp.freeBytes -= int64(c)
	} else {
		nb = make([]byte, 0, c)
	}
	nb = append(nb, b...)
	sp.give(b)
	return nb
}

// give keeps an emptied buffer for grow, unless it is not one of grow's or
// limit/2 bytes are kept already.
func (sp *spill[T]) give(b []byte) {
	c := cap(b)
	if c < minSpillBuf || c&(c-1) != 0 || sp.freeBytes+int64(c) > sp.limit/2 {
		return
	}
	if sp.free == nil {
		sp.free = map[int][][]byte{}
	}
	sp.free[c] = append(sp.free[c], b[:0])
	sp.freeBytes += int64(c)
}

func newSpill[T any](dir string, limit int64, codec spillCodec[T]) *spill[T] {
	return &spill[T]{codec: codec, dir: dir, limit: limit, runs: map[string]*spillRun{}}
}

// has reports whether partition has spilled rows.
func (sp *spill[T]) has(partition string) bool { return sp.runs[partition] != nil }

// add appends rows to partition's run.
func (sp *spill[T]) add(partition string, rows []T) error {
	r := sp.runs[partition]
	if r == nil {
		r = &spillRun{}
		sp.runs[partition] = r
	}
	for i := range rows {
		sp.row = sp.codec.encode(sp.row[:0], &rows[i])
		r.buf = append(sp.grow(r.buf, len(sp.row)), sp.row...)
		sp.buffered += int64(len(sp.row))
		r.bytes += int64(len(sp.row))
		if len(r.buf) >= spillBlockBytes {
			if err := sp.writeBlock(r); err != nil {
				return err
			}
		}
	}
	r.rows += int64(len(rows))
	if sp.buffered > sp.limit {
		return sp.shrink()
	}
	return nil
}

// shrink writes the largest buffered runs out until half the limit is
// buffered.
func (sp *spill[T]) shrink() error {
	runs := make([]*spillRun, 0, len(sp.runs))
	for _, r := range sp.runs {
		if len(r.buf) > 0 {
			runs = append(runs, r)
		}
	}
	slices.SortFunc(runs, func(a, b *spillRun) int { return len(b.buf) - len(a.buf) })
	for _, r := range runs {
		if sp.buffered <= sp.limit/2 {
			break
		}
		if err := sp.writeBlock(r); err != nil {
			return err
		}
	}
	return nil
}

// writeBlock compresses r's buffered rows and appends them to the file.
func (sp *spill[T]) writeBlock(r *spillRun) error {
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "spill-*.run")
		if err != nil {
			return fmt.Errorf("partitions: create spill run: %w", err)
		}
		sp.f, sp.w = f, bufio.NewWriterSize(f, 256<<10)
	}
	sp.zbuf = s2.Encode(sp.zbuf[:cap(sp.zbuf)], r.buf)
	if _, err := sp.w.Write(sp.zbuf); err != nil {
		return fmt.Errorf("partitions: write spill run: %w", err)
	}
	r.blocks = append(r.blocks, spillBlock{off: sp.off, n: len(sp.zbuf)})
	sp.off += int64(len(sp.zbuf))
	sp.buffered -= int64(len(r.buf))
	// The buffer is not kept by the run: across thousands of partitions
	// the emptied buffers would hold, unaccounted, about all the spilled
	// rows again. A few go to the free list.
	sp.give(r.buf)
	r.buf = nil
	return nil
}

// bytes returns the encoded size of partition's spilled rows.
func (sp *spill[T]) bytes(partition string) int64 {
	if r := sp.runs[partition]; r != nil {
		return r.bytes
	}
	return 0
}

// partitions returns the spilled partitions, sorted.
func (sp *spill[T]) partitions() []string {
	out := make([]string, 0, len(sp.runs))
	for p := range sp.runs {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// replay decodes partition's run, in the order it was written, and hands the
// rows to fn a block at a time; the rows are valid only during the call.
func (sp *spill[T]) replay(partition string, fn func([]T) error) error {
	r := sp.runs[partition]
	if r == nil {
		return nil
	}
	if sp.w != nil {
		if err := sp.w.Flush(); err != nil {
			return fmt.Errorf("partitions: write spill run: %w", err)
		}
	}
	var rows []T
	emit := func(raw []byte) error {
		rows = rows[:0]
		for len(raw) > 0 {
			rows = append(rows, *new(T))
			var err error
			if raw, err = sp.codec.decode(raw, &rows[len(rows)-1]); err != nil {
				return err
			}
		}
		err := fn(rows)
		clear(rows)
		return err
	}
	for _, b := range r.blocks {
		if cap(sp.zbuf) < b.n {
			sp.zbuf = make([]byte, b.n)
		}
		z := sp.zbuf[:b.n]
		if _, err := sp.f.ReadAt(z, b.off); err != nil {
			return fmt.Errorf("partitions: read spill run: %w", err)
		}
		// Decoded strings alias the block until fn is done with them;
		// then it is reused.
		raw, err := s2.Decode(sp.raw[:cap(sp.raw)], z)
		if err != nil {
			return fmt.Errorf("partitions: read spill run: %w", err)
		}
		sp.raw = raw
		if err := emit(raw); err != nil {
			return err
		}
	}
	if len(r.buf) > 0 {
		if err := emit(r.buf); err != nil {
			return err
		}
	}
	sp.buffered -= int64(len(r.buf))
	sp.give(r.buf)
	r.buf = nil
	delete(sp.runs, partition)
	return nil
}

// remove deletes the run file.
func (sp *spill[T]) remove() {
	if sp.f != nil {
		// Best effort: the file is temporary and the staging folder is
		// removed after the load anyway.
		_ = sp.f.Close()
		_ = os.Remove(sp.f.Name())
		sp.f, sp.w = nil, nil
	}
	sp.runs = map[string]*spillRun{}
	sp.buffered = 0
	sp.free, sp.freeBytes, sp.raw, sp.row = nil, 0, nil, nil
}

// Encoding helpers: lengths and integers as unsigned varints (zig-zag for
// signed values), strings as length and bytes.

func putUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func putVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

func putString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// spillReader decodes the fields of one row; the first error sticks.
type spillReader struct {
	b   []byte
	err error
}

func (r *spillReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errSpillCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *spillReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errSpillCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

// str returns the next string, aliasing the block.
func (r *spillReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errSpillCorrupt
		return ""
	}
	s := r.b[:n]
	r.b = r.b[n:]
	if n == 0 {
		return ""
	}
	return unsafe.String(&s[0], len(s))
}

// Flags of an event row's optional columns.
const (
	spillHasVersion = 1 << iota
	spillHasOrg
	spillHasCID
)

func encodeEventRow(dst []byte, r *EventRow) []byte {
	var flags uint64
	if r.SchemaVersion != nil {
		flags |= spillHasVersion
	}
	if r.OrgID != nil {
		flags |= spillHasOrg
	}
	if r.CID != nil {
		flags |= spillHasCID
	}
	dst = putUvarint(dst, flags)
	dst = putString(dst, r.EventID)
	dst = putString(dst, r.EventType)
	if r.SchemaVersion != nil {
		dst = putVarint(dst, int64(*r.SchemaVersion))
	}
	if r.OrgID != nil {
		dst = putString(dst, *r.OrgID)
	}
	if r.CID != nil {
		dst = putString(dst, *r.CID)
	}
	dst = putVarint(dst, r.EventTime)
	dst = putString(dst, r.Data)
	dst = putString(dst, r.Object)
	dst = putVarint(dst, r.Line)
	dst = putVarint(dst, r.Offset)
	dst = putString(dst, r.LoadID)
	dst = putVarint(dst, r.IngestedAt)
	return putString(dst, r.Domain)
}

func decodeEventRow(src []byte, r *EventRow) ([]byte, error) {
	d := spillReader{b: src}
	flags := d.uvarint()
	r.EventID = d.str()
	r.EventType = d.str()
	if flags&spillHasVersion != 0 {
		v := int32(d.varint())
		r.SchemaVersion = &v
	}
	if flags&spillHasOrg != 0 {
		s := d.str()
		r.OrgID = &s
	}
	if flags&spillHasCID != 0 {
		s := d.str()
		r.CID = &s
	}
	r.EventTime = d.varint()
	r.Data = d.str()
	r.Object = d.str()
	r.Line = d.varint()
	r.Offset = d.varint()
	r.LoadID = d.str()
	r.IngestedAt = d.varint()
	r.Domain = d.str()
	return d.b, d.err
}

var eventSpillCodec = spillCodec[EventRow]{encode: encodeEventRow, decode: decodeEventRow}

func encodeTableRow(dst []byte, r *TableRow) []byte {
	dst = putUvarint(dst, uint64(len(r.Fields)))
	for _, f := range r.Fields {
		dst = putString(dst, f)
	}
	dst = putVarint(dst, r.ReportTime)
	dst = putString(dst, r.Object)
	dst = putVarint(dst, r.Line)
	dst = putVarint(dst, r.Offset)
	dst = putString(dst, r.LoadID)
	return putVarint(dst, r.IngestedAt)
}

func decodeTableRow(src []byte, r *TableRow) ([]byte, error) {
	d := spillReader{b: src}
	n := d.uvarint()
	if n > uint64(len(src)) {
		return nil, errSpillCorrupt
	}
	r.Fields = make([]string, n)
	for i := range r.Fields {
		r.Fields[i] = d.str()
	}
	r.ReportTime = d.varint()
	r.Object = d.str()
	r.Line = d.varint()
	r.Offset = d.varint()
	r.LoadID = d.str()
	r.IngestedAt = d.varint()
	return d.b, d.err
}

var tableSpillCodec = spillCodec[TableRow]{encode: encodeTableRow, decode: decodeTableRow}
