// Package runtimesetup sets the Go runtime up for eventlake's program. Only
// cmd/eventlake imports it (internal/importgraph's test holds that), for its
// initialisation. Go initialises, among the packages whose imports are
// ready, the first by import path; this one imports only os, runtime,
// runtime/debug and procs, so it runs early — before the protocol-buffer
// registries of the GCS client's gRPC dependencies, whose allocations
// started two collections while the program started at the default pace
// (GODEBUG=gctrace=1 eventlake --version: none now). The environment's
// GOGC, GOMEMLIMIT and GOMAXPROCS win over every setting here.
package runtimesetup

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/eventlake/eventlake/internal/procs"
)

// GCPercent and MemoryLimit trade a little memory for much less garbage
// collection: a load's garbage is short-lived buffers, and the soft memory
// limit keeps the heap bounded whatever GOGC does. 160 MiB: on the bench
// corpus a load's process peaks at 137-193 MiB with it, from 200 MB to 2 GB
// of input (the rest is the binary's pages and the off-heap object
// buffers); every 16 MiB less cost a few percent of speed in collection.
// Set this early, they also spare every run the two collections of
// start-up (eventlake --version 35-40 -> 29 ms with the other start-up
// savings of the same round; GOGC=off in the environment alone: 7 ms).
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
