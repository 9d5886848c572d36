package loader

import (
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

// chunkPool recycles arena chunks and row slices between a worker and the
// writers it handed them to.
type chunkPool struct {
	mu     sync.Mutex
	chunks [][]byte
	rows   [][]partitions.EventRow
}

func (p *chunkPool) put(chunks [][]byte, rows []partitions.EventRow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range chunks {
		if cap(c) == chunkSize && len(p.chunks) < 4 {
			p.chunks = append(p.chunks, c[:0])
		}
	}
	if cap(rows) > 0 && len(p.rows) < 4 {
		p.rows = append(p.rows, rows[:0])
	}
}

func (p *chunkPool) getChunk() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pop(&p.chunks)
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
