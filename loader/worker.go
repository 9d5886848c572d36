package loader

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/internal/native"
	"github.com/eventlake/eventlake/loader/format"
	"github.com/eventlake/eventlake/loader/profile"
	"github.com/eventlake/eventlake/loader/source"
	"github.com/eventlake/eventlake/partitions"
)

// maxRawReject is how much of a bad record's text _rejects keeps.
const maxRawReject = 4096

// pendingLimit is how many records auto-detection may look at before it
// gives up on an object.
const pendingLimit = 100

// worker processes objects one at a time; each worker owns its writers, so
// there is no locking on the hot path.
type worker struct {
	l       *load
	rejects *partitions.RejectWriter // events go to the load's sink
	ev      profile.Event
	intern  map[string]string
	// internPtrs shares one *string per value of a nullable column (the
	// writers only read through it), so rows do not allocate one each.
	internPtrs map[string]*string
	versions   [64]*int32
	buf        objectBuffer
	extra      []partitions.File // files of spilled objects that committed
	head       headCapture
	types      map[typeKey]*observedType
	rbuf       *bufio.Reader // large reads from the source: fewer syscalls and round trips

	// Whole-object inflating (when libdeflate is in use): the compressed
	// object, its inflated bytes, and a reader over them.
	gunzip *native.Gunzipper
	undo   typeUndo // what ObserveData changed for the record being mapped
	object string   // the object being read (for a type's first object)
	zbuf   wholeBuf
	// Inflated objects: two buffers, so that the next object is inflated
	// while the writers still encode rows pointing into the last one
	// (rows of a whole object are not copied; see ref).
	obufs [2]wholeBuf
	busy  [2]sync.WaitGroup // a buffer's rows are still with the writers
	cur   int               // the buffer of the object being read
	whole []byte            // the inflated object being read, when its rows may point into it
}

// Objects up to wholeMaxCompressed bytes that inflate to at most
// wholeMaxInflated are read whole and inflated in one call by libdeflate
// (three times as fast as streaming); larger ones are streamed. Buffers
// above wholeKeep are given back after their object.
const (
	wholeMaxCompressed = 32 << 20
	wholeMaxInflated   = 256 << 20
	wholeKeep          = 32 << 20
)

func newWorker(l *load) *worker {
	w := &worker{l: l, intern: map[string]string{}, types: map[typeKey]*observedType{}, internPtrs: map[string]*string{},
		gunzip: native.NewGunzipper(), buf: objectBuffer{pool: l.chunks}}
	w.zbuf.budget = l.wholeBudget
	for i := range w.obufs {
		w.obufs[i].budget = l.wholeBudget
	}
	return w
}

func (w *worker) writerOptions() partitions.WriterOptions {
	return partitions.WriterOptions{ZstdLevel: w.l.opts.ZstdLevel}
}

// objectBuffer holds one object's rows until the object has been read to its
// end. Strings point into arena chunks (no allocation per field).
type objectBuffer struct {
	chunks       [][]byte
	pool         *chunkPool // the load's chunks and row slices (shared with the writers)
	slab         []string   // backing store of strPtr
	rows         []partitions.EventRow
	rejects      []partitions.RejectRow
	size         int
	spillEvents  *partitions.EventWriter
	spillRejects *partitions.RejectWriter

	// A delimited (CSV) object's rows, for its table.
	table     string
	columns   []string
	profile   *csvProfile
	tableRows []tableRow
}

const chunkSize = 1 << 20

// str copies p into the arena and returns a string over the copy. Callers
// that must not exceed the arena budget reserve room first (reserve).
func (b *objectBuffer) str(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if !b.room(len(p)) {
		b.chunks = append(b.chunks, b.pool.forceChunk(len(p)))
	}
	c := b.chunks[len(b.chunks)-1]
	start := len(c)
	c = append(c, p...)
	b.chunks[len(b.chunks)-1] = c
	b.size += len(p)
	return unsafe.String(&c[start], len(p))
}

// room reports whether the current chunk has n bytes free.
func (b *objectBuffer) room(n int) bool {
	k := len(b.chunks)
	return k > 0 && cap(b.chunks[k-1])-len(b.chunks[k-1]) >= n
}

// reserve makes room for n bytes of str without exceeding the arena budget;
// it reports false when the budget has no room.
func (b *objectBuffer) reserve(n int) bool {
	if n == 0 || b.room(n) {
		return true
	}
	c := b.pool.getChunk(n)
	if c == nil {
		return false
	}
	b.chunks = append(b.chunks, c)
	return true
}

