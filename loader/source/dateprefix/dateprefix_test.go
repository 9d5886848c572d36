package dateprefix

import (
	"fmt"
	"testing"
	"time"
)

func d(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestKeep(t *testing.T) {
	feb1to3 := Filter{Since: d("2024-02-01"), Until: d("2024-02-03")}
	cases := []struct {
		name string
		f    Filter
		key  string
		want bool
	}{
		// Pismo, with and without the main_stream/ folder.
		{"pismo inside", feb1to3, "main_stream/2024/02/02/09/x", true},
		{"pismo first day", feb1to3, "main_stream/2024/02/01/00/x", true},
		{"pismo last day", feb1to3, "main_stream/2024/02/03/23/x", true},
		{"pismo day before", feb1to3, "main_stream/2024/01/31/23/x", false},
		{"pismo day after", feb1to3, "main_stream/2024/02/04/00/x", false},
		{"pismo rooted at main_stream", feb1to3, "2024/02/03/09/x", true},
		{"pismo rooted at main_stream, out", feb1to3, "2024/02/04/09/x", false},
		{"pismo other year", feb1to3, "main_stream/2023/02/02/09/x", false},
		// fulfillmenttools.
		{"ft inside", feb1to3, "2024-02-02/part-0001.json.gz", true},
		{"ft first", feb1to3, "2024-02-01/part-0001.json.gz", true},
		{"ft last", feb1to3, "2024-02-03/part-0001.json.gz", true},
		{"ft before", feb1to3, "2024-01-31/part-0001.json.gz", false},
		{"ft after", feb1to3, "2024-02-04/part-0001.json.gz", false},
		// JWO, with and without the Order/ folder.
		{"jwo inside", feb1to3, "Order/2024-02-02/22/ALL15.csv000", true},
		{"jwo out", feb1to3, "Order/2024-06-05/22/ALL15.csv000", false},
		{"jwo rooted at Order", feb1to3, "2024-02-03/22/ALL15.csv000", true},
		{"jwo rooted at Order, out", feb1to3, "2024-02-04/00/ALL01.csv000", false},
		// Undatable keys always pass.
		{"no date", feb1to3, "README.txt", true},
		{"date only in file name", feb1to3, "exports/2023-01-01", true},
		{"date-like file name", feb1to3, "2023/01/01", true},
		{"missing day folder", feb1to3, "main_stream/2023/01/x", true},
		{"month 13", feb1to3, "main_stream/2023/13/01/00/x", true},
		{"feb 30", feb1to3, "2023-02-30/x", true},
		{"non-leap feb 29", feb1to3, "2023-02-29/x", true},
		{"non-digits", feb1to3, "2O23-01-01/x", true},
		{"wrong widths", feb1to3, "main_stream/2023/1/01/00/x", true},
		{"empty key", feb1to3, "", true},
		// Leap day is a date.
		{"leap day in", Filter{Since: d("2024-02-29"), Until: d("2024-02-29")}, "2024-02-29/x", true},
		{"leap day out", Filter{Since: d("2024-03-01")}, "main_stream/2024/02/29/10/x", false},
		// Open ends.
		{"no bounds", Filter{}, "2001-01-01/x", true},
		{"since only, after", Filter{Since: d("2024-02-01")}, "2099-12-31/x", true},
		{"since only, before", Filter{Since: d("2024-02-01")}, "2024-01-31/x", false},
		{"until only, before", Filter{Until: d("2024-02-01")}, "1999-01-01/x", true},
		{"until only, after", Filter{Until: d("2024-02-01")}, "2024-02-02/x", false},
		// Times of day are ignored: both ends cover their whole UTC day.
		{"since late in the day", Filter{Since: time.Date(2024, 2, 1, 23, 59, 0, 0, time.UTC)}, "2024-02-01/x", true},
		{"until early in the day", Filter{Until: time.Date(2024, 2, 1, 0, 0, 1, 0, time.UTC)}, "2024-02-01/x", true},
		// Non-UTC bounds are converted: 2024-02-02 01:00 +02:00 is Feb 1 UTC.
		{"since in another zone", Filter{Since: time.Date(2024, 2, 2, 1, 0, 0, 0, time.FixedZone("", 2*3600))}, "2024-02-01/x", true},
		// The first date from the left wins.
		{"first date wins", feb1to3, "2024-02-02/2025-01-01/x", true},
		{"empty range", Filter{Since: d("2024-02-03"), Until: d("2024-02-01")}, "2024-02-02/x", false},
	}
	for _, c := range cases {
		if got := c.f.Keep(c.key); got != c.want {
			t.Errorf("%s: %+v.Keep(%q) = %v, want %v", c.name, c.f, c.key, got, c.want)
		}
	}
}

func TestPrefixes(t *testing.T) {
	defer func(old func() time.Time) { now = old }(now)
	now = func() time.Time { return time.Date(2024, 3, 1, 23, 0, 0, 0, time.UTC) }

	cases := []struct {
		name   string
		f      Filter
		sample string
		want   []string
	}{
		{"pismo example", Filter{Since: d("2024-02-01"), Until: d("2024-02-03")}, "main_stream/2024/02/01/09/x",
			[]string{"main_stream/2024/02/01/", "main_stream/2024/02/02/", "main_stream/2024/02/03/"}},
		{"pismo rooted at main_stream", Filter{Since: d("2024-02-01"), Until: d("2024-02-02")}, "2023/12/31/23/x",
			[]string{"2024/02/01/", "2024/02/02/"}},
		{"ft", Filter{Since: d("2024-02-01"), Until: d("2024-02-01")}, "2024-01-15/part-0001.json.gz",
			[]string{"2024-02-01/"}},
		{"jwo", Filter{Since: d("2024-06-05"), Until: d("2024-06-06")}, "Order/2024-06-05/22/ALL15.csv000",
			[]string{"Order/2024-06-05/", "Order/2024-06-06/"}},
		{"jwo rooted at Order", Filter{Since: d("2024-06-05"), Until: d("2024-06-05")}, "2024-06-05/22/ALL15.csv000",
			[]string{"2024-06-05/"}},
		{"leap year february end", Filter{Since: d("2024-02-28"), Until: d("2024-03-01")}, "2024-01-01/x",
			[]string{"2024-02-28/", "2024-02-29/", "2024-03-01/"}},
		{"non-leap february end", Filter{Since: d("2023-02-28"), Until: d("2023-03-01")}, "main_stream/2024/01/01/00/x",
			[]string{"main_stream/2023/02/28/", "main_stream/2023/03/01/"}},
		{"year end", Filter{Since: d("2023-12-31"), Until: d("2024-01-01")}, "main_stream/2024/01/01/00/x",
			[]string{"main_stream/2023/12/31/", "main_stream/2024/01/01/"}},
		{"times of day ignored", Filter{Since: time.Date(2024, 2, 1, 23, 0, 0, 0, time.UTC), Until: time.Date(2024, 2, 2, 1, 0, 0, 0, time.UTC)}, "2024-01-01/x",
			[]string{"2024-02-01/", "2024-02-02/"}},
		{"open until ends tomorrow", Filter{Since: d("2024-02-28")}, "2024-01-01/x",
			[]string{"2024-02-28/", "2024-02-29/", "2024-03-01/", "2024-03-02/"}},
		{"open since", Filter{Until: d("2024-02-28")}, "2024-01-01/x", nil},
		{"no bounds", Filter{}, "2024-01-01/x", nil},
		{"unrecognised sample", Filter{Since: d("2024-02-01"), Until: d("2024-02-03")}, "exports/batch-1.json", nil},
		{"date only in the file name", Filter{Since: d("2024-02-01"), Until: d("2024-02-03")}, "exports/2024-02-01", nil},
		{"empty range", Filter{Since: d("2024-02-03"), Until: d("2024-02-01")}, "2024-01-01/x", []string{}},
	}
	for _, c := range cases {
		got := c.f.Prefixes(c.sample)
		if (got == nil) != (c.want == nil) || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: Prefixes(%q) = %#v, want %#v", c.name, c.sample, got, c.want)
		}
	}
}

