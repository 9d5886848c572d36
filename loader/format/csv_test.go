package format

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func readCSV(t testing.TB, cr *CSVReader) []CSVRow {
	t.Helper()
	var rows []CSVRow
	for {
		row, err := cr.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		row.Raw = bytes.Clone(row.Raw)
		rows = append(rows, row)
	}
}

// JWO-like order report: quoted fields with embedded delimiters, quotes and newlines.
const jwoCSV = "order_id,store_id,item,quantity,note\r\n" +
	"A-1,S1,\"Coffee, large\",2,\"say \"\"hi\"\"\"\r\n" +
	"A-2,S1,Tea,1,\"two\r\nlines\"\r\n" +
	"\r\n" +
	"A-3,S2,Water,3,\r\n"

func TestCSV(t *testing.T) {
	type wantRow struct {
		fields []string
		line   int64
		at     string // text at the row's offset
	}
	tests := []struct {
		name   string
		input  string
		delim  rune
		header []string
		rows   []wantRow
	}{
		{"jwo crlf", jwoCSV, ',', []string{"order_id", "store_id", "item", "quantity", "note"}, []wantRow{
			{[]string{"A-1", "S1", "Coffee, large", "2", `say "hi"`}, 2, "A-1"},
			{[]string{"A-2", "S1", "Tea", "1", "two\r\nlines"}, 3, "A-2"}, // the CRLF inside quotes is kept
			{[]string{"A-3", "S2", "Water", "3", ""}, 6, "A-3"},
		}},
		{"bom semicolon", "\xef\xbb\xbfa;b;c\n1;\"x;y\";3\n", ';', []string{"a", "b", "c"}, []wantRow{{[]string{"1", "x;y", "3"}, 2, "1;"}}},
		{"tab", "a\tb\n1\t2\n", '\t', []string{"a", "b"}, []wantRow{{[]string{"1", "2"}, 2, "1\t"}}},
		{"pipe, no final newline", "a|b\n1|2", '|', []string{"a", "b"}, []wantRow{{[]string{"1", "2"}, 2, "1|"}}},
		// The header has one comma inside quotes and two semicolons; the second row agrees on ';'.
		{"delimiter outside quotes", "\"x,y\";b;c\n1;2;3\n", ';', []string{"x,y", "b", "c"}, []wantRow{{[]string{"1", "2", "3"}, 2, "1;"}}},
		// ',' and ';' appear equally often in the header; only ';' agrees with the second row.
		{"delimiter consistent with second row", "a,b;c,d;e\n1;2;3\n", ';', []string{"a,b", "c,d", "e"}, []wantRow{{[]string{"1", "2", "3"}, 2, "1;"}}},
		{"single column", "name\nx\n", ',', []string{"name"}, []wantRow{{[]string{"x"}, 2, "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tt.input)
				if oneByte {
					src = iotest.OneByteReader(src)
				}
				cr, err := NewCSVReader(src, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if cr.Delimiter() != tt.delim {
					t.Errorf("delimiter %q, want %q", cr.Delimiter(), tt.delim)
				}
				if strings.Join(cr.Header(), "\x00") != strings.Join(tt.header, "\x00") {
					t.Errorf("header %q, want %q", cr.Header(), tt.header)
				}
				rows := readCSV(t, cr)
				if len(rows) != len(tt.rows) {
					t.Fatalf("got %d rows, want %d: %+v", len(rows), len(tt.rows), rows)
				}
				for i, w := range tt.rows {
					g := rows[i]
					if g.Err != nil {
						t.Errorf("row %d: %v", i, g.Err)
					}
					if strings.Join(g.Fields, "\x00") != strings.Join(w.fields, "\x00") {
						t.Errorf("row %d: fields %q, want %q", i, g.Fields, w.fields)
					}
					if g.Line != w.line {
						t.Errorf("row %d: line %d, want %d", i, g.Line, w.line)
					}
					if !strings.HasPrefix(tt.input[g.Offset:], w.at) || !strings.HasPrefix(tt.input[g.Offset:], string(g.Raw)) {
						t.Errorf("row %d: offset %d points at %q, raw %q", i, g.Offset, tt.input[g.Offset:], g.Raw)
					}
				}
			}
		})
	}
}

func TestCSVBadRows(t *testing.T) {
	input := "id,name,qty\n" +
		"1,a,2\n" +
		"2,b\n" + // ragged, line 3
		"3,\"multi\nline\",4,extra\n" + // ragged, starts line 4
		"4,b\"ad,5\n" + // bare quote, line 6: text, the row is marked BareQuote
		"5,\"x\"y,6\n" + // quote error, line 7
		"6,ok,7\n" +
		"7,\"never closed,8\n9,z,9\n" // unbalanced quote to EOF, line 9: only line 9 is rejected
	cr, err := NewCSVReader(strings.NewReader(input), Options{MaxRawBytes: 8})
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, cr)
	type wantRow struct {
		line  int64
		errIs error
		raw   string
	}
	wants := []wantRow{
		{2, nil, "1,a,2"},
		{3, csv.ErrFieldCount, "2,b"},
		{4, csv.ErrFieldCount, "3,\"multi"},
		{6, nil, "4,b\"ad,5"},
		{7, csv.ErrQuote, "5,\"x\"y,6"},
		{8, nil, "6,ok,7"},
		{9, csv.ErrQuote, "7,\"never"},
		{10, nil, "9,z,9"},
	}
	if len(rows) != len(wants) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(wants), rows)
	}
	for i, w := range wants {
		g := rows[i]
		if g.Line != w.line || string(g.Raw) != w.raw {
			t.Errorf("row %d: line %d raw %q, want line %d raw %q", i, g.Line, g.Raw, w.line, w.raw)
		}
		if w.errIs == nil && g.Err != nil || w.errIs != nil && !errors.Is(g.Err, w.errIs) {
			t.Errorf("row %d: err %v, want %v", i, g.Err, w.errIs)
		}
		if want := int64(strings.Index(input, w.raw)); g.Offset != want {
			t.Errorf("row %d: offset %d, want %d", i, g.Offset, want)
		}
	}
	if !strings.Contains(rows[1].Err.Error(), "line 3 has 2 fields, the header has 3") {
		t.Errorf("ragged error text: %v", rows[1].Err)
	}
	if f := rows[3].Fields; !rows[3].BareQuote || len(f) != 3 || f[1] != `b"ad` {
		t.Errorf("bare quote row: %q (bare quote %v)", f, rows[3].BareQuote)
	}
	for i, r := range rows {
		if r.BareQuote != (i == 3) {
			t.Errorf("row %d: bare quote %v", i, r.BareQuote)
		}
	}
	var pe *csv.ParseError
	if !errors.As(rows[4].Err, &pe) || pe.StartLine != 7 || pe.Line != 7 || pe.Column != 6 {
		t.Errorf("quote error: %v", rows[4].Err)
	}
}

