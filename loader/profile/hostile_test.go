package profile

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/schema"
)

// Regression: a zone offset (or 24:00) must not carry a timestamp out of
// years 0001–9999; the loader would route it to event_date=10000-01-01 or
// 0000-12-31 (testdata/hostile/timestamp-extreme-years).
func TestParseTimestampRangeInUTC(t *testing.T) {
	good := []struct{ in, want string }{
		{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
		{"0001-01-01T00:59:00+00:59", "0001-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
		{"9999-12-31T23:59:59.999999999+00:00", "9999-12-31T23:59:59.999999Z"},
		{"9999-12-31T23:59:59+01:00", "9999-12-31T22:59:59Z"},
		{"0001-01-01", "0001-01-01T00:00:00Z"},
	}
	for _, c := range good {
		got, err := ParseTimestamp([]byte(c.in))
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", c.in, err)
			continue
		}
		if want := micros(c.want); got != want {
			t.Errorf("ParseTimestamp(%q) = %v, want %s", c.in, time.UnixMicro(got).UTC(), c.want)
		}
	}
	for _, in := range []string{
		"0001-01-01T00:00:00+00:01", "0001-01-01T00:00:00.999999+01:00",
		"9999-12-31T23:30:00-01:00", "9999-12-31T24:00:00Z", "9999-12-31T23:59:60Z",
	} {
		if got, err := ParseTimestamp([]byte(in)); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want an error", in, time.UnixMicro(got).UTC())
		} else if !strings.Contains(err.Error(), "outside years 0001-9999") {
			t.Errorf("ParseTimestamp(%q) error %q, want it to say the range", in, err)
		}
	}
}

// Regression: the value quoted in the error is clipped on a character
// boundary, not in the middle of a multi-byte character.
func TestParseTimestampErrorClip(t *testing.T) {
	in := "2024-02-01T09:00:00Z " + strings.Repeat("é", 40)
	_, err := ParseTimestamp([]byte(in))
	if err == nil {
		t.Fatal("want an error")
	}
	if !utf8.ValidString(err.Error()) || strings.Contains(err.Error(), `\x`) {
		t.Errorf("error %q quotes a broken character", err)
	}
	if !strings.Contains(err.Error(), "2024-02-01T09:00:00Z ééééééééé…") {
		t.Errorf("error %q does not quote the clipped value", err)
	}
}

// timestampSeeds come from testdata/hostile (timestamp-* classes).
var timestampSeeds = []string{
	"2024-02-01T09:00:00Z", "2024-02-01t09:00:00z", "2024-02-01T09:00:00+00:00", "2024-02-01T09:00:00-00:00",
	"2024-02-01T09:00:00+05:30", "2024-02-01T09:00:00-0330", "2024-02-01T09:00:00+05", "2024-02-01T09:00:00+14:00",
	"2024-02-01 09:00:00+01:00", "2024-02-01T09:00:00.123456789Z", "2024-02-01T09:00:00,5Z", "2016-12-31T23:59:60Z",
	"2024-02-01T24:00:00Z", "2024-02-01T09:00:00+25:00", "2024-02-01T09:00:00+05:60", "2024-02-01T09:00:00 UTC",
	"2024-02-01T09:00:00.1234567890Z", "2024-02-01T09:00:00+5", "2024-02-01T09:00", "2024-02-01",
	"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "0000-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
	"0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00", "-2024-01-01T00:00:00Z", "2024-02-30T09:00:00Z",
	"yesterday", "", "1706778000", "NaN", "2024-02-01T09:00:00Z " + strings.Repeat("é", 40),
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range timestampSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, err := ParseTimestamp([]byte(s))
		if err != nil {
			if !errors.Is(err, errTimestamp) {
				t.Fatalf("ParseTimestamp(%q): error %q does not wrap errTimestamp", s, err)
			}
			if utf8.ValidString(s) && !utf8.ValidString(err.Error()) {
				t.Fatalf("ParseTimestamp(%q): error %q is not valid UTF-8", s, err)
			}
			return
		}
		if us < minMicros || us > maxMicros {
			t.Fatalf("ParseTimestamp(%q) = %d, outside years 0001-9999", s, us)
		}
		// Accepted timestamps round-trip through time.Time formatting.
		tm := time.UnixMicro(us).UTC()
		back, err := ParseTimestamp([]byte(tm.Format(time.RFC3339Nano)))
		if err != nil || back != us {
			t.Fatalf("ParseTimestamp(%q) = %s, which parses back as %d, %v", s, tm.Format(time.RFC3339Nano), back, err)
		}
		// Where Go's RFC 3339 parser accepts the text, both agree.
		if gt, err := time.Parse(time.RFC3339Nano, s); err == nil && gt.UnixMicro() != us {
			t.Fatalf("ParseTimestamp(%q) = %s, time.Parse: %s", s, tm, gt.UTC())
		}
	})
}

// pismoSeeds are records of testdata/hostile: every line of its NDJSON
// objects that is small enough to be a useful seed.
func pismoSeeds(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "hostile", "*", "*.ndjson"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" && len(line) < 4096 {
				out = append(out, []byte(line))
			}
		}
	}
	if len(out) == 0 {
		f.Fatal("no seeds found in testdata/hostile")
	}
	return out
}