func TestPrefixesCap(t *testing.T) {
	since := d("2023-01-01")
	f := Filter{Since: since, Until: since.AddDate(0, 0, MaxPrefixes-1)}
	if got := len(f.Prefixes("2023-01-01/x")); got != MaxPrefixes {
		t.Errorf("%d days: got %d prefixes, want %d", MaxPrefixes, got, MaxPrefixes)
	}
	f.Until = f.Until.AddDate(0, 0, 1)
	if got := f.Prefixes("2023-01-01/x"); got != nil {
		t.Errorf("%d days: got %d prefixes, want nil (list everything)", MaxPrefixes+1, len(got))
	}
}

// TestPrefixesAgreeWithKeep checks that every key Keep accepts in a sample
// tree is under one of the prefixes, and no key under a prefix is refused.
func TestPrefixesAgreeWithKeep(t *testing.T) {
	f := Filter{Since: d("2024-02-27"), Until: d("2024-03-02")}
	for _, layout := range []string{"main_stream/2006/01/02/15/x", "2006/01/02/15/x", "2006-01-02/x", "Order/2006-01-02/15/ALL01.csv000"} {
		var keys []string
		for t0 := d("2024-02-20"); t0.Before(d("2024-03-10")); t0 = t0.Add(7 * time.Hour) {
			keys = append(keys, t0.Format(layout))
		}
		prefixes := f.Prefixes(keys[0])
		if prefixes == nil {
			t.Fatalf("%s: no prefixes", layout)
		}
		for _, k := range keys {
			under := false
			for _, p := range prefixes {
				if len(k) >= len(p) && k[:len(p)] == p {
					under = true
				}
			}
			if under != f.Keep(k) {
				t.Errorf("%s: key %q under prefixes = %v, Keep = %v", layout, k, under, f.Keep(k))
			}
		}
	}
}
