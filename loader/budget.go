package loader

import (
	"context"
	"sync"
)

// A load's large buffers come out of two load-wide budgets rather than
// per-worker allowances, so the memory they take is bounded whatever
// --workers is:
//
//   - whole-object buffers (a compressed object read whole and its inflated
//     bytes, outside the Go heap): a worker that holds none waits, before it
//     opens an object, until the budget has room for the object's buffers;
//     a buffer the budget cannot grant later is not allocated, and its
//     object takes the streaming path instead;
//   - arena chunks (the copied fields of an object's rows, until the object
//     has been read to its end and its rows were written): a worker that
//     holds none waits, before it streams an object, until the budget has
//     room for a good part of it; one that cannot get a chunk later spills
//     its rows into the object's own files, which gives its chunks back, and
//     waits for one when it holds none.
//
// Only a worker that holds nothing of a budget waits for it, so a waiter
// never holds what another waits for: the holders go on, and give their
// buffers back when they run out of objects.
const (
	defaultWholeBudget = 96 << 20
	defaultArenaBudget = 64 << 20
)

// memBudget is a byte allowance shared by the workers of a load.
type memBudget struct {
	mu    sync.Mutex
	freed *sync.Cond
	limit int64
	used  int64
	peak  int64 // the most ever reserved at once
}

func newMemBudget(limit int64) *memBudget {
	b := &memBudget{limit: limit}
	b.freed = sync.NewCond(&b.mu)
	return b
}

// waitFree waits until n bytes (at most the whole budget) are free, or ctx
// ends. It reserves nothing: the caller must hold nothing of the budget.
func (b *memBudget) waitFree(ctx context.Context, n int64) {
	n = min(n, b.limit)
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.freed.Broadcast()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.limit-b.used < n && ctx.Err() == nil {
		b.freed.Wait()
	}
}

// tryTake reserves n bytes if they fit.
func (b *memBudget) tryTake(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

// force reserves n bytes even beyond the limit (the peak shows it).
func (b *memBudget) force(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used += n
	b.peak = max(b.peak, b.used)
}

// give returns n bytes reserved by tryTake.
func (b *memBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.used < 0 {
		panic("loader: memory budget given back more than was taken")
	}
	b.freed.Broadcast()
}

// inUse and peakUse report the bytes reserved now and at most (tests).
func (b *memBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *memBudget) peakUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
