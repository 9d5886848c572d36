package loader

import "io"

// wholeBuf is a reusable buffer for a whole object, allocated outside the Go
// heap where the platform allows (see offheap_unix.go): holding an object of
// several MB then does not move the collector's heap target, so it does not
// make the GC run more often. Its bytes are reserved from the load's
// whole-object budget (see budget.go).
type wholeBuf struct {
	b      []byte
	budget *memBudget
}

// grow returns a buffer of at least n bytes that begins with keep (which may
// be a prefix of the current buffer), or nil when the budget has no room for
// it (the current buffer is then unchanged).
func (w *wholeBuf) grow(keep []byte, n int) []byte {
	if n <= len(w.b) {
		copy(w.b, keep)
		return w.b
	}
	if len(keep) == 0 {
		w.release(0) // nothing to carry over: give the old buffer back first
	}
	// A quarter more than asked, in whole MiB: objects of a stream differ a
	// little in size, and a buffer that grew for each would be mapped (and
	// page-faulted) anew each time. Without room for that, what was asked.
	size := (n + n/4 + 1<<20 - 1) &^ (1<<20 - 1)
	if !w.budget.tryTake(int64(size)) {
		if size = n; !w.budget.tryTake(int64(size)) {
			return nil
		}
	}
	nb := allocOffHeap(size)
	copy(nb, keep)
	w.release(0)
	w.b = nb
	return nb
}

// release frees the buffer when it is larger than keep bytes (a rare large
// object does not pin its memory for the rest of the load).
func (w *wholeBuf) release(keep int) {
	if len(w.b) > keep {
		freeOffHeap(w.b)
		w.budget.give(int64(len(w.b)))
		w.b = nil
	}
}

// readAll reads r to its end into the buffer, up to limit bytes. It returns
// the bytes read and whether r ended within the limit (and the budget); when
// it did not, the bytes read so far are returned and the rest is still in r.
func (w *wholeBuf) readAll(r io.Reader, sizeHint int64, limit int) ([]byte, bool, error) {
	n := 0
	want := int(min(max(sizeHint+1, 64<<10), int64(limit)+1))
	buf := w.grow(nil, want)
	if buf == nil {
		return nil, false, nil // no room in the budget: stream the object
	}
	for {
		if n == len(buf) {
			if n > limit {
				return buf[:n], false, nil
			}
			nb := w.grow(buf[:n], min(2*len(buf), limit+1))
			if nb == nil {
				return buf[:n], false, nil
			}
			buf = nb
		}
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			if n > limit {
				return buf[:n], false, nil
			}
			return buf[:n], true, nil
		}
		if err != nil {
			return buf[:n], false, err
		}
	}
}
