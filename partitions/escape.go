// Package partitions turns rows into the lake's Hive-partitioned Parquet
// files: it computes partition keys and Hive-escaped directory names, writes
// one bounded-memory Parquet file per partition under a load's staging area,
// and publishes staged files into the lake by rename.
package partitions

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultPartition is the directory value Hive, Spark and Athena use for a
// missing (empty or NULL) partition value.
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// MaxValueBytes is the longest raw partition value accepted by CheckValue.
// A longer value is an error (the caller quarantines the record).
const MaxValueBytes = 200

// maxEscapedBytes bounds the escaped form of a value. Escaping can triple a
// value's length, and a directory name "<key>=<escaped>" must fit in the
// 255-byte file-name limit of common file systems (ext4, xfs, APFS, and the
// S3/GCS tools that mirror them); 224 leaves room for a 30-byte key.
const maxEscapedBytes = 224

// needsEscape reports, for each byte, whether Escape writes it as %XX.
// It is Hive's FileUtils.charToEscape set (control characters 0x01-0x1F,
// 0x7F and " # % ' * / : = ? \ { [ ] ^), plus NUL, which Hive leaves alone
// but which no file system accepts in a name.
var needsEscape = func() (t [256]bool) {
	for c := 0x00; c < 0x20; c++ {
		t[c] = true
	}
	t[0x7F] = true
	for _, c := range []byte("\"#%'*/:=?\\{[]^") {
		t[c] = true
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// Escape Hive-escapes a partition value for use as a directory name, exactly
// as Hive's FileUtils.escapePathName does: every byte in the set 0x01-0x1F,
// 0x7F and " # % ' * / : = ? \ { [ ] ^ becomes %XX (uppercase hex); all other
// bytes, including non-ASCII UTF-8, are kept as they are.
//
// Three deliberate extensions keep every value a safe, unambiguous single
// path segment (readers that unescape like Hive still recover the value):
//   - a value made only of dots ("." , "..", "...") has every dot escaped as
//     %2E, so no value can form the path segments "." or "..";
//   - NUL is escaped as %00 (Hive does not escape it);
//   - the literal value "__HIVE_DEFAULT_PARTITION__" is written with its first
//     byte escaped ("%5F_HIVE_DEFAULT_PARTITION__") so it cannot be mistaken
//     for a missing value.
//
// The empty value becomes DefaultPartition.
func Escape(v string) string {
	if v == "" {
		return DefaultPartition
	}
	if v == DefaultPartition {
		return "%5F" + v[1:]
	}
	allDots := strings.Trim(v, ".") == ""
	n := 0
	for i := 0; i < len(v); i++ {
		if needsEscape[v[i]] || allDots {
			n++
		}
	}
	if n == 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 2*n)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if needsEscape[c] || allDots {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0x0F])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape reverses Escape: it decodes every %XX sequence (either hex case,
// as Hive does) and maps DefaultPartition back to "". Unlike Hive, which keeps
// a malformed '%' literally, it returns an error for a '%' that is not
// followed by two hex digits, since Escape never produces one.
func Unescape(s string) (string, error) {
	if s == DefaultPartition {
		return "", nil
	}
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("partitions: unescape %q: truncated escape at byte %d", s, i)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("partitions: unescape %q: invalid escape %q at byte %d", s, s[i:i+3], i)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// CheckValue returns an error for a value that cannot be a partition value:
// longer than MaxValueBytes, not valid UTF-8, containing NUL, or whose escaped
// form would be too long for a directory name (more than 224 bytes, which a
// value of at most MaxValueBytes reaches only when it has many characters
// that need escaping). The empty value is valid (it maps to
// DefaultPartition). The error text is meant to be used as a reject reason,
// so it describes the problem without quoting the (possibly huge) value.
func CheckValue(v string) error {
	if len(v) > MaxValueBytes {
		return fmt.Errorf("partition value is %d bytes, longer than the %d-byte limit", len(v), MaxValueBytes)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("partition value contains a NUL byte")
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("partition value is not valid UTF-8")
	}
	if n := len(Escape(v)); n > maxEscapedBytes {
		return fmt.Errorf("partition value is %d bytes once escaped, longer than the %d-byte limit", n, maxEscapedBytes)
	}
	return nil
}

const (
	microsPerDay = 86_400_000_000
	dateLayout   = "2006-01-02"
)

// EventDate is the UTC calendar date ("2006-01-02") of a microsecond Unix
// timestamp. Every int64 has a date: years outside 0001–9999 are formatted
// deterministically the way Go's time package does it — year 0 as "0000",
// negative years with a leading '-' and at least four digits
// ("-0001-12-31"), years after 9999 with all their digits ("10000-01-01").
// Such dates do not sort correctly as strings; callers that care should
// reject the timestamps before routing.
func EventDate(micros int64) string {
	return time.UnixMicro(micros).UTC().Format(dateLayout)
}

// dayOf is the number of whole UTC days since the epoch (floor division), the
// cache key equivalent of EventDate.
func dayOf(micros int64) int64 {
	d := micros / microsPerDay
	if micros%microsPerDay < 0 {
		d--
	}
	return d
}

// Dir joins key=value pairs into a relative directory, escaping each value
// with Escape: Dir("domain", "a/b", "event_date", "2024-01-02") is
// "domain=a%2Fb/event_date=2024-01-02". Keys are fixed identifiers chosen by
// the program and are not escaped. A trailing key without a value is given
// the empty value (DefaultPartition) rather than panicking.
func Dir(kv ...string) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		v := ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		b.WriteString(Escape(v))
	}
	return b.String()
}

// EventDay is the partition day of an event time (micros since the epoch,
// UTC): days since 1970-01-01, the key EventDate formats.
func EventDay(micros int64) int64 { return dayOf(micros) }
