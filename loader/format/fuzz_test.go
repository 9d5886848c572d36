package format

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
)

// splitSeeds are representative inputs for the JSON fuzz targets.
var splitSeeds = []string{
	"",
	" \n",
	seed002,
	"{\"a\":1}\r\n\r\n{\"b\":\"}\\\"{\"}\n{\"c\":3}",
	"\xef\xbb\xbf{\"a\":1}{\"b\":2} {\"c\":[{}]}",
	"[\n  {\"a\": 1},\n  {\"b\": \"]\"},\n  7, \"s\", null\n]\n",
	"[{\"a\":1} junk, {\"b\":2}",
	"{\n\"a\": 1,\n{\n\"b\": \"x\ny\"\n}\nxyz\n{\"c\": 2}",
	"{\n\"d\": {\n\"items\": [\n{\n\"x\": 1\n}\n]\n}\n}\n",
	"id,name\n1,\"a\nb\"\n",
	"\x00\x01binary\n{",
	"[1,,2,]\n[\"\\\n",
}

func FuzzSplit(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(7))
	}
	for _, b := range hostileSeeds(f) {
		f.Add(b, uint16(0))
	}
	f.Fuzz(func(t *testing.T, input []byte, maxRec uint16) {
		opts := Options{MaxRawBytes: 16}
		if maxRec != 0 {
			opts.MaxRecordBytes = int(maxRec)
		}
		rd, err := NewReader(bytes.NewReader(input), opts)
		if err != nil {
			t.Fatalf("NewReader on a bytes.Reader: %v", err)
		}
		// Reading in place (a whole inflated object) sees the same shape
		// and records as streaming.
		inPlace := NewReaderBytes(input, opts)
		if inPlace.Shape() != rd.Shape() {
			t.Fatalf("shape in place %v, streamed %v", inPlace.Shape(), rd.Shape())
		}
		if rd.Shape() == CSV {
			return
		}
		recs := readAll(t, rd)
		if got := readAll(t, inPlace); fmt.Sprint(got) != fmt.Sprint(recs) {
			t.Fatalf("records in place differ from streamed:\n%v\n%v", got, recs)
		}
		checkInvariants(t, input, recs, opts.MaxRawBytes)
		limit := opts.withDefaults().MaxRecordBytes
		for i, r := range recs {
			if r.Err == nil && len(r.Data) > limit {
				t.Fatalf("record %d: good record of %d bytes over the %d-byte limit", i, len(r.Data), limit)
			}
			if r.Err == nil && len(r.Data) > 0 && (lastNonSpace(r.Data[:1]) < 0 || lastNonSpace(r.Data) != len(r.Data)-1) {
				t.Fatalf("record %d: good record %q has surrounding whitespace", i, r.Data)
			}
		}
		// Read boundaries must not change the result.
		rd2, err := NewReader(iotest.OneByteReader(bytes.NewReader(input)), opts)
		if err != nil {
			t.Fatal(err)
		}
		recs2 := readAll(t, rd2)
		if len(recs2) != len(recs) {
			t.Fatalf("%d records through a one-byte reader, %d at once", len(recs2), len(recs))
		}
		for i := range recs {
			a, b := recs[i], recs2[i]
			if !bytes.Equal(a.Data, b.Data) || a.Line != b.Line || a.Offset != b.Offset || a.Size != b.Size || (a.Err == nil) != (b.Err == nil) {
				t.Fatalf("record %d differs with one-byte reads: %+v vs %+v", i, a, b)
			}
		}
	})
}

func FuzzSniff(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0x03, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00})
	for _, b := range hostileSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		// Arbitrary bytes, possibly compressed garbage: no panic, and errors are clean.
		if rd, _, closer, err := Sniff(bytes.NewReader(input), Options{MaxRawBytes: 16}); err == nil {
			for {
				if _, err := rd.Next(); err != nil {
					break
				}
			}
			closer.Close()
		}
		// The same bytes gzipped: identical shape and records.
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(input)
		w.Close()
		plain, err := NewReader(bytes.NewReader(input), Options{})
		if err != nil {
			t.Fatal(err)
		}
		rd, c, closer, err := Sniff(&buf, Options{})
		if err != nil {
			t.Fatalf("Sniff of valid gzip: %v", err)
		}
		defer closer.Close()
		if c != Gzip || rd.Shape() != plain.Shape() {
			t.Fatalf("gzip: %v %v, plain shape %v", c, rd.Shape(), plain.Shape())
		}
		if plain.Shape() == CSV {
			return
		}
		a, b := readAll(t, plain), readAll(t, rd)
		if len(a) != len(b) {
			t.Fatalf("%d records plain, %d gzipped", len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i].Data, b[i].Data) || a[i].Offset != b[i].Offset || a[i].Line != b[i].Line {
				t.Fatalf("record %d differs: %+v vs %+v", i, a[i], b[i])
			}
		}
	})
}

