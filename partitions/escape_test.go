package partitions

import (
	"strings"
	"testing"
)

func TestEscapeRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 4096)
	tests := []struct {
		name     string
		v        string
		want     string // escaped form
		checkErr bool   // CheckValue must reject v
	}{
		{"plain", "account", "account", false},
		{"traversal", "../../etc", "..%2F..%2Fetc", false},
		{"slash", "a/b", "a%2Fb", false},
		{"equals", "x=y", "x%3Dy", false},
		{"percent escapes", "%2e%2e", "%252e%252e", false},
		{"empty", "", DefaultPartition, false},
		{"dot", ".", "%2E", false},
		{"dotdot", "..", "%2E%2E", false},
		{"three dots", "...", "%2E%2E%2E", false},
		{"dots inside", "a..b", "a..b", false},
		{"dot prefix", ".hidden", ".hidden", false},
		{"hive default literal", DefaultPartition, "%5F_HIVE_DEFAULT_PARTITION__", false},
		{"hive charset", `"#%'*/:=?\{[]^`, "%22%23%25%27%2A%2F%3A%3D%3F%5C%7B%5B%5D%5E", false},
		{"kept punctuation", "a-b_c~d!e(f)g,h;i@j}k+l$m&n|o<p>q`r s", "a-b_c~d!e(f)g,h;i@j}k+l$m&n|o<p>q`r s", false},
		{"unicode", "conta_çã/日本", "conta_çã%2F日本", false},
		{"control chars", "a\x01b\tc\nd\x1fe\x7ff", "a%01b%09c%0Ad%1Fe%7Ff", false},
		{"nul", "a\x00b", "a%00b", true},
		{"invalid utf8", "a\xffb", "a\xffb", true},
		{"4 KB", long, long, true},
		{"max length", strings.Repeat("y", MaxValueBytes), strings.Repeat("y", MaxValueBytes), false},
		{"escaped too long", strings.Repeat("/", 100), strings.Repeat("%2F", 100), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Escape(tt.v)
			if got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.v, got, tt.want)
			}
			back, err := Unescape(got)
			if err != nil {
				t.Fatalf("Unescape(%q): %v", got, err)
			}
			if back != tt.v {
				t.Errorf("Unescape(Escape(%q)) = %q", tt.v, back)
			}
			err = CheckValue(tt.v)
			if gotErr := err != nil; gotErr != tt.checkErr {
				t.Errorf("CheckValue(%q) error = %v, want error %v", tt.v, err, tt.checkErr)
			}
		})
	}
}

func TestCheckValueMessages(t *testing.T) {
	tests := []struct {
		v    string
		want string
	}{
		{strings.Repeat("x", 4096), "partition value is 4096 bytes, longer than the 200-byte limit"},
		{"a\x00", "partition value contains a NUL byte"},
		{"\xc3", "partition value is not valid UTF-8"},
	}
	for _, tt := range tests {
		err := CheckValue(tt.v)
		if err == nil || err.Error() != tt.want {
			t.Errorf("CheckValue(%.20q) = %v, want %q", tt.v, err, tt.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"%2e%2E", "..", false},
		{"a%2fb", "a/b", false},
		{DefaultPartition, "", false},
		{"%5F_HIVE_DEFAULT_PARTITION__", DefaultPartition, false},
		{"plain", "plain", false},
		{"100%", "", true},
		{"%2", "", true},
		{"%zz", "", true},
		{"a%G1", "", true},
	}
	for _, tt := range tests {
		got, err := Unescape(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Unescape(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", ".", "..", "...", "../../etc", "a/b", "x=y", "%2e%2e", "日本", "\x00", "\x7f\x01", DefaultPartition, "a\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := Escape(v)
		back, err := Unescape(e)
		if err != nil {
			t.Fatalf("Unescape(Escape(%q)) = error %v", v, err)
		}
		if back != v {
			t.Fatalf("Unescape(Escape(%q)) = %q", v, back)
		}
		if strings.Contains(e, "/") {
			t.Fatalf("Escape(%q) = %q contains '/'", v, e)
		}
		if e == "." || e == ".." || e == "" {
			t.Fatalf("Escape(%q) = %q", v, e)
		}
		if strings.Contains(e, "\x00") {
			t.Fatalf("Escape(%q) = %q contains NUL", v, e)
		}
		if v != "" && e == DefaultPartition {
			t.Fatalf("Escape(%q) = DefaultPartition", v)
		}
	})
}

func TestEventDate(t *testing.T) {
	const day = int64(microsPerDay)
	tests := []struct {
		name   string
		micros int64
		want   string
	}{
		{"epoch", 0, "1970-01-01"},
		{"last micro of epoch day", day - 1, "1970-01-01"},
		{"negative one micro", -1, "1969-12-31"},
		{"negative one day", -day, "1969-12-31"},
		{"negative one day minus one", -day - 1, "1969-12-30"},
		{"leap day", 1709164800_000000 + 3600_000000, "2024-02-29"}, // 2024-02-29T01:00Z
		{"after leap day", 1709251200_000000, "2024-03-01"},
		{"year 9999", 253402300799_999999, "9999-12-31"},
		{"year 10000", 253402300800_000000, "10000-01-01"},
		{"year 1", -62135596800_000000, "0001-01-01"},
		{"year 0", -62135596800_000000 - 1, "0000-12-31"},
		{"min int64", -1 << 63, "-290308-12-21"},
		{"max int64", 1<<63 - 1, "294247-01-10"},
	}
	for _, tt := range tests {
		if got := EventDate(tt.micros); got != tt.want {
			t.Errorf("%s: EventDate(%d) = %q, want %q", tt.name, tt.micros, got, tt.want)
		}
	}
}

// TestDayOfMatchesEventDate checks the cache key used by the writers agrees
// with EventDate around day boundaries.
func TestDayOfMatchesEventDate(t *testing.T) {
	for _, m := range []int64{-2*microsPerDay - 1, -microsPerDay - 1, -microsPerDay, -1, 0, 1, microsPerDay - 1, microsPerDay, 1<<63 - 1, -1 << 63} {
		for _, n := range []int64{m, m + 1} {
			sameDay := dayOf(m) == dayOf(n)
			sameDate := EventDate(m) == EventDate(n)
			if sameDay != sameDate {
				t.Errorf("dayOf(%d)=%d dayOf(%d)=%d but EventDate %q %q", m, dayOf(m), n, dayOf(n), EventDate(m), EventDate(n))
			}
		}
	}
}

func TestDir(t *testing.T) {
	tests := []struct {
		kv   []string
		want string
	}{
		{[]string{"domain", "a/b", "event_date", "2024-01-02"}, "domain=a%2Fb/event_date=2024-01-02"},
		{[]string{"load_date", "2024-01-02"}, "load_date=2024-01-02"},
		{[]string{"domain", "", "event_date", "2024-01-02"}, "domain=" + DefaultPartition + "/event_date=2024-01-02"},
		{[]string{"domain", ".."}, "domain=%2E%2E"},
		{[]string{"domain"}, "domain=" + DefaultPartition},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Dir(tt.kv...); got != tt.want {
			t.Errorf("Dir(%q) = %q, want %q", tt.kv, got, tt.want)
		}
	}
}
