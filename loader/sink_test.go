package loader

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/eventlake/eventlake/partitions"
)

// TestSinkSendGivesBackOnce: send writes the rows into their sets and then
// gives the rows and chunks back and calls done exactly once — also when a
// set fails, which cancels the load (fail) and fails every later send.
func TestSinkSendGivesBackOnce(t *testing.T) {
	stage, err := partitions.NewStage(filepath.Join(t.TempDir(), "staging"), "L")
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int32
	s := newEventSink(stage, 2, partitions.WriterOptions{}, func(error) { failed.Add(1) })
	pool := newChunkPool(newMemBudget(64 << 20))
	day := int64(86400e6)
	send := func(domains ...string) (error, int) {
		var rows []partitions.EventRow
		for i, d := range domains {
			rows = append(rows, partitions.EventRow{EventID: "e", EventType: "t", Domain: d, EventTime: int64(i) * day})
		}
		chunk := pool.forceChunk(10)
		calls := 0
		err := s.send(partitions.GroupByPartition(nil, rows), [][]byte{chunk}, pool, func() { calls++ })
		return err, calls
	}
	if err, calls := send("a", "b", "a", "c"); err != nil || calls != 1 {
		t.Fatalf("send: %v, done called %d times, want nil and once", err, calls)
	}
	// A domain the sets refuse (a NUL byte; the loader checks domains
	// before, so only a bug gets here).
	err, calls := send("a", "bad\x00domain")
	if err == nil || !errors.Is(err, errWrite) || calls != 1 || failed.Load() != 1 {
		t.Fatalf("send of a bad row: %v, done called %d times, load failed %d times; want a write error, once, once", err, calls, failed.Load())
	}
	if err, calls := send("a"); err == nil || calls != 1 {
		t.Errorf("send after a failed write: %v, done called %d times; want the error and once", err, calls)
	}
	if _, err := s.close(); err == nil {
		t.Error("close after a failed write succeeded")
	}
	s.abort()
	if pool.budget.inUse() != int64(len(pool.chunks))*chunkSize {
		t.Errorf("budget in use %d with %d free chunks: a chunk was not given back", pool.budget.inUse(), len(pool.chunks))
	}
}
