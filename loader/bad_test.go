package loader_test

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/internal/native"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/loader/format"
)

// The hostile-input corpus: testdata/hostile/<class>/ holds the objects of
// one class of bad input (small files; the compressed ones are written by
// writeCompressedCorpus, see -hostile.regen), and hostileCases says what a
// load of that folder into a fresh lake must do. Classes that need big
// inputs (a 100 MB line, deep nesting) are generated into a temporary folder.
//
// What "careful" means here: nothing is lost and nothing is invented. Every
// record of a committed object is either an events row or a _rejects row
// (with the object, line, offset and a reason); an object is either
// committed, quarantined whole with a reason (one _rejects row), a
// duplicate of one already loaded, or failed (no rows at all, retried by
// the next run). No input may crash or hang the load, or write outside the
// lake.

var (
	regenHostile = flag.Bool("hostile.regen", false, "rewrite the compressed objects of testdata/hostile and the README's reliability table (the tests are skipped)")
	runKnownBugs = flag.Bool("hostile.knownbugs", false, "also run the classes marked knownBug (to see whether they are fixed)")
)

// wantObject is the expected outcome of one object of a class.
type wantObject struct {
	key    string // object key inside the class folder
	status string // committed, quarantined, failed, duplicate
	err    string // failed/quarantined: substring of the Summary.Errors text
}

// hostileCase is one class of bad input and what loading it must do.
type hostileCase struct {
	name    string
	input   string                         // what the objects hold (for testdata_bad.md)
	gen     func(t *testing.T, dir string) // generates the objects into dir; nil: testdata/hostile/<name>
	profile string                         // "" = auto
	workers int                            // default 2
	timeout time.Duration                  // default 60s
	objects []wantObject                   // sorted by key
	// events are the loaded events rows, sorted: "<line> <quoted event_id>",
	// prefixed with "<key>:" when the class has several objects.
	events []string
	// tableRows are the rows loaded into other tables (CSV profiles),
	// sorted: "<table>:<line> <first column>".
	tableRows []string
	// rejects are the _rejects rows, sorted by object and line:
	// "<line> <substring of the reason>" (with "<key>:" as for events).
	rejects []string
	// lenient is the number of CSV rows loaded with a '"' inside an
	// unquoted field read as text (Summary.LenientQuotes).
	lenient int64
	// dirs, when set, are the domain=<escaped> folders under events/.
	dirs []string
	// query, when set, must return rows; {events} and {rejects} stand for
	// the read_parquet expressions of the lake's events (with partition
	// columns) and rejects.
	query string
	rows  [][]string
	// knownBug skips the class with this explanation: the fix belongs to a
	// file this corpus may not change (see loader/testdata_bad.md).
	knownBug string
}

// okTS is the timestamp member of the generated records.
const okTS = `"timestamp":"2024-02-01T09:00:00Z"`

