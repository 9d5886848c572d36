package loader

import (
	"bytes"
	"context"
	"io"
	"unsafe"

	"github.com/eventlake/eventlake/loader/format"
)

// Objects up to wholeMaxCompressed bytes that inflate to at most
// wholeMaxInflated are read whole and inflated in one call by libdeflate
// (three times as fast as streaming); larger ones are streamed. Buffers
// above wholeKeep are given back after their object.
const (
	wholeMaxCompressed = 32 << 20
	wholeMaxInflated   = 256 << 20
	wholeKeep          = 32 << 20
)

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

// freeBuffers gives the whole-object buffers back (a watch runs many loads).
func (w *worker) freeBuffers() {
	w.zbuf.release(0)
	for i := range w.obufs {
		w.busy[i].Wait() // the writers are done with rows pointing into it
		w.obufs[i].release(0)
	}
}
