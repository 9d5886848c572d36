package shell

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// longQuery runs for minutes unless interrupted.
const longQuery = "select count(*) from range(1000000000000) t1"

func run(t *testing.T, o Options, script string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	o.Out, o.Err = &out, &errb
	err = Run(context.Background(), o, script)
	return out.String(), errb.String(), err
}

func TestRunFirstErrorStops(t *testing.T) {
	conn := newTestConn(t)
	script := "create table x (a int);\ninsert into x values (1);\n\n-- the failing one:\nselect a,\n  nosuch\nfrom x;\ninsert into x values (2);\nselect 'not reached';"
	out, _, err := run(t, Options{Conn: conn, Format: "csv"}, script)
	var se *StatementError
	if !errors.As(err, &se) {
		t.Fatalf("Run error = %v (%T), want a *StatementError", err, err)
	}
	if se.Index != 3 || se.Line != 5 || se.Statement != "select a,…" {
		t.Errorf("StatementError = {Index %d, Line %d, Statement %q}, want {3, 5, \"select a,…\"}", se.Index, se.Line, se.Statement)
	}
	var dberr *duckdb.Error
	if !errors.As(err, &dberr) || dberr.Type != duckdb.ErrorTypeBinder {
		t.Errorf("cause = %v, want a DuckDB binder error", se.Err)
	}
	msg := err.Error()
	for _, want := range []string{"statement 3 at line 5 (select a,…)", `Referenced column "nosuch" not found`, "LINE 6:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing (DDL and INSERT print nothing, the SELECTs after the error do not run)", out)
	}
	var n int
	if err := conn.QueryRowContext(context.Background(), "select count(*) from x").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows in x = %d (%v), want 1: the insert after the failing statement must not run", n, err)
	}
}

func TestRunErrorPositionMovesCaret(t *testing.T) {
	conn := newTestConn(t)
	script := strings.Repeat("select 1;\n", 9) + "selec 2;"
	_, _, err := run(t, Options{Conn: conn}, script)
	if err == nil {
		t.Fatal("Run succeeded, want a syntax error")
	}
	msg := err.Error()
	// DuckDB says LINE 1 with the caret under "selec"; the shell renumbers to script line 10 and shifts the
	// caret by the extra digit.
	if !strings.Contains(msg, "LINE 10: selec 2\n         ^") {
		t.Errorf("error = %q, want the excerpt renumbered to LINE 10 with the caret under the statement", msg)
	}
}

func TestRunStatusStatementsPrintNothing(t *testing.T) {
	conn := newTestConn(t)
	script := `create temp table tt (a int); insert into tt values (1), (2); update tt set a = a + 1;
		set threads = 2; create schema s2; select sum(a) as total from tt; delete from tt where a = 2;
		insert into tt values (7) returning a`
	out, _, err := run(t, Options{Conn: conn, Format: "csv"}, script)
	if err != nil {
		t.Fatal(err)
	}
	if want := "total\n5\na\n7\n"; out != want {
		t.Errorf("output = %q, want %q (only the SELECT and the RETURNING rows)", out, want)
	}
}

func TestRunEmptyResults(t *testing.T) {
	conn := newTestConn(t)
	q := "select 1 as a, 'x' as b where false"
	tests := map[string]string{
		"csv":  "a,b\n",
		"json": "[]\n",
		"line": "",
		"table": "┌───────┬─────────┐\n│   a   │    b    │\n│ int32 │ varchar │\n├───────┼─────────┤\n" +
			"└───────┴─────────┘\n0 rows\n",
	}
	for format, want := range tests {
		out, _, err := run(t, Options{Conn: conn, Format: format}, q)
		if err != nil {
			t.Fatal(err)
		}
		if out != want {
			t.Errorf("%s: output = %q, want %q", format, out, want)
		}
	}
}

func TestRunDotCommands(t *testing.T) {
	conn := newTestConn(t)
	script := ".mode csv\nselect 1 as a;\n.mode json\nselect 2 as b;\n.mode line\nselect 3 as c, 4 as dd;\n.mode box\nselect 5 as e;\n.quit\nselect 'after quit';"
	out, _, err := run(t, Options{Conn: conn}, script)
	if err != nil {
		t.Fatal(err)
	}
	want := "a\n1\n" + "[\n{\"b\":2}\n]\n" + " c = 3\ndd = 4\n" +
		"┌───────┐\n│   e   │\n│ int32 │\n├───────┤\n│     5 │\n└───────┘\n1 row\n"
	if out != want {
		t.Errorf("output =\n%s\nwant\n%s", out, want)
	}
}

