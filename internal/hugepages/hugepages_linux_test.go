//go:build linux

package hugepages

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/childtest"
)

func TestMeasureFault(t *testing.T) {
	if thpMode() == "" {
		t.Skip("no transparent huge pages here")
	}
	c := measureFault()
	if c <= 0 || c > 10*time.Millisecond {
		t.Fatalf("one 4 KiB first touch measured %v", c)
	}
	t.Logf("4 KiB first touch: %v; kernel mode %q", c, thpMode())
}

// TestAdviseMarksTheMapping checks that the advice reaches the kernel for
// the buffer's own mapping (the flag readers of smaps see), and that a
// buffer smaller than a huge page is left alone.
func TestAdviseMarksTheMapping(t *testing.T) {
	if m := thpMode(); m == "" || m == "never" {
		t.Skipf("transparent huge pages unavailable (%q)", m)
	}
	b, err := syscall.Mmap(-1, 0, 2*MinBytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	before, err := MappingFlags(b)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(before, "hg") {
		t.Fatalf("fresh mapping already advised: %v", before)
	}
	if !advise(b) {
		t.Fatal("madvise(MADV_HUGEPAGE) refused")
	}
	after, err := MappingFlags(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(after, "hg") {
		t.Fatalf("mapping flags after advice: %v; want hg", after)
	}
	if Advise(make([]byte, MinBytes-1)) {
		t.Error("Advise asked for huge pages on a buffer smaller than one")
	}
}

// TestPrintHeapAdvice runs in a child process of
// TestHeapReserveAdvisesWhatTheHeapUsesNext: the decision is made once per
// process, from its environment.
func TestPrintHeapAdvice(t *testing.T) {
	childtest.Skip(t)
	did := HeapReserve()
	again := HeapReserve()
	// Heap memory allocated afterwards, large and small, lands in the
	// advised range (but for its unaligned start, and what fits in holes
	// of the heap below it).
	advised := func(b []byte) bool {
		flags, err := MappingFlags(b)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(flags, "hg")
	}
	big := make([]byte, 8<<20)
	small := make([][]byte, 256)
	n := 0
	for i := range small {
		small[i] = make([]byte, 32<<10)
		if advised(small[i]) {
			n++
		}
	}
	fmt.Printf("reserved=%v again=%v big=%v small=%v\n", did, again, advised(big[len(big)-1:]), n >= len(small)/2)
}

// TestHeapReserveAdvisesWhatTheHeapUsesNext: with huge pages decided, the
// heap's next allocations are in a mapping advised for huge pages; without,
// nothing is reserved or advised.
func TestHeapReserveAdvisesWhatTheHeapUsesNext(t *testing.T) {
	if m := thpMode(); m == "" || m == "never" {
		t.Skipf("transparent huge pages unavailable (%q)", m)
	}
	for _, tc := range []struct{ env, want string }{
		{"on", "reserved=true again=true big=true small=true\n"},
		{"off", "reserved=false again=false big=false small=false\n"},
	} {
		if got := childtest.Output(t, "TestPrintHeapAdvice", "EVENTLAKE_HUGE_PAGES="+tc.env); got != tc.want {
			t.Errorf("EVENTLAKE_HUGE_PAGES=%s: %s; want %s", tc.env, got, tc.want)
		}
	}
}