func FuzzPismoMap(f *testing.F) {
	for _, s := range pismoSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, p := range []Profile{Pismo{}, Fulfillmenttools{}} {
			var ev Event
			err := p.Map(rec, &ev)
			if err != nil {
				continue
			}
			if len(ev.EventID) == 0 {
				t.Fatalf("%s: %q mapped without an event_id", p.Name(), rec)
			}
			if ev.EventTime < minMicros || ev.EventTime > maxMicros {
				t.Fatalf("%s: %q mapped to event_time %d outside years 0001-9999", p.Name(), rec, ev.EventTime)
			}
			if err := schema.Validate(ev.Data); err != nil {
				t.Fatalf("%s: %q mapped to data %q that is not JSON: %v", p.Name(), rec, ev.Data, err)
			}
			for name, v := range map[string][]byte{"event_id": ev.EventID, "event_type": ev.EventType, "domain": ev.Domain, "org_id": ev.OrgID, "cid": ev.CID} {
				if !utf8.Valid(v) {
					t.Fatalf("%s: %q mapped to %s %q, not valid UTF-8", p.Name(), rec, name, v)
				}
			}
		}
	})
}

// Regression (testdata/hostile/timestamp-epoch): integer epochs convert
// exactly; a 19-digit nanosecond epoch does not go through a float64.
func TestEpochIntegerExact(t *testing.T) {
	cases := []struct {
		rec, want string
	}{
		{`1706778000123456789`, "2024-02-01T09:00:00.123456Z"},
		{`1706778000123456999`, "2024-02-01T09:00:00.123456Z"},
		{`1706778000123456`, "2024-02-01T09:00:00.123456Z"},
		{`1706778000123`, "2024-02-01T09:00:00.123Z"},
		{`1706778000`, "2024-02-01T09:00:00Z"},
		{`-1`, "1969-12-31T23:59:59Z"},
		{`-1000000000000000001`, "1938-04-24T22:13:19.999999Z"}, // nanoseconds before 1970 truncate towards the past
		{`1706778000.5`, "2024-02-01T09:00:00.5Z"},
	}
	for _, c := range cases {
		var ev Event
		if err := (Pismo{}).Map([]byte(`{"event_id":"a","timestamp":`+c.rec+`}`), &ev); err != nil {
			t.Errorf("timestamp %s: %v", c.rec, err)
			continue
		}
		if want := micros(c.want); ev.EventTime != want {
			t.Errorf("timestamp %s = %s, want %s", c.rec, time.UnixMicro(ev.EventTime).UTC().Format(time.RFC3339Nano), c.want)
		}
	}
	// The int64 extremes are nanoseconds: years 1677 and 2262.
	for _, n := range []int64{math.MaxInt64, math.MinInt64} {
		var ev Event
		if err := (Pismo{}).Map([]byte(`{"event_id":"a","timestamp":`+strconv.FormatInt(n, 10)+`}`), &ev); err != nil {
			t.Errorf("timestamp %d: %v", n, err)
			continue
		}
		// time.Unix(0, n) is exact; UnixMicro floors.
		if want := time.Unix(0, n).UnixMicro(); ev.EventTime != want {
			t.Errorf("timestamp %d = %s, want %s", n, time.UnixMicro(ev.EventTime).UTC(), time.UnixMicro(want).UTC())
		}
	}
	for _, rec := range []string{`-62135596801`, `-99999999999`, `-1e20`, `1e400`, `-1e400`} {
		var ev Event
		err := (Pismo{}).Map([]byte(`{"event_id":"a","timestamp":`+rec+`}`), &ev)
		if !errors.Is(err, errTimestamp) {
			t.Errorf("timestamp %s: error %v, want an unparseable timestamp", rec, err)
		}
	}
}

// Regression (testdata/hostile/escapes-envelope): a lone surrogate escape
// in data is a reject; DuckDB refuses to read a JSON column holding one.
func TestLoneSurrogateInData(t *testing.T) {
	g, err := NewGeneric("g", config.Mapping{EventID: "id", Timestamp: "ts"})
	if err != nil {
		t.Fatal(err)
	}
	ts := `"2024-02-01T09:00:00Z"`
	cases := []struct {
		p    Profile
		rec  string
		lone bool
	}{
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":{"s":"\udc00"}}`, true},
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":{"s":"x\ud800"}}`, true},
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":{"s":"\ud800\u0041"}}`, true},
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":{"s":"\ud800\\udc00"}}`, true},
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":"\ud800"}`, true},
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":{"s":"\ud83d\ude00","t":"\uD83D\uDE00"}}`, false},
		{Pismo{}, `{"event_id":"a","timestamp":` + ts + `,"data":{"s":"\\ud800 is text","\\\\":"\\\udbff\udfff"}}`, false},
		{Pismo{}, `{"event_id":"lone-\ud800","timestamp":` + ts + `,"data":{}}`, false}, // envelope text: decoded to U+FFFD
		{Fulfillmenttools{}, `{"id":"a","eventName":"x","created":` + ts + `,"payload":["\udfff"]}`, true},
		{g, `{"id":"a","ts":` + ts + `,"note":"\udfff"}`, true},
	}
	for _, c := range cases {
		var ev Event
		err := c.p.Map([]byte(c.rec), &ev)
		if c.lone != errors.Is(err, ErrLoneSurrogate) || !c.lone && err != nil {
			t.Errorf("%s %s: error %v, want lone surrogate %v", c.p.Name(), c.rec, err, c.lone)
		}
		if c.lone && err != nil && !strings.Contains(err.Error(), "of data") {
			t.Errorf("%s %s: error %q does not say where", c.p.Name(), c.rec, err)
		}
	}
}
