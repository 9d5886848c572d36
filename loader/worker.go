package loader

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/loader/profile"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/partitions"
)

// worker processes objects one at a time. It owns its rejects and spill
// writers; its events go into the load's partition sets, each taken under
// its lock once per object (eventSink.send).
type worker struct {
	l       *load
	rejects *partitions.RejectWriter // events go to the load's sink
	extra   []partitions.File        // files of spilled objects that committed

	// Reading an object (input.go).
	rbuf *bufio.Reader // large reads from the source: fewer syscalls and round trips
	head headCapture
	inf  inflater

	// Mapping its records (records.go) and observing their types (schema.go).
	ev     profile.Event
	intern interner
	obs    typeObserver

	// Its rows until the object is done (buffer.go, rows.go).
	buf objectBuffer

	// Its row groups of CSV tables (tablesink.go).
	tables workerTables
}

func newWorker(l *load) *worker {
	w := &worker{l: l, intern: newInterner(), buf: objectBuffer{pool: l.chunks}, tables: workerTables{sink: l.tables}}
	w.inf.init(l.wholeBudget, l.opts.Workers)
	w.obs = typeObserver{types: map[typeKey]*observedType{}, intern: &w.intern}
	return w
}

func (w *worker) writerOptions() partitions.WriterOptions {
	return partitions.WriterOptions{ZstdLevel: w.l.opts.ZstdLevel}
}

