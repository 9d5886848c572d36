package shell

import (
	"bytes"
	"context"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/eventlake/eventlake/internal/termtext"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// goldenQuery covers the types analysts meet in the lake: strings with quotes, newlines and non-ASCII text,
// integers beyond float64 precision, doubles, booleans, decimals, dates, UTC timestamps, NULL, STRUCT, LIST and
// JSON documents (whose key order must survive).
const goldenQuery = `SELECT text, big, dbl, flag, amount, day, ts, nothing, obj, list, doc FROM (VALUES
	(1, 'it''s "quoted"' || chr(10) || 'ünïcödé 漢字 ✓', 9007199254740993::BIGINT, 3.25::DOUBLE, true,
	 12345.60::DECIMAL(10,2), DATE '2024-02-29', TIMESTAMPTZ '2024-05-01 10:00:00.123456+00', NULL::VARCHAR,
	 {'id': 7, 'tags': ['a', 'b, c']}, [1, 2, NULL], '{"b": {"c": null}, "a": [1, 2.5]}'::JSON),
	(2, '', -1, -0.5, false, -0.01, DATE '1970-01-01', TIMESTAMPTZ '1999-12-31 23:59:59+00', 'not null',
	 NULL, [], '"str"'::JSON)
) AS t(ord, text, big, dbl, flag, amount, day, ts, nothing, obj, list, doc) ORDER BY ord`

func TestGoldenFormats(t *testing.T) {
	conn := newTestConn(t)
	for _, format := range []string{"table", "csv", "json", "line"} {
		t.Run(format, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := Run(context.Background(), Options{Conn: conn, Out: &out, Err: &errb, Format: format}, goldenQuery)
			if err != nil {
				t.Fatalf("Run: %v (stderr %q)", err, errb.String())
			}
			path := filepath.Join("testdata", format+".golden")
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run the tests with -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("%s output differs from %s\n got:\n%s\nwant:\n%s", format, path, got, want)
			}
		})
	}
}

