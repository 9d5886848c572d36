// Package runtimesetup sets the Go runtime up for eventlake's program. Only
// cmd/eventlake imports it, for its initialisation: package initialisation
// runs it before the large dependencies' own (protocol buffer registries,
// compiled expressions), so that their allocations already run under its
// garbage-collection settings. The environment's GOGC, GOMEMLIMIT and
// GOMAXPROCS win over every setting here.
package runtimesetup

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/eventlake/eventlake/internal/procs"
)

// GCPercent and MemoryLimit trade a little memory for much less garbage
// collection: a load's garbage is short-lived buffers, and the soft memory
// limit keeps the heap bounded whatever GOGC does. 160 MiB: measured on the
// bench corpus, a load's process peaks at 200-221 MiB with it (the rest is
// the binary's pages and the off-heap object buffers); every 16 MiB less
// costs a few percent of speed in collection. Set before the dependencies
// initialise, the collector also skips the two collections their
// allocations would start at the default (≈ 7 ms of every run).
const (
	GCPercent   = 400
	MemoryLimit = 160 << 20
)

// SpareProcs is how many Go processors the program has beyond the CPUs its
// workers use. Compressing a page in libzstd is a C call of ≈ 0.5 ms: while
// every processor is busy, the runtime's monitor takes a processor away
// from a goroutine in a C call after 20 µs and keeps waking every 20 µs
// to look again; with one processor idle it leaves calls shorter than 10 ms
// alone and sleeps. Measured on a raw Pismo load on 2 CPUs (2 workers, 11
// alternating pairs): context switches 8.4-9.0k → 4.0-4.9k, the monitor's
// share of the CPU profile 3.7 % → 0.8 %, 1.56 → 1.48 CPU-s, 0.95 → 0.90 s.
const SpareProcs = 1

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procs.CPUs() + SpareProcs)
	}
}