var hostileCases = []hostileCase{
	// ---- compression --------------------------------------------------------
	// A stream that does not decode to its end fails the whole object: none
	// of its rows commit, and the next run retries it.
	{
		name:    "gzip-truncated",
		input:   "gzip of 3 NDJSON records cut at 2/3",
		objects: []wantObject{{"batch.gz", "failed", "gzip: compressed stream truncated"}},
	},
	{
		name:    "gzip-corrupt",
		input:   "gzip with 8 bytes of the deflate data flipped",
		objects: []wantObject{{"batch.gz", "failed", "gzip: corrupt compressed stream"}},
	},
	{
		name:    "gzip-bad-checksum",
		input:   "gzip whose CRC-32 trailer is wrong",
		objects: []wantObject{{"batch.gz", "failed", "gzip: corrupt compressed stream: gzip: invalid checksum"}},
	},
	{
		name:    "gzip-trailing-garbage",
		input:   "gzip followed by a line of text",
		objects: []wantObject{{"batch.gz", "failed", "trailing garbage after compressed stream"}},
	},
	{
		// Zero padding after the last member is ignored, as gzip(1) does.
		name:    "gzip-trailing-zeros",
		input:   "gzip followed by 1 KB of NUL padding",
		objects: []wantObject{{"batch.gz", "committed", ""}},
		events:  []string{`1 "gz-1"`, `2 "gz-2"`, `3 "gz-3"`},
	},
	{
		// Four members, one empty, the first ending inside the second record.
		name:    "gzip-concatenated",
		input:   "4 gzip members (one empty), a record split across two",
		objects: []wantObject{{"batch.gz", "committed", ""}},
		events:  []string{`1 "gz-1"`, `2 "gz-2"`, `3 "gz-3"`, `4 "gz-4"`},
	},
	{
		name:    "gzip-empty",
		input:   "gzip of nothing",
		objects: []wantObject{{"batch.gz", "committed", ""}},
	},
	{
		name:    "gzip-magic-only",
		input:   "the 2 bytes 1f 8b",
		objects: []wantObject{{"batch.gz", "failed", "gzip: compressed stream truncated"}},
	},
	{
		// Shorter than the four bytes read to tell compressed objects
		// from others: read whole as it is.
		name:    "zstd-magic-short",
		input:   "the 3 bytes 28 b5 2f (a zstd magic number cut short)",
		objects: []wantObject{{"batch.zst", "quarantined", "unrecognised content"}},
		rejects: []string{`1 unrecognised content`},
	},
	{
		name:    "one-byte",
		input:   "a 1-byte object: {",
		objects: []wantObject{{"one.json", "quarantined", "no profile"}},
		rejects: []string{`1 auto: no profile`},
	},
	{
		// Only one layer is taken off; the gzip inside is binary content.
		name:    "double-gzip",
		input:   "gzip of a gzip",
		objects: []wantObject{{"batch.gz.gz", "quarantined", "unrecognised content"}},
		rejects: []string{`1 unrecognised content`},
	},
	{
		// Two frames with a skippable frame between them.
		name:    "zstd-multiframe",
		input:   "2 zstd frames with a skippable frame between",
		objects: []wantObject{{"batch.zst", "committed", ""}},
		events:  []string{`1 "gz-1"`, `2 "gz-2"`, `3 "gz-3"`},
	},
	{
		name:    "zstd-truncated",
		input:   "zstd frame cut at 2/3",
		objects: []wantObject{{"batch.zst", "failed", "zstd: compressed stream truncated"}},
	},
	{
		name:    "zstd-corrupt",
		input:   "zstd frame with 4 bytes flipped",
		objects: []wantObject{{"batch.zst", "failed", "zstd: corrupt compressed stream"}},
	},
	{
		name:    "zstd-trailing-garbage",
		input:   "zstd frame followed by text",
		objects: []wantObject{{"batch.zst", "failed", "zstd: corrupt compressed stream"}},
	},
	{
		// A frame asking for a 2 GiB window is refused before allocating it.
		name:    "zstd-huge-window",
		input:   "zstd frame header asking for a 2 GiB window",
		objects: []wantObject{{"batch.zst", "failed", "zstd: corrupt compressed stream"}},
	},

	// ---- empty and garbage objects -------------------------------------------
	{
		name:    "zero-byte",
		input:   "a 0-byte object",
		objects: []wantObject{{"empty.json", "committed", ""}},
	},
	{
		name:    "whitespace-only",
		input:   "blank lines, spaces, tabs, CRs",
		objects: []wantObject{{"blank.ndjson", "committed", ""}},
	},
	{
		name:    "bom-only",
		input:   "a UTF-8 BOM and CRLF",
		objects: []wantObject{{"bom.json", "committed", ""}},
	},
	{
		// Copies (equal sizes) are read by one worker in key order, so the
		// first by key is the original whatever the number of workers.
		name:    "duplicate-object",
		input:   "two objects with the same bytes",
		workers: 4,
		objects: []wantObject{{"a.ndjson", "committed", ""}, {"b-copy.ndjson", "duplicate", ""}},
		events:  []string{`a.ndjson:1 "dup-1"`, `a.ndjson:2 "dup-2"`},
	},
	{
		name:    "binary-garbage",
		input:   "1 KB of random bytes",
		objects: []wantObject{{"blob", "quarantined", "unrecognised content: neither JSON records nor CSV"}},
		rejects: []string{`1 unrecognised content`},
	},
	{
		name:    "text-garbage",
		input:   "two lines of plain text",
		objects: []wantObject{{"notes.txt", "quarantined", "unrecognised content"}},
		rejects: []string{`1 unrecognised content`},
	},
	{
		name:    "garbage-then-json",
		input:   "a log line, then 2 NDJSON records",
		objects: []wantObject{{"batch", "committed", ""}},
		events:  []string{`2 "gtj-1"`, `3 "gtj-2"`},
		rejects: []string{`1 garbage between JSON values`},
	},
	{
		name:    "nul-bytes",
		input:   "NDJSON, a NUL byte between members on line 2",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "nul-1"`, `3 "nul-3"`},
		rejects: []string{`2 invalid JSON`},
	},
	{
		// UTF-16 is not sniffed (NUL bytes make it binary): quarantined whole.
		name:    "utf16-file",
		input:   "NDJSON in UTF-16LE with BOM",
		objects: []wantObject{{"batch.json", "quarantined", "unrecognised content"}},
		rejects: []string{`1 unrecognised content`},
	},

	// ---- encodings -----------------------------------------------------------
	{
		// A bad byte, an overlong encoding, an encoded surrogate, a cut sequence.
		name:    "invalid-utf8",
		input:   "bad byte, overlong, encoded surrogate, cut sequence in strings",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "utf8-ok-1"`, `6 "utf8-ok-2"`},
		rejects: []string{`2 invalid UTF-8`, `3 invalid UTF-8`, `4 invalid UTF-8`, `5 invalid UTF-8`},
		query:   `select event_id, data::varchar from {events} where _line = 6`,
		rows:    [][]string{{"utf8-ok-2", `{"s":"café 日本 😀"}`}},
	},
	{
		name:    "latin1-file",
		input:   "NDJSON encoded as Latin-1",
		objects: []wantObject{{"batch.ndjson", "quarantined", "all 2 records rejected"}},
		rejects: []string{`1 invalid UTF-8`, `2 invalid UTF-8`},
	},
	{
		name:    "bom-ndjson",
		input:   "UTF-8 BOM before NDJSON",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "bom-1"`, `2 "bom-2"`},
		query:   `select _offset from {events} order by 1`,
		rows:    [][]string{{"3"}, {"179"}}, // the BOM counts as 3 bytes
	},
	{
		name:    "bom-mid-file",
		input:   "a BOM at the start of line 2",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "bmid-1"`, `3 "bmid-3"`},
		rejects: []string{`2 invalid JSON`},
	},
	{
		name:    "crlf-ndjson",
		input:   "CRLF line ends, a blank CRLF line",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "crlf-1"`, `2 "crlf-2"`, `4 "crlf-3"`},
		query:   `select count(*) from {events} where data::varchar like '%' || chr(13) || '%'`,
		rows:    [][]string{{"0"}},
	},
	{
		// Old Mac line ends: one line of concatenated objects.
		name:    "cr-only",
		input:   "records separated by lone CRs",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "cr-1"`, `1 "cr-2"`, `1 "cr-3"`},
	},
	{
		// Escapes are decoded in envelope fields (a lone surrogate becomes
		// U+FFFD, as encoding/json does) and kept as received in data, except
		// a lone surrogate there: DuckDB refuses a JSON column holding one.
		name:    "escapes-envelope",
		input:   "escapes in envelope and data: quotes, \\u surrogate pair, lone surrogate, \\u0000, invalid escapes",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "esc-\"q\"-\\-é-\n"`, `2 "esc-surrogate-😀"`, `4 "esc-nul-\x00"`},
		rejects: []string{`3 lone UTF-16 surrogate escape \udc00 at byte 6 of data`, `5 invalid JSON at byte 22: invalid escape '\x'`,
			`6 invalid JSON at byte 25: invalid hex digit`},
		query: `select _line, domain, data::varchar from {events} order by 1`,
		rows:  [][]string{{"1", "account", `{"s":"\u0000"}`}, {"2", "account", "{}"}, {"4", "account", "{}"}},
	},

	// ---- JSON semantics --------------------------------------------------------
	{
		// A repeated envelope key is ambiguous: rejected. A repeated key in
		// data (or outside the envelope) is kept exactly as received.
		name:    "duplicate-keys",
		input:   "repeated event_id, timestamp, data key, non-envelope key",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "dk-ok"`, `4 "dk-data"`, `5 "dk-extra"`},
		rejects: []string{`2 duplicate envelope field "event_id"`, `3 duplicate envelope field "timestamp"`},
		query:   `select event_id, data::varchar from {events} where event_id = 'dk-data'`,
		rows:    [][]string{{"dk-data", `{"x":1,"x":2}`}},
	},
	{
		// Numbers beyond int64/float64 in data are kept as text; as a
		// timestamp they are rejected; as schema_version they leave it NULL.
		name:    "big-numbers",
		input:   "1e400, 2^64, 30-digit integers in data, timestamp and schema_version",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "bn-ok"`, `2 "bn-data"`, `3 "18446744073709551616"`, `6 "bn-ver"`, `7 "bn-ver-f"`},
		rejects: []string{`4 timestamp: unparseable timestamp: 1e400`, `5 timestamp: unparseable timestamp: -1e400`},
		query:   `select event_id, schema_version, data::varchar from {events} where _line in (2, 6, 7) order by _line`,
		rows: [][]string{
			{"bn-data", "NULL", `{"i":123456789012345678901234567890,"neg":-9223372036854775809,"f":1e400,"nf":-1e400,"tiny":1e-400,"exact":9007199254740993}`},
			{"bn-ver", "NULL", "{}"},
			{"bn-ver-f", "NULL", "{}"},
		},
	},
	{
		// A number or a numeric string; anything else leaves it NULL (the
		// event is kept), and a missing or null one comes from a -N suffix.
		name:    "schema-version-forms",
		input:   "schema_version as number, string, float, \"v7\", bool, null, too big, suffix",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events: []string{`1 "sv-num"`, `2 "sv-str"`, `3 "sv-str-space"`, `4 "sv-float"`, `5 "sv-str-float"`, `6 "sv-frac"`,
			`7 "sv-v"`, `8 "sv-neg"`, `9 "sv-big"`, `10 "sv-bool"`, `11 "sv-null"`, `12 "sv-suffix"`, `13 "sv-empty"`},
		query: `select event_id, schema_version from {events} order by _line`,
		rows: [][]string{{"sv-num", "2"}, {"sv-str", "3"}, {"sv-str-space", "4"}, {"sv-float", "5"}, {"sv-str-float", "6"},
			{"sv-frac", "NULL"}, {"sv-v", "NULL"}, {"sv-neg", "-1"}, {"sv-big", "NULL"}, {"sv-bool", "NULL"},
			{"sv-null", "8"}, {"sv-suffix", "9"}, {"sv-empty", "NULL"}},
	},
	{
		name:    "timestamp-offsets",
		input:   "Z, z, ±hh:mm, ±hhmm, ±hh, space, 1–9 and 10 fraction digits, leap second, 24:00",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events: []string{`1 "off-Z"`, `2 "off-z"`, `3 "off-+00:00"`, `4 "off--00:00"`, `5 "off-+05:30"`, `6 "off--0330"`,
			`7 "off-+05"`, `8 "off-+14:00"`, `9 "off--12:00"`, `10 "off-space"`, `11 "off-frac1"`, `12 "off-frac3"`,
			`13 "off-frac6"`, `14 "off-frac9"`, `15 "off-comma"`, `16 "off-leap"`, `17 "off-24h"`, `18 "off-nextday"`},
		rejects: []string{
			`19 "2024-02-01T09:00:00+25:00": zone offset out of range`,
			`20 "2024-02-01T09:00:00+05:60": zone offset out of range`,
			`21 "2024-02-01T09:00:00 UTC": unexpected text after the time`,
			`22 "2024-02-01T09:00:00.1234567890Z": want 1 to 9 fractional digits`,
			`23 "2024-02-01T09:00:00+5": bad zone offset`,
		},
		query: utcQuery,
		rows: [][]string{
			{"off-Z", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"off-z", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"off-+00:00", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"off--00:00", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"off-+05:30", "2024-02-01T03:30:00.000000", "2024-02-01"},
			{"off--0330", "2024-02-01T12:30:00.000000", "2024-02-01"},
			{"off-+05", "2024-02-01T04:00:00.000000", "2024-02-01"},
			{"off-+14:00", "2024-01-31T19:00:00.000000", "2024-01-31"},
			{"off--12:00", "2024-02-01T21:00:00.000000", "2024-02-01"},
			{"off-space", "2024-02-01T08:00:00.000000", "2024-02-01"},
			{"off-frac1", "2024-02-01T09:00:00.100000", "2024-02-01"},
			{"off-frac3", "2024-02-01T08:00:00.123000", "2024-02-01"},
			{"off-frac6", "2024-02-01T10:00:00.123456", "2024-02-01"},
			{"off-frac9", "2024-02-01T09:00:00.123456", "2024-02-01"},
			{"off-comma", "2024-02-01T09:00:00.500000", "2024-02-01"},
			{"off-leap", "2017-01-01T00:00:00.000000", "2017-01-01"},
			{"off-24h", "2024-02-02T00:00:00.000000", "2024-02-02"},
			{"off-nextday", "2024-02-02T00:30:00.000000", "2024-02-02"},
		},
	},
	{
		// No zone: taken as UTC (README).
		name:    "timestamp-no-zone",
		input:   "timestamps without zone, without seconds, date only",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "nz-seconds"`, `2 "nz-minutes"`, `3 "nz-date"`, `4 "nz-frac"`},
		query:   utcQuery,
		rows: [][]string{
			{"nz-seconds", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"nz-minutes", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"nz-date", "2024-02-01T00:00:00.000000", "2024-02-01"},
			{"nz-frac", "2024-02-01T09:00:00.250000", "2024-02-01"},
		},
	},
	{
		// JSON numbers are epoch seconds, ms, µs or ns by magnitude; a
		// numeric string is not a timestamp.
		name:    "timestamp-epoch",
		input:   "epoch s, s.frac, ms, µs, ns, 0, -1, 1.7e9, numeric string, \"NaN\"",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "ep-s"`, `2 "ep-s-frac"`, `3 "ep-ms"`, `4 "ep-us"`, `5 "ep-ns"`, `6 "ep-zero"`, `7 "ep-neg"`, `8 "ep-exp"`},
		rejects: []string{`9 unparseable timestamp "1706778000"`, `10 unparseable timestamp "NaN"`},
		query:   utcQuery,
		rows: [][]string{
			{"ep-s", "2024-02-01T09:00:00.000000", "2024-02-01"},
			{"ep-s-frac", "2024-02-01T09:00:00.500000", "2024-02-01"},
			{"ep-ms", "2024-02-01T09:00:00.123000", "2024-02-01"},
			{"ep-us", "2024-02-01T09:00:00.123456", "2024-02-01"},
			{"ep-ns", "2024-02-01T09:00:00.123456", "2024-02-01"},
			{"ep-zero", "1970-01-01T00:00:00.000000", "1970-01-01"},
			{"ep-neg", "1969-12-31T23:59:59.000000", "1969-12-31"},
			{"ep-exp", "2024-02-01T09:00:00.000000", "2024-02-01"},
		},
	},
	{
		// Years 0001 and 9999 load; anything outside them in UTC (also
		// after applying the offset) is rejected, so event_date is always
		// a YYYY-MM-DD.
		name:    "timestamp-extreme-years",
		input:   "years 0001, 9999, 0000, 10000, -2024; offsets crossing 0001/9999",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "y-0001"`, `2 "y-9999"`},
		rejects: []string{
			`3 year 0000 is out of range`,
			`4 "10000-01-01T00:00:00Z": want YYYY-MM-DD at the start`,
			`5 "0001-01-01T00:00:00+01:00": outside years 0001-9999 in UTC`,
			`6 "9999-12-31T23:30:00-01:00": outside years 0001-9999 in UTC`,
			`7 epoch -62135596801 is outside years 0001-9999`,
			`8 "-2024-01-01T00:00:00Z": want YYYY-MM-DD at the start`,
		},
		query: utcQuery,
		rows: [][]string{
			{"y-0001", "0001-01-01T00:00:00.000000", "0001-01-01"},
			{"y-9999", "9999-12-31T23:59:59.999999", "9999-12-31"},
		},
	},
	{
		name:    "timestamp-invalid",
		input:   "Feb 30, words, empty, null, object, bool, hour 25, long non-ASCII tail",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "ti-ok"`},
		rejects: []string{
			`2 "2024-02-30T09:00:00Z": day out of range`,
			`3 "yesterday": want YYYY-MM-DD at the start`,
			`4 "": want YYYY-MM-DD at the start`,
			`5 missing required field timestamp (null)`,
			`6 unparseable timestamp: a JSON object`,
			`7 unparseable timestamp: a JSON boolean`,
			`8 "2024-02-01T25:00:00Z": time of day out of range`,
			`9 "2024-02-01T09:00:00Z ééééééééé…": unexpected text after the zone`,
		},
	},
	{
		// event_id and timestamp are required; the rest may be missing
		// (event_type is then empty: the column is not nullable).
		name:    "missing-envelope",
		input:   "no event_id / timestamp / domain / event_type / data, empty and null id, {}",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "me-ok"`, `6 "me-no-domain"`, `7 "me-no-type"`, `8 "me-no-data"`},
		rejects: []string{`2 missing required field event_id`, `3 missing required field timestamp`,
			`4 missing required field event_id`, `5 missing required field event_id`, `9 missing required field event_id`},
		query: `select event_id, domain, event_type, schema_version, org_id, cid, data::varchar from {events} where _line > 1 order by _line`,
		rows: [][]string{
			{"me-no-domain", "NULL", "", "NULL", "NULL", "NULL", "{}"},
			{"me-no-type", "account", "", "NULL", "NULL", "NULL", "{}"},
			{"me-no-data", "account", "", "NULL", "NULL", "NULL", "null"},
		},
	},
	{
		name:    "wrong-field-types",
		input:   "event_id object, domain number, event_type array, org_id bool, cid null",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "wt-ok"`, `3 "wt-domain-num"`, `6 "wt-cid-null"`},
		rejects: []string{`2 bad field event_id: want a string, got object`, `4 bad field event_type: want a string, got array`,
			`5 bad field org_id: want a string, got boolean`},
		query: `select event_id, domain, cid from {events} where _line > 1 order by _line`,
		rows:  [][]string{{"wt-domain-num", "42", "NULL"}, {"wt-cid-null", "account", "NULL"}},
	},
	{
		// data is whatever JSON value was received, kept as its raw text.
		name:    "data-not-object",
		input:   "data as string, number, array, null, false, \"\"",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "dn-string"`, `2 "dn-number"`, `3 "dn-array"`, `4 "dn-null"`, `5 "dn-bool"`, `6 "dn-empty-str"`},
		query:   `select event_id, data::varchar from {events} order by _line`,
		rows: [][]string{{"dn-string", `"{\"a\":1}"`}, {"dn-number", "-1.5e3"}, {"dn-array", `[1,{"b":2}]`}, {"dn-null", "null"},
			{"dn-bool", "false"}, {"dn-empty-str", `""`}},
	},
	{
		name:    "record-not-object",
		input:   "NDJSON lines that are arrays, strings, numbers, null, true",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "rno-ok"`},
		rejects: []string{`2 record is not a JSON object`, `3 record is not a JSON object`, `4 record is not a JSON object`,
			`5 record is not a JSON object`, `6 record is not a JSON object`, `7 record is not a JSON object`},
	},

	// ---- file shapes ---------------------------------------------------------------
	{
		name:    "json-array",
		input:   "a JSON array of 3 records",
		objects: []wantObject{{"batch.json", "committed", ""}},
		events:  []string{`2 "arr-1"`, `3 "arr-2"`, `4 "arr-3"`},
	},
	{
		name:    "json-array-pretty",
		input:   "a pretty-printed JSON array",
		objects: []wantObject{{"batch.json", "committed", ""}},
		events:  []string{`2 "arrp-1"`, `14 "arrp-2"`},
	},
	{
		name:    "json-array-mixed",
		input:   "array with numbers, strings, null, a nested array, a broken object",
		objects: []wantObject{{"batch.json", "committed", ""}},
		events:  []string{`2 "arrm-1"`, `8 "arrm-2"`},
		rejects: []string{`3 record is not a JSON object`, `4 record is not a JSON object`, `5 record is not a JSON object`,
			`6 record is not a JSON object`, `7 invalid JSON`},
	},
	{
		// The elements before the cut load; the missing ']' is a reject
		// that tells the object was cut.
		name:    "json-array-unterminated",
		input:   "array without its closing ]",
		objects: []wantObject{{"batch.json", "committed", ""}},
		events:  []string{`2 "arru-1"`, `3 "arru-2"`},
		rejects: []string{`4 top-level array starting at line 1 is not closed at end of stream`},
	},
	{
		// Missing and doubled commas lose nothing.
		name:    "json-array-lenient",
		input:   "array with doubled, missing and trailing commas",
		objects: []wantObject{{"batch.json", "committed", ""}},
		events:  []string{`1 "arrl-1"`, `1 "arrl-2"`, `1 "arrl-3"`},
	},
	{
		name:    "json-array-empty",
		input:   "[]",
		objects: []wantObject{{"batch.json", "committed", ""}},
	},
	{
		name:    "json-arrays-concatenated",
		input:   "two top-level arrays",
		objects: []wantObject{{"batch.json", "committed", ""}},
		events:  []string{`1 "arrc-1"`, `2 "arrc-2"`},
	},
	{
		name:    "pretty-broken-middle",
		input:   "pretty-printed objects, the middle one not closed",
		objects: []wantObject{{"batch", "committed", ""}},
		events:  []string{`1 "pbm-1"`, `18 "pbm-2"`},
		rejects: []string{`13 unterminated JSON value: value starting at line 13 is not closed before the object starting at line 18`},
	},
	{
		name:    "pretty-broken-string",
		input:   "pretty-printed objects, a raw newline inside a string",
		objects: []wantObject{{"batch", "committed", ""}},
		events:  []string{`1 "pbs-1"`, `20 "pbs-2"`},
		rejects: []string{`13 control character 0x0a in string`},
	},
	{
		name:    "pretty-garbage-between",
		input:   "a text line between pretty-printed objects",
		objects: []wantObject{{"batch", "committed", ""}},
		events:  []string{`1 "pgb-1"`, `14 "pgb-2"`},
		rejects: []string{`13 garbage between JSON values: 12 bytes of non-JSON text at line 13`},
	},
	{
		name:    "pretty-truncated-end",
		input:   "the last pretty-printed object cut off",
		objects: []wantObject{{"batch", "committed", ""}},
		events:  []string{`1 "pte-1"`},
		rejects: []string{`13 object starting at line 13 is still open at end of stream`},
	},
	{
		name:    "concatenated-one-line",
		input:   "{…}{…} {…} on one line",
		objects: []wantObject{{"batch", "committed", ""}},
		events:  []string{`1 "col-1"`, `1 "col-2"`, `1 "col-3"`},
	},
	{
		name:    "ndjson-truncated-last-line",
		input:   "NDJSON whose last line is cut off",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "ntl-1"`, `2 "ntl-2"`},
		rejects: []string{`3 unexpected end of input`},
	},
	{
		name:    "ndjson-blank-lines",
		input:   "leading, inner and trailing blank lines, trailing whitespace",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`3 "nbl-1"`, `6 "nbl-2"`},
	},
	{
		// NDJSON is split on newlines: an open brace does not swallow the next line.
		name:    "ndjson-unbalanced-braces",
		input:   "a line with unclosed braces, a line of stray braces",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "nub-1"`, `3 "nub-2"`, `5 "nub-3"`},
		rejects: []string{`2 unexpected end of input in object`, `4 unexpected '}', want a JSON value`},
	},

	// ---- profiles --------------------------------------------------------------------
	{
		name:    "unknown-envelope",
		input:   "NDJSON no built-in profile recognises",
		objects: []wantObject{{"batch.ndjson", "quarantined", "auto: no profile ([pismo fulfillmenttools]) recognises the records"}},
		rejects: []string{`1 auto: no profile`},
	},
	{
		// auto picks a profile per object (from its first record).
		name:    "mixed-profiles",
		input:   "a Pismo record, then a fulfillmenttools one",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "mp-pismo"`},
		rejects: []string{`2 missing required field event_id`},
	},
	{
		name:    "fulfillmenttools-bad",
		input:   "fulfillmenttools lines: bad created, no id, no created, numeric and missing eventName",
		profile: "fulfillmenttools",
		objects: []wantObject{{"export.ndjson", "committed", ""}},
		events:  []string{`1 "ft-ok"`, `5 "ft-name-num"`, `6 "ft-no-name"`},
		rejects: []string{`2 created: unparseable timestamp "2024-02-01 late"`, `3 missing required field id`, `4 missing required field created`},
		query:   `select event_id, domain, event_type, data::varchar from {events} order by _line`,
		rows: [][]string{{"ft-ok", "order", "order-created_event-v1", `{"orderId":"o1"}`}, {"ft-name-num", "7", "7", "{}"},
			{"ft-no-name", "NULL", "", `"str"`}},
	},

	// ---- CSV (the jwo-orders table) -----------------------------------------------------------
	{
		// One unbalanced quote rejects its line only; the rows after it load.
		name:      "csv-unbalanced-quotes",
		input:     "JWO CSV, an unbalanced quote on line 2",
		objects:   []wantObject{{"ALL01.csv000", "committed", ""}},
		tableRows: []string{"orders:3 2", "orders:4 3"},
		rejects:   []string{`2 a quoted field is not closed properly`},
	},
	{
		name:      "csv-ragged",
		input:     "JWO CSV (CRLF) with a short and a long row",
		objects:   []wantObject{{"ALL01.csv000", "committed", ""}},
		tableRows: []string{"orders:2 1", "orders:5 4"},
		rejects:   []string{`3 ragged row: 2 fields, header has 3`, `4 ragged row: 4 fields, header has 3`},
	},
	{
		// A bare quote inside an unquoted field is text (as DuckDB, Python's csv and Polars read it), counted;
		// text after a closing quote is still an error.
		name:      "csv-bare-quote",
		input:     "JWO CSV (;) with a bare quote and text after a closing quote",
		objects:   []wantObject{{"ALL01.csv000", "committed", ""}},
		tableRows: []string{"orders:2 1", "orders:4 3"},
		rejects:   []string{`3 extraneous or missing " in quoted-field`},
		lenient:   1,
	},
	{
		name:    "csv-bad-header",
		input:   "JWO CSV whose header has an unbalanced quote",
		objects: []wantObject{{"ALL01.csv000", "quarantined", "bad CSV header"}},
		rejects: []string{`1 bad CSV header`},
	},
	{
		name:    "csv-unknown-header",
		input:   "CSV without an order_id column",
		objects: []wantObject{{"report.csv", "quarantined", "CSV content with header sku,name,price"}},
		rejects: []string{`1 CSV content with header`},
	},

	// ---- partition values -----------------------------------------------------------------
	{
		// Hive escaping keeps every value one folder inside events/.
		name:    "partition-traversal",
		input:   "domains ../../etc, .., ., ..., a/b, /etc/passwd, ..\\..\\win, x=y, %2e%2e, %2F, C:",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events: []string{`1 "pt-dotdot-etc"`, `2 "pt-dotdot"`, `3 "pt-dot"`, `4 "pt-dots3"`, `5 "pt-slash"`, `6 "pt-abs"`,
			`7 "pt-backslash"`, `8 "pt-eq"`, `9 "pt-pct"`, `10 "pt-pct-slash"`, `11 "pt-colon"`},
		dirs: []string{"domain=%252F", "domain=%252e%252e", "domain=%2E", "domain=%2E%2E", "domain=%2E%2E%2E", "domain=%2Fetc%2Fpasswd",
			"domain=..%2F..%2Fetc", "domain=..%5C..%5Cwin", "domain=C%3A", "domain=a%2Fb", "domain=x%3Dy"},
		query: domainQuery,
		rows: [][]string{{"pt-dotdot-etc", "../../etc"}, {"pt-dotdot", ".."}, {"pt-dot", "."}, {"pt-dots3", "..."}, {"pt-slash", "a/b"},
			{"pt-abs", "/etc/passwd"}, {"pt-backslash", `..\..\win`}, {"pt-eq", "x=y"}, {"pt-pct", "%2e%2e"}, {"pt-pct-slash", "%2F"}, {"pt-colon", "C:"}},
	},
	{
		// An empty or missing domain is Hive's default partition (NULL to
		// readers); the literal default value is escaped so it stays itself.
		name:    "partition-empty-default",
		input:   "domains \"\", null, __HIVE_DEFAULT_PARTITION__, \" \"",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "pe-empty"`, `2 "pe-null"`, `3 "pe-literal-default"`, `4 "pe-space"`},
		dirs:    []string{"domain= ", "domain=%5F_HIVE_DEFAULT_PARTITION__", "domain=__HIVE_DEFAULT_PARTITION__"},
		query:   domainQuery,
		rows:    [][]string{{"pe-empty", "NULL"}, {"pe-null", "NULL"}, {"pe-literal-default", "__HIVE_DEFAULT_PARTITION__"}, {"pe-space", " "}},
	},
	{
		name:    "partition-control-unicode",
		input:   "domains with newline, tab, DEL, CJK, emoji, NUL, quotes, glob characters",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "pc-newline"`, `2 "pc-tab"`, `3 "pc-del"`, `4 "pc-unicode"`, `5 "pc-emoji"`, `7 "pc-quote"`, `8 "pc-glob"`},
		rejects: []string{`6 domain: partition value contains a NUL byte`},
		dirs: []string{"domain=%09", "domain=%2A%3F%5B%5D%7B}%5E%23", "domain=%7F", "domain=a%0Ab", "domain=it%27s %22x%22",
			"domain=日本", "domain=😀"},
		query: domainQuery,
		rows: [][]string{{"pc-newline", "a\nb"}, {"pc-tab", "\t"}, {"pc-del", "\x7f"}, {"pc-unicode", "日本"}, {"pc-emoji", "😀"},
			{"pc-quote", `it's "x"`}, {"pc-glob", "*?[]{}^#"}},
	},
	{
		// Values must fit a file name: 200 bytes raw, 224 escaped.
		name:    "partition-long",
		input:   "domains of 200, 201 and 4096 bytes, 100 slashes",
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "pl-200"`},
		rejects: []string{`2 domain: partition value is 201 bytes, longer than the 200-byte limit`,
			`3 domain: partition value is 300 bytes once escaped, longer than the 224-byte limit`,
			`4 domain: partition value is 4096 bytes, longer than the 200-byte limit`},
	},

	// ---- generated big inputs -----------------------------------------------------------------
	{
		// Streamed: the 100 MB record is skipped in bounded memory.
		name:    "huge-line-100mb",
		input:   "generated: gzipped NDJSON, line 2 a 100 MB record",
		gen:     genHugeLine,
		timeout: 3 * time.Minute,
		objects: []wantObject{{"batch.ndjson.gz", "committed", ""}},
		events:  []string{`1 "huge-before"`, `3 "huge-after"`},
		rejects: []string{`2 record too large: record of 104857694 bytes at line 2 exceeds the 16777216-byte limit`},
		query:   `select line, raw_bytes, length(raw), starts_with(raw, '{"event_id":"huge-line"') from {rejects}`,
		rows:    [][]string{{"2", "104857694", "4096", "true"}},
	},
	{
		name:    "huge-pretty-object",
		input:   "generated: gzipped pretty JSON, a 20 MB object over 200,000 lines",
		gen:     genHugePretty,
		timeout: 2 * time.Minute,
		objects: []wantObject{{"batch.json.gz", "committed", ""}},
		events:  []string{`1 "hp-before"`, `200005 "hp-after"`},
		rejects: []string{`3 record too large`},
	},
	{
		// schema.MaxDepth = 10,000 levels load; one more is a reject.
		name:    "deep-nesting-10000",
		input:   "generated: data nested 9,999 and 10,000 arrays deep, 5,000 objects deep",
		gen:     genDeepNesting,
		objects: []wantObject{{"batch.ndjson", "committed", ""}},
		events:  []string{`1 "deep-9999"`, `3 "deep-objects"`, `4 "deep-after"`},
		rejects: []string{`2 nesting deeper than 10000`},
		query:   `select event_id, length(data::varchar), json_valid(data) from {events} order by _line`,
		rows:    [][]string{{"deep-9999", "19998", "true"}, {"deep-objects", "30001", "true"}, {"deep-after", "7", "true"}},
	},
	{
		name:    "deep-nesting-unclosed",
		input:   "generated: gzipped array, an element opening 1,000,000 arrays",
		gen:     genDeepUnclosed,
		objects: []wantObject{{"batch.json.gz", "committed", ""}},
		events:  []string{`2 "unclosed-1"`},
		rejects: []string{`3 array element starting at line 3 is still open at end of stream`},
	},
}

// utcQuery shows event_time in UTC with its event_date partition.
const utcQuery = `select event_id, strftime(event_time at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f'), event_date::varchar from {events} order by _line`

// domainQuery shows the domain partition value as readers see it.
const domainQuery = `select event_id, domain from {events} order by _line`

func TestHostile(t *testing.T) {
	if *regenHostile {
		if err := writeCompressedCorpus(testdata("hostile")); err != nil {
			t.Fatal(err)
		}
		t.Skip("rewrote the compressed objects of testdata/hostile")
	}
	db := laketest.DuckDB(t)
	// Every class passes with the native codecs (libdeflate, libzstd) and
	// with the pure-Go ones: both paths must load the same rows, reject the
	// same records and fail the same objects.
	for _, mode := range []string{"native", "go"} {
		if mode == "native" && !native.HasGzip() {
			t.Log("libdeflate not loaded: the native inflating path is not tested")
			continue
		}
		t.Run(mode, func(t *testing.T) {
			defer native.Use(mode == "native", mode == "native")()
			for _, c := range hostileCases {
				t.Run(c.name, func(t *testing.T) {
					if c.knownBug != "" && !*runKnownBugs {
						t.Skip("known bug: " + c.knownBug)
					}
					runHostile(t, db, c)
				})
			}
		})
	}
}

// TestHostileCorpusComplete keeps the folder and the table in step.
func TestHostileCorpusComplete(t *testing.T) {
	entries, err := os.ReadDir(testdata("hostile"))
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, c := range hostileCases {
		if inTable[c.name] {
			t.Errorf("class %s is in the table twice", c.name)
		}
		inTable[c.name] = true
		if c.gen == nil {
			if _, err := os.Stat(testdata("hostile", c.name)); err != nil {
				t.Errorf("class %s: %v", c.name, err)
			}
		}
	}
	for _, e := range entries {
		if !inTable[e.Name()] {
			t.Errorf("testdata/hostile/%s has no row in hostileCases", e.Name())
		}
	}
	if len(hostileCases) < 40 {
		t.Errorf("%d classes, want at least 40", len(hostileCases))
	}
}

// TestHostileDoc keeps loader/testdata_bad.md (the README's Reliability
// table) in step with hostileCases; -hostile.regen rewrites it.
func TestHostileDoc(t *testing.T) {
	path := filepath.Join(filepath.Dir(testdata()), "README.md")
	const start, end = "<!-- reliability:start -->\n", "<!-- reliability:end -->"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(readme), start), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no reliability markers", path)
	}
	want := hostileDoc()
	if *regenHostile {
		out := string(readme[:i+len(start)]) + want + string(readme[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("rewrote the reliability table of " + path)
	}
	if got := string(readme[i+len(start) : j]); got != want {
		t.Errorf("the README's reliability table is out of date: go test ./loader -run 'TestHostile' -hostile.regen")
	}
}

// hostileDoc renders hostileCases as a Markdown table.
func hostileDoc() string {
	var b strings.Builder
	b.WriteString(`<!-- Generated from hostileCases in loader/bad_test.go: go test ./loader -run TestHostile -hostile.regen -->
Every class below is an object (or a few) in ` + "`testdata/hostile/<class>/`" + ` (big ones are generated by the test) that
` + "`go test ./loader -run TestHostile`" + ` loads into a fresh lake. The test checks the load summary and exit code, every
events row and every ` + "`_rejects`" + ` row (object, line, byte offset, reason, raw text) read back through DuckDB, that each
line and offset points at the record in the decompressed object, that nothing is written outside the lake, and that a
second run retries exactly the failed objects. Nothing is lost: a record is loaded or rejected with its line; an object
is committed, quarantined whole with a reason, or failed and retried by the next run (exit code 1).

| class | input | outcome | reason text | reproduce |
|---|---|---|---|---|
`)
	cell := func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
	}
	code := func(s string) string {
		if strings.Contains(s, "`") {
			return "``" + s + "``"
		}
		return "`" + s + "`"
	}
	for _, c := range hostileCases {
		var outcome, reasons []string
		addReason := func(r string) {
			for i, have := range reasons {
				switch {
				case strings.Contains(have, r):
					return
				case strings.Contains(r, have):
					reasons[i] = r
					return
				}
			}
			if r != "" {
				reasons = append(reasons, r)
			}
		}
		ok := true
		for _, o := range c.objects {
			s := o.status
			if len(c.objects) > 1 {
				s = o.key + " " + s
			}
			switch o.status {
			case "failed":
				s += " (nothing loaded, retried next run)"
				ok = false
			case "quarantined":
				ok = false
			}
			outcome = append(outcome, s)
			addReason(o.err)
		}
		loaded := len(c.events) + len(c.tableRows)
		text := strings.Join(outcome, ", ")
		if !slices.ContainsFunc(c.objects, func(o wantObject) bool { return o.status == "failed" }) {
			text += fmt.Sprintf(": %d loaded, %d rejected", loaded, len(c.rejects))
		}
		var lines []string
		for _, r := range c.rejects {
			line, reason, _ := strings.Cut(r, " ")
			if i := strings.IndexByte(line, ':'); i >= 0 {
				line = line[i+1:]
			}
			if !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
			addReason(reason)
		}
		if len(lines) > 0 {
			text += " (line " + strings.Join(lines, ", ") + ")"
		}
		if len(c.dirs) > 0 {
			var dirs []string
			for _, d := range c.dirs {
				dirs = append(dirs, code(d))
			}
			text += "; folders " + strings.Join(dirs, " ")
		}
		if ok {
			text += "; exit 0"
		} else {
			text += "; exit 1"
		}
		if c.knownBug != "" {
			text = "**known bug, test skipped**: today " + knownBugNow[c.name] + "; wanted: " + text
		}
		for i, r := range reasons {
			reasons[i] = code(r)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.name, cell(c.input), cell(text), cell(strings.Join(reasons, " ")),
			code("go test ./loader -run 'TestHostile/"+c.name+"$'"))
	}
	return b.String()
}

// knownBugNow says what the load does today for the classes marked
// knownBug (the table's outcome is the one wanted).
var knownBugNow = map[string]string{}

func runHostile(t *testing.T, db *sql.DB, c hostileCase) {
	dir := testdata("hostile", c.name)
	if c.gen != nil {
		dir = filepath.Join(t.TempDir(), "src")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.gen(t, dir)
	}
	// The lake is a subfolder of root: a partition value that escaped the
	// lake would write into root (checkLakeLayout).
	root := t.TempDir()
	lake := filepath.Join(root, "lake")
	sum := loadGuarded(t, c, lake, dir)

	// Summary and per-object outcomes.
	var wantSum loader.Summary
	wantStatus := map[string]string{}
	for _, o := range c.objects {
		wantStatus[o.key] = o.status
		wantSum.Objects++
		switch o.status {
		case "committed":
			wantSum.Committed++
		case "failed":
			wantSum.Failed++
		case "quarantined":
			wantSum.Quarantined++
		case "duplicate":
			wantSum.Duplicates++
		default:
			t.Fatalf("bad status %q in the table", o.status)
		}
	}
	wantSum.Records, wantSum.Rejects = int64(len(c.events)+len(c.tableRows)), int64(len(c.rejects))
	gotStatus := map[string]string{}
	for _, o := range sum.Outcomes {
		gotStatus[o.Key] = string(o.Status)
	}
	if !reflect.DeepEqual(gotStatus, wantStatus) {
		t.Errorf("object outcomes = %v, want %v", gotStatus, wantStatus)
	}
	if sum.LenientQuotes != c.lenient {
		t.Errorf("summary: %d rows read leniently, want %d", sum.LenientQuotes, c.lenient)
	}
	if sum.Objects != wantSum.Objects || sum.Committed != wantSum.Committed || sum.Failed != wantSum.Failed ||
		sum.Quarantined != wantSum.Quarantined || sum.Duplicates != wantSum.Duplicates ||
		sum.Records != wantSum.Records || sum.Rejects != wantSum.Rejects {
		t.Errorf("summary: objects %d committed %d failed %d quarantined %d duplicates %d records %d rejects %d\n"+
			"    want: objects %d committed %d failed %d quarantined %d duplicates %d records %d rejects %d",
			sum.Objects, sum.Committed, sum.Failed, sum.Quarantined, sum.Duplicates, sum.Records, sum.Rejects,
			wantSum.Objects, wantSum.Committed, wantSum.Failed, wantSum.Quarantined, wantSum.Duplicates, wantSum.Records, wantSum.Rejects)
	}
	// Exit code: load exits non-zero exactly when an object failed or was quarantined.
	wantOK := wantSum.Failed == 0 && wantSum.Quarantined == 0
	if sum.OK() != wantOK {
		t.Errorf("Summary.OK() = %v, want %v", sum.OK(), wantOK)
	}
	// Every failed or quarantined object is reported by name with its reason.
	var gotErrs, wantErrs []string
	for _, e := range sum.Errors {
		gotErrs = append(gotErrs, string(e.Status)+" "+strings.TrimPrefix(e.Object, objectPrefix(dir)))
		var want *wantObject
		for i := range c.objects {
			if strings.HasSuffix(e.Object, "/"+c.objects[i].key) {
				want = &c.objects[i]
			}
		}
		if want != nil && !strings.Contains(e.Error, want.err) {
			t.Errorf("error of %s = %q, want it to contain %q", e.Object, e.Error, want.err)
		}
		if e.Error == "" {
			t.Errorf("%s %s without an error text", e.Status, e.Object)
		}
	}
	for _, o := range c.objects {
		if o.status == "failed" || o.status == "quarantined" {
			wantErrs = append(wantErrs, o.status+" "+o.key)
		}
	}
	slices.Sort(gotErrs)
	if !slices.Equal(gotErrs, wantErrs) {
		t.Errorf("Summary.Errors names %q, want %q", gotErrs, wantErrs)
	}

	checkLakeLayout(t, root, lake)
	multi := len(c.objects) > 1
	gotEvents := readEvents(t, db, lake, multi)
	if !slices.Equal(gotEvents, nonNil(c.events)) {
		t.Errorf("events:\n\t%s\nwant:\n\t%s", strings.Join(quoteAll(gotEvents), ",\n\t"), strings.Join(quoteAll(c.events), ",\n\t"))
	}
	if got := readTableRows(t, db, lake); !slices.Equal(got, nonNil(c.tableRows)) {
		t.Errorf("table rows:\n\t%s\nwant:\n\t%s", strings.Join(quoteAll(got), ",\n\t"), strings.Join(quoteAll(c.tableRows), ",\n\t"))
	}
	gotRejects := readRejects(t, db, lake, multi)
	match := len(gotRejects) == len(c.rejects)
	for i := 0; match && i < len(gotRejects); i++ {
		pos, reason, _ := strings.Cut(c.rejects[i], " ")
		match = strings.HasPrefix(gotRejects[i], pos+" ") && strings.Contains(gotRejects[i], reason)
	}
	if !match {
		t.Errorf("rejects:\n\t%s\nwant (line and reason substring):\n\t%s", strings.Join(quoteAll(gotRejects), ",\n\t"), strings.Join(quoteAll(c.rejects), ",\n\t"))
	}
	if c.dirs != nil {
		var got []string
		if entries, err := os.ReadDir(filepath.Join(lake, "events")); err == nil {
			for _, e := range entries {
				got = append(got, e.Name())
			}
		}
		if !slices.Equal(got, c.dirs) {
			t.Errorf("partition folders:\n\t%s\nwant:\n\t%s", strings.Join(quoteAll(got), ",\n\t"), strings.Join(quoteAll(c.dirs), ",\n\t"))
		}
	}
	checkPositions(t, db, dir, lake)
	if c.query != "" {
		q := strings.NewReplacer("{events}", laketest.Events(lake), "{rejects}", "read_parquet('"+rejectsGlob(lake)+"')").Replace(c.query)
		if got := laketest.Rows(t, db, q); !reflect.DeepEqual(got, c.rows) {
			t.Errorf("%s:\n%s\nwant:\n%s", c.query, laketest.Table(got), laketest.Table(c.rows))
		}
	}

	// A second run retries exactly the failed objects and changes no data.
	before := dataFiles(t, lake)
	sum2 := loadGuarded(t, c, lake, dir)
	if sum2.Objects != wantSum.Failed || sum2.Failed != wantSum.Failed || sum2.Skipped != wantSum.Objects-wantSum.Failed {
		t.Errorf("second run: objects %d failed %d skipped %d, want %d retried and failed, %d skipped",
			sum2.Objects, sum2.Failed, sum2.Skipped, wantSum.Failed, wantSum.Objects-wantSum.Failed)
	}
	if after := dataFiles(t, lake); !slices.Equal(before, after) {
		t.Errorf("second run changed the lake's files:\nbefore %q\nafter  %q", before, after)
	}
}

// dataFiles lists the lake's files other than the catalog's.
func dataFiles(t *testing.T, lake string) []string {
	t.Helper()
	var out []string
	for _, f := range laketest.Files(t, lake) {
		if !strings.HasPrefix(f, "_eventlake/") {
			out = append(out, f)
		}
	}
	return out
}

// loadGuarded runs one load and fails the test (instead of hanging it) when
// the load does not finish in time.
func loadGuarded(t *testing.T, c hostileCase, lake, dir string) *loader.Summary {
	t.Helper()
	timeout := c.timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type res struct {
		sum *loader.Summary
		err error
	}
	done := make(chan res, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- res{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		workers := c.workers
		if workers == 0 {
			workers = 2
		}
		sum, err := loader.Run(ctx, loader.Options{Lake: lake, Workers: workers, Profile: c.profile}, []loader.SourceSpec{{URL: dir}})
		done <- res{sum, err}
	}()
	// The context bounds a load that checks it; the timer also catches one
	// stuck where it does not (a grace period after the deadline).
	guard := time.NewTimer(timeout + 10*time.Second)
	defer guard.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("load: %v", r.err)
		}
		return r.sum
	case <-guard.C:
		t.Fatalf("load of %s did not finish within %v", c.name, timeout)
		return nil
	}
}