// TestTypeRendering runs one expression per DuckDB type through the whole path (driver scan, rendering) and
// checks the text rendering (line mode: "v = …") and the JSON one.
func TestTypeRendering(t *testing.T) {
	conn := newTestConn(t)
	tests := []struct {
		name, expr, text, json string
	}{
		{"NULL", "NULL", "NULL", "null"},
		{"BOOLEAN", "false", "false", "false"},
		{"TINYINT", "-5::TINYINT", "-5", "-5"},
		{"UBIGINT", "18446744073709551615::UBIGINT", "18446744073709551615", "18446744073709551615"},
		{"HUGEINT", "170141183460469231731687303715884105727::HUGEINT",
			"170141183460469231731687303715884105727", "170141183460469231731687303715884105727"},
		{"UHUGEINT", "340282366920938463463374607431768211455::UHUGEINT",
			"340282366920938463463374607431768211455", "340282366920938463463374607431768211455"},
		{"BIGNUM", "123456789012345678901234567890::BIGNUM", "123456789012345678901234567890", "123456789012345678901234567890"},
		{"FLOAT", "1.5::FLOAT", "1.5", "1.5"},
		{"DOUBLE integral", "2::DOUBLE", "2.0", "2.0"},
		{"DOUBLE large", "1e20::DOUBLE", "1e+20", "1e+20"},
		{"DOUBLE small", "0.00001::DOUBLE", "1e-05", "1e-05"},
		{"DOUBLE third", "1/3", "0.3333333333333333", "0.3333333333333333"},
		{"DOUBLE NaN", "'nan'::DOUBLE", "nan", `"nan"`},
		{"DOUBLE -inf", "'-inf'::DOUBLE", "-inf", `"-inf"`},
		{"DECIMAL keeps scale", "1.50::DECIMAL(4,2)", "1.50", "1.50"},
		{"DECIMAL negative fraction", "-0.05::DECIMAL(4,2)", "-0.05", "-0.05"},
		{"DECIMAL 38 digits", "12345678901234567890123456789012345.678::DECIMAL(38,3)",
			"12345678901234567890123456789012345.678", "12345678901234567890123456789012345.678"},
		{"VARCHAR", "'a \"b\"'", `a "b"`, `"a \"b\""`},
		{"ENUM", "'b'::ENUM('a', 'b')", "b", `"b"`},
		{"BLOB", `'\x00ab\xFF\x5C'::BLOB`, `\x00ab\xFF\x5C`, `"\\x00ab\\xFF\\x5C"`},
		{"UUID", "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID",
			"6ba7b810-9dad-11d1-80b4-00c04fd430c8", `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`},
		{"BIT", "'0101'::BIT", "0101", `"0101"`},
		{"DATE", "DATE '2024-02-29'", "2024-02-29", `"2024-02-29"`},
		{"DATE BC", "DATE '0044-03-15 (BC)'", "0044-03-15 (BC)", `"-0043-03-15"`},
		{"DATE infinity", "'infinity'::DATE", "infinity", `"infinity"`},
		{"DATE -infinity", "'-infinity'::DATE", "-infinity", `"-infinity"`},
		{"TIME", "TIME '01:02:03.5'", "01:02:03.5", `"01:02:03.5"`},
		{"TIMETZ", "TIMETZ '01:02:03+02:30'", "01:02:03+02:30", `"01:02:03+02:30"`},
		{"TIMESTAMP", "TIMESTAMP '2024-01-02 03:04:05'", "2024-01-02 03:04:05", `"2024-01-02T03:04:05Z"`},
		{"TIMESTAMP micros", "TIMESTAMP '2024-01-02 03:04:05.000120'", "2024-01-02 03:04:05.00012", `"2024-01-02T03:04:05.00012Z"`},
		{"TIMESTAMP_NS", "TIMESTAMP_NS '2024-01-02 03:04:05.123456789'", "2024-01-02 03:04:05.123456789", `"2024-01-02T03:04:05.123456789Z"`},
		{"TIMESTAMP_S", "TIMESTAMP_S '2024-01-02 03:04:05'", "2024-01-02 03:04:05", `"2024-01-02T03:04:05Z"`},
		{"TIMESTAMP infinity", "'infinity'::TIMESTAMP", "infinity", `"infinity"`},
		{"TIMESTAMPTZ", "TIMESTAMPTZ '2024-01-02 05:04:05.5+02'", "2024-01-02 03:04:05.5+00", `"2024-01-02T03:04:05.5Z"`},
		{"TIMESTAMPTZ -infinity", "'-infinity'::TIMESTAMPTZ", "-infinity", `"-infinity"`},
		{"INTERVAL", "INTERVAL '1 year 2 months 3 days 04:05:06.5'", "1 year 2 months 3 days 04:05:06.5", `"1 year 2 months 3 days 04:05:06.5"`},
		{"INTERVAL negative", "-INTERVAL '1 day 2 hours'", "-1 day -02:00:00", `"-1 day -02:00:00"`},
		{"INTERVAL zero", "INTERVAL '0 seconds'", "00:00:00", `"00:00:00"`},
		{"LIST", "['a', '', 'NULL', ' x', 'p,q', NULL]", "[a, '', 'NULL', ' x', 'p,q', NULL]", `["a","","NULL"," x","p,q",null]`},
		{"nested LIST", "[[1], [], NULL]", "[[1], [], NULL]", "[[1],[],null]"},
		{"ARRAY", "[1.5, 2]::DOUBLE[2]", "[1.5, 2.0]", "[1.5,2.0]"},
		{"STRUCT keeps field order", "{'z': 1, 'a': 'it''s', 'm': NULL}", `{'z': 1, 'a': 'it\'s', 'm': NULL}`, `{"z":1,"a":"it's","m":null}`},
		{"STRUCT with quoted field names", `{'Field "X"': DATE '2024-01-01', 'y y': [TIMESTAMP '2024-01-01 00:00:00']}`,
			`{'Field "X"': 2024-01-01, 'y y': [2024-01-01 00:00:00]}`, `{"Field \"X\"":"2024-01-01","y y":["2024-01-01T00:00:00Z"]}`},
		{"MAP", "MAP {'k': 1, 'j': 2}", "{k=1, j=2}", `{"k":1,"j":2}`},
		{"MAP integer keys", "MAP {2: 'x', 1: NULL}", "{2=x, 1=NULL}", `{"2":"x","1":null}`},
		{"UNION", "union_value(num := 2)::UNION(num INTEGER, str VARCHAR)", "2", "2"},
		{"JSON object keeps its text", `'{"b": 1, "a": [true, null, 1.5, "x"]}'::JSON`, `{"b": 1, "a": [true, null, 1.5, "x"]}`, `{"b":1,"a":[true,null,1.5,"x"]}`},
		{"JSON big integer keeps its digits", `'{"id": 12345678901234567890123}'::JSON`, `{"id": 12345678901234567890123}`, `{"id":12345678901234567890123}`},
		{"JSON multi-line document", "'[1,\n 2]'::JSON", "[1,\n 2]", `[1,2]`},
		{"JSON string", `'"x<y"'::JSON`, `"x<y"`, `"x<y"`},
		{"JSON number", `'12'::JSON`, `12`, `12`},
		// Nested JSON is decoded by the driver (keys sorted): only top-level columns are fetched as text.
		{"JSON inside STRUCT", `{'j': '{"x": 1}'::JSON}`, `{'j': {"x":1}}`, `{"j":{"x":1}}`},
		{"JSON inside LIST", `['[1, 2]'::JSON]`, `[[1,2]]`, `[[1,2]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := "SELECT " + tt.expr + " AS v"
			var out bytes.Buffer
			if err := Run(context.Background(), Options{Conn: conn, Out: &out, Format: "line"}, q); err != nil {
				t.Fatalf("line: %v", err)
			}
			if got, want := out.String(), "v = "+tt.text+"\n"; got != want {
				t.Errorf("text of %s = %q, want %q", tt.expr, got, want)
			}
			out.Reset()
			if err := Run(context.Background(), Options{Conn: conn, Out: &out, Format: "json"}, q); err != nil {
				t.Fatalf("json: %v", err)
			}
			if got, want := out.String(), "[\n{\"v\":"+tt.json+"}\n]\n"; got != want {
				t.Errorf("JSON of %s = %q, want %q", tt.expr, got, want)
			}
		})
	}
}

// TestRenderGoValues covers scanned value types that no DuckDB expression above produces with this driver
// version (duckdb.Map, duckdb.UUID), and the type parser's fallbacks.
func TestRenderGoValues(t *testing.T) {
	tests := []struct {
		name     string
		v        any
		typ      string
		text, js string
	}{
		{"duckdb.Map sorted by key", duckdb.Map{"b": int32(2), "a": nil}, "MAP(VARCHAR, INTEGER)", "{a=NULL, b=2}", `{"a":null,"b":2}`},
		{"duckdb.UUID", duckdb.UUID{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}, "UUID",
			"6ba7b810-9dad-11d1-80b4-00c04fd430c8", `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`},
		{"big.Int", big.NewInt(-12), "HUGEINT", "-12", "-12"},
		{"time without a known type", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "SOMETHING_NEW", "2024-01-02 03:04:05+00", `"2024-01-02T03:04:05Z"`},
		{"unparseable type name", []any{int64(1)}, "LIST(", "[1]", "[1]"},
		{"STRUCT keys missing from the type", map[string]any{"b": "x", "a": int64(1)}, "STRUCT(\"a\" BIGINT)", "{'a': 1, 'b': x}", `{"a":1,"b":"x"}`},
		{"JSON control characters", "a\x01\u2028", "JSON", `"a\u0001\u2028"`, `"a\u0001\u2028"`},
		{"invalid UTF-8 in JSON", "a\xff", "VARCHAR", "a\xff", `"a\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ti := parseType(tt.typ)
			if ti.is("UNKNOWN") {
				t.Fatalf("parseType(%q) = UNKNOWN", tt.typ)
			}
			text, _ := textValue(tt.v, ti)
			if text != tt.text {
				t.Errorf("text = %q, want %q", text, tt.text)
			}
			if got := string(appendJSON(nil, tt.v, ti)); got != tt.js {
				t.Errorf("JSON = %q, want %q", got, tt.js)
			}
		})
	}
}

