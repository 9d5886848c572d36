package profile

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// ParseTimestamp parses an ISO-8601 / RFC 3339 timestamp into microseconds
// since the Unix epoch, UTC. It accepts:
//
//	2024-02-01T09:20:39Z                 'T', 't' or ' ' between date and time
//	2024-02-01T09:20:39.411067+00:00     0–9 fractional digits ('.' or ','; beyond micros truncated)
//	2024-02-01T09:20:39-0300, …+05       offsets ±hh:mm, ±hhmm, ±hh
//	2024-02-01T09:20:39 / 2024-02-01T09:20  no zone: taken as UTC (documented)
//	2024-02-01                           a date: midnight UTC
//
// Years 0001–9999 only, also in UTC once the offset is applied
// ("9999-12-31T23:30:00-01:00" is an error); every field is range-checked
// (minute 69 is an error, February 30 is an error). A leap second (:60) is
// accepted and lands on the next second, as most engines do.
func ParseTimestamp(b []byte) (int64, error) {
	us, err := parseTS(b)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %s", errTimestamp, clip(b, 40), err.Error())
	}
	return us, nil
}

var errTimestamp = errors.New("unparseable timestamp")

type tsErr string

func (e tsErr) Error() string { return string(e) }

func digits(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func parseTS(b []byte) (int64, error) {
	year, ok1 := digits(b, 0, 4)
	month, ok2 := digits(b, 5, 2)
	day, ok3 := digits(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' {
		return 0, tsErr("want YYYY-MM-DD at the start")
	}
	if year < 1 {
		return 0, tsErr("year 0000 is out of range")
	}
	if month < 1 || month > 12 {
		return 0, tsErr("month out of range")
	}
	if day < 1 || day > daysIn(year, month) {
		return 0, tsErr("day out of range")
	}
	var hour, min, sec, frac int
	i := 10
	if i < len(b) {
		if c := b[i]; c != 'T' && c != 't' && c != ' ' {
			return 0, tsErr("want 'T' after the date")
		}
		var ok bool
		if hour, ok = digits(b, i+1, 2); !ok || i+3 >= len(b) || b[i+3] != ':' {
			return 0, tsErr("want hh:mm after 'T'")
		}
		if min, ok = digits(b, i+4, 2); !ok {
			return 0, tsErr("want hh:mm after 'T'")
		}
		i += 6
		if i < len(b) && b[i] == ':' {
			if sec, ok = digits(b, i+1, 2); !ok {
				return 0, tsErr("want two-digit seconds")
			}
			i += 3
			if i < len(b) && (b[i] == '.' || b[i] == ',') {
				i++
				n := 0
				for i < len(b) && b[i] >= '0' && b[i] <= '9' {
					if n < 6 {
						frac = frac*10 + int(b[i]-'0')
					}
					n++
					i++
				}
				if n == 0 || n > 9 {
					return 0, tsErr("want 1 to 9 fractional digits")
				}
				for ; n < 6; n++ {
					frac *= 10
				}
			}
		}
		if hour > 23 || min > 59 || sec > 60 {
			if !(hour == 24 && min == 0 && sec == 0 && frac == 0) {
				return 0, tsErr("time of day out of range")
			}
		}
	}
	offset := 0 // seconds east of UTC
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			oh, ok := digits(b, i+1, 2)
			if !ok {
				return 0, tsErr("bad zone offset")
			}
			i += 3
			om := 0
			if i < len(b) && b[i] == ':' {
				if om, ok = digits(b, i+1, 2); !ok {
					return 0, tsErr("bad zone offset")
				}
				i += 3
			} else if i+2 <= len(b) {
				if om, ok = digits(b, i, 2); !ok {
					return 0, tsErr("bad zone offset")
				}
				i += 2
			}
			if oh > 23 || om > 59 {
				return 0, tsErr("zone offset out of range")
			}
			offset = sign * (oh*3600 + om*60)
		default:
			return 0, tsErr("unexpected text after the time")
		}
	}
	if i != len(b) {
		return 0, tsErr("unexpected text after the zone")
	}
	days := daysFromCivil(year, month, day)
	secs := days*86400 + int64(hour*3600+min*60+sec) - int64(offset)
	us := secs*1e6 + int64(frac)
	// The zone offset (or 24:00) can carry a date at either end of the
	// range into year 0000 or 10000, which has no YYYY-MM-DD event_date.
	if us < minMicros || us > maxMicros {
		return 0, tsErr("outside years 0001-9999 in UTC")
	}
	return us, nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's algorithm: days since 1970-01-01 of a
// proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// Range of timestamps a record may carry: 0001-01-01 .. 9999-12-31 (UTC).
var (
	minMicros = daysFromCivil(1, 1, 1) * 86400 * 1e6
	maxMicros = (daysFromCivil(9999, 12, 31)+1)*86400*1e6 - 1
)

// EpochToMicros interprets a JSON number as a Unix epoch timestamp, choosing
// the unit by magnitude: seconds below 1e11 (until year 5138), milliseconds
// below 1e14, microseconds below 1e17, nanoseconds above. Fractions are kept
// to the microsecond.
func EpochToMicros(f float64) (int64, error) {
	a := math.Abs(f)
	var us float64
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("%w: %v", errTimestamp, f)
	case a < 1e11:
		us = f * 1e6
	case a < 1e14:
		us = f * 1e3
	case a < 1e17:
		us = f
	default:
		us = f / 1e3
	}
	v := int64(math.Round(us))
	if v < minMicros || v > maxMicros {
		return 0, fmt.Errorf("%w: epoch %v is outside years 0001-9999", errTimestamp, f)
	}
	return v, nil
}

// epochIntToMicros is EpochToMicros for an integer epoch, in exact integer
// arithmetic (nanoseconds are truncated towards the past, like fractional
// digits beyond micros in ParseTimestamp).
func epochIntToMicros(n int64) (int64, error) {
	a := n
	if a < 0 {
		a = -a // MinInt64 stays negative and lands in the nanosecond case
	}
	var us int64
	switch {
	case a >= 0 && a < 1e11:
		us = n * 1e6
	case a >= 0 && a < 1e14:
		us = n * 1e3
	case a >= 0 && a < 1e17:
		us = n
	default:
		us = n / 1e3
		if n%1e3 < 0 {
			us--
		}
	}
	if us < minMicros || us > maxMicros {
		return 0, fmt.Errorf("%w: epoch %d is outside years 0001-9999", errTimestamp, n)
	}
	return us, nil
}

// clip shortens b to at most n bytes for an error message, cutting at a
// UTF-8 character boundary.
func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}
