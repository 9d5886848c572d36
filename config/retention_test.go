package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	c, err := Parse(strings.NewReader("retention: {events: 400d, orders: 2y, _rejects: 30d, audit: 6w, fast: 36h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	periods, err := c.RetentionPeriods()
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	want := map[string]time.Duration{"events": 400 * day, "orders": 2 * 365 * day, "_rejects": 30 * day, "audit": 42 * day, "fast": 36 * time.Hour}
	if len(periods) != len(want) {
		t.Fatalf("retention = %v, want %v", c.Retention, want)
	}
	for k, v := range want {
		if got := periods[k]; got != v {
			t.Errorf("retention.%s = %s, want %s", k, got, v)
		}
	}
}

func TestRetentionErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"retention: {events: 400}\n", `retention.events: "400" is not a period like 400d, 6w, 2y or 720h`},
		{"retention: {events: 10q}\n", `"10q" is not a period`},
		{"retention: {events: 0d}\n", "retention.events: 0d is not positive"},
		{"retention: {events: -3d}\n", "retention.events: -3d is not positive"},
		{"retention: {events: d}\n", `"d" is not a period`},
		{"retention: {'': 3d}\n", "retention: a table name is empty"},
		{"retention: {events: 99999999y}\n", "too long"},
		{"retention: 30d\n", "line 1: cannot unmarshal"},
		{"retention: {events: 1.5d}\n", `"1.5d" is not a period`},
	} {
		_, err := Parse(strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.yaml, err, tc.want)
		}
	}
}