// waitReserve is reserve that waits for chunks to come back; the buffer
// must hold none (spill first).
func (b *objectBuffer) waitReserve(n int) {
	if len(b.chunks) > 0 {
		panic("loader: waiting for arena chunks while holding some")
	}
	b.chunks = append(b.chunks, b.pool.waitChunk(n))
}

// strPtr returns a pointer to a copy of s held in a slab (one allocation
// per 1,024 values instead of one per row; a slab is never regrown, so the
// pointers stay valid).
func (b *objectBuffer) strPtr(s string) *string {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]string, 0, 1024)
	}
	b.slab = append(b.slab, s)
	return &b.slab[len(b.slab)-1]
}

// reset empties the buffer. The writers copy every value they are given,
// so the arena's chunks go back to the pool once the rows were written or
// dropped.
func (b *objectBuffer) reset() {
	b.pool.put(b.chunks, nil)
	b.chunks = nil
	b.slab = nil
	clear(b.rows)
	b.rows = b.rows[:0]
	clear(b.rejects)
	b.rejects = b.rejects[:0]
	b.size = 0
	b.spillEvents, b.spillRejects = nil, nil
	b.table, b.columns, b.profile = "", nil, nil
	clear(b.tableRows)
	b.tableRows = b.tableRows[:0]
}

// ref returns p as a string: over the inflated object itself when p lies in
// it (no copy; the object's buffer outlives the rows, see flush), else a copy
// in the arena.
func (w *worker) ref(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if wb := w.whole; len(wb) > 0 {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(wb)))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		if at >= start && at+uintptr(len(p)) <= start+uintptr(len(wb)) {
			return unsafe.String(unsafe.SliceData(p), len(p))
		}
	}
	return w.buf.str(p)
}

// copyLen is how many arena bytes ref(p) takes.
func (w *worker) copyLen(p []byte) int {
	if wb := w.whole; len(wb) > 0 && len(p) > 0 {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(wb)))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		if at >= start && at+uintptr(len(p)) <= start+uintptr(len(wb)) {
			return 0
		}
	}
	return len(p)
}

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

// internStr returns a shared string for repetitive values (domain,
// event_type, org_id) without allocating when it is already known.
func (w *worker) internStr(p []byte) string {
	if s, ok := w.intern[string(p)]; ok {
		return s
	}
	if len(w.intern) > 50000 {
		clear(w.intern)
	}
	s := string(p)
	w.intern[s] = s
	return s
}

// versionPtr returns a shared pointer for common schema versions (the
// writers only read through it).
func (w *worker) versionPtr(v int32) *int32 {
	if v >= 0 && int(v) < len(w.versions) {
		if w.versions[v] == nil {
			w.versions[v] = new(int32)
			*w.versions[v] = v
		}
		return w.versions[v]
	}
	p := new(int32)
	*p = v
	return p
}

func (w *worker) internPtr(p []byte) *string {
	if p == nil {
		return nil
	}
	if sp, ok := w.internPtrs[string(p)]; ok {
		return sp
	}
	if len(w.internPtrs) > 50000 {
		clear(w.internPtrs)
	}
	s := w.internStr(p)
	w.internPtrs[s] = &s
	return &s
}

// headCapture keeps the first bytes of a decompressed stream, to show in the
// reject of an object nobody can read.
type headCapture struct {
	r   io.Reader
	buf []byte
	n   int64
}

