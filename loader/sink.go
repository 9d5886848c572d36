package loader

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/eventlake/eventlake/partitions"
)

// eventSink writes the events of every worker through a few writer
// goroutines, each of which owns a set of partitions: a partition is written
// by one writer only, so a load makes one file per partition (not one per
// worker and partition), each writer holds half as many open row groups in
// the same memory, and parsing the next object overlaps encoding and
// compressing the last one.
//
// Rows are handed over without copying: a handoff keeps the object's arena
// and rows alive until every writer that got a part of them is done.
type eventSink struct {
	writers []*sinkWriter
	fail    func(error) // cancels the load

	mu     sync.Mutex
	owner  map[sinkKey]int
	routed []int64 // rows routed to each writer, to balance new partitions

	closeOnce sync.Once
}

type sinkKey struct {
	domain string
	day    int64
}

type sinkWriter struct {
	ch   chan sinkBatch
	w    *partitions.EventWriter
	err  atomic.Pointer[error]
	done chan struct{}
}

// sinkBatch is the runs of one object that go to one writer.
type sinkBatch struct {
	runs [][]partitions.EventRow
	h    *handoff
}

// handoff owns a flushed object's rows and arena while writers use them.
type handoff struct {
	refs   atomic.Int32
	rows   []partitions.EventRow
	chunks [][]byte
	pool   *chunkPool
	done   func() // when not nil: the rows also point into a buffer the worker waits to reuse
}

func (h *handoff) release() {
	if h.refs.Add(-1) == 0 {
		clear(h.rows)
		h.pool.put(h.chunks, h.rows)
		if h.done != nil {
			h.done()
		}
	}
}

// chunkPool recycles arena chunks and row slices between the workers of a
// load and the writers they hand them to. Every chunk alive (in a worker's
// buffer, with the writers, or free here) is reserved from the load's arena
// budget.
type chunkPool struct {
	mu       sync.Mutex
	returned *sync.Cond // a chunk came back
	chunks   [][]byte   // free chunks of chunkSize
	rows     [][]partitions.EventRow
	budget   *memBudget
}

// maxFreeChunks is how many emptied chunks the pool keeps for reuse (no
// page faults, no GC); the others give their bytes back to the budget.
const maxFreeChunks = 16

func newChunkPool(budget *memBudget) *chunkPool {
	p := &chunkPool{budget: budget}
	p.returned = sync.NewCond(&p.mu)
	return p
}

func (p *chunkPool) put(chunks [][]byte, rows []partitions.EventRow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range chunks {
		if cap(c) == chunkSize && len(p.chunks) < maxFreeChunks {
			p.chunks = append(p.chunks, c[:0])
		} else {
			p.budget.give(int64(cap(c)))
		}
	}
	if cap(rows) > 0 && len(p.rows) < 4 {
		p.rows = append(p.rows, rows[:0])
	}
	if len(chunks) > 0 {
		p.returned.Broadcast()
	}
}

// getChunk returns an empty chunk of at least n bytes (chunkSize when n is
// not larger), or nil when the budget has no room for it.
func (p *chunkPool) getChunk(n int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.getLocked(n, false)
}

// waitChunk is getChunk that waits for chunks to come back from the other
// workers and the writers. The caller must hold no chunk (or it could wait
// for itself). A chunk larger than the whole budget is granted when nothing
// else is reserved.
func (p *chunkPool) waitChunk(n int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if c := p.getLocked(n, true); c != nil {
			return c
		}
		p.returned.Wait()
	}
}

// forceChunk returns a chunk even beyond the budget (the overdraft is
// counted): for a caller that holds chunks and cannot give them back.
func (p *chunkPool) forceChunk(n int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.getLocked(n, false); c != nil {
		return c
	}
	size := max(n, chunkSize)
	p.budget.force(int64(size))
	return make([]byte, 0, size)
}

func (p *chunkPool) getLocked(n int, alone bool) []byte {
	size := max(n, chunkSize)
	if size == chunkSize {
		if c := pop(&p.chunks); c != nil {
			return c
		}
	}
	for !p.budget.tryTake(int64(size)) {
		// Free chunks hold reservations too: drop them to make room.
		if c := pop(&p.chunks); c != nil {
			p.budget.give(chunkSize)
			continue
		}
		if alone && size > int(p.budget.limit) && p.budget.inUse() == 0 {
			p.budget.force(int64(size))
			break
		}
		return nil
	}
	return make([]byte, 0, size)
}

// drain gives the free chunks back to the budget (the load is over).
func (p *chunkPool) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.chunks {
		p.budget.give(int64(cap(c)))
	}
	p.chunks, p.rows = nil, nil
}