func TestParseType(t *testing.T) {
	tests := []struct{ in, display string }{
		{"BIGINT", "int64"},
		{"DECIMAL(10,2)", "decimal(10,2)"},
		{"VARCHAR[]", "varchar[]"},
		{"INTEGER[3][]", "int32[3][]"},
		{`STRUCT("a" INTEGER, "b c" VARCHAR[], "q""x" MAP(VARCHAR, DOUBLE))`, `struct(a int32, "b c" varchar[], "q""x" map(varchar, double))`},
		{`UNION("num" INTEGER, "str" VARCHAR)`, "union(num int32, str varchar)"},
		{"TIMESTAMPTZ", "timestamp with time zone"},
		{"JSON", "json"},
	}
	for _, tt := range tests {
		if got := parseType(tt.in).display(); got != tt.display {
			t.Errorf("parseType(%q).display() = %q, want %q", tt.in, got, tt.display)
		}
	}
	st := parseType(`STRUCT("z" INTEGER, "a" DECIMAL(4,1))`)
	if got := st.field("a"); got.name != "DECIMAL" || got.scale != 1 {
		t.Errorf("field a = %+v, want DECIMAL scale 1", got)
	}
	if !strings.EqualFold(st.fields[0].name, "z") {
		t.Errorf("first field = %q, want z", st.fields[0].name)
	}
}

func TestDisplayWidthAndTruncate(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		cut  int
		want string
	}{
		{"abc", 3, 3, "abc"},
		{"漢字ab", 6, 5, "漢字…"},
		{"漢字ab", 6, 4, "漢…"},
		{"e\u0301x", 2, 1, "…"},
		{"hello", 5, 0, ""},
	}
	for _, tt := range tests {
		if got := displayWidth(tt.s); got != tt.w {
			t.Errorf("displayWidth(%q) = %d, want %d", tt.s, got, tt.w)
		}
		if got := truncate(tt.s, tt.cut); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.cut, got, tt.want)
		}
	}
	if got, want := termtext.Escape("a\nb\tc\r\x00"), `a\nb\tc\r\x00`; got != want {
		t.Errorf("termtext.Escape = %q, want %q", got, want)
	}
}