func TestRunUnknownDotCommand(t *testing.T) {
	conn := newTestConn(t)
	_, _, err := run(t, Options{Conn: conn}, "select 1;\n.frobnicate now\nselect 2;")
	var se *StatementError
	if !errors.As(err, &se) || se.Index != 0 || se.Line != 2 {
		t.Fatalf("error = %#v, want a StatementError for the dot command on line 2", err)
	}
	for _, want := range []string{"unknown command .frobnicate", ".tables", ".schema", ".mode", ".timer", ".output", ".help", ".quit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	_, _, err = run(t, Options{Conn: conn}, ".mode xml")
	if err == nil || !strings.Contains(err.Error(), `unknown mode "xml"`) {
		t.Errorf(".mode xml: error = %v, want unknown mode", err)
	}
	_, _, err = run(t, Options{Conn: conn}, ".timer maybe")
	if err == nil || !strings.Contains(err.Error(), "want on or off") {
		t.Errorf(".timer maybe: error = %v", err)
	}
}

func TestRunTables(t *testing.T) {
	conn := newTestConn(t)
	out, _, err := run(t, Options{Conn: conn}, ".tables")
	if err != nil {
		t.Fatal(err)
	}
	if want := "cards.card_blocked_1  eventlake.loads       main.events_raw\n"; out != want {
		t.Errorf(".tables = %q, want %q", out, want)
	}
	out, _, err = run(t, Options{Conn: conn, Width: func() int { return 50 }}, ".tables")
	if err != nil {
		t.Fatal(err)
	}
	if want := "cards.card_blocked_1  main.events_raw\neventlake.loads\n"; out != want {
		t.Errorf(".tables at width 50 = %q, want %q", out, want)
	}
	out, _, err = run(t, Options{Conn: conn}, ".tables CARD%")
	if err != nil {
		t.Fatal(err)
	}
	if want := "cards.card_blocked_1\n"; out != want {
		t.Errorf(".tables CARD%% = %q, want %q", out, want)
	}
	out, _, err = run(t, Options{Conn: conn}, ".tables eventlake._oads")
	if err != nil {
		t.Fatal(err)
	}
	if want := "eventlake.loads\n"; out != want {
		t.Errorf(".tables eventlake._oads = %q, want %q", out, want)
	}
}

func TestRunSchema(t *testing.T) {
	conn := newTestConn(t)
	want := "VIEW cards.card_blocked_1\n  event_id    VARCHAR\n  event_time  TIMESTAMP WITH TIME ZONE\n  card_id     VARCHAR\n  \"Reason\"    VARCHAR\n"
	for _, name := range []string{"cards.card_blocked_1", "CARDS.Card_Blocked_1", "card_blocked_1", `"cards"."card_blocked_1"`, `memory.cards.card_blocked_1`} {
		out, _, err := run(t, Options{Conn: conn}, ".schema "+name)
		if err != nil {
			t.Fatalf(".schema %s: %v", name, err)
		}
		if out != want {
			t.Errorf(".schema %s =\n%s\nwant\n%s", name, out, want)
		}
	}
	for _, name := range []string{"nosuch", `"CARDS".card_blocked_1`, "a.b.c.d"} {
		if _, _, err := run(t, Options{Conn: conn}, ".schema '"+name+"'"); err == nil {
			t.Errorf(".schema %s succeeded, want an error", name)
		}
	}
	out, _, err := run(t, Options{Conn: conn}, ".schema")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VIEW cards.card_blocked_1\n", "TABLE eventlake.loads\n  load_id  VARCHAR\n  rows     BIGINT\n", "TABLE main.events_raw\n"} {
		if !strings.Contains(out, want) {
			t.Errorf(".schema output does not contain %q:\n%s", want, out)
		}
	}
}

