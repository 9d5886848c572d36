package schema

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The column-type inference as it was written first, with regular
// expressions: the oracle the byte scanners of classify are checked against.
var (
	reInt     = regexp.MustCompile(`^[+-]?(0|[1-9]\d{0,17})$`)
	reDecimal = regexp.MustCompile(`^[+-]?(?:0|[1-9]\d{0,19})\.(\d{1,18})$`)
	reDate    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	reTS      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$`)
	reTSZ     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?( ?(Z|[+-]\d{2}(:?\d{2})?|UTC))$`)
)

func classifyRegexp(v string) (colKind, int) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return kNull, 0
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return kBool, 0
	case reInt.MatchString(v):
		return kInt, 0
	case reDecimal.MatchString(v):
		return kDecimal, len(reDecimal.FindStringSubmatch(v)[1])
	case reDate.MatchString(v) && validDateTimeRegexp(v):
		return kDate, 0
	case reTS.MatchString(v) && validDateTimeRegexp(v):
		return kTimestamp, 0
	case reTSZ.MatchString(v) && validDateTimeRegexp(v):
		return kTimestampTZ, 0
	}
	return kString, 0
}

func validDateTimeRegexp(v string) bool {
	if _, err := time.Parse("2006-01-02", v[:10]); err != nil {
		return false
	}
	if len(v) < 16 {
		return true
	}
	num := func(i int) int { return int(v[i]-'0')*10 + int(v[i+1]-'0') }
	if num(11) > 23 || num(14) > 59 {
		return false
	}
	return len(v) < 19 || v[16] != ':' || num(17) <= 59
}

func checkClassify(t *testing.T, v string) {
	t.Helper()
	gk, gs := classify(v)
	wk, ws := classifyRegexp(v)
	if gk != wk || gs != ws {
		t.Fatalf("classify(%q) = %d, %d; the expressions say %d, %d", v, gk, gs, wk, ws)
	}
	if bk, bs := classifyBefore(v); gk != bk || gs != bs {
		t.Fatalf("classify(%q) = %d, %d; before its fast paths %d, %d", v, gk, gs, bk, bs)
	}
}

var classifySeeds = []string{
	"", " ", "0", "00", "-0", "+0", "1", "-1", "+12", "012", "123456789012345678", "1234567890123456789",
	"0.5", "-0.5", "00.5", "1.", ".5", "1.2.3", "12345678901234567890.1", "123456789012345678901.1",
	"1.123456789012345678", "1.1234567890123456789", "1e5", "0x10", "١٢", "true", "FALSE", "True ", " tRuE",
	"falſe", "truE\u00a0", "t", "f", "yes", "2024-06-05", "2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29",
	"0000-02-29", "2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32", "2024-04-31", "2024-6-05",
	"2024-06-05 10:00", "2024-06-05T10:00", "2024-06-05T24:00", "2024-06-05T23:60", "2024-06-05t10:00",
	"2024-06-05T10:00:59", "2024-06-05T10:00:60", "2024-06-05T10:00:5", "2024-06-05T10:00:00.",
	"2024-06-05T10:00:00.1", "2024-06-05T10:00:00.123456789", "2024-06-05T10:00:00.1234567890",
	"2024-06-05T10:00Z", "2024-06-05T10:00 Z", "2024-06-05T10:00  Z", "2024-06-05T10:00UTC", "2024-06-05T10:00 UTC",
	"2024-06-05T10:00:00Z", "2024-06-05T10:00:00.5+03", "2024-06-05T10:00:00.5+0300", "2024-06-05T10:00:00.5+03:00",
	"2024-06-05T10:00:00.5-03:0", "2024-06-05T10:00:00.5-030", "2024-06-05T10:00:00.5+03:000", "2024-06-05T10:00:00+3",
	"2024-06-05T10:00:00 +03:00", "2024-06-05T10:00:00z", "2024-06-05T10:00:00utc", "2024-06-05T10:00-03",
	"2024-06-05T10:00::00", "2024-06-05T10:00:00:00", "2024-06-05 10:00:00\n", "\t2024-06-05\r\n",
	"2024-06-05T10:0", "2024-06-05T1:00", "2024-06-05X10:00", "2024-06-05T10-00", "9999-12-31T23:59:59.999999999Z",
}

func TestClassifyMatchesExpressions(t *testing.T) {
	for _, v := range classifySeeds {
		checkClassify(t, v)
	}
	// Every day of 0000-00-00 … 0000-13-32 in a spread of years.
	for _, y := range []int{0, 1, 4, 100, 200, 400, 1600, 1900, 1999, 2000, 2023, 2024, 2100, 2400, 9996, 9999} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				checkClassify(t, fmt.Sprintf("%04d-%02d-%02d", y, m, d))
			}
		}
	}
	// Times of day around the bounds.
	for h := 0; h <= 25; h++ {
		for m := 0; m <= 61; m += 1 {
			checkClassify(t, fmt.Sprintf("2024-06-05T%02d:%02d", h, m))
			checkClassify(t, fmt.Sprintf("2024-06-05 %02d:%02d:%02d+01", h, m, m))
		}
	}
	// Random strings over the bytes the expressions care about.
	const alphabet = "0123456789012345678901234567890123456789+-.:TZ U C \t\xa0\xc2tfrue"
	r := rand.New(rand.NewSource(1))
	for range 200_000 {
		b := make([]byte, r.Intn(32))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		checkClassify(t, string(b))
	}
	// Random mutations of the seeds.
	for range 200_000 {
		b := []byte(classifySeeds[r.Intn(len(classifySeeds))])
		if len(b) > 0 {
			b[r.Intn(len(b))] = alphabet[r.Intn(len(alphabet))]
		}
		checkClassify(t, string(b))
	}
}

func FuzzClassify(f *testing.F) {
	for _, v := range classifySeeds {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkClassify(t, v)
	})
}

// Text stays text: once a column is VARCHAR no later value changes it, so
// Observe does not classify them.
func TestColumnTypesTextIsFinal(t *testing.T) {
	ct := NewColumnTypes([]string{"v"})
	for _, v := range []string{"1", "x", "2", "2024-06-05", "", "true", "1.5"} {
		ct.Observe(0, v)
	}
	ts := &TableSchema{}
	ts.Merge(ct)
	if got := ts.Columns[0].Kind; got != "VARCHAR" {
		t.Errorf("column: %s, want VARCHAR", got)
	}
}

func BenchmarkClassify(b *testing.B) {
	values := []string{"12345", "A-1234-XY", "2024-06-05T10:00:00Z", "150.75", "", "true", "SAO PAULO", "08123"}
	for _, impl := range []struct {
		name string
		f    func(string) (colKind, int)
	}{{"scan", classify}, {"regexp", classifyRegexp}} {
		b.Run(impl.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				impl.f(values[i%len(values)])
			}
		})
	}
}