// csvSeeds are the seeds of the CSV reader's fuzz targets (with the hostile
// test inputs): quotes, CRLF, BOMs, delimiters, bare and unterminated quotes.
var csvSeeds = []string{
	jwoCSV,
	"a;b\n1;2\n",
	"\xef\xbb\xbfa\tb\r\n\"x\r\ny\"\t2\r\n",
	"a,b\n\"unterminated,1\n2,3\n",
	"a,b\n1,b\"ad\n\"q\"x,2\n\"ok\"\r\n",
	"a|b\r\n\r\n\r1|2\r",
	"a,b\n\"\"\"\",\"\n\"\n",
	"order_id,store,total\n1,\"Main St,10.50\n2,North,3.00\n3,\"South\",4.00\n",
	"a,b\n1,\"x\ny\"z\n2,3\n",
	"0\n\"\n",
	"a,b\n1,b\"ad,\"x\ny\"\n2,3\n",
	"a\"b,c\n1,2\n",
	"a,b\n1,\"x\r\n\r\ny\"\r\n",
	"a,b\n\"x\",2\n\"y\",\"z\"\n3,\"\"\n,\n\n",
	"a,b,c\n1,,\n,,\n\"q\",,x\n",
}

// FuzzCSV checks the CSV reader against encoding/csv reading the whole input: the same rows, fields, start lines
// and parse errors. Two departures are by design: a CRLF inside quotes is kept (encoding/csv gives LF), so fields
// are compared with CRLF read as LF; and a '"' inside an unquoted field is text (encoding/csv's ErrBareQuote), so
// such a row must be read (marked BareQuote) or fail on a later quote error, and the reference restarts after it.
func FuzzCSV(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s))
	}
	for _, b := range hostileSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		cr, err := NewCSVReader(bytes.NewReader(input), Options{MaxRawBytes: 1 << 20})
		ref := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(input, utf8BOM)))
		ref.FieldsPerRecord = -1
		if err != nil {
			// No header: the reference finds no first record either, or fails on it.
			if rec, rerr := ref.Read(); rerr == nil {
				t.Fatalf("NewCSVReader: %v, but encoding/csv reads header %q", err, rec)
			}
			return
		}
		ref.Comma = cr.Delimiter()
		// The reference restarts at a stream offset (after a row it cannot read the same way); its line numbers
		// are then shifted by lineBase.
		var lineBase int64
		restart := func(at int64) {
			ref = csv.NewReader(bytes.NewReader(input[at:]))
			ref.Comma, ref.FieldsPerRecord = cr.Delimiter(), -1
			lineBase = int64(bytes.Count(input[:at], []byte{'\n'}))
		}
		header, rerr := ref.Read()
		if errors.Is(rerr, csv.ErrBareQuote) {
			header = nil
			for _, h := range cr.Header() {
				header = append(header, h)
			}
			restart(cr.pos)
		} else if rerr != nil || !slices.Equal(header, crlfAsLF(cr.Header())) {
			t.Fatalf("header %q, encoding/csv: %q %v", cr.Header(), header, rerr)
		}
		for n := 1; ; n++ {
			want, werr := ref.Read()
			got, gerr := cr.Next()
			if gerr != nil && gerr != io.EOF {
				t.Fatalf("row %d: stream error %v", n, gerr)
			}
			if werr == io.EOF || gerr == io.EOF {
				if werr != gerr {
					t.Fatalf("row %d: end mismatch: encoding/csv %v, CSVReader %v (%+v)", n, werr, gerr, got)
				}
				return
			}
			if !bytes.HasPrefix(input[got.Offset:], got.Raw) {
				t.Fatalf("row %d: raw %q is not the input at %d", n, got.Raw, got.Offset)
			}
			end := got.Offset + got.Size
			if got.Size < int64(len(got.Raw)) || got.Err == nil && got.Size != int64(len(got.Raw)) ||
				end > int64(len(input)) || end < int64(len(input)) && input[end] != '\n' && input[end] != '\r' {
				t.Fatalf("row %d: size %d does not end the row at a line end (raw %q)", n, got.Size, got.Raw)
			}
			if line := int64(bytes.Count(input[:got.Offset], []byte{'\n'}) + 1); got.Line != line {
				t.Fatalf("row %d: line %d, want %d", n, got.Line, line)
			}
			if errors.Is(werr, csv.ErrBareQuote) {
				if !errors.Is(got.Err, csv.ErrQuote) && (!got.BareQuote || got.Err != nil && !errors.Is(got.Err, csv.ErrFieldCount)) {
					t.Fatalf("row %d: encoding/csv %v, got %q (bare quote %v, err %v)", n, werr, got.Fields, got.BareQuote, got.Err)
				}
				if cr.resumeAt >= 0 {
					restart(cr.resumeAt)
					continue
				}
				if end < int64(len(input)) && input[end] == '\r' {
					end++
				}
				restart(min(end+1, int64(len(input))))
				continue
			}
			var pe *csv.ParseError
			if werr != nil {
				if !errors.As(werr, &pe) {
					t.Fatalf("row %d: encoding/csv error %v", n, werr)
				}
				if !errors.Is(got.Err, pe.Err) || got.Line != int64(pe.StartLine)+lineBase {
					t.Fatalf("row %d: got %v at line %d, encoding/csv %v", n, got.Err, got.Line, werr)
				}
				if cr.resumeAt >= 0 {
					if next := input[got.Offset+int64(len(got.Raw)):]; !bytes.HasPrefix(next, []byte("\n")) && !bytes.HasPrefix(next, []byte("\r\n")) {
						t.Fatalf("row %d: cut at line %d, but raw %q is not the whole line", n, got.Line, got.Raw)
					}
					restart(cr.resumeAt)
				}
				continue
			}
			if got.BareQuote {
				t.Fatalf("row %d: marked bare quote, but encoding/csv reads it: %q", n, want)
			}
			if !slices.Equal(crlfAsLF(got.Fields), want) {
				t.Fatalf("row %d: fields %q, encoding/csv %q (err %v)", n, got.Fields, want, got.Err)
			}
			if line, _ := ref.FieldPos(0); int64(line)+lineBase != got.Line {
				t.Fatalf("row %d: line %d, encoding/csv %d", n, got.Line, line)
			}
			if ragged := len(want) != len(header); ragged != errors.Is(got.Err, csv.ErrFieldCount) {
				t.Fatalf("row %d: %d fields vs header %d, err %v", n, len(want), len(header), got.Err)
			}
		}
	})
}

