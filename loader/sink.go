package loader

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/eventlake/eventlake/partitions"
)

// eventSink writes the events of every worker into a few partition sets:
// a partition belongs to one set, so a load makes one file per partition
// (not one per worker and partition), and each set holds its own open row
// groups. A worker writes its object's rows into the sets itself, each under
// that set's lock, trying the sets that are free first: the rows are still
// warm in its cache, and no worker waits for a writer goroutine to catch up
// with another's backlog (with writer goroutines, pismo-raw loads took 8 %
// more CPU and 11 % more time: workers waited for object buffers that one
// writer still held while the other had nothing to do).
type eventSink struct {
	sets []*sinkSet
	fail func(error) // cancels the load

	mu     sync.Mutex
	owner  map[sinkKey]int
	routed []int64 // rows routed to each set, to balance new partitions
}

type sinkKey struct {
	domain string
	day    int64
}

// sinkSet is one partition set and the lock a worker takes to write to it.
type sinkSet struct {
	mu  sync.Mutex
	w   *partitions.EventWriter
	err atomic.Pointer[error]
}

// chunkPool recycles arena chunks between the workers of a load. Every
// chunk alive (in a worker's buffer or free here) is reserved from the
// load's arena budget.
type chunkPool struct {
	mu       sync.Mutex
	returned *sync.Cond // a chunk came back
	chunks   [][]byte   // free chunks of chunkSize
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

func (p *chunkPool) put(chunks [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range chunks {
		if cap(c) == chunkSize && len(p.chunks) < maxFreeChunks {
			p.chunks = append(p.chunks, c[:0])
		} else {
			p.budget.give(int64(cap(c)))
		}
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
// workers. The caller must hold no chunk (or it could wait for itself). A
// chunk larger than the whole budget is granted when nothing else is
// reserved.
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
	p.chunks = nil
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

// pop takes the last element of *s (the zero value when empty).
func pop[T any](s *[]T) T {
	var v T
	if n := len(*s); n > 0 {
		v = (*s)[n-1]
		*s = (*s)[:n-1]
	}
	return v
}

func newEventSink(stage *partitions.Stage, n int, opts partitions.WriterOptions, fail func(error)) *eventSink {
	s := &eventSink{fail: fail, owner: map[sinkKey]int{}, routed: make([]int64, n)}
	for range n {
		s.sets = append(s.sets, &sinkSet{w: partitions.NewEventWriter(stage, opts)})
	}
	return s
}

// write writes runs into the set; the caller holds sw.mu. After an error
// the set takes no more rows and the load is cancelled.
func (sw *sinkSet) write(s *eventSink, runs [][]partitions.EventRow) error {
	if e := sw.err.Load(); e != nil {
		return *e
	}
	for _, run := range runs {
		if err := sw.w.Write(run); err != nil {
			err = fmt.Errorf("%w: %v", errWrite, err)
			sw.err.Store(&err)
			s.fail(err)
			return err
		}
	}
	return nil
}

// err returns the first write error of any set.
func (s *eventSink) err() error {
	for _, sw := range s.sets {
		if e := sw.err.Load(); e != nil {
			return *e
		}
	}
	return nil
}

// send writes rows (grouped by partition, partitions.GroupByPartition) into
// their partitions' sets and returns once they are written: the caller may
// then reuse the rows and whatever they point into (its arena chunks, its
// object buffer).
func (s *eventSink) send(rows []partitions.EventRow) error {
	if err := s.err(); err != nil {
		return err
	}
	per := make([][][]partitions.EventRow, len(s.sets))
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
	// First the sets no other worker holds, then, waiting, the others.
	for _, wait := range []bool{false, true} {
		for wi, runs := range per {
			if len(runs) == 0 {
				continue
			}
			sw := s.sets[wi]
			if wait {
				sw.mu.Lock()
			} else if !sw.mu.TryLock() {
				continue
			}
			err := sw.write(s, runs)
			sw.mu.Unlock()
			if err != nil {
				return err
			}
			per[wi] = nil
		}
	}
	return nil
}

// close finishes the sets' files (in parallel). The workers are done.
func (s *eventSink) close() ([]partitions.File, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	files := make([][]partitions.File, len(s.sets))
	errs := make([]error, len(s.sets))
	var wg sync.WaitGroup
	for i, sw := range s.sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			files[i], errs[i] = sw.w.Close()
		}()
	}
	wg.Wait()
	var out []partitions.File
	for i := range s.sets {
		if errs[i] != nil {
			return nil, fmt.Errorf("%w: %v", errWrite, errs[i])
		}
		out = append(out, files[i]...)
	}
	return out, nil
}

// abort deletes the sets' files. The workers are done.
func (s *eventSink) abort() {
	for _, sw := range s.sets {
		sw.w.Abort()
	}
}
