package hugepages

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventlake/eventlake/internal/childtest"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		mode, thp string
		cost      time.Duration
		use       bool
		measured  bool
		reason    string
	}{
		{"", "madvise", 13 * time.Microsecond, true, true, "4 KiB page faults cost 13.0 µs"},
		{"auto", "always", 13 * time.Microsecond, true, true, "13.0 µs"},
		{"", "madvise", 1700 * time.Nanosecond, false, true, "4 KiB page faults cost 1.7 µs"},
		{"", "madvise", Threshold, true, true, "5.0 µs"},
		{"", "madvise", Threshold - 1, false, true, "5.0 µs"},
		{"", "madvise", 0, false, true, "not measurable"},
		{"", "never", 13 * time.Microsecond, false, false, "disabled"},
		{"", "", 13 * time.Microsecond, false, false, "no transparent huge pages"},
		{"off", "madvise", 13 * time.Microsecond, false, false, "EVENTLAKE_HUGE_PAGES=off"},
		{" OFF ", "madvise", 13 * time.Microsecond, false, false, "=off"},
		{"on", "madvise", time.Microsecond, true, false, "EVENTLAKE_HUGE_PAGES=on"},
		{"on", "never", time.Microsecond, false, false, "no transparent huge pages"},
	} {
		measured := false
		d := decide(tc.mode, tc.thp, func() time.Duration { measured = true; return tc.cost })
		if d.Use != tc.use || measured != tc.measured || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("decide(%q, %q, %v) = %+v (measured %v); want use %v, measured %v, reason with %q",
				tc.mode, tc.thp, tc.cost, d, measured, tc.use, tc.measured, tc.reason)
		}
	}
}

func TestDecisionString(t *testing.T) {
	if s := (Decision{Use: true, Reason: "r"}).String(); s != "huge pages (r)" {
		t.Errorf("String = %q", s)
	}
	if s := (Decision{Reason: "r"}).String(); s != "4 KiB pages (r)" {
		t.Errorf("String = %q", s)
	}
}

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
	did := HeapReserve(64 << 20)
	again := HeapReserve(64 << 20)
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

func TestCapToLimit(t *testing.T) {
	for _, tc := range []struct {
		n     int
		limit int64
		want  int
	}{
		{128 << 20, 160 << 20, 120 << 20},
		{128 << 20, 1 << 30, 128 << 20},
		{128 << 20, math.MaxInt64, 128 << 20},
		{128 << 20, 64 << 20, 48 << 20},
	} {
		if got := capToLimit(tc.n, tc.limit); got != tc.want {
			t.Errorf("capToLimit(%d, %d) = %d; want %d", tc.n, tc.limit, got, tc.want)
		}
	}
}
