package loader

import (
	"bytes"
	"context"
	"io"
	"unsafe"

	"github.com/eventlake/eventlake/internal/native"
	"github.com/eventlake/eventlake/loader/format"
)

// Objects up to wholeMaxCompressed bytes are read whole: gzipped ones that
// inflate to at most wholeMaxInflated are inflated in one call by libdeflate
// (three times as fast as streaming), and records of objects that are not
// compressed are read in place; larger ones are streamed. Buffers above
// wholeKeep are given back after their object.
const (
	wholeMaxCompressed = 32 << 20
	wholeMaxInflated   = 256 << 20
	wholeKeep          = 32 << 20
)

// inflater reads objects whole: the object as read, its inflated bytes
// (when it is gzipped and libdeflate is in use), and a reader over them.
type inflater struct {
	gunzip *native.Gunzipper
	budget *memBudget // the load's, for whole-object buffers
	share  int64      // the budget divided among the load's workers
	zbuf   wholeBuf   // a compressed object as read
	// The inflated object, or the object read as it is when it is not
	// compressed (read into it directly). Rows of a whole object are not
	// copied but point into it (worker.ref) until they are written: a
	// worker writes an object's rows into the partition sets itself
	// (worker.flush, eventSink.send) before it reads the next object, so
	// one buffer is enough and is free again when the next object is read
	// (two, when writer goroutines still held the last object's rows: 20 MiB
	// more RSS).
	obuf  wholeBuf
	whole []byte // the (inflated) object being read, when its rows may point into it
}

func (f *inflater) init(budget *memBudget, workers int) {
	f.gunzip, f.budget = native.NewGunzipper(), budget
	f.share = budget.limit / int64(max(1, workers))
	f.zbuf.budget = budget
	f.obuf.budget = budget
}

// inPlace reports whether p lies in the inflated object being read.
func (f *inflater) inPlace(p []byte) bool {
	wb := f.whole
	if len(wb) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(wb)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= start && at+uintptr(len(p)) <= start+uintptr(len(wb))
}

// ref returns p as a string: over the inflated object itself when p lies in
// it (no copy; the object's buffer outlives the rows, see flush), else a copy
// in the arena.
func (w *worker) ref(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if w.inf.inPlace(p) {
		return unsafe.String(unsafe.SliceData(p), len(p))
	}
	return w.buf.str(p)
}

// copyLen is how many arena bytes ref(p) takes.
func (w *worker) copyLen(p []byte) int {
	if len(p) > 0 && w.inf.inPlace(p) {
		return 0
	}
	return len(p)
}

// headCapture keeps the first bytes of a decompressed stream, to show in the
// reject of an object nobody can read. For an object read whole, r is nil
// (buf and n are set from the object): there is nothing left to read.
type headCapture struct {
	r   io.Reader
	buf []byte
	n   int64
}

func (h *headCapture) Read(p []byte) (int, error) {
	if h.r == nil {
		return 0, io.EOF // an object read whole: all of it is in memory already
	}
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

// readWhole reads an object (see wholeMaxCompressed) into memory: a clean
// gzip stream is inflated in one call, and an object that is not compressed
// is read in place. It returns the object's (inflated) bytes and its
// compression, or nil and the reader to stream the object from instead (the
// bytes read so far, then the rest): a zstd object, a gzip one that does
// not inflate cleanly or without libdeflate, or one the budget has no room
// for. done gives the buffers back; call it when the object is finished,
// also after an error. Every byte of raw goes to hash once, in order: an
// object read whole in a single write of its bytes (xxh3's streaming hasher
// copies every write but its first through a 1 KiB buffer: 200 MB of
// copying in a 200 MB load when it was fed as read), the rest of a streamed
// one as it is read.
func (f *inflater) readWhole(ctx context.Context, raw io.Reader, hash io.Writer, size int64) (whole []byte, comp format.Compression, in io.Reader, done func(), err error) {
	if f.zbuf.b == nil && f.obuf.b == nil {
		// Holding no whole-object buffer, wait for room for this object's
		// (the compressed bytes and an inflated object of about five
		// times their size, with the quarter grow adds), or for this
		// worker's share of the budget: a worker that waited for more
		// would wait for as long as any other holds a buffer. What the
		// budget cannot grant later is streamed.
		f.budget.waitFree(ctx, min(8*max(size, 64<<10), f.share))
	}
	// The first bytes tell a compressed object from one that is not: a
	// compressed one is read into zbuf and inflated into the object buffer,
	// one that is not is read straight into the object buffer.
	var head [4]byte
	hn, err := io.ReadFull(raw, head[:])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil // an object of fewer than 4 bytes: read whole below
	}
	done = func() { f.zbuf.release(wholeKeep) }
	if err != nil {
		return nil, format.None, nil, done, err
	}
	// rest is the whole object still: what readAll leaves of it (all of
	// it when the budget had no room) is streamed after the bytes read.
	rest := io.MultiReader(bytes.NewReader(head[:hn]), raw)
	if format.CompressionOf(head[:hn]) == format.None {
		ob := &f.obuf
		obj, complete, err := ob.readAll(rest, size, wholeMaxCompressed)
		if err != nil || !complete {
			// Streamed after all (or failed): the buffer is this
			// object's until done.
			done = func() { ob.release(wholeKeep); f.zbuf.release(wholeKeep) }
			if err != nil {
				return nil, format.None, nil, done, err
			}
			hash.Write(obj)
			return nil, format.None, io.MultiReader(bytes.NewReader(obj), io.TeeReader(rest, hash)), done, nil
		}
		hash.Write(obj)
		return f.holding(obj, ob, format.None)
	}
	zb, complete, err := f.zbuf.readAll(rest, size, wholeMaxCompressed)
	if err != nil {
		return nil, format.None, nil, done, err
	}
	hash.Write(zb)
	if complete && format.CompressionOf(zb) == format.Gzip && f.gunzip != nil {
		ob := &f.obuf
		if out, ok := format.InflateAll(f.gunzip, ob.b, zb, wholeMaxInflated, ob.grow); ok {
			return f.holding(out, ob, format.Gzip)
		}
	}
	return nil, format.None, io.MultiReader(bytes.NewReader(zb), io.TeeReader(rest, hash)), done, nil
}

// holding returns readWhole's results for obj, read whole into ob. Rows
// may point into a buffer of up to wholeKeep bytes (ref): it stays until
// they are written (flush); a rare larger object's rows are
// copied, and its buffer goes when the object is done.
func (f *inflater) holding(obj []byte, ob *wholeBuf, comp format.Compression) ([]byte, format.Compression, io.Reader, func(), error) {
	if len(ob.b) <= wholeKeep {
		f.whole = obj
		return obj, comp, nil, func() { f.whole = nil; f.zbuf.release(wholeKeep) }, nil
	}
	return obj, comp, nil, func() { ob.release(wholeKeep); f.zbuf.release(wholeKeep) }, nil
}

// release gives the whole-object buffers back (a watch runs many loads).
func (f *inflater) release() {
	f.zbuf.release(0)
	f.obuf.release(0)
}
