package loader

import (
	"unsafe"

	"github.com/eventlake/eventlake/loader/csvtable"
	"github.com/eventlake/eventlake/partitions"
)

// objectBuffer holds one object's rows until the object has been read to its
// end. Strings point into arena chunks (no allocation per field).
type objectBuffer struct {
	chunks       [][]byte
	pool         *chunkPool // the load's arena chunks (shared by the workers)
	slab         []string   // backing store of strPtr
	rows         []partitions.EventRow
	grouped      []partitions.EventRow // rows in the order send takes (flush), kept for the next object
	rejects      []partitions.RejectRow
	size         int
	spillEvents  *partitions.EventWriter
	spillRejects *partitions.RejectWriter

	table *csvtable.Table // a delimited (CSV) object's rows, for its table
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
	b.pool.put(b.chunks)
	b.chunks = nil
	b.slab = nil
	clear(b.rows)
	b.rows = b.rows[:0]
	clear(b.rejects)
	b.rejects = b.rejects[:0]
	b.size = 0
	b.spillEvents, b.spillRejects = nil, nil
	b.table = nil
}