func (h *headCapture) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := maxRawReject - len(h.buf); room > 0 && n > 0 {
		h.buf = append(h.buf, p[:min(n, room)]...)
	}
	h.n += int64(n)
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
	l *load
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.l.bytesDone.Add(int64(n))
	return n, err
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
	hash := sha256.New()
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
	var whole []byte // the inflated object, when it was inflated in one call
	if w.gunzip != nil && j.obj.Size <= wholeMaxCompressed {
		var done func()
		whole, in, done, err = w.inflateWhole(ctx, raw, j.obj.Size)
		defer done()
		if err != nil {
			return fail(err)
		}
		if whole != nil {
			comp = format.Gzip
		}
	}
	fopts := format.Options{MaxRecordBytes: w.l.opts.MaxRecordBytes, MaxRawBytes: maxRawReject}
	var rd *format.Reader
	if whole != nil {
		// Records are read in place from the inflated object.
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
	r.rec.ContentHash = hex.EncodeToString(hash.Sum(nil))
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
	if orig, dup, err := w.l.duplicateOf(context.WithoutCancel(ctx), r.rec.ContentHash, url); err != nil {
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

var errWrite = errors.New("writing the lake")

// inflateWhole reads an object (see wholeMaxCompressed) into memory and,
// when it is a clean gzip stream, inflates it in one call. It returns the
// inflated bytes, or nil and the reader to stream the object from instead
// (the bytes read so far, then the rest). done gives the buffers back; call
// it when the object is finished, also after an error.
func (w *worker) inflateWhole(ctx context.Context, raw io.Reader, size int64) (whole []byte, in io.Reader, done func(), err error) {
	if w.zbuf.b == nil && w.obufs[0].b == nil && w.obufs[1].b == nil {
		// Holding no whole-object buffer, wait for room for this object's:
		// the compressed bytes and two inflated objects of about five times
		// their size (with the quarter grow adds).
		w.l.wholeBudget.waitFree(ctx, 15*max(size, 64<<10))
	}
	zb, complete, err := w.zbuf.readAll(raw, size, wholeMaxCompressed)
	done = func() { w.zbuf.release(wholeKeep) }
	if err != nil {
		return nil, nil, done, err
	}
	if complete {
		// The other buffer's rows may still be with the writers.
		w.cur ^= 1
		w.busy[w.cur].Wait()
		ob := &w.obufs[w.cur]
		if out, ok := format.InflateAll(w.gunzip, ob.b, zb, wholeMaxInflated, ob.grow); ok {
			if len(ob.b) <= wholeKeep {
				// Rows may point into it (ref): it stays until the
				// writers are done with them (flush).
				w.whole = out
				return out, nil, func() { w.whole = nil; w.zbuf.release(wholeKeep) }, nil
			}
			// A rare large object: rows copy, and the buffer goes.
			return out, nil, func() { ob.release(wholeKeep); w.zbuf.release(wholeKeep) }, nil
		}
	}
	return nil, io.MultiReader(bytes.NewReader(zb), raw), done, nil
}

// readRecords maps every record of the object into the buffer. It returns a
// non-empty quarantine reason when the whole object must be quarantined.
func (w *worker) readRecords(ctx context.Context, rd *format.Reader, j job, url string, r *result) (string, error) {
	if p := w.l.csvProfiles[j.profile]; p != nil {
		return fmt.Sprintf("JSON records, but profile %s reads delimited (CSV) files", p.name), nil
	}
	cands, err := w.l.profiles.resolve(j.profile)
	if err != nil {
		return "", err
	}
	var prof profile.Profile
	if len(cands) == 1 {
		prof = cands[0]
		r.rec.Profile = prof.Name()
	}
	type pendingRec struct {
		data         []byte
		line, offset int64
	}
	var pending []pendingRec
	n := 0
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		if rec.Err != nil {
			w.reject(url, rec.Line, rec.Offset, rec.Size, rec.Err.Error(), rec.Data, r)
			continue
		}
		if prof == nil {
			prof = profile.Detect(rec.Data, cands)
			if prof == nil {
				pending = append(pending, pendingRec{append([]byte(nil), rec.Data...), rec.Line, rec.Offset})
				if len(pending) >= pendingLimit {
					return w.noProfile(cands, pending[0].data), nil
				}
				continue
			}
			r.rec.Profile = prof.Name()
			w.l.opts.Log.Debug("profile chosen", "object", url, "profile", prof.Name())
			for _, p := range pending {
				if err := w.mapRecord(prof, p.data, url, p.line, p.offset, int64(len(p.data)), r); err != nil {
					return "", err
				}
			}
			pending = nil
		}
		if err := w.mapRecord(prof, rec.Data, url, rec.Line, rec.Offset, rec.Size, r); err != nil {
			return "", err
		}
	}
	if prof == nil && len(pending) > 0 {
		return w.noProfile(cands, pending[0].data), nil
	}
	return "", nil
}

func (w *worker) noProfile(cands []profile.Profile, first []byte) string {
	if looksBinary(w.head.buf) {
		return fmt.Sprintf("binary content (first bytes: % x): not JSON records or CSV text; is this an export file, or compressed with a codec eventlake does not read (gzip and zstd it does)?",
			w.head.buf[:min(len(w.head.buf), 16)])
	}
	var names []string
	for _, c := range cands {
		names = append(names, c.Name())
	}
	return fmt.Sprintf("auto: no profile (%v) recognises the records (first: %s); choose one with --profile or map it with a generic profile",
		names, clip(first, 120))
}

// mapRecord maps one good record and buffers its row or its reject.
func (w *worker) mapRecord(p profile.Profile, data []byte, url string, line, offset, size int64, r *result) error {
	ev := &w.ev
	// Profiles that can, let the worker validate the data while it infers
	// its type (ObserveData): one walk instead of two. A record that fails
	// takes back what it widened, and Map names the reason.
	om, observing := p.(profile.ObservingMapper)
	w.undo = typeUndo{}
	w.object = url
	var err error
	if observing {
		if err = om.MapObserving(data, ev, w); err != nil {
			w.rollback()
			observing = false
			err = p.Map(data, ev)
		}
	} else {
		err = p.Map(data, ev)
	}
	if err != nil {
		w.reject(url, line, offset, size, err.Error(), data, r)
		return nil
	}
	domain := w.internStr(ev.Domain)
	if err := partitions.CheckValue(domain); err != nil {
		w.rollback()
		w.reject(url, line, offset, size, "domain: "+err.Error(), data, r)
		return nil
	}
	if err := w.reserveRow(w.copyLen(ev.EventID) + w.copyLen(ev.Data) + w.copyLen(ev.CID)); err != nil {
		return err
	}
	b := &w.buf
	row := partitions.EventRow{
		EventID:    w.ref(ev.EventID),
		EventType:  w.internStr(ev.EventType),
		OrgID:      w.internPtr(ev.OrgID),
		EventTime:  ev.EventTime,
		Data:       w.ref(ev.Data),
		Object:     url,
		Line:       line,
		Offset:     offset,
		LoadID:     w.l.id,
		IngestedAt: w.l.ingestedAt,
		Domain:     domain,
	}
	if ev.CID != nil {
		row.CID = b.strPtr(w.ref(ev.CID))
	}
	if ev.HasSchemaVersion {
		row.SchemaVersion = w.versionPtr(ev.SchemaVersion)
	}
	b.rows = append(b.rows, row)
	b.size += 160
	r.rec.Records++
	w.l.recordsDone.Add(1)
	if !observing || !ev.DataObserved {
		w.observe(row.Domain, row.EventType, row.Data, url)
	}
	if b.size > w.l.opts.BufferBytes {
		return w.spill()
	}
	return nil
}

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

// flush hands a finished object's rows to the worker's writers.
func (w *worker) flush() error {
	b := &w.buf
	defer b.reset()
	if b.table != "" && len(b.tableRows) > 0 {
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
		// The sink's writers own the grouped rows and the arena now; the
		// buffer starts the next object with recycled ones.
		rows, chunks := partitions.GroupByPartition(b.pool.getRows(), b.rows), b.chunks
		if len(rows) > 0 && &rows[0] == &b.rows[0] {
			b.rows = b.pool.getRows() // one partition: handed over as it is
		} else {
			clear(b.rows) // copied: keep the slice for the next object
			b.rows = b.rows[:0]
		}
		b.chunks = nil
		var done func()
		if w.whole != nil {
			// The rows point into the inflated object: its buffer is not
			// reused before the writers are done with them.
			busy := &w.busy[w.cur]
			busy.Add(1)
			done = busy.Done
		}
		if err := w.l.sink.send(rows, chunks, b.pool, done); err != nil {
			if done != nil {
				done()
			}
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

// freeBuffers gives the whole-object buffers back (a watch runs many loads).
func (w *worker) freeBuffers() {
	w.zbuf.release(0)
	for i := range w.obufs {
		w.busy[i].Wait() // the writers are done with rows pointing into it
		w.obufs[i].release(0)
	}
}

func (w *worker) close() ([]partitions.File, error) {
	w.freeBuffers()
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
	w.freeBuffers()
	w.discard()
	if w.rejects != nil {
		w.rejects.Abort()
	}
}

// duplicateOf reports whether content with this hash was committed before,
// or by another object of this load.
func (l *load) duplicateOf(ctx context.Context, hash, url string) (string, bool, error) {
	l.mu.Lock()
	if orig, ok := l.hashes[hash]; ok {
		l.mu.Unlock()
		return orig, true, nil
	}
	l.hashes[hash] = url
	l.mu.Unlock()
	src, key, ok, err := l.cat.FindOriginal(ctx, hash, url)
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

// looksBinary reports whether the head of an object is binary data rather
// than text: a NUL byte (UTF-16 is told apart before records are read), or
// more than a tenth of control bytes and invalid UTF-8.
func looksBinary(head []byte) bool {
	head = head[:min(len(head), 4096)]
	if len(head) == 0 {
		return false
	}
	odd := 0
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		switch {
		case r == 0:
			return true
		case r == utf8.RuneError && size == 1 && len(head)-i >= utf8.UTFMax:
			odd++
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f':
			odd++
		}
		i += size
	}
	return odd*10 > len(head)
}
