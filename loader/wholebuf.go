package loader

import "io"

// wholeBuf is a reusable buffer for a whole object, allocated outside the Go
// heap where the platform allows (see offheap_unix.go): holding an object of
// several MB then does not move the collector's heap target, so it does not
// make the GC run more often.
type wholeBuf struct {
	b []byte
}

// grow returns a buffer of at least n bytes that begins with keep (which may
// be a prefix of the current buffer).
func (w *wholeBuf) grow(keep []byte, n int) []byte {
	if n <= len(w.b) {
		copy(w.b, keep)
		return w.b
	}
	// A quarter more than asked, in whole MiB: objects of a stream differ a
	// little in size, and a buffer that grew for each would be mapped (and
	// page-faulted) anew each time.
	n = (n + n/4 + 1<<20 - 1) &^ (1<<20 - 1)
	nb := allocOffHeap(n)
	copy(nb, keep)
	freeOffHeap(w.b)
	w.b = nb
	return nb
}

// release frees the buffer when it is larger than keep bytes (a rare large
// object does not pin its memory for the rest of the load).
func (w *wholeBuf) release(keep int) {
	if len(w.b) > keep {
		freeOffHeap(w.b)
		w.b = nil
	}
}

// readAll reads r to its end into the buffer, up to limit bytes. It returns
// the bytes read and whether r ended within the limit; when it did not, the
// bytes read so far are returned and the rest is still in r.
func (w *wholeBuf) readAll(r io.Reader, sizeHint int64, limit int) ([]byte, bool, error) {
	n := 0
	want := int(min(max(sizeHint+1, 64<<10), int64(limit)+1))
	buf := w.grow(nil, want)
	for {
		if n == len(buf) {
			if n > limit {
				return buf[:n], false, nil
			}
			buf = w.grow(buf[:n], min(2*len(buf), limit+1))
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