// waitRoom waits until n bytes of chunks (at most a quarter of the budget)
// could be had, or ctx ends. The caller must hold no chunk.
func (p *chunkPool) waitRoom(ctx context.Context, n int64) {
	n = min(n, p.budget.limit/4)
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.returned.Broadcast()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for ctx.Err() == nil {
		for c := pop(&p.chunks); c != nil; c = pop(&p.chunks) { // free chunks are room
			p.budget.give(chunkSize)
		}
		if p.budget.limit-p.budget.inUse() >= n {
			return
		}
		p.returned.Wait()
	}
}

func (p *chunkPool) getRows() []partitions.EventRow {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pop(&p.rows)
}

// pop takes the last element of *s (the zero value when empty).
func pop[T any](s *[]T) T {
	var v T
	if n := len(*s); n > 0 {
		v = (*s)[n-1]
		*s = (*s)[:n-1]
	}
	return v
}

// sinkQueue is how many batches a writer may have waiting: enough to keep
// it busy while workers parse, few enough to bound the memory in flight.
const sinkQueue = 2

func newEventSink(stage *partitions.Stage, n int, opts partitions.WriterOptions, fail func(error)) *eventSink {
	s := &eventSink{fail: fail, owner: map[sinkKey]int{}, routed: make([]int64, n)}
	for range n {
		sw := &sinkWriter{ch: make(chan sinkBatch, sinkQueue), w: partitions.NewEventWriter(stage, opts), done: make(chan struct{})}
		s.writers = append(s.writers, sw)
		go sw.run(s)
	}
	return s
}

func (sw *sinkWriter) run(s *eventSink) {
	defer close(sw.done)
	for b := range sw.ch {
		if sw.err.Load() == nil {
			for _, run := range b.runs {
				if err := sw.w.Write(run); err != nil {
					err = fmt.Errorf("%w: %v", errWrite, err)
					sw.err.Store(&err)
					s.fail(err)
					break
				}
			}
		}
		b.h.release() // also after an error: workers must not wait on it
	}
}

// err returns the first write error of any writer.
func (s *eventSink) err() error {
	for _, sw := range s.writers {
		if e := sw.err.Load(); e != nil {
			return *e
		}
	}
	return nil
}

// send hands rows (sorted by partition) to their partitions' writers. The
// handoff takes ownership of rows and chunks; done, when not nil, runs once
// every writer is through with the rows. When send returns an error, done
// has not been and will not be called.
func (s *eventSink) send(rows []partitions.EventRow, chunks [][]byte, pool *chunkPool, done func()) error {
	if err := s.err(); err != nil {
		return err
	}
	per := make([][][]partitions.EventRow, len(s.writers))
	s.mu.Lock()
	for i := 0; i < len(rows); {
		k := sinkKey{rows[i].Domain, partitions.EventDay(rows[i].EventTime)}
		j := i + 1
		for j < len(rows) && rows[j].Domain == k.domain && partitions.EventDay(rows[j].EventTime) == k.day {
			j++
		}
		o, ok := s.owner[k]
		if !ok {
			for wi := range s.routed {
				if s.routed[wi] < s.routed[o] {
					o = wi
				}
			}
			// The key outlives the object: clone its domain off the arena.
			s.owner[sinkKey{string([]byte(k.domain)), k.day}] = o
		}
		s.routed[o] += int64(j - i)
		per[o] = append(per[o], rows[i:j])
		i = j
	}
	s.mu.Unlock()
	h := &handoff{rows: rows, chunks: chunks, pool: pool, done: done}
	n := int32(0)
	for _, runs := range per {
		if len(runs) > 0 {
			n++
		}
	}
	h.refs.Store(n)
	for wi, runs := range per {
		if len(runs) > 0 {
			s.writers[wi].ch <- sinkBatch{runs: runs, h: h}
		}
	}
	return nil
}

// stop lets the writers finish what they were sent and waits for them.
func (s *eventSink) stop() {
	s.closeOnce.Do(func() {
		for _, sw := range s.writers {
			close(sw.ch)
		}
	})
	for _, sw := range s.writers {
		<-sw.done
	}
}

// close stops the writers and finishes their files (in parallel).
func (s *eventSink) close() ([]partitions.File, error) {
	s.stop()
	if err := s.err(); err != nil {
		return nil, err
	}
	files := make([][]partitions.File, len(s.writers))
	errs := make([]error, len(s.writers))
	var wg sync.WaitGroup
	for i, sw := range s.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			files[i], errs[i] = sw.w.Close()
		}()
	}
	wg.Wait()
	var out []partitions.File
	for i := range s.writers {
		if errs[i] != nil {
			return nil, fmt.Errorf("%w: %v", errWrite, errs[i])
		}
		out = append(out, files[i]...)
	}
	return out, nil
}

// abort stops the writers and deletes their files.
func (s *eventSink) abort() {
	s.stop()
	for _, sw := range s.writers {
		sw.w.Abort()
	}
}
