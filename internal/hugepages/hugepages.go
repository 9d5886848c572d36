// Package hugepages decides whether eventlake's large buffers (whole-object
// buffers of several MB, filled once per object and read straight through)
// should ask the kernel for transparent huge pages.
//
// Neither answer is right everywhere, and the difference is large:
//
//   - On a virtual machine whose guest page tables are shadowed by the
//     hypervisor (PVM and similar), every 4 KiB page fault traps to it: a
//     first touch costs 12–15 µs per page (3–4 ms per MB), and a 2 MiB huge
//     page costs a fraction of that per byte, even when the memory had been
//     idle (measured: 1.7 ms per MB cold, 0.06 warm).
//   - On a virtual machine with hardware-assisted paging whose idle memory
//     goes back to the host (free page reporting), a 4 KiB fault costs
//     ≈ 1.7 µs (0.44 ms per MB) but a huge page on memory that had been idle
//     costs ten times more per byte than small ones.
//
// So the choice is measured, once per process: the cost of a few 4 KiB first
// touches of fresh anonymous memory (under a millisecond). When they are
// expensive the per-fault cost dominates and huge pages amortise it; when
// they are cheap, small pages are kept. EVENTLAKE_HUGE_PAGES=on or off
// overrides the measurement (auto, the default, measures).
package hugepages

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Threshold is the cost of one 4 KiB first touch above which huge pages are
// used: between the two kinds of machine measured (≈ 1.7 µs and 12–15 µs).
const Threshold = 5 * time.Microsecond

// MinBytes is the smallest buffer worth advising: one huge page.
const MinBytes = 2 << 20

// HeapBytes is how much of the Go heap HeapReserve advises: about what a
// load's heap grows to (≈ 100 MB on the bench corpus), capped by the GC's
// memory limit (eventlake's 160 MiB: 120 MiB).
const HeapBytes = 128 << 20

// Decision is what the process decided and why.
type Decision struct {
	Use bool
	// Reason says how: "EVENTLAKE_HUGE_PAGES=on", "transparent huge pages
	// disabled", "4 KiB page faults cost 13.1 µs", …
	Reason string
	// FaultCost is the measured cost of one 4 KiB first touch (0 when not
	// measured).
	FaultCost time.Duration
}

// String is a one-line summary for --version and logs.
func (d Decision) String() string {
	if d.Use {
		return "huge pages (" + d.Reason + ")"
	}
	return "4 KiB pages (" + d.Reason + ")"
}

var decided = sync.OnceValue(func() Decision {
	return decide(os.Getenv("EVENTLAKE_HUGE_PAGES"), thpMode(), measureFault)
})

// Get returns the process's decision, measuring it on first use.
func Get() Decision { return decided() }

// decide is the policy: mode is EVENTLAKE_HUGE_PAGES, thp the kernel's
// transparent huge page mode ("always", "madvise", "never", or "" when the
// platform has none), measure returns the cost of one 4 KiB first touch.
func decide(mode, thp string, measure func() time.Duration) Decision {
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "on", "1", "true":
		if thp == "" || thp == "never" {
			return Decision{Reason: "EVENTLAKE_HUGE_PAGES=on, but the kernel has no transparent huge pages"}
		}
		return Decision{Use: true, Reason: "EVENTLAKE_HUGE_PAGES=on"}
	case "off", "0", "false":
		return Decision{Reason: "EVENTLAKE_HUGE_PAGES=off"}
	}
	switch thp {
	case "":
		return Decision{Reason: "no transparent huge pages on this platform"}
	case "never":
		return Decision{Reason: "transparent huge pages disabled"}
	}
	c := measure()
	if c <= 0 {
		return Decision{Reason: "page fault cost not measurable"}
	}
	return Decision{Use: c >= Threshold, Reason: "4 KiB page faults cost " + micros(c), FaultCost: c}
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

// capToLimit keeps the reservation within three quarters of the GC's
// memory limit (eventlake's 160 MiB, or a lower GOMEMLIMIT), so the
// untouched allocation does not push the heap past it.
func capToLimit(n int, limit int64) int {
	if limit > 0 && int64(n) > limit/4*3 {
		return int(limit / 4 * 3)
	}
	return n
}
