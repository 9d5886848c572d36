//go:build unix

package loader

import "syscall"

// allocOffHeap maps n bytes of anonymous memory (zeroed, outside the Go heap).
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
