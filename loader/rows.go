package loader

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/eventlake/eventlake/partitions"
)

// maxRawReject is how much of a bad record's text _rejects keeps.
const maxRawReject = 4096

// reserveRow makes room in the arena for the n bytes a row copies. When the
// load's arena budget has none, the object's rows so far spill into its own
// files (giving their chunks back), and the worker waits for a chunk if
// that was not enough. Called between rows, never with a row half built.
func (w *worker) reserveRow(n int) error {
	b := &w.buf
	if b.reserve(n) {
		return nil
	}
	if len(b.chunks) > 0 {
		if err := w.spill(); err != nil {
			return err
		}
		if b.reserve(n) {
			return nil
		}
	}
	b.waitReserve(n)
	return nil
}

var errWrite = errors.New("writing the lake")

func (w *worker) rejectRow(url string, line, offset, size int64, reason string, raw []byte, prof string) partitions.RejectRow {
	exact := bytes.Clone(raw[:min(len(raw), maxRawReject)]) // raw is only valid until the reader moves on
	if exact == nil {
		exact = []byte{}
	}
	if len(raw) > maxRawReject {
		raw = raw[:maxRawReject]
		for len(raw) > 0 && !utf8.Valid(raw[len(raw)-3:]) && len(raw) > maxRawReject-3 {
			raw = raw[:len(raw)-1]
		}
	}
	return partitions.RejectRow{
		Object: url, Line: line, Offset: offset, Reason: strings.ToValidUTF8(reason, "\uFFFD"), Raw: string(bytes.ToValidUTF8(raw, []byte("\uFFFD"))),
		RawBytes: size, Profile: prof, LoadID: w.l.id, IngestedAt: w.l.ingestedAt, RawExact: exact,
	}
}

func (w *worker) reject(url string, line, offset, size int64, reason string, raw []byte, r *result) {
	if r.firstReject == "" {
		r.firstReject = reason
	}
	w.buf.rejects = append(w.buf.rejects, w.rejectRow(url, line, offset, size, reason, raw, r.rec.Profile))
	w.buf.size += len(raw) + 200
	r.rec.Rejects++
	w.l.rejectsDone.Add(1)
}

// spill moves the buffered rows of a large object into files of its own.
func (w *worker) spill() error {
	b := &w.buf
	if b.spillEvents == nil {
		b.spillEvents = partitions.NewEventWriter(w.l.stage, partitions.WriterOptions{ZstdLevel: w.l.opts.ZstdLevel, MaxOpenFiles: 8, MemoryBytes: 8 << 20})
		b.spillRejects = partitions.NewRejectWriter(w.l.stage, partitions.WriterOptions{ZstdLevel: w.l.opts.ZstdLevel, MaxOpenFiles: 2})
	}
	partitions.GroupInPlace(b.rows) // as flush groups a whole object's
	if err := b.spillEvents.Write(b.rows); err != nil {
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	if err := b.spillRejects.Write(b.rejects); err != nil {
		return fmt.Errorf("%w: %v", errWrite, err)
	}
	se, sr := b.spillEvents, b.spillRejects
	b.reset()
	b.spillEvents, b.spillRejects = se, sr
	return nil
}

// flush writes a finished object's rows into the partition sets.
func (w *worker) flush() error {
	b := &w.buf
	defer b.reset()
	if b.table != nil {
		if err := w.flushTable(); err != nil {
			return err
		}
	}
	if b.spillEvents != nil {
		if err := w.spill(); err != nil {
			return err
		}
		for _, wr := range []interface {
			Close() ([]partitions.File, error)
		}{b.spillEvents, b.spillRejects} {
			files, err := wr.Close()
			if err != nil {
				return fmt.Errorf("%w: %v", errWrite, err)
			}
			w.extra = append(w.extra, files...)
		}
		return nil
	}
	if len(b.rows) > 0 {
		// One run per partition: an object spans a few domains and dates.
		// send returns once the rows are written, so their arena (given
		// back by reset) and the object's buffer (read into next) are free
		// after it.
		rows := partitions.GroupByPartition(b.grouped, b.rows)
		if len(rows) > 0 && &rows[0] != &b.rows[0] {
			b.grouped = rows // a copy: kept for the next object
		}
		err := w.l.sink.send(rows)
		clear(b.grouped)
		if err != nil {
			return err
		}
	}
	if len(b.rejects) > 0 {
		if w.rejects == nil {
			w.rejects = partitions.NewRejectWriter(w.l.stage, w.writerOptions())
		}
		if err := w.rejects.Write(b.rejects); err != nil {
			return fmt.Errorf("%w: %v", errWrite, err)
		}
	}
	return nil
}

// discard drops a failed object's rows and spilled files.
func (w *worker) discard() {
	b := &w.buf
	if b.spillEvents != nil {
		b.spillEvents.Abort()
		b.spillRejects.Abort()
	}
	b.reset()
}