// crlfAsLF is what encoding/csv makes of fields: a CRLF inside quotes read as LF.
func crlfAsLF(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = strings.ReplaceAll(f, "\r\n", "\n")
	}
	return out
}

// FuzzCSVRoundTrip writes random records with encoding/csv's Writer (any delimiter candidate, LF or CRLF line
// ends) and reads them back: every field must come back exactly as written — quotes, CR, LF, CRLF, delimiters,
// leading zeros, empty fields — and no row may be marked BareQuote (the writer quotes every '"').
func FuzzCSVRoundTrip(f *testing.F) {
	for seed := range uint64(16) {
		f.Add(seed, seed%2 == 1)
	}
	f.Fuzz(func(t *testing.T, seed uint64, crlf bool) {
		rng := rand.New(rand.NewPCG(seed, 7))
		records := randomRecords(rng)
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Comma = rune(csvDelims[rng.IntN(len(csvDelims))])
		w.UseCRLF = crlf
		if err := w.WriteAll(records); err != nil {
			t.Fatal(err)
		}
		for _, oneByte := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(b.Bytes())
			if oneByte {
				src = iotest.OneByteReader(src)
			}
			cr, err := NewCSVReader(src, Options{})
			if err != nil {
				t.Fatalf("%q: %v", b.Bytes(), err)
			}
			if cr.Delimiter() != w.Comma || !slices.Equal(cr.Header(), records[0]) {
				t.Fatalf("delimiter %q, header %q; wrote %q, %q", cr.Delimiter(), cr.Header(), w.Comma, records[0])
			}
			rows := readCSV(t, cr)
			if len(rows) != len(records)-1 {
				t.Fatalf("%d rows, wrote %d: %q", len(rows), len(records)-1, b.Bytes())
			}
			for i, r := range rows {
				want := records[i+1]
				if crlf { // the writer drops CR and writes LF as CRLF
					want = slices.Clone(want)
					for k, f := range want {
						want[k] = strings.ReplaceAll(strings.ReplaceAll(f, "\r", ""), "\n", "\r\n")
					}
				}
				if r.Err != nil || r.BareQuote || !slices.Equal(r.Fields, want) {
					t.Fatalf("row %d: %q (err %v, bare quote %v), wrote %q", i, r.Fields, r.Err, r.BareQuote, want)
				}
			}
		}
	})
}

// csvPieces are what random CSV fields are made of.
var csvPieces = []string{"\"", "\r", "\n", "\r\n", ",", ";", "\t", "|", " ", "0", "08123", "007.5", "-012", "12", "-0.5",
	"x", "é", "日本", "\"\"", "a\"b", "\\.", "NULL"}

// randomRecords are a header (c1…cN, N ≥ 2) and up to 20 records of random fields, empty ones included.
func randomRecords(rng *rand.Rand) [][]string {
	n := 2 + rng.IntN(4)
	header := make([]string, n)
	for i := range header {
		header[i] = fmt.Sprintf("c%d", i+1)
	}
	records := [][]string{header}
	for range rng.IntN(21) {
		rec := make([]string, n)
		for i := range rec {
			var sb strings.Builder
			for range rng.IntN(5) {
				sb.WriteString(csvPieces[rng.IntN(len(csvPieces))])
			}
			rec[i] = sb.String()
		}
		records = append(records, rec)
	}
	return records
}