// objectPrefix is the object URL prefix of a local source folder.
func objectPrefix(dir string) string {
	abs, _ := filepath.Abs(dir)
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	return "file://" + filepath.ToSlash(abs) + "/"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// checkLakeLayout asserts that the load wrote nothing outside the lake and
// that every events file sits exactly two folders deep, in
// domain=<escaped>/event_date=<YYYY-MM-DD>/.
func checkLakeLayout(t *testing.T, root, lake string) {
	t.Helper()
	for _, f := range laketest.Files(t, root) {
		if !strings.HasPrefix(f, "lake/") {
			t.Errorf("file outside the lake: %s", f)
		}
	}
	for _, f := range laketest.Files(t, lake) {
		// Tables (events, and those of CSV profiles) are <table>/<key>=<value>/<file>.parquet.
		parts := strings.Split(f, "/")
		if strings.HasPrefix(parts[0], "_") {
			continue
		}
		if len(parts) < 3 || !strings.HasSuffix(parts[len(parts)-1], ".parquet") {
			t.Errorf("unexpected lake file %s", f)
		}
		for _, dir := range parts[1 : len(parts)-1] {
			k, v, ok := strings.Cut(dir, "=")
			if !ok || k == "" || v == "" || v == "." || v == ".." || strings.ContainsAny(v, "\\\x00") {
				t.Errorf("unsafe partition folder %q in %s", dir, f)
			}
		}
	}
	for _, f := range laketest.Files(t, filepath.Join(lake, "events")) {
		parts := strings.Split(f, "/")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "domain=") || !strings.HasPrefix(parts[1], "event_date=") ||
			len(parts[1]) != len("event_date=2006-01-02") || !strings.HasSuffix(parts[2], ".parquet") {
			t.Errorf("events file %q is not domain=<v>/event_date=<YYYY-MM-DD>/<file>.parquet", f)
		}
	}
}