func TestRunOutputFiles(t *testing.T) {
	conn := newTestConn(t)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.csv")
	second := filepath.Join(dir, "second file.json")
	script := "select 1 as a;\n.output '" + second + "'\n.mode json\nselect 2 as b;\n.output\nselect 3 as c;"
	out, _, err := run(t, Options{Conn: conn, Format: "csv", Output: first}, script)
	if err != nil {
		t.Fatal(err)
	}
	if out != "[\n{\"c\":3}\n]\n" {
		t.Errorf("stdout = %q, want only the result after .output reset", out)
	}
	for path, want := range map[string]string{first: "a\n1\n", second: "[\n{\"b\":2}\n]\n"} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	_, _, err = run(t, Options{Conn: conn, Output: filepath.Join(dir, "missing", "x.csv")}, "select 1")
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Run with an unwritable Output: error = %v, want one naming the file", err)
	}
}

func TestRunParquet(t *testing.T) {
	conn := newTestConn(t)
	path := filepath.Join(t.TempDir(), "it's.parquet")
	out, _, err := run(t, Options{Conn: conn, Format: "parquet", Output: path},
		"set threads = 1;\nselect range as n, 'v' || range as s from range(5) -- trailing comment")
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
	var n, sum int
	var compression string
	q := "select count(*), sum(n) from read_parquet(" + sqlString(path) + ")"
	if err := conn.QueryRowContext(context.Background(), q).Scan(&n, &sum); err != nil || n != 5 || sum != 10 {
		t.Errorf("parquet file: %d rows, sum %d (%v), want 5 rows, sum 10", n, sum, err)
	}
	q = "select distinct compression from parquet_metadata(" + sqlString(path) + ")"
	if err := conn.QueryRowContext(context.Background(), q).Scan(&compression); err != nil || compression != "ZSTD" {
		t.Errorf("compression = %q (%v), want ZSTD", compression, err)
	}

	_, _, err = run(t, Options{Conn: conn, Format: "parquet", Output: path}, "select 1; select 2")
	if err == nil || !strings.Contains(err.Error(), "statement 2") || !strings.Contains(err.Error(), "one query") {
		t.Errorf("two queries to one parquet file: error = %v", err)
	}
	_, _, err = run(t, Options{Conn: conn, Format: "parquet", Output: path}, "pragma version")
	if err == nil || !strings.Contains(err.Error(), "cannot be written to Parquet") {
		t.Errorf("PRAGMA in parquet mode: error = %v, want one saying it cannot go to Parquet", err)
	}
	_, _, err = run(t, Options{Conn: conn, Format: "parquet"}, "select 1")
	if err == nil || !strings.Contains(err.Error(), "output file") {
		t.Errorf("parquet without Output: error = %v", err)
	}
	_, _, err = run(t, Options{Conn: conn, Format: "xml"}, "select 1")
	if err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown format: error = %v", err)
	}
}

func TestRunTimer(t *testing.T) {
	conn := newTestConn(t)
	timerLine := regexp.MustCompile(`(?m)^Run Time: \d+\.\d{3}s$`)
	out, errOut, err := run(t, Options{Conn: conn, Format: "csv", Timer: true}, "select 1 as a; select 2 as b")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(timerLine.FindAllString(errOut, -1)); got != 2 {
		t.Errorf("stderr %q has %d timer lines, want 2", errOut, got)
	}
	if out != "a\n1\nb\n2\n" {
		t.Errorf("stdout = %q: timer lines must not mix with results", out)
	}
	_, errOut, err = run(t, Options{Conn: conn}, "select 1;\n.timer on\nselect 2;\n.timer off\nselect 3;")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(timerLine.FindAllString(errOut, -1)); got != 1 {
		t.Errorf("stderr %q has %d timer lines, want 1 (only while .timer on)", errOut, got)
	}
}

func TestRunSessionStatePersists(t *testing.T) {
	conn := newTestConn(t)
	out, _, err := run(t, Options{Conn: conn, Format: "csv"},
		"create temp table tt as select 41 as a; use cards; create view v as select a + 1 as b from tt; select * from v")
	if err != nil {
		t.Fatal(err)
	}
	if out != "b\n42\n" {
		t.Errorf("output = %q, want b=42", out)
	}
}

func TestRunContextCancelInterruptsQuery(t *testing.T) {
	conn := newTestConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := Run(ctx, Options{Conn: conn}, longQuery)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the query interrupted with context.DeadlineExceeded", err)
	}
	// The connection is still usable afterwards.
	out, _, err := run(t, Options{Conn: conn, Format: "csv"}, "select 42 as a")
	if err != nil || out != "a\n42\n" {
		t.Errorf("after the interrupt: %q, %v", out, err)
	}
}

