package format

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/eventlake/eventlake/internal/cputime"
)

// csvRead is everything a CSVReader returns for an input: its header,
// delimiter, and every row (Raw copied) or its stream error.
type csvRead struct {
	Header []string
	Delim  rune
	Rows   []csvRowView
	Err    string
}

// csvRowView is a CSVRow with its error as text.
type csvRowView struct {
	Fields       []string
	Line, Offset int64
	Raw          string
	Size         int64
	Err          string
	BareQuote    bool
}

func readAllCSV(t testing.TB, r io.Reader, opts Options) csvRead {
	t.Helper()
	return readAllCSVWith(t, r, opts, false)
}

// readAllCSVWith is readAllCSV, with NextShared when shared (each row's
// fields copied before the next row is read).
func readAllCSVWith(t testing.TB, r io.Reader, opts Options, shared bool) csvRead {
	t.Helper()
	var out csvRead
	cr, err := NewCSVReader(r, opts)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	out.Header, out.Delim = cr.Header(), cr.Delimiter()
	for {
		next := cr.Next
		if shared {
			next = cr.NextShared
		}
		row, err := next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out.Err = err.Error()
			return out
		}
		checkRowText(t, row)
		if shared && row.Fields != nil {
			fields := make([]string, len(row.Fields))
			for i, f := range row.Fields {
				fields[i] = strings.Clone(f)
			}
			row.Fields = fields
		}
		// Text is left out: its shape differs by design (delimiters kept in a row without quotes).
		v := csvRowView{Fields: row.Fields, Line: row.Line, Offset: row.Offset, Raw: string(row.Raw), Size: row.Size, BareQuote: row.BareQuote}
		if row.Err != nil {
			v.Err = row.Err.Error()
		}
		out.Rows = append(out.Rows, v)
	}
}

// checkRowText checks that every field is a substring of Text, in order.
func checkRowText(t testing.TB, row CSVRow) {
	t.Helper()
	if row.Fields == nil {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(row.Text)))
	at := uintptr(0)
	for i, f := range row.Fields {
		if len(f) == 0 {
			continue
		}
		off := uintptr(unsafe.Pointer(unsafe.StringData(f))) - base
		if off < at || off+uintptr(len(f)) > uintptr(len(row.Text)) || row.Text[off:off+uintptr(len(f))] != f {
			t.Fatalf("line %d: field %d %q is not in Text %q after offset %d", row.Line, i, f, row.Text, at)
		}
		at = off + uintptr(len(f))
	}
}

// checkFastPaths reads input with and without the splitter's and parser's
// paths for text without quotes, whole and one byte at a time, and requires
// the same header, rows, lines, offsets, raw text, sizes and errors; and
// the same with NextShared.
func checkFastPaths(t testing.TB, input []byte, opts Options) {
	t.Helper()
	defer func() { csvFastPaths = true }()
	csvFastPaths = false
	want := readAllCSV(t, bytes.NewReader(input), opts)
	csvFastPaths = true
	for _, r := range []io.Reader{bytes.NewReader(input), iotest.OneByteReader(bytes.NewReader(input)), iotest.HalfReader(bytes.NewReader(input))} {
		got := readAllCSV(t, r, opts)
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Fatalf("input %q:\nfast %#v\nslow %#v", input, got, want)
		}
	}
	for _, r := range []io.Reader{bytes.NewReader(input), iotest.HalfReader(bytes.NewReader(input))} {
		got := readAllCSVWith(t, r, opts, true)
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Fatalf("input %q:\nshared %#v\nslow %#v", input, got, want)
		}
	}
}

// FuzzCSVFastPaths compares the reader's paths for text without quotes
// with its byte-by-byte splitter and parser.
func FuzzCSVFastPaths(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(9))
	}
	for _, b := range hostileSeeds(f) {
		f.Add(b, uint16(0))
	}
	f.Fuzz(func(t *testing.T, input []byte, maxRecord uint16) {
		checkFastPaths(t, input, Options{MaxRecordBytes: int(maxRecord), MaxRawBytes: 64})
	})
}