func hasFiles(t *testing.T, dir string) bool {
	t.Helper()
	return len(laketest.Files(t, dir)) > 0
}

func rejectsGlob(lake string) string {
	return filepath.ToSlash(lake) + "/_rejects/*/*.parquet"
}

// readEvents returns "<line> <quoted event_id>" per events row, sorted.
func readEvents(t *testing.T, db *sql.DB, lake string, withKey bool) []string {
	t.Helper()
	out := []string{}
	if !hasFiles(t, filepath.Join(lake, "events")) {
		return out
	}
	for _, r := range laketest.Rows(t, db, "select regexp_extract(_object, '[^/]+$'), _line, event_id from "+laketest.Events(lake)+" order by 1, 2, _offset") {
		s := r[1] + " " + strconv.Quote(r[2])
		if withKey {
			s = r[0] + ":" + s
		}
		out = append(out, s)
	}
	return out
}

// readRejects returns "<line> <reason>" per _rejects row, sorted by object,
// line and offset; every reason must be valid UTF-8 and name the problem.
func readRejects(t *testing.T, db *sql.DB, lake string, withKey bool) []string {
	t.Helper()
	var out []string
	if !hasFiles(t, filepath.Join(lake, "_rejects")) {
		return out
	}
	for _, r := range laketest.Rows(t, db, "select regexp_extract(object, '[^/]+$'), line, reason from read_parquet('"+rejectsGlob(lake)+"') order by 1, 2, \"offset\"") {
		if !utf8.ValidString(r[2]) || strings.TrimSpace(r[2]) == "" {
			t.Errorf("reject %s line %s: reason %q is empty or not valid UTF-8", r[0], r[1], r[2])
		}
		s := r[1] + " " + r[2]
		if withKey {
			s = r[0] + ":" + s
		}
		out = append(out, s)
	}
	return out
}

