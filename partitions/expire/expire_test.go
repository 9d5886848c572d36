package expire

import (
	"testing"
	"time"
)

func TestPartitionDate(t *testing.T) {
	for _, tc := range []struct {
		partition string
		want      string // "" when the partition has no date
	}{
		{"domain=a/event_date=2024-01-01", "2024-01-01"},
		{"report_date=2024-06-05", "2024-06-05"},
		{"load_date=2024-12-31", "2024-12-31"},
		{"domain=2024-01-01/event_date=__HIVE_DEFAULT_PARTITION__", ""},
		{"sale_date=%5F_HIVE_DEFAULT_PARTITION__", ""},
		{"event_date=2024-02-30", ""},
		{"nodate", ""},
		{"", ""},
	} {
		d, ok := partitionDate(tc.partition)
		got := ""
		if ok {
			got = d.Format(time.DateOnly)
		}
		if got != tc.want {
			t.Errorf("partitionDate(%q) = %q, want %q", tc.partition, got, tc.want)
		}
	}
}

func TestSelection(t *testing.T) {
	if !inDomain("domain=a%2Fb/event_date=2024-01-01", "a/b") || inDomain("domain=ab/event_date=2024-01-01", "a") {
		t.Error("inDomain does not compare the unescaped domain exactly")
	}
	day := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	now := time.Date(2024, 3, 10, 23, 59, 0, 0, time.UTC)
	sel := Cutoffs(map[string]time.Duration{"events": 9 * 24 * time.Hour}, now)
	if c, ok := sel.cutoff("events"); !ok || !c.Equal(day.AddDate(0, 0, -9)) {
		t.Errorf("cutoff(events) = %v, %v; want %v", c, ok, day.AddDate(0, 0, -9))
	}
	if _, ok := sel.cutoff("orders"); ok {
		t.Error("a table without a period has a cutoff")
	}
	all := Selection{Before: map[string]time.Time{"": day}, Domain: "cards"}
	if _, ok := all.cutoff("orders"); ok {
		t.Error("--domain selects partitions of a table other than events")
	}
	if c, ok := all.cutoff("events"); !ok || !c.Equal(day) {
		t.Errorf("cutoff(events) = %v, %v", c, ok)
	}
}
