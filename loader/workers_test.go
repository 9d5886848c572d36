package loader_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/eventlake/eventlake/internal/procs"
	"github.com/eventlake/eventlake/loader"
)

// The program gives the Go scheduler a processor more than it has CPUs
// (internal/runtimesetup); a load's default workers are still one per CPU:
// a worker more than cores was measured slower.
func TestDefaultWorkersAreTheCPUsNotGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs.CPUs() + 3))
	dir, lake := t.TempDir(), t.TempDir()
	for i := range procs.CPUs() + 6 {
		line := fmt.Sprintf(`{"event_id":"e%d","domain":"cards","event_type":"card_blocked","schema_version":1,"org_id":"o","cid":"c","timestamp":"2024-01-02T10:00:00Z","data":{"a":1}}`+"\n", i)
		writeOld(t, filepath.Join(dir, fmt.Sprintf("o%02d.json", i)), []byte(line))
	}
	sum, err := loader.Run(context.Background(), loader.Options{Lake: lake, Settle: 0}, []loader.SourceSpec{{URL: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Workers != procs.CPUs() {
		t.Fatalf("%d workers with GOMAXPROCS %d, want one per CPU (%d)", sum.Workers, runtime.GOMAXPROCS(0), procs.CPUs())
	}
	if sum.Records != int64(procs.CPUs()+6) {
		t.Fatalf("%d records", sum.Records)
	}
}
