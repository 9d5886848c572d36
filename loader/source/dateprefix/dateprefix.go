// Package dateprefix prunes source listings by the date-shaped folders vendors
// write their exports into, so that a job restricted to a few days (--since /
// --until) lists those days only instead of the whole retention window.
//
// Two folder shapes are recognised anywhere in a key, as whole folder
// segments (never the file name):
//
//	YYYY/MM/DD/   Pismo: main_stream/2024/02/01/09/<object>
//	YYYY-MM-DD/   fulfillmenttools: 2024-02-01/<file>; JWO: Order/2024-06-05/22/ALL15.csv000
//
// The first date found from the left dates the key. Folder dates are taken as
// UTC calendar dates, like Since and Until.
//
// A folder date is when the vendor wrote the file, which can be a little after
// the events it holds (a Pismo batch closed at 00:03 holds events of 23:58 the
// day before). Filter compares folder dates only; a caller that must not miss
// such events widens the range it passes by a day on either side and filters
// the events themselves by event time.
package dateprefix

import (
	"strings"
	"time"
)

// MaxPrefixes is the most listing prefixes Prefixes returns; a longer range
// is listed whole and filtered with Keep (one listing call per prefix would
// cost more than paging through everything).
const MaxPrefixes = 400

// now is the clock used to close an open Until in Prefixes (tests replace it).
var now = time.Now

// Filter decides from a key whether it can hold data in [Since, Until] (zero
// times mean open ends). Both ends are inclusive and compared as UTC dates: a
// time of day is ignored. Keys with no recognisable date segment pass (never
// drop what we cannot date).
type Filter struct{ Since, Until time.Time }

// day truncates t to its UTC calendar date.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Keep reports whether the object at key may hold data in the filter's range.
func (f Filter) Keep(key string) bool {
	m, ok := find(key)
	if !ok {
		return true
	}
	return f.contains(m.date)
}

func (f Filter) contains(d time.Time) bool {
	if !f.Since.IsZero() && d.Before(day(f.Since)) {
		return false
	}
	if !f.Until.IsZero() && d.After(day(f.Until)) {
		return false
	}
	return true
}

// Prefixes returns listing prefixes that cover the range given one sample key
// from the source (e.g. the first key listed), or nil when the layout is not
// recognised (then the caller lists everything and uses Keep).
//
// Example: sample "main_stream/2024/02/01/09/x", Since 2024-02-01, Until
// 2024-02-03 → ["main_stream/2024/02/01/", "main_stream/2024/02/02/",
// "main_stream/2024/02/03/"].
//
// The prefixes keep the sample's folders in front of the date and render each
// day in the sample's shape. Nil is also returned when Since is zero (the
// past cannot be enumerated) or when the range spans more than MaxPrefixes
// days. A zero Until ends the range tomorrow (UTC), so a vendor clock running
// a little ahead is still covered. An empty range (Since after Until) gives
// an empty, non-nil slice: nothing can match.
func (f Filter) Prefixes(sample string) []string {
	m, ok := find(sample)
	if !ok || f.Since.IsZero() {
		return nil
	}
	from := day(f.Since)
	to := day(now()).AddDate(0, 0, 1)
	if !f.Until.IsZero() {
		to = day(f.Until)
	}
	if from.After(to) {
		return []string{}
	}
	// Calendar days, not 24-hour periods: both ends are UTC midnights, so
	// the division is exact (UTC has no daylight saving).
	n := int(to.Sub(from)/(24*time.Hour)) + 1
	if n > MaxPrefixes {
		return nil
	}
	out := make([]string, 0, n)
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, m.before+m.shape.format(d)+"/")
	}
	return out
}

// shape is how a date is spelled in folder names.
type shape int

const (
	slashed shape = iota // YYYY/MM/DD
	dashed               // YYYY-MM-DD
)

func (s shape) format(d time.Time) string {
	if s == slashed {
		return d.Format("2006/01/02")
	}
	return d.Format("2006-01-02")
}

// match is a date found in a key.
type match struct {
	before string // the key up to the date's first folder, '/'-terminated or empty
	date   time.Time
	shape  shape
}

// find locates the first date-shaped run of folder segments in key. Only
// folder segments count: the last segment (the object's own name) never
// dates a key.
func find(key string) (match, bool) {
	segs := strings.Split(key, "/")
	dirs := segs[:len(segs)-1]
	off := 0 // byte offset of dirs[i] in key
	for i, s := range dirs {
		if len(s) == 10 && s[4] == '-' && s[7] == '-' {
			if d, ok := date(s[0:4], s[5:7], s[8:10]); ok {
				return match{before: key[:off], date: d, shape: dashed}, true
			}
		}
		if len(s) == 4 && i+2 < len(dirs) && len(dirs[i+1]) == 2 && len(dirs[i+2]) == 2 {
			if d, ok := date(s, dirs[i+1], dirs[i+2]); ok {
				return match{before: key[:off], date: d, shape: slashed}, true
			}
		}
		off += len(s) + 1
	}
	return match{}, false
}

// date validates year, month and day digits (4, 2 and 2 of them) and returns
// the UTC date; 2023-02-29 or 2024-13-01 are not dates.
func date(y, m, d string) (time.Time, bool) {
	yy, ok1 := digits(y)
	mm, ok2 := digits(m)
	dd, ok3 := digits(d)
	if !ok1 || !ok2 || !ok3 || mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return time.Time{}, false
	}
	t := time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	// time.Date normalises overflow (Feb 30 → Mar 1): a real date survives
	// the round trip unchanged.
	if t.Day() != dd || int(t.Month()) != mm {
		return time.Time{}, false
	}
	return t, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
