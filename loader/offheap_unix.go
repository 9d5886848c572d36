//go:build unix

package loader

import "syscall"

// hugePage is the size of a transparent huge page on the platforms Linux
// runs eventlake on (x86-64, arm64 with 4 KiB base pages); elsewhere
// buffers are only rounded to it.
const hugePage = 2 << 20

// allocOffHeap maps n bytes of anonymous memory (zeroed, outside the Go
// heap). A buffer of 2 MiB or more is mapped in whole huge pages and asks
// for them (adviseHugePages): see hugepages_linux.go.
func allocOffHeap(n int) []byte {
	size := n
	if n >= hugePage {
		size = (n + hugePage - 1) &^ (hugePage - 1)
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n) // out of address space: let the Go heap try
	}
	if n >= hugePage {
		adviseHugePages(b)
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
