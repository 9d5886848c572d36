//go:build linux

package loader

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/childtest"
	"github.com/eventlake/eventlake/internal/hugepages"
)

// TestPrintOffHeapMapping runs in a child process of
// TestOffHeapBuffersFollowTheHugePageDecision: the decision is made once per
// process, from its environment.
func TestPrintOffHeapMapping(t *testing.T) {
	childtest.Skip(t)
	for _, n := range []int{5<<20 + 12345, 1 << 20} {
		b := allocOffHeap(n)
		flags, err := hugepages.MappingFlags(b)
		if err != nil {
			t.Fatal(err)
		}
		b[0], b[n-1] = 1, 1 // the whole length is usable
		fmt.Printf("len=%d cap=%d huge=%v use=%v\n", len(b), cap(b), slices.Contains(flags, "hg"), hugepages.Get().Use)
		freeOffHeap(b)
	}
}

// TestOffHeapBuffersFollowTheHugePageDecision: with huge pages decided, a
// whole-object buffer of a huge page or more is advised and rounded up to
// whole huge pages (its length unchanged); a smaller one, or any buffer
// without the decision, is a plain mapping of its own length.
func TestOffHeapBuffersFollowTheHugePageDecision(t *testing.T) {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("transparent huge pages unavailable")
	}
	for _, tc := range []struct{ env, want string }{
		{"on", "len=5255225 cap=6291456 huge=true use=true\nlen=1048576 cap=1048576 huge=false use=true\n"},
		{"off", "len=5255225 cap=5255225 huge=false use=false\nlen=1048576 cap=1048576 huge=false use=false\n"},
	} {
		if got := childtest.Output(t, "TestPrintOffHeapMapping", "EVENTLAKE_HUGE_PAGES="+tc.env); got != tc.want {
			t.Errorf("EVENTLAKE_HUGE_PAGES=%s:\n%s\nwant\n%s", tc.env, got, tc.want)
		}
	}
}