// tableDirs lists the lake's tables other than events (CSV profiles).
func tableDirs(t *testing.T, lake string) []string {
	t.Helper()
	entries, err := os.ReadDir(lake)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "events" && !strings.HasPrefix(e.Name(), "_") {
			out = append(out, e.Name())
		}
	}
	return out
}

func tableExpr(lake, table string) string {
	return "read_parquet('" + filepath.ToSlash(filepath.Join(lake, table)) + "/*/*.parquet', hive_partitioning = false)"
}

// readTableRows returns "<table>:<line> <first column>" per row of the
// lake's other tables, sorted.
func readTableRows(t *testing.T, db *sql.DB, lake string) []string {
	t.Helper()
	out := []string{}
	for _, table := range tableDirs(t, lake) {
		for _, r := range laketest.Rows(t, db, "select _line, columns(* exclude (_report_time, _object, _line, _offset, _load_id, _ingested_at)) from "+tableExpr(lake, table)+" order by _line") {
			out = append(out, table+":"+r[0]+" "+r[1])
		}
	}
	return out
}

// maxPositionCheck bounds the objects whose positions are checked byte by
// byte (the decompressed object is read into memory).
const maxPositionCheck = 1 << 20

// checkPositions verifies, for every row of the lake, that _line and
// _offset point at the record in the decompressed object: the byte at the
// offset starts the record (its raw text, for a reject), and the line is one
// more than the newlines before it. It also checks that every reject's raw
// text is valid UTF-8 and that raw_bytes covers it.
func checkPositions(t *testing.T, db *sql.DB, dir, lake string) {
	t.Helper()
	content := map[string][]byte{}
	load := func(object string) []byte {
		if b, ok := content[object]; ok {
			return b
		}
		path := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(object, objectPrefix(dir))))
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("object %s: %v", object, err)
			return nil
		}
		defer f.Close()
		rc, _, err := format.Decompress(f)
		if err != nil {
			t.Errorf("object %s: %v", object, err)
			return nil
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxPositionCheck+1))
		if err != nil || len(b) > maxPositionCheck {
			b = nil // a stream the loader failed, or too big to check here
		}
		content[object] = b
		return b
	}
	at := func(object, what string, line, offset int64, prefix string) {
		b := load(object)
		if b == nil {
			return
		}
		if offset < 0 || offset > int64(len(b)) {
			t.Errorf("%s %s: offset %d outside the %d-byte object", what, object, offset, len(b))
			return
		}
		if n := int64(bytes.Count(b[:offset], []byte{'\n'})) + 1; n != line {
			t.Errorf("%s %s: line %d, but offset %d is on line %d", what, object, line, offset, n)
		}
		if !bytes.HasPrefix(b[offset:], []byte(prefix)) {
			t.Errorf("%s %s line %d: object at offset %d is %q, want it to start with %q", what, object, line, offset, clipTo(b[offset:], 40), clipTo([]byte(prefix), 40))
		}
	}
	if hasFiles(t, filepath.Join(lake, "events")) {
		for _, r := range laketest.Rows(t, db, "select _object, _line, _offset from "+laketest.Events(lake)) {
			line, _ := strconv.ParseInt(r[1], 10, 64)
			off, _ := strconv.ParseInt(r[2], 10, 64)
			at(r[0], "event", line, off, "")
			if b := load(r[0]); b != nil && off < int64(len(b)) && b[off] != '{' {
				t.Errorf("event %s line %d: offset %d is %q, not the '{' of a record", r[0], line, off, b[off])
			}
		}
	}
	for _, table := range tableDirs(t, lake) {
		for _, r := range laketest.Rows(t, db, "select _object, _line, _offset from "+tableExpr(lake, table)) {
			line, _ := strconv.ParseInt(r[1], 10, 64)
			off, _ := strconv.ParseInt(r[2], 10, 64)
			at(r[0], table+" row", line, off, "")
		}
	}
	if hasFiles(t, filepath.Join(lake, "_rejects")) {
		for _, r := range laketest.Rows(t, db, "select object, line, \"offset\", raw, raw_bytes from read_parquet('"+rejectsGlob(lake)+"')") {
			line, _ := strconv.ParseInt(r[1], 10, 64)
			off, _ := strconv.ParseInt(r[2], 10, 64)
			size, _ := strconv.ParseInt(r[4], 10, 64)
			raw := r[3]
			if !utf8.ValidString(raw) {
				t.Errorf("reject %s line %d: raw text is not valid UTF-8", r[0], line)
			}
			if int64(len(raw)) > size && !strings.Contains(raw, "\uFFFD") {
				t.Errorf("reject %s line %d: %d raw bytes but raw_bytes %d", r[0], line, len(raw), size)
			}
			// The raw text is stored as valid UTF-8; compare the part before
			// any replacement character.
			prefix, _, _ := strings.Cut(raw, "\uFFFD")
			at(r[0], "reject", line, off, prefix)
		}
	}
}

