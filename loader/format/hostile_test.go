package format

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// hostileSeeds returns the objects of the hostile-input corpus
// (testdata/hostile/<class>/…, see loader/bad_test.go) as fuzz seeds.
func hostileSeeds(f *testing.F) [][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "hostile", "*", "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no hostile corpus: %v", err)
	}
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			out = append(out, b)
		}
	}
	return out
}

// Regression (testdata/hostile/csv-unbalanced-quotes): one unbalanced quote
// must not turn the rows after it into part of a rejected row.
func TestCSVUnbalancedQuoteResumes(t *testing.T) {
	input := "order_id,store,total\r\n" +
		"1,\"Main St,10.50\r\n" + // line 2: the quote is never closed properly
		"2,North,3.00\r\n" +
		"3,\"South\",4.00\r\n" +
		"4,\"two\r\nlines\",5.00\r\n" + // a well-formed multi-line field is still one row
		"5,\"x\r\ny\"z,6.00\r\n" + // a quote error on the second line of a row: line 7 is rejected, line 8 too
		"6,East,7.00\r\n"
	type wantRow struct {
		line   int64
		errIs  error
		raw    string
		fields int
	}
	wants := []wantRow{
		{2, csv.ErrQuote, `1,"Main St,10.50`, 0},
		{3, nil, "2,North,3.00", 3},
		{4, nil, `3,"South",4.00`, 3},
		{5, nil, "4,\"two\r\nlines\",5.00", 3},
		{7, csv.ErrQuote, `5,"x`, 0},
		{8, csv.ErrFieldCount, `y"z,6.00`, 2}, // its '"' is text, but it has 2 fields
		{9, nil, "6,East,7.00", 3},
	}
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
		if len(rows) != len(wants) {
			t.Fatalf("got %d rows, want %d: %+v", len(rows), len(wants), rows)
		}
		for i, w := range wants {
			g := rows[i]
			if g.Line != w.line || string(g.Raw) != w.raw || len(g.Fields) != w.fields {
				t.Errorf("row %d: line %d raw %q %d fields, want line %d raw %q %d fields", i, g.Line, g.Raw, len(g.Fields), w.line, w.raw, w.fields)
			}
			if w.errIs == nil && g.Err != nil || w.errIs != nil && !errors.Is(g.Err, w.errIs) {
				t.Errorf("row %d: err %v, want %v", i, g.Err, w.errIs)
			}
			if want := int64(strings.Index(input, w.raw)); g.Offset != want {
				t.Errorf("row %d: offset %d, want %d", i, g.Offset, want)
			}
		}
		if msg := rows[0].Err.Error(); !strings.Contains(msg, "line 2") || !strings.Contains(msg, "reading goes on at line 3") {
			t.Errorf("error text %q does not name the line and where reading goes on", msg)
		}
	}
}

// A missing or malformed header wraps ErrBadHeader (the loader quarantines
// such objects instead of retrying them; testdata/hostile/csv-bad-header).
func TestCSVBadHeaderSentinel(t *testing.T) {
	for _, input := range []string{"", "\n\n", "order_id,\"store,total\n1,Main,10.50\n", "a,\"b\"c\n1,2\n"} {
		_, err := NewCSVReader(strings.NewReader(input), Options{})
		if !errors.Is(err, ErrBadHeader) {
			t.Errorf("%q: error %v, want ErrBadHeader", input, err)
		}
	}
	rd, err := NewReader(strings.NewReader("order_id,\"store,total\n1,Main,10.50\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.CSV(); !errors.Is(err, ErrBadHeader) || !errors.Is(err, csv.ErrQuote) {
		t.Errorf("Reader.CSV: error %v, want ErrBadHeader wrapping csv.ErrQuote", err)
	}
	failing := iotest.ErrReader(errors.New("network down"))
	if _, err := NewCSVReader(failing, Options{}); errors.Is(err, ErrBadHeader) || err == nil {
		t.Errorf("read error: %v, want it as itself", err)
	}
}

// CSVRow.Size is the row's full length without its line ending, also when
// Raw is truncated (the loader stores it as the reject's raw_bytes).
func TestCSVRowSize(t *testing.T) {
	long := strings.Repeat("x", 3000)
	input := "a,b\r\n" +
		"1,2\r\n" + // line 2: 3 bytes
		"3,\"" + long + "\r\n" + long + "\"\r\n" + // line 3: too large (limit 1000), skipped
		"4,5,6\r\n" + // line 5: ragged, raw truncated to 4 bytes
		"7,\"open\r\n" + // line 6: quote error across lines, cut at its line
		"8,\"x\"y\r\n" // line 7: quote error
	want := []struct {
		line, size int64
		raw        string
	}{
		{2, 3, "1,2"},
		{3, int64(len("3,\"" + long + "\r\n" + long + "\"")), "3,\"x"},
		{5, 5, "4,5,"},
		{6, 7, "7,\"o"},
		{7, 6, "8,\"x"},
	}
	for _, oneByte := range []bool{false, true} {
		var src io.Reader = strings.NewReader(input)
		if oneByte {
			src = iotest.OneByteReader(src)
		}
		cr, err := NewCSVReader(src, Options{MaxRecordBytes: 1000, MaxRawBytes: 4})
		if err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, cr)
		if len(rows) != len(want) {
			t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
		}
		for i, w := range want {
			if g := rows[i]; g.Line != w.line || g.Size != w.size || string(g.Raw) != w.raw {
				t.Errorf("one-byte %v, row %d: line %d size %d raw %q, want line %d size %d raw %q", oneByte, i, g.Line, g.Size, g.Raw, w.line, w.size, w.raw)
			}
		}
	}
}