// Values come back exactly as sent, as DuckDB's, Python's and Polars' CSV readers give them: the bytes inside
// quotes (CRLF included), a '"' inside an unquoted field as text, leading zeros.
func TestCSVExactValues(t *testing.T) {
	input := "id,zip,where,note\r\n" +
		"1,08123,\"37°36'37.8\"\"N\",\"Once upon \r\na time\"\r\n" +
		"2,00501,37°36'37.8\"N 121°2'17.9\"W,\"cr\ronly and lf\nonly\"\r\n" +
		"3,\"\",\"\"\"\",a\"b\"\"c\r\n" +
		"4,x\r,\"trailing cr\r\",\"\r\n\"\r\n" +
		"5,,,\r\n"
	want := [][]string{
		{"1", "08123", `37°36'37.8"N`, "Once upon \r\na time"},
		{"2", "00501", `37°36'37.8"N 121°2'17.9"W`, "cr\ronly and lf\nonly"},
		{"3", "", `"`, `a"b""c`},
		{"4", "x\r", "trailing cr\r", "\r\n"},
		{"5", "", "", ""},
	}
	bare := []bool{false, true, true, false, false}
	for _, oneByte := range []bool{false, true} {
		var src io.Reader = strings.NewReader(input)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		cr, err := NewCSVReader(src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, cr)
		if len(rows) != len(want) {
			t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
		}
		for i, r := range rows {
			if r.Err != nil || strings.Join(r.Fields, "\x00") != strings.Join(want[i], "\x00") {
				t.Errorf("row %d: %q (err %v), want %q", i, r.Fields, r.Err, want[i])
			}
			if r.BareQuote != bare[i] {
				t.Errorf("row %d: bare quote %v, want %v", i, r.BareQuote, bare[i])
			}
		}
	}
}

func TestCSVTooLarge(t *testing.T) {
	long := strings.Repeat("x", 300_000)
	input := "a,b\n1,2\n3,\"" + long + "\n" + long + "\"\n4,5\n"
	for _, oneByte := range []bool{false, true} {
		var src io.Reader = strings.NewReader(input)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		cr, err := NewCSVReader(src, Options{MaxRecordBytes: 1000})
		if err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, cr)
		if len(rows) != 3 || rows[0].Err != nil || !errors.Is(rows[1].Err, ErrTooLarge) || rows[2].Err != nil {
			t.Fatalf("rows: %+v", rows)
		}
		if rows[1].Line != 3 || rows[2].Line != 5 || len(rows[1].Raw) != DefaultMaxRawBytes || strings.Join(rows[2].Fields, ",") != "4,5" {
			t.Errorf("rows: line %d / %d, raw %d, fields %q", rows[1].Line, rows[2].Line, len(rows[1].Raw), rows[2].Fields)
		}
	}
}

func TestCSVNoHeader(t *testing.T) {
	for _, input := range []string{"", "\n\r\n", "\xef\xbb\xbf"} {
		if _, err := NewCSVReader(strings.NewReader(input), Options{}); err == nil {
			t.Errorf("%q: want an error", input)
		}
	}
	if _, err := NewCSVReader(strings.NewReader("a,\"b\n"), Options{}); !errors.Is(err, csv.ErrQuote) {
		t.Errorf("malformed header: %v", err)
	}
}

// A row's fields stay as they were read after later rows are read: they are
// cut from chunks that are never rewritten.
func TestCSVRowsStayValid(t *testing.T) {
	var in strings.Builder
	in.WriteString("id,text,n\n")
	for i := range 5000 {
		fmt.Fprintf(&in, "%d,\"row %d, \"\"quoted\"\" %s\",%d\n", i, i, strings.Repeat("x", i%97), i*3)
	}
	in.WriteString("5000,\"" + strings.Repeat("y", 70<<10) + "\",1\n") // longer than a chunk
	cr, err := NewCSVReader(strings.NewReader(in.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for {
		row, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil || row.Err != nil {
			t.Fatal(err, row.Err)
		}
		got = append(got, row.Fields)
	}
	ref := csv.NewReader(strings.NewReader(in.String()))
	want, err := ref.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want[1:], slices.Equal) {
		t.Fatalf("rows read earlier changed: %d rows, want %d", len(got), len(want)-1)
	}
}
