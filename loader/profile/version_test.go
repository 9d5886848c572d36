package profile

import (
	"strconv"
	"strings"
	"testing"

	"github.com/buger/jsonparser"
)

// versionOracle is Event.version before its plain-digits path.
func versionOracle(v []byte, t jsonparser.ValueType) (int32, bool) {
	if t != jsonparser.String && t != jsonparser.Number {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 32)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v), 64)
		if ferr != nil || f != float64(int32(f)) {
			return 0, false
		}
		n = int64(f)
	}
	return int32(n), true
}

func checkVersion(t *testing.T, v []byte) {
	t.Helper()
	for _, typ := range []jsonparser.ValueType{jsonparser.String, jsonparser.Number, jsonparser.Null} {
		var ev Event
		ev.version(v, typ)
		n, ok := versionOracle(v, typ)
		if ev.SchemaVersion != n || ev.HasSchemaVersion != ok {
			t.Fatalf("version(%q, %v) = %d, %v; former %d, %v", v, typ, ev.SchemaVersion, ev.HasSchemaVersion, n, ok)
		}
	}
}

func TestVersionMatchesFormer(t *testing.T) {
	for _, s := range []string{"", "0", "1", "007", "123456789", "999999999", "1234567890", "2147483647", "2147483648",
		"-1", "+1", " 1", "1 ", "1.0", "1.5", "1e2", "0x1", "1_0", "٣", "a", "9999999999"} {
		checkVersion(t, []byte(s))
	}
}

func FuzzVersion(f *testing.F) {
	for _, s := range []string{"1", "007", "123456789", "1234567890", " 1", "1.0", "-3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) { checkVersion(t, v) })
}
