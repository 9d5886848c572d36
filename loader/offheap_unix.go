//go:build unix

package loader

import "syscall"

// allocOffHeap maps n bytes of anonymous memory (zeroed, outside the Go
// heap). It does not ask for transparent huge pages (MADV_HUGEPAGE): on a
// virtual machine that hands idle memory back to its host (free page
// reporting, as Firecracker and other micro-VMs do), huge pages are faulted
// in several times slower than small ones, and a load on a machine whose
// memory had been idle took 1.14 s with them instead of 0.85 s (see
// bench/README, "Huge pages withdrawn").
func allocOffHeap(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n) // out of address space: let the Go heap try
	}
	return b
}

// freeOffHeap unmaps a buffer from allocOffHeap. Buffers that came from the
// Go heap (the fallback) are left to the collector: Munmap refuses them.
func freeOffHeap(b []byte) {
	if cap(b) > 0 {
		_ = syscall.Munmap(b[:cap(b)])
	}
}
