package partitions

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// TableBuilder fills row groups of a TableWriter's partitions apart from
// the writer, so that several goroutines, one builder each, encode and
// compress a table's rows at once; a finished row group is appended to its
// partition's file under the writer's lock. The files are those the writer
// alone would write (one per partition, the same pages and indexes), with
// the rows grouped by builder: each row group holds rows of one builder, and
// a partition's last row groups may be smaller, one per builder.
//
// A partition whose file the writer cannot keep open (it has MaxOpenFiles
// open, or has spilled the partition already) takes its rows through the
// writer itself: they are spilled and written at Close as one file, as
// always. A builder is not safe for concurrent use.
type TableBuilder struct {
	w      *TableWriter
	tmpl   *parquet.Writer // the row groups are begun on it (it writes nothing)
	groups map[string]*buildGroup
	memory int64 // bytes the builder's row groups may buffer before the largest is committed
	err    error // sticky
}

// buildGroup is a builder's row group of one partition.
type buildGroup struct {
	rg    *parquet.ConcurrentRowGroupWriter
	rw    tableRowWriter
	rows  int64
	times timeSpan
}

// NewBuilder returns a builder of w's row groups that buffers at most
// about memory bytes (WriterOptions.MemoryBytes when 0). Flush it before
// the writer's Close.
func (w *TableWriter) NewBuilder(memory int64) *TableBuilder {
	if memory <= 0 {
		memory = w.set.opts.MemoryBytes
	}
	return &TableBuilder{
		w:      w,
		tmpl:   parquet.NewWriter(io.Discard, w.set.writerOpts...), // every file's options, page buffer sizes aside
		groups: map[string]*buildGroup{},
		memory: memory,
	}
}

// Write appends rows to partition (see TableWriter.Write). The rows may be
// reused once Write returns.
func (b *TableBuilder) Write(partition string, rows []TableRow) error {
	if b.err != nil {
		return b.err
	}
	g := b.groups[partition]
	if g == nil {
		if !b.w.keepOpen(partition) {
			return b.w.Write(partition, rows)
		}
		g = &buildGroup{rg: b.tmpl.BeginRowGroup()}
		g.rw = tableRowWriter{rg: g.rg, layout: b.w.layout}
		b.groups[partition] = g
	}
	o := &b.w.set.opts
	for len(rows) > 0 {
		n := int(min(int64(len(rows)), o.RowGroupRows-g.rows, writeChunkRows))
		chunk := rows[:n]
		if _, err := g.rw.Write(chunk); err != nil {
			b.err = fmt.Errorf("partitions: write %s/%s: %w", b.w.set.table, partition, err)
			return b.err
		}
		b.w.set.addTimes(&g.times, chunk)
		g.rows += int64(n)
		rows = rows[n:]
		if g.rows >= o.RowGroupRows || g.rg.Size() >= o.RowGroupBytes {
			if err := b.commit(partition, g); err != nil {
				return err
			}
		}
	}
	for b.size() > b.memory {
		p, big := b.largest()
		if big == nil {
			break
		}
		if err := b.commit(p, big); err != nil {
			return err
		}
		if p != partition {
			// A partition the rows have moved on from (a JWO load reads one
			// report date after the other): its row group's buffers go,
			// rather than stay grown for rows that may not come.
			delete(b.groups, p)
		}
	}
	return nil
}

// size is what the builder's row groups buffer.
func (b *TableBuilder) size() int64 {
	n := int64(0)
	for _, g := range b.groups {
		if g.rows > 0 {
			n += g.rg.Size()
		}
	}
	return n
}

func (b *TableBuilder) largest() (string, *buildGroup) {
	var (
		best  *buildGroup
		bestP string
		size  int64
	)
	for p, g := range b.groups {
		if g.rows == 0 {
			continue
		}
		if s := g.rg.Size(); best == nil || s > size {
			best, bestP, size = g, p, s
		}
	}
	return bestP, best
}

// commit compresses g's last pages (without the writer's lock) and appends
// it to partition's file.
func (b *TableBuilder) commit(partition string, g *buildGroup) error {
	if g.rows == 0 {
		return nil
	}
	if err := g.rg.Flush(); err != nil {
		b.err = fmt.Errorf("partitions: write %s/%s: %w", b.w.set.table, partition, err)
		return b.err
	}
	w := b.w
	w.mu.Lock()
	err := w.set.commitGroup(partition, g.rows, g.times, func(rw rowWriter[TableRow]) error {
		tw, ok := rw.(*tableRowWriter)
		if !ok {
			return fmt.Errorf("partitions: table %s: a row group built apart needs a table file writer, not %T", w.set.table, rw)
		}
		_, err := g.rg.CommitTo(tw.w)
		return err
	})
	w.mu.Unlock()
	if err != nil {
		b.err = err
		return err
	}
	g.rows, g.times = 0, timeSpan{}
	return nil
}

// Flush appends every row group the builder holds to its partition's file,
// in partition order, and lets their buffers go. The builder can be used
// again afterwards.
func (b *TableBuilder) Flush() error {
	if b.err != nil {
		return b.err
	}
	parts := make([]string, 0, len(b.groups))
	for p, g := range b.groups {
		if g.rows > 0 {
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, cmp.Compare)
	for _, p := range parts {
		if err := b.commit(p, b.groups[p]); err != nil {
			return err
		}
	}
	clear(b.groups)
	return nil
}

// keepOpen reports whether partition has, or can now get, an open file
// that builders' row groups can be appended to: with Spill, an open file is
// only finished when it rolls over, so it stays (or its successor does)
// for the rest of the load.
func (w *TableWriter) keepOpen(partition string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.set
	if s.err != nil || s.closed || s.spill == nil {
		return false // the writer reports its error; without Spill, files may be finished early
	}
	if s.open[partition] != nil {
		return true
	}
	if s.spill.has(partition) || len(s.open) >= s.opts.MaxOpenFiles {
		return false
	}
	if _, err := s.acquire(partition); err != nil {
		s.err = err
		return false
	}
	return true
}

// commitGroup appends a row group of rows rows built apart to partition's
// open file (opening one when it rolled over), through commit, and rolls
// the file over when it is full.
func (s *set[T]) commitGroup(partition string, rows int64, times timeSpan, commit func(rowWriter[T]) error) error {
	if s.closed {
		return s.closedErr()
	}
	if s.err != nil {
		return s.err
	}
	p, err := s.acquire(partition)
	if err != nil {
		s.err = err
		return err
	}
	// Rows the file's own writer buffers go first, as a row group of their
	// own (the commit flushes them).
	if p.rgRows > 0 {
		p.groups++
	}
	if err := commit(p.w); err != nil {
		return s.fail(p, err)
	}
	s.rowGroupOut(p)
	p.rows += rows
	p.groups++
	p.times.merge(times)
	if p.groups >= maxRowGroups || s.fileFull(p) {
		return s.finish(p)
	}
	return nil
}