// process loads one object. The error return is reserved for failures of
// the load itself (writing the lake); an object's own problems are its
// result's status.
func (w *worker) process(ctx context.Context, j job) (result, error) {
	url := j.src.URL() + j.obj.Key
	r := result{url: url, rec: catalog.ObjectRecord{
		Source: j.src.URL(), Key: j.obj.Key, Version: j.obj.Version, Size: j.obj.Size, ModTime: j.obj.ModTime,
	}}
	fail := func(err error) (result, error) {
		if errors.Is(context.Cause(ctx), ErrStopped) && ctx.Err() != nil {
			err = fmt.Errorf("%w before the object was read to its end", ErrStopped)
		}
		if errors.Is(err, source.ErrUnreachable) {
			w.l.markDead(j.src, err)
		}
		w.discard()
		r.rec.Status, r.rec.Error = "failed", err.Error()
		r.rec.Records, r.rec.Rejects, r.rec.LenientQuotes = 0, 0, 0
		w.l.opts.Log.Error("object failed; it will be retried by the next run", "object", url, "error", err)
		return r, nil
	}
	rc, got, err := j.src.Open(ctx, j.obj.Key)
	if errors.Is(err, source.ErrNotFound) {
		r.rec.Status = catalog.ObjectVanished
		w.l.opts.Log.Warn("object disappeared between listing and reading; skipped", "object", url)
		return r, nil
	}
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	if got.Version != "" {
		r.rec.Version, r.rec.Size, r.rec.ModTime = got.Version, got.Size, got.ModTime
	}
	hash := newContentHasher(j.legacyHash)
	if w.rbuf == nil {
		w.rbuf = bufio.NewReaderSize(rc, 256<<10)
	} else {
		w.rbuf.Reset(rc)
	}
	counted := &countingReader{r: w.rbuf, l: w.l}
	raw := io.TeeReader(counted, hash)
	var in io.Reader = raw
	var dec io.ReadCloser
	var comp format.Compression
	var whole []byte // the object's (inflated) bytes, when it was read whole
	if j.obj.Size <= wholeMaxCompressed {
		// Read whole straight from the source into the object's buffer (no
		// read buffer in between); the rest of an object streamed after
		// all goes through the read buffer.
		counted.r = rc
		var done func()
		whole, comp, in, done, err = w.inf.readWhole(ctx, counted, hash, j.obj.Size)
		defer done()
		if err != nil {
			return fail(err)
		}
		counted.r = w.rbuf
	}
	fopts := format.Options{MaxRecordBytes: w.l.opts.MaxRecordBytes, MaxRawBytes: maxRawReject}
	var rd *format.Reader
	if whole != nil {
		// Records are read in place from the (inflated) object.
		w.head = headCapture{buf: append(w.head.buf[:0], whole[:min(len(whole), maxRawReject)]...), n: int64(len(whole))}
		rd = format.NewReaderBytes(whole, fopts)
	} else {
		if len(w.buf.chunks) == 0 {
			// Streamed rows are copied into the arena: holding none of
			// it, wait for room for a good part of this object's.
			w.l.chunks.waitRoom(ctx, 4*j.obj.Size)
		}
		dec, comp, err = format.Decompress(in)
		if err != nil {
			return fail(err)
		}
		defer dec.Close()
		w.head = headCapture{r: dec, buf: w.head.buf[:0]}
		if rd, err = format.NewReader(&w.head, fopts); err != nil {
			return fail(err)
		}
	}
	r.rec.Compression = comp.String()
	r.rec.Shape = rd.Shape().String()

	quarantine := ""
	switch rd.Shape() {
	case format.CSV:
		q, err := w.readCSV(rd, j, url, &r)
		if err != nil {
			if ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrStopped) {
				return r, ctx.Err()
			}
			return fail(err)
		}
		quarantine = q
	default:
		// Unknown content is split like concatenated JSON too: a log line
		// in front of good records costs one reject, not the object.
		q, err := w.readRecords(ctx, rd, j, url, &r)
		if err != nil {
			if ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrStopped) {
				return r, ctx.Err()
			}
			if errors.Is(err, errWrite) {
				return r, err
			}
			return fail(err)
		}
		quarantine = q
		if rd.Shape() == format.Unknown && r.rec.Records == 0 && q == "" {
			// Nothing but unreadable bytes: one reject for the object,
			// not one per fragment (blank content is simply empty).
			if len(bytes.TrimSpace(bytes.TrimPrefix(w.head.buf, []byte("\xef\xbb\xbf")))) != 0 {
				quarantine = "unrecognised content: neither JSON records nor CSV"
			}
		}
	}
	// Read what the decoder left (trailing bytes) so the hash covers the
	// whole object and a truncated tail is noticed.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return fail(err)
	}
	r.uncompressed = w.head.n
	var legacyHash string
	r.rec.ContentHash, legacyHash = hash.sums()
	r.rec.Size = counted.n

	if quarantine != "" {
		w.l.rejectsDone.Add(1 - r.rec.Rejects)
		w.discard()
		r.rec.Status, r.rec.Error, r.rec.Records, r.rec.LenientQuotes = "quarantined", quarantine, 0, 0
		r.rec.Rejects = 1
		w.buf.rejects = append(w.buf.rejects, w.rejectRow(url, 1, 0, r.uncompressed, quarantine, w.head.buf, r.rec.Profile))
		w.l.opts.Log.Warn("object quarantined whole", "object", url, "reason", quarantine)
		return r, w.flush()
	}
	if orig, dup, err := w.l.duplicateOf(context.WithoutCancel(ctx), r.rec.ContentHash, legacyHash, url); err != nil {
		return r, err
	} else if dup {
		w.discard()
		r.rec.Status, r.rec.DuplicateOf, r.rec.Records, r.rec.Rejects, r.rec.LenientQuotes = "duplicate", orig, 0, 0, 0
		w.l.opts.Log.Info("object is a copy of one already loaded; no rows added", "object", url, "duplicate_of", orig)
		return r, nil
	}
	r.rec.Status = catalog.ObjectCommitted
	if r.rec.Records == 0 && r.rec.Rejects > 0 {
		r.rec.Status = catalog.ObjectQuarantined
		r.rec.Error = fmt.Sprintf("all %d records rejected (first reason: %s)", r.rec.Rejects, r.firstReject)
	}
	return r, w.flush()
}

func (w *worker) close() ([]partitions.File, error) {
	w.inf.release()
	files := w.extra
	if w.rejects != nil {
		f, err := w.rejects.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return files, nil
}

func (w *worker) abort() {
	w.inf.release()
	w.discard()
	if w.rejects != nil {
		w.rejects.Abort()
	}
}

// duplicateOf reports whether content with this hash was committed before,
// or by another object of this load; legacy, when not empty, is the
// content's SHA-256 hash, which older builds recorded.
func (l *load) duplicateOf(ctx context.Context, hash, legacy, url string) (string, bool, error) {
	l.mu.Lock()
	if orig, ok := l.hashes[hash]; ok {
		l.mu.Unlock()
		return orig, true, nil
	}
	l.hashes[hash] = url
	l.mu.Unlock()
	src, key, ok, err := l.cat.FindOriginal(ctx, hash, url)
	if err == nil && !ok && legacy != "" {
		src, key, ok, err = l.cat.FindOriginal(ctx, legacy, url)
	}
	if err != nil {
		return "", false, err
	}
	if ok {
		// Also when src+key == url: the same bytes under a new version
		// (a touched file) add nothing.
		return src + key, true, nil
	}
	return "", false, nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
