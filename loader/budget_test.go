package loader

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/eventlake/eventlake/internal/native"
)

// TestMemoryBudgetHoldsForAnyWorkers loads many large objects with many
// workers and budgets far smaller than what the workers would take on
// their own: the bytes reserved from each budget never exceed it, every
// reservation is given back, and no row is lost.
func TestMemoryBudgetHoldsForAnyWorkers(t *testing.T) {
	if native.NewGunzipper() == nil {
		t.Log("no libdeflate: only the arena budget is exercised")
	}
	dir := t.TempDir()
	const objects, perObject = 48, 6000
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range objects {
		var raw bytes.Buffer
		for j := range perObject {
			// Random payloads: about 1.2 MB per object, 0.9 MB gzipped.
			pad := make([]byte, 150)
			for k := range pad {
				pad[k] = 'a' + byte(rng.IntN(26))
			}
			fmt.Fprintf(&raw, `{"event_id":"o%d-e%d","domain":"account","event_type":"t-1","timestamp":"2024-02-%02dT09:00:00Z","data":{"pad":"%s"}}`+"\n",
				i, j, 1+j%5, pad)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw.Bytes())
		zw.Close()
		name, data := fmt.Sprintf("obj-%03d.ndjson.gz", i), gz.Bytes()
		if i%2 == 1 {
			// Raw objects too: read whole, their rows point into their buffer.
			name, data = fmt.Sprintf("obj-%03d.ndjson", i), raw.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// No room for whole objects: every object streams, and its rows take
	// arena chunks.
	for _, c := range []struct{ whole, arena int64 }{{8 << 20, 4 << 20}, {0, 4 << 20}} {
		t.Run(fmt.Sprintf("whole=%dMiB,arena=%dMiB", c.whole>>20, c.arena>>20), func(t *testing.T) {
			b := &loadBudgets{whole: newMemBudget(c.whole), arena: newMemBudget(c.arena)}
			sum, err := Run(context.Background(), Options{Lake: t.TempDir(), Workers: MaxWorkers, budgets: b}, []SourceSpec{{URL: dir}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Committed != objects || sum.Records != objects*perObject || sum.Rejects != 0 {
				t.Fatalf("%d objects committed, %d records, %d rejects; want %d, %d, 0", sum.Committed, sum.Records, sum.Rejects, objects, objects*perObject)
			}
			t.Logf("peak reserved: whole-object buffers %d of %d bytes, arena %d of %d", b.whole.peakUse(), c.whole, b.arena.peakUse(), c.arena)
			if p := b.whole.peakUse(); p > c.whole {
				t.Errorf("whole-object buffers: %d bytes reserved at the peak, budget %d", p, c.whole)
			}
			if p := b.arena.peakUse(); p > c.arena {
				t.Errorf("arena chunks: %d bytes reserved at the peak, budget %d", p, c.arena)
			}
			if b.whole.inUse() != 0 || b.arena.inUse() != 0 {
				t.Errorf("after the load, %d whole-object and %d arena bytes are still reserved", b.whole.inUse(), b.arena.inUse())
			}
		})
	}
}
