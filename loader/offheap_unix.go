//go:build unix

package loader

import (
	"syscall"

	"github.com/eventlake/eventlake/internal/hugepages"
)

// allocOffHeap maps n bytes of anonymous memory (zeroed, outside the Go
// heap). A buffer of a huge page or more asks for transparent huge pages
// when the process decided for them (internal/hugepages: only where a 4 KiB
// page fault is expensive; on a machine whose idle memory goes back to its
// host and whose small faults are cheap, huge pages made cold loads slower,
// see bench/README, "Huge pages withdrawn" and "Every shape after the
// eleventh round"). Its length is rounded up to whole huge pages then, so no part of
// it falls back to small ones; the slice returned has length n.
func allocOffHeap(n int) []byte {
	size := n
	huge := n >= hugepages.MinBytes && hugepages.Get().Use
	if huge {
		size = (n + hugepages.MinBytes - 1) &^ (hugepages.MinBytes - 1)
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n) // out of address space: let the Go heap try
	}
	if huge {
		hugepages.Advise(b)
	}
	return b[:n]
}

// freeOffHeap unmaps a buffer from allocOffHeap. Buffers that came from the
// Go heap (the fallback) are left to the collector: Munmap refuses them.
func freeOffHeap(b []byte) {
	if cap(b) > 0 {
		_ = syscall.Munmap(b[:cap(b)])
	}
}
