package loader

import "sync"

// A load's large buffers come out of two load-wide budgets rather than
// per-worker allowances, so the memory they take is bounded whatever
// --workers is:
//
//   - whole-object buffers (a compressed object read whole and its inflated
//     bytes, outside the Go heap): a buffer the budget cannot grant is not
//     allocated, and its object takes the streaming path instead;
//   - arena chunks (the copied fields of an object's rows, until the object
//     has been read to its end and its rows were written): a worker that
//     cannot get a chunk spills its rows into the object's own files, which
//     gives its chunks back, and waits for one when it holds none.
const (
	defaultWholeBudget = 96 << 20
	defaultArenaBudget = 64 << 20
)

// memBudget is a byte allowance shared by the workers of a load.
type memBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	peak  int64 // the most ever reserved at once
}

func newMemBudget(limit int64) *memBudget { return &memBudget{limit: limit} }

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