func TestTableTruncatesRows(t *testing.T) {
	conn := newTestConn(t)
	out, _, err := run(t, Options{Conn: conn, MaxRows: 40}, "select range as n from range(1000)")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if got, want := lines[len(lines)-1], "1000 rows (40 shown)"; got != want {
		t.Errorf("footer = %q, want %q", got, want)
	}
	if !strings.Contains(out, "│ … 960 more rows … │\n") {
		t.Errorf("output has no \"… 960 more rows …\" marker:\n%s", out)
	}
	var shown []int
	for _, l := range lines {
		f := strings.Trim(l, "│ ")
		if n, err := strconv.Atoi(f); err == nil {
			shown = append(shown, n)
		}
	}
	if len(shown) != 40 || shown[0] != 0 || shown[19] != 19 || shown[20] != 980 || shown[39] != 999 {
		t.Errorf("rows shown = %v, want 0…19 and 980…999", shown)
	}
	// Run shows everything by default.
	out, _, err = run(t, Options{Conn: conn}, "select range as n from range(1000)")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "\n1000 rows\n") || strings.Contains(out, "more rows") {
		t.Errorf("unlimited output does not end with the plain footer: %q", out[len(out)-60:])
	}
}

func TestTableFitsWidth(t *testing.T) {
	conn := newTestConn(t)
	out, _, err := run(t, Options{Conn: conn, Width: func() int { return 60 }},
		"select repeat('x', 100) as long_text, 'short' as s, 12345 as n, repeat('漢', 40) as wide")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if w := displayWidth(l); w > 60 {
			t.Errorf("line wider than 60 (%d): %q", w, l)
		}
	}
	for _, want := range []string{"xxx…", "│ short   │", "12345", "漢…", "1 row"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}

	// Too many columns even at the minimum width: middle columns give way to a "…" column.
	cols := make([]string, 20)
	for i := range cols {
		cols[i] = "'value_" + strconv.Itoa(i) + "' as col_" + strconv.Itoa(i)
	}
	out, _, err = run(t, Options{Conn: conn, Width: func() int { return 60 }}, "select "+strings.Join(cols, ", "))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if w := displayWidth(l); w > 60 {
			t.Errorf("line wider than 60 (%d): %q", w, l)
		}
	}
	for _, want := range []string{"col_0", "col_19", "│ … │", "20 columns ("} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "col_10 ") {
		t.Errorf("a middle column is still shown:\n%s", out)
	}
}

func TestRunJSONColumns(t *testing.T) {
	conn := newTestConn(t)
	// Top-level JSON columns come back as their text, in the query's row order.
	out, _, err := run(t, Options{Conn: conn, Format: "json"},
		`select range as n, ('{"z": ' || range || ', "a": 12345678901234567890123}')::JSON as doc from range(3) order by n desc`)
	if err != nil {
		t.Fatal(err)
	}
	want := "[\n" + `{"n":2,"doc":{"z":2,"a":12345678901234567890123}},` + "\n" + `{"n":1,"doc":{"z":1,"a":12345678901234567890123}},` +
		"\n" + `{"n":0,"doc":{"z":0,"a":12345678901234567890123}}` + "\n]\n"
	if out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
	// The lake's shape: JSON data read through a view.
	out, _, err = run(t, Options{Conn: conn, Format: "csv"}, "select data from main.events_raw order by event_id")
	if err != nil {
		t.Fatal(err)
	}
	if want := "data\n\"{\"\"card_id\"\": \"\"c1\"\", \"\"reason\"\": \"\"lost\"\"}\"\n\"{\"\"card_id\"\": \"\"c2\"\", \"\"reason\"\": \"\"stolen\"\"}\"\n"; out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
	// Duplicate column names cannot be selected from a subquery: the query runs as is (documents decoded).
	out, _, err = run(t, Options{Conn: conn, Format: "json"}, `select '{"b": 1, "a": 2}'::JSON as j, 1 as j`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[\n{\"j\":{\"a\":2,\"b\":1},\"j_2\":1}\n]\n"; out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
}

func BenchmarkRunFormats(b *testing.B) {
	conn := newTestConn(b)
	q := `select range as id, 'name ' || range as name, range * 0.5 as x, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(range) as ts,
		('{"k": ' || range || '}')::JSON as doc from range(100000)`
	for _, format := range []string{"table", "csv", "json", "line"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				var out bytes.Buffer
				if err := Run(context.Background(), Options{Conn: conn, Out: &out, Format: format, MaxRows: 40}, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
