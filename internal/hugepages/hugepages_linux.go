package hugepages

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const (
	madvHugePage   = 14 // MADV_HUGEPAGE
	madvNoHugePage = 15 // MADV_NOHUGEPAGE
)

// thpMode reads the kernel's transparent huge page mode: the bracketed word
// of /sys/kernel/mm/transparent_hugepage/enabled ("" when it cannot be read).
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	i, j := bytes.IndexByte(b, '['), bytes.IndexByte(b, ']')
	if i < 0 || j < i {
		return ""
	}
	return string(b[i+1 : j])
}

// probePages is how many 4 KiB pages one probe touches; the cheaper of two
// probes is taken, so a preemption in one does not decide.
const probePages = 32

// measureFault returns the cost of one first touch of a small page (4 KiB on
// amd64) of fresh anonymous memory (huge pages refused for the probe, whatever the kernel's
// mode), or 0 when it cannot be measured.
func measureFault() time.Duration {
	var best time.Duration
	page := os.Getpagesize()
	for range 2 {
		b, err := syscall.Mmap(-1, 0, probePages*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return 0
		}
		_ = syscall.Madvise(b, madvNoHugePage)
		start := time.Now()
		for i := 0; i < len(b); i += page {
			b[i] = 1
		}
		d := time.Since(start) / probePages
		_ = syscall.Munmap(b)
		if best == 0 || d < best {
			best = d
		}
	}
	return best
}

// Advise asks for huge pages on b (a private anonymous mapping, not yet
// touched) when the process decided for them and b holds at least one.
// It reports whether it asked.
func Advise(b []byte) bool {
	if len(b) < MinBytes || !Get().Use {
		return false
	}
	return advise(b)
}

func advise(b []byte) bool { return syscall.Madvise(b, madvHugePage) == nil }

// MappingFlags returns the kernel's flags (the VmFlags line of
// /proc/self/smaps, e.g. "rd wr mr mw me ac hg") of the mapping holding b's
// first byte: "hg" marks one advised for huge pages. For tests and
// diagnostics.
func MappingFlags(b []byte) ([]string, error) {
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			lo, hi, ok := strings.Cut(f[0], "-")
			if !ok {
				continue
			}
			l, err1 := strconv.ParseUint(lo, 16, 64)
			h, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && l <= addr && addr < h
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Fields(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	return nil, fmt.Errorf("no mapping holds %#x", addr)
}

// HeapReserve advises the next HeapBytes the Go heap grows into for huge
// pages (at most three quarters of the GC's memory limit), once per
// process and only when the process decided for them; it reports whether
// it did. Call it early (a load or a compaction calls it before its work
// starts), while the heap is small.
//
// The runtime maps heap memory without advice, so unless the kernel's mode
// is "always" the heap is faulted in 4 KiB pages: on the machines where that
// is expensive, three quarters of a load's page faults. A mapping keeps its
// advice when the runtime later gives pages of it back (MADV_DONTNEED) and
// reuses them. So one large allocation that is never touched makes the
// runtime map that much heap at once (fresh memory is not cleared, so it
// costs no page); its range is advised; a collection returns it to the heap,
// where the allocations that follow land.
func HeapReserve() bool {
	if !Get().Use {
		return false
	}
	reserveOnce.Do(func() { reserved = heapReserve(capToLimit(HeapBytes, debug.SetMemoryLimit(-1))) })
	return reserved
}

var (
	reserveOnce sync.Once
	reserved    bool
)

func heapReserve(n int) bool {
	if n < MinBytes {
		return false
	}
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + MinBytes - 1) &^ (MinBytes - 1)
	hi := (p + uintptr(n)) &^ (MinBytes - 1)
	ok := hi > lo && advise(b[lo-p:hi-p])
	runtime.GC() // b is dead: its span goes back to the heap

	return ok
}
