package hugepages

import (
	"math"
	"strings"
	"testing"
	"time"
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