func clipTo(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// ---- generated classes -------------------------------------------------------------------

func pismoLine(id string) string {
	return `{"event_id":"` + id + `","domain":"account","event_type":"t-1",` + okTS + `,"data":{"n":1}}`
}

// genHugeLine writes a gzipped NDJSON object whose second line is a single
// 100 MB record (about 100 KB compressed): it must be rejected as too large
// while streaming, and the records around it loaded.
func genHugeLine(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, "batch.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	io.WriteString(zw, pismoLine("huge-before")+"\n")
	io.WriteString(zw, `{"event_id":"huge-line","domain":"account",`+okTS+`,"data":{"s":"`)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for n := 0; n < 100<<20; n += len(chunk) {
		zw.Write(chunk)
	}
	io.WriteString(zw, "\"}}\n"+pismoLine("huge-after")+"\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// genHugePretty writes a gzipped stream of pretty-printed objects whose
// second object is a 20 MB array spread over 200,000 lines: the
// concatenated-JSON splitter must skip it in bounded memory too.
func genHugePretty(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, "batch.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	io.WriteString(zw, `{"event_id":"hp-before","domain":"account",`+okTS+",\n"+`"data":{}}`+"\n")
	io.WriteString(zw, `{"event_id":"hp-big",`+okTS+`,"data":[`+"\n")
	line := []byte(`"` + strings.Repeat("x", 96) + `",` + "\n")
	for range 200_000 {
		zw.Write(line)
	}
	io.WriteString(zw, `"end"]}`+"\n"+pismoLine("hp-after")+"\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// genDeepNesting writes records whose data nests arrays 9,999 deep (the
// record is then exactly schema.MaxDepth = 10,000 deep: loaded) and 10,000
// deep (one level too deep: rejected), and one whose data nests objects.
func genDeepNesting(t *testing.T, dir string) {
	var b strings.Builder
	b.WriteString(`{"event_id":"deep-9999","domain":"account",` + okTS + `,"data":` + nested(9999) + "}\n")
	b.WriteString(`{"event_id":"deep-10000","domain":"account",` + okTS + `,"data":` + nested(10000) + "}\n")
	b.WriteString(`{"event_id":"deep-objects","domain":"account",` + okTS + `,"data":` +
		strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + "}\n")
	b.WriteString(pismoLine("deep-after") + "\n")
	if err := os.WriteFile(filepath.Join(dir, "batch.ndjson"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// genDeepUnclosed writes a JSON array whose second element opens a million
// arrays and never closes them (gzipped: a few KB).
func genDeepUnclosed(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, "batch.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	io.WriteString(zw, "[\n"+pismoLine("unclosed-1")+",\n"+strings.Repeat("[", 1_000_000)+"\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// ---- the committed compressed objects ------------------------------------------------------------

func gzipBytes(parts ...string) []byte {
	var buf bytes.Buffer
	for _, p := range parts {
		// A fixed header (no name, zero mtime) keeps the output reproducible.
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write([]byte(p))
		zw.Close()
	}
	return buf.Bytes()
}

func zstdBytes(parts ...string) []byte {
	var buf bytes.Buffer
	for _, p := range parts {
		zw, _ := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		zw.Write([]byte(p))
		zw.Close()
	}
	return buf.Bytes()
}

// writeCompressedCorpus writes the compressed objects of testdata/hostile
// (run: go test ./loader -run TestHostile -hostile.regen).
func writeCompressedCorpus(root string) error {
	lines := func(ids ...string) string {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(pismoLine(id) + "\n")
		}
		return b.String()
	}
	three := lines("gz-1", "gz-2", "gz-3")
	gz := gzipBytes(three)
	corrupt := bytes.Clone(gz)
	for i := len(corrupt) / 3; i < len(corrupt)/3+8; i++ {
		corrupt[i] ^= 0x5a
	}
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	second := lines("gz-2")
	zs := zstdBytes(three)
	zcorrupt := bytes.Clone(zs)
	for i := len(zcorrupt) / 2; i < len(zcorrupt)/2+4; i++ {
		zcorrupt[i] ^= 0x5a
	}
	// A skippable frame (magic 0x184D2A50, 4-byte length) between two frames.
	skippable := []byte{0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'x', 'y', 'z'}
	files := map[string][]byte{
		"gzip-truncated/batch.gz":        gz[:len(gz)*2/3],
		"gzip-corrupt/batch.gz":          corrupt,
		"gzip-bad-checksum/batch.gz":     badCRC,
		"gzip-trailing-garbage/batch.gz": append(bytes.Clone(gz), "\nnot gzip\n"...),
		"gzip-trailing-zeros/batch.gz":   append(bytes.Clone(gz), make([]byte, 1024)...),
		// The first member ends inside the second record.
		"gzip-concatenated/batch.gz":      gzipBytes(lines("gz-1")+second[:20], second[20:], "", lines("gz-3", "gz-4")),
		"gzip-empty/batch.gz":             gzipBytes(""),
		"gzip-magic-only/batch.gz":        {0x1f, 0x8b},
		"zstd-magic-short/batch.zst":      {0x28, 0xb5, 0x2f},
		"one-byte/one.json":               []byte("{"),
		"double-gzip/batch.gz.gz":         gzipBytes(string(gz)),
		"zstd-multiframe/batch.zst":       append(append(zstdBytes(lines("gz-1", "gz-2")), skippable...), zstdBytes(lines("gz-3"))...),
		"zstd-truncated/batch.zst":        zs[:len(zs)*2/3],
		"zstd-corrupt/batch.zst":          zcorrupt,
		"zstd-trailing-garbage/batch.zst": append(bytes.Clone(zs), "\nnot zstd\n"...),
		// Frame header: no single segment, window descriptor 0xA8 (2 GiB),
		// then one raw last block of 5 bytes.
		"zstd-huge-window/batch.zst": {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x29, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o'},
	}
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