// TestCSVFastPathsJWO compares the paths on a JWO-like report with quoted
// fields, empty fields, CRLF and embedded newlines, in a small buffer.
func TestCSVFastPathsJWO(t *testing.T) {
	var b strings.Builder
	b.WriteString("order_id,store_id,note,amount,updated_at\r\n")
	for i := range 3000 {
		note := []string{"", "plain", "\"quoted, with comma\"", "\"multi\nline\"", "\"say \"\"hi\"\"\"", "bare\"quote"}[i%6]
		fmt.Fprintf(&b, "%d,S%03d,%s,%d.%02d,2024-06-05T10:%02d:00Z", 1000+i, i%50, note, i%300, i%100, i%60)
		if i%7 == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
		if i%500 == 0 {
			b.WriteString("\n")
		}
	}
	checkFastPaths(t, []byte(b.String()), Options{})
	checkFastPaths(t, []byte(b.String()), Options{MaxRecordBytes: 40, MaxRawBytes: 16})
}

// delimsBefore is how the parser found the delimiters of a row without
// quotes before appendDelims: one IndexByte per field.
func delimsBefore(b []byte, d byte) []int {
	var ends []int
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], d)
		if j < 0 {
			return ends
		}
		ends = append(ends, i+j)
		i += j + 1
	}
}

// FuzzAppendDelims compares appendDelims with the former IndexByte loop,
// for every delimiter and for bytes that differ from one only in their high
// bit or by one (the word trick's edge cases).
func FuzzAppendDelims(f *testing.F) {
	f.Add([]byte("a,b,,c"), byte(','))
	f.Add([]byte(",,,,,,,,,,,,,,,,,"), byte(','))
	f.Add([]byte("\xac,\x2d\x2b;\xbb|\x7c\x09\t\x89"), byte('|'))
	f.Add([]byte("101680748,STORE-8,COMPLETED,39.97,USD,11,false,2024-01-01"), byte(','))
	f.Fuzz(func(t *testing.T, b []byte, d byte) {
		for _, d := range []byte{d, ',', ';', '\t', '|', 0, 0x80, 0xff} {
			got, want := appendDelims(nil, b, d), delimsBefore(b, d)
			if !slices.Equal(got, want) {
				t.Fatalf("%q delimited by %q: %v, want %v", b, d, got, want)
			}
		}
	})
}

// looksBinaryBefore is looksBinary before its table: the oracle.
func looksBinaryBefore(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	ctl := 0
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f {
			ctl++
		}
	}
	return ctl*10 > len(b)
}

func TestLooksBinaryEveryByte(t *testing.T) {
	for c := range 256 {
		for n := 1; n <= 12; n++ {
			// n copies of c among text: around the 10% threshold.
			b := append(bytes.Repeat([]byte{byte(c)}, n), bytes.Repeat([]byte("a,b\n"), 25)...)
			if got, want := looksBinary(b), looksBinaryBefore(b); got != want {
				t.Fatalf("%d bytes %#x in %d: %v, want %v", n, c, len(b), got, want)
			}
		}
	}
}

func FuzzLooksBinary(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("\x01\x02\x7f\t\r\n abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := looksBinary(b), looksBinaryBefore(b); got != want {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
	})
}

// BenchmarkLooksBinary sniffs 256 KiB of CSV text with the former loop and
// the table, in turns, and reports both CPU times.
func BenchmarkLooksBinary(b *testing.B) {
	data := bytes.Repeat([]byte("101680748,STORE-8,COMPLETED,39.97,USD,11,false,2024-01-01,2024-01-01T23:01:15Z\r\n"), 256<<10/82)
	cputime.InTurns(b, 1, "op", func() { looksBinaryBefore(data) }, func() { looksBinary(data) })
}
