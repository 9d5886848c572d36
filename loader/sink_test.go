package loader

import (
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/eventlake/eventlake/partitions"
)

// TestSinkSendFailsTheLoad: send writes rows into their sets; a set that
// fails cancels the load (fail, once) and fails every later send and the
// sets' close.
func TestSinkSendFailsTheLoad(t *testing.T) {
	stage, err := partitions.NewStage(filepath.Join(t.TempDir(), "staging"), "L")
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int32
	s := newEventSink(stage, 2, partitions.WriterOptions{}, func(error) { failed.Add(1) })
	day := int64(86400e6)
	send := func(domains ...string) error {
		var rows []partitions.EventRow
		for i, d := range domains {
			rows = append(rows, partitions.EventRow{EventID: "e", EventType: "t", Domain: d, EventTime: int64(i) * day})
		}
		return s.send(partitions.GroupByPartition(nil, rows))
	}
	if err := send("a", "b", "a", "c"); err != nil {
		t.Fatalf("send: %v", err)
	}
	// A domain the sets refuse (a NUL byte; the loader checks domains
	// before, so only a bug gets here).
	if err := send("a", "bad\x00domain"); err == nil || !errors.Is(err, errWrite) || failed.Load() != 1 {
		t.Fatalf("send of a bad row: %v, load failed %d times; want a write error, once", err, failed.Load())
	}
	if err := send("a"); err == nil {
		t.Error("send after a failed write succeeded")
	}
	if _, err := s.close(); err == nil {
		t.Error("close after a failed write succeeded")
	}
	s.abort()
}
