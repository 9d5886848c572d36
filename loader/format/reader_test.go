package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll drains a Reader, failing the test on a stream error.
func readAll(t testing.TB, rd *Reader) []Record {
	t.Helper()
	var recs []Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rec.Data = bytes.Clone(rec.Data) // Data is only valid until the next call
		recs = append(recs, rec)
	}
}

func split(t testing.TB, input string, opts Options) (Shape, []Record) {
	t.Helper()
	rd, err := NewReader(strings.NewReader(input), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return rd.Shape(), readAll(t, rd)
}

// want is an expected record: its text (for a bad record, a prefix of its raw text that locates it) and reason.
type want struct {
	data string
	err  error
}

// checkRecords compares records with expectations whose Line and Offset are computed independently: each
// expected text is searched in the input after the previous record.
func checkRecords(t *testing.T, input string, got []Record, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		for i, r := range got {
			t.Logf("got[%d] = line %d off %d size %d %q err %v", i, r.Line, r.Offset, r.Size, r.Data, r.Err)
		}
		t.Fatalf("got %d records, want %d", len(got), len(wants))
	}
	cursor := 0
	for i, w := range wants {
		off := strings.Index(input[cursor:], w.data)
		if off < 0 {
			t.Fatalf("test bug: %q not found in input after %d", w.data, cursor)
		}
		off += cursor
		line := int64(strings.Count(input[:off], "\n") + 1)
		g := got[i]
		if g.Offset != int64(off) || g.Line != line {
			t.Errorf("record %d (%q): got line %d offset %d, want line %d offset %d", i, w.data, g.Line, g.Offset, line, off)
		}
		if w.err == nil {
			if g.Err != nil {
				t.Errorf("record %d: unexpected Err %v", i, g.Err)
			}
			if string(g.Data) != w.data || g.Size != int64(len(w.data)) {
				t.Errorf("record %d: got data %q size %d, want %q", i, g.Data, g.Size, w.data)
			}
		} else {
			if !errors.Is(g.Err, w.err) {
				t.Errorf("record %d: got Err %v, want %v", i, g.Err, w.err)
			}
			if !strings.HasPrefix(string(g.Data), w.data) && !strings.HasPrefix(w.data, string(g.Data)) {
				t.Errorf("record %d: got raw %q, want it to start with %q", i, g.Data, w.data)
			}
		}
		cursor = off + 1
	}
	checkInvariants(t, []byte(input), got, DefaultMaxRawBytes)
}

// checkInvariants verifies what must hold for any input: increasing, non-overlapping records; Data is the input at
// Offset (all of it for a good record); Line is 1 + the newlines before Offset.
func checkInvariants(t testing.TB, input []byte, recs []Record, maxRaw int) {
	t.Helper()
	var end int64 = -1
	for i, r := range recs {
		if r.Offset < end || (i > 0 && r.Offset <= recs[i-1].Offset) {
			t.Fatalf("record %d at offset %d overlaps or precedes the previous one (ends %d)", i, r.Offset, end)
		}
		if r.Size < int64(len(r.Data)) || r.Offset+r.Size > int64(len(input)) {
			t.Fatalf("record %d: size %d, data %d, offset %d, input %d", i, r.Size, len(r.Data), r.Offset, len(input))
		}
		if r.Err == nil && r.Size != int64(len(r.Data)) {
			t.Fatalf("record %d: good record with size %d but %d data bytes", i, r.Size, len(r.Data))
		}
		if r.Err != nil && len(r.Data) > maxRaw {
			t.Fatalf("record %d: bad record keeps %d raw bytes, limit %d", i, len(r.Data), maxRaw)
		}
		if !bytes.Equal(r.Data, input[r.Offset:r.Offset+int64(len(r.Data))]) {
			t.Fatalf("record %d: data %q is not the input at offset %d", i, r.Data, r.Offset)
		}
		if line := int64(bytes.Count(input[:r.Offset], []byte{'\n'}) + 1); r.Line != line {
			t.Fatalf("record %d at offset %d: line %d, want %d", i, r.Offset, r.Line, line)
		}
		end = r.Offset + r.Size
	}
}

func TestShapeSniff(t *testing.T) {
	tests := []struct {
		name, input string
		want        Shape
	}{
		{"empty", "", Unknown},
		{"whitespace", " \n\t\r\n ", Unknown},
		{"ndjson", "{\"a\":1}\n{\"a\":2}\n", NDJSON},
		{"ndjson single no newline", `{"a":1}`, NDJSON},
		{"ndjson crlf trailing spaces", "{\"a\":1}  \r\n{\"a\":2}", NDJSON},
		{"ndjson bom", "\xef\xbb\xbf{\"a\":1}\n", NDJSON},
		{"ndjson leading blank lines", "\n\n  {\"a\":\"}\"}\n", NDJSON},
		{"pretty", "{\n\"a\": 1\n}\n", Concatenated},
		{"same line", `{"a":1}{"a":2}`, Concatenated},
		{"same line with space", `{"a":1} {"a":2}`, Concatenated},
		{"array", "[{\"a\":1}]", Array},
		{"array after bom and blank", "\xef\xbb\xbf\n [\n{}]", Array},
		{"csv", "order_id,store,total\n1,a,2.5\n", CSV},
		{"csv semicolon bom", "\xef\xbb\xbfa;b\r\n1;2\r\n", CSV},
		{"csv tab", "a\tb\n", CSV},
		{"csv pipe", "a|b", CSV},
		{"text without delimiter", "hello world\n", Unknown},
		{"binary", "\x00\x01\x02,\x03\x04", Unknown},
		{"control chars in header", "a,\x01b\nc,d\n", Unknown},
		{"json scalar", `"just a string"`, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(strings.NewReader(tt.input), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := rd.Shape(); got != tt.want {
				t.Errorf("Shape() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShapeAndCompressionStrings(t *testing.T) {
	shapes := map[Shape]string{Unknown: "unknown", NDJSON: "ndjson", Concatenated: "concatenated", Array: "array", CSV: "csv"}
	for s, want := range shapes {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
	comps := map[Compression]string{None: "none", Gzip: "gzip", Zstd: "zstd"}
	for c, want := range comps {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestNDJSON(t *testing.T) {
	tests := []struct {
		name, input string
		wants       []want
	}{
		{
			name:  "crlf, blank lines, last line without newline",
			input: "{\"a\":1}\r\n\r\n\n  {\"a\":2}  \r\n\t\n{\"a\":3}",
			wants: []want{{data: `{"a":1}`}, {data: `{"a":2}`}, {data: `{"a":3}`}},
		},
		{
			name:  "bom counts three bytes",
			input: "\xef\xbb\xbf{\"a\":1}\n{\"a\":2}\n",
			wants: []want{{data: `{"a":1}`}, {data: `{"a":2}`}},
		},
		{
			name:  "lines are not validated",
			input: "{\"a\":1}\nnot json\n{\"b\":\n",
			wants: []want{{data: `{"a":1}`}, {data: "not json"}, {data: `{"b":`}},
		},
		{
			name:  "braces and escapes in strings",
			input: "{\"s\":\"}{][\\\"\\n\"}\n{\"t\":\"x\"}\n",
			wants: []want{{data: `{"s":"}{][\"\n"}`}, {data: `{"t":"x"}`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape, got := split(t, tt.input, Options{})
			if shape != NDJSON {
				t.Fatalf("shape %v, want ndjson", shape)
			}
			checkRecords(t, tt.input, got, tt.wants)
		})
	}
}

// seed002 is the example of seed document 002: pretty-printed objects, keys in column 0.
const seed002 = `{
"event_id": "252212bf-cde2-43f9-b28f-33ea2b452b32",
"domain": "onboarding",
"event_type": "succeeded",
"schema_version": 1,
"org_id": "TN-a1db4e4e-315f-4a67-9036-ecacd370b561",
"cid": "8a3f650b-c80c-451f-993d-7368dba4c715",
"timestamp": "2019-07-20T19:03:00.000Z",
"data": {}
}
{
"event_id": "562212bf-cde2-43f9-b28f-33ea2b452b13",
"domain": "onboarding",
"event_type": "succeeded",
"schema_version": 1,
"org_id": "TN-1234e4e-531f-jhft-5896-asades55655",
"cid": "9a3f650b-c80c-451f-993d-7368dba4c714",
"timestamp": "2019-07-20T19:03:00.000Z",
"data": {}
}
`

func TestConcatenated(t *testing.T) {
	obj1 := seed002[:strings.Index(seed002, "}\n{")+1]
	obj2 := strings.TrimSpace(seed002[len(obj1):])
	nested := "{\n\"data\": {\n\"items\": [\n{\n\"sku\": \"a\"\n},\n{\n\"sku\": \"b\"\n}\n],\n\"m\": [[1],{\"x\":[]}]\n}\n}"
	tests := []struct {
		name, input string
		wants       []want
	}{
		{"seed 002", seed002, []want{{data: obj1}, {data: obj2}}},
		{"seed 002 crlf with bom", "\xef\xbb\xbf" + strings.ReplaceAll(seed002, "\n", "\r\n"),
			[]want{{data: strings.ReplaceAll(obj1, "\n", "\r\n")}, {data: strings.ReplaceAll(obj2, "\n", "\r\n")}}},
		{"same line", `{"a":1}{"b":{"c":2}} {"d":3}`, []want{{data: `{"a":1}`}, {data: `{"b":{"c":2}}`}, {data: `{"d":3}`}}},
		{"strings with braces and escapes", "{\n\"s\": \"}}]]{{[\",\n\"q\": \"a\\\"}\\\\\",\n\"n\": \"x\\ny\"\n}\n{\"t\": \"\\\\\"}\n",
			[]want{{data: "{\n\"s\": \"}}]]{{[\",\n\"q\": \"a\\\"}\\\\\",\n\"n\": \"x\\ny\"\n}"}, {data: `{"t": "\\"}`}}},
		// Nested array elements at column 0 are valid JSON and must not be taken for new records.
		{"nested objects at column 0", nested + "\n" + nested, []want{{data: nested}, {data: nested}}},
		{"allman style value brace", "{\n\"a\":\n{\n\"b\": 1\n}\n}\n{\"c\":2}", []want{{data: "{\n\"a\":\n{\n\"b\": 1\n}\n}"}, {data: `{"c":2}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape, got := split(t, tt.input, Options{})
			if shape != Concatenated {
				t.Fatalf("shape %v, want concatenated", shape)
			}
			checkRecords(t, tt.input, got, tt.wants)
		})
	}
}

func TestArray(t *testing.T) {
	pretty := "[\n  {\n    \"event_id\": \"1\",\n    \"data\": {\"s\": \"]},[\"}\n  },\n  {\n    \"event_id\": \"2\",\n    \"data\": [1, {\"a\": []}]\n  }\n]\n"
	tests := []struct {
		name, input string
		wants       []want
	}{
		{"pretty", pretty, []want{
			{data: "{\n    \"event_id\": \"1\",\n    \"data\": {\"s\": \"]},[\"}\n  }"},
			{data: "{\n    \"event_id\": \"2\",\n    \"data\": [1, {\"a\": []}]\n  }"}}},
		{"compact", `[{"a":1},{"b":[2,3]},{"c":"\"]"}]`, []want{{data: `{"a":1}`}, {data: `{"b":[2,3]}`}, {data: `{"c":"\"]"}`}}},
		{"empty", "[ ]\n", nil},
		{"scalars and nested arrays", `[1, "s,]", true ,[1,[2]], null]`,
			[]want{{data: "1"}, {data: `"s,]"`}, {data: "true"}, {data: "[1,[2]]"}, {data: "null"}}},
		{"two arrays", "[{\"a\":1}]\n[{\"b\":2}]\n", []want{{data: `{"a":1}`}, {data: `{"b":2}`}}},
		{"bom", "\xef\xbb\xbf[{\"a\":1}]", []want{{data: `{"a":1}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape, got := split(t, tt.input, Options{})
			if shape != Array {
				t.Fatalf("shape %v, want array", shape)
			}
			checkRecords(t, tt.input, got, tt.wants)
		})
	}
}

func TestBrokenInputs(t *testing.T) {
	obj1 := seed002[:strings.Index(seed002, "}\n{")+1]
	obj2 := strings.TrimSpace(seed002[len(obj1):])
	broken := "{\n\"event_id\": \"x\",\n\"domain\": \"onboarding\","
	tests := []struct {
		name, input string
		shape       Shape
		wants       []want
	}{
		{"unterminated object in the middle", obj1 + "\n" + broken + "\n" + obj2 + "\n" + obj1 + "\n", Concatenated,
			[]want{{data: obj1}, {data: broken, err: ErrUnterminated}, {data: obj2}, {data: obj1}}},
		{"unterminated after a key", obj1 + "\n{\n\"a\": 1,\n\"b\"\n" + obj2, Concatenated,
			[]want{{data: obj1}, {data: "{\n\"a\": 1,\n\"b\"", err: ErrUnterminated}, {data: obj2}}},
		{"string cut by a newline", obj1 + "\n{\n\"event_id\": \"abc\n" + obj2, Concatenated,
			[]want{{data: obj1}, {data: "{\n\"event_id\": \"abc", err: ErrUnterminated}, {data: obj2}}},
		{"garbage between objects", obj1 + "\nxyz }}\nmore garbage\n" + obj2 + "\n", Concatenated,
			[]want{{data: obj1}, {data: "xyz }}\nmore garbage", err: ErrGarbage}, {data: obj2}}},
		{"garbage at end", `{"a":1}` + "\n" + `{"b":2} trailing`, NDJSON,
			[]want{{data: `{"a":1}`}, {data: `{"b":2} trailing`}}},
		{"garbage after object on same line", "{\n\"a\":1\n} junk\n{\n\"b\":2\n}", Concatenated,
			[]want{{data: "{\n\"a\":1\n}"}, {data: "junk", err: ErrGarbage}, {data: "{\n\"b\":2\n}"}}},
		{"object open at eof", obj1 + "\n{\n\"a\": {\n\"b\": 1\n", Concatenated,
			[]want{{data: obj1}, {data: "{\n\"a\": {\n\"b\": 1", err: ErrUnterminated}}},
		{"array element open at eof", "[{\"a\":1},\n {\"b\":", Array,
			[]want{{data: `{"a":1}`}, {data: `{"b":`, err: ErrUnterminated}}},
		{"array not closed", "[{\"a\":1}, 2", Array,
			[]want{{data: `{"a":1}`}, {data: "2"}, {data: "", err: ErrUnterminated}}},
		{"garbage in array", "[{\"a\":1} oops, {\"b\":2}]", Array,
			[]want{{data: `{"a":1}`}, {data: "oops", err: ErrGarbage}, {data: `{"b":2}`}}},
		{"garbage after array", "[{\"a\":1}]\nnope\n[{\"b\":2}]", Array,
			[]want{{data: `{"a":1}`}, {data: "nope", err: ErrGarbage}, {data: `{"b":2}`}}},
		{"broken element in pretty array", "[\n  {\n    \"a\": 1,\n  {\n    \"b\": 2\n  }\n]", Array,
			[]want{{data: "{\n    \"a\": 1,", err: ErrUnterminated}, {data: "{\n    \"b\": 2\n  }"}}},
		{"leading garbage, then objects", "header line\n{\"a\":1}\n{\"b\":2}\n", Unknown,
			[]want{{data: "header line", err: ErrGarbage}, {data: `{"a":1}`}, {data: `{"b":2}`}}},
		{"binary", "\x00\x01\x02\x03garbage\x00\xff", Unknown, []want{{data: "\x00\x01\x02\x03garbage\x00\xff", err: ErrGarbage}}},
		{"empty", "", Unknown, nil},
		{"whitespace only", "  \r\n\n\t ", Unknown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape, got := split(t, tt.input, Options{})
			if shape != tt.shape {
				t.Fatalf("shape %v, want %v", shape, tt.shape)
			}
			checkRecords(t, tt.input, got, tt.wants)
		})
	}
}

func TestErrorDetail(t *testing.T) {
	_, got := split(t, "{\"a\":1}\n"+strings.Repeat("x", 100)+"\n{\"b\":2}\n", Options{MaxRecordBytes: 50, MaxRawBytes: 10})
	if len(got) != 3 {
		t.Fatalf("got %d records, want 3", len(got))
	}
	r := got[1]
	if !errors.Is(r.Err, ErrTooLarge) || r.Size != 100 || string(r.Data) != "xxxxxxxxxx" || r.Line != 2 {
		t.Fatalf("got %+v", r)
	}
	if want := "record of 100 bytes at line 2 exceeds the 50-byte limit"; !strings.Contains(r.Err.Error(), want) {
		t.Errorf("error %q does not contain %q", r.Err, want)
	}
}

// TestTooLarge covers records over the limit in every mode, both when they fit the buffer and when they are
// streamed through it, with small read sizes to exercise every buffer boundary.
func TestTooLarge(t *testing.T) {
	big := `{"s":"` + strings.Repeat("0123456789", 30_000) + `"}` // 300 KB
	tests := []struct {
		name, input string
		wants       []want
	}{
		{"ndjson", "{\"a\":1}\n" + big + "  \r\n{\"b\":2}\n", []want{{data: `{"a":1}`}, {data: big[:100], err: ErrTooLarge}, {data: `{"b":2}`}}},
		{"concatenated", "{\n\"a\":1\n}\n" + big + "\n{\n\"b\":2\n}", []want{{data: "{\n\"a\":1\n}"}, {data: big[:100], err: ErrTooLarge}, {data: "{\n\"b\":2\n}"}}},
		{"array", "[{\"a\":1}, " + big + ", {\"b\":2}]", []want{{data: `{"a":1}`}, {data: big[:100], err: ErrTooLarge}, {data: `{"b":2}`}}},
		{"unterminated and too large", "{\n\"a\":1\n}\n{\n\"x\": " + big[:len(big)-1] + "\n{\n\"b\":2\n}", []want{{data: "{\n\"a\":1\n}"}, {data: "{\n\"x\"", err: ErrUnterminated}, {data: "{\n\"b\":2\n}"}}},
	}
	for _, tt := range tests {
		for _, maxRec := range []int{1000, 200_000} {
			for _, oneByte := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/max%d/onebyte=%v", tt.name, maxRec, oneByte), func(t *testing.T) {
					var src io.Reader = strings.NewReader(tt.input)
					if oneByte {
						src = iotest.OneByteReader(src)
					}
					rd, err := NewReader(src, Options{MaxRecordBytes: maxRec})
					if err != nil {
						t.Fatal(err)
					}
					checkRecords(t, tt.input, readAll(t, rd), tt.wants)
				})
			}
		}
	}
}

// repeatReader yields n bytes of b repeated, without holding them in memory.
type repeatReader struct {
	b []byte
	n int64
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	k := 0
	for k < len(p) {
		c := copy(p[k:], r.b[r.i:])
		k += c
		r.i = (r.i + c) % len(r.b)
	}
	r.n -= int64(k)
	return k, nil
}

// TestTooLargeBoundedMemory streams a 40 MB record with MaxRecordBytes 1 MiB and checks that the reader does not
// allocate anywhere near the record's size.
func TestTooLargeBoundedMemory(t *testing.T) {
	const size = 40 << 20
	for _, tt := range []struct {
		name, prefix, fill, suffix string
		bigHead, bigTail           int // bytes of the large record in prefix and suffix
		lastData                   string
		lastLine                   int64
	}{
		{"ndjson line", "{\"a\":1}\n{\"s\":\"", "abcdefgh", "\"}\n{\"b\":2}\n", 6, 2, `{"b":2}`, 3},
		{"pretty object", "{\n\"a\":1\n}\n{\n\"s\": \"", "abcd\\\"{[", "\"\n}\n{\n\"b\":2\n}\n", 8, 3, "{\n\"b\":2\n}", 7},
		{"array element", "[{\"a\":1},\n{\"s\": [", "1, {}, ", "0]},\n{\"b\":2}]", 7, 3, `{"b":2}`, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := io.MultiReader(strings.NewReader(tt.prefix), &repeatReader{b: []byte(tt.fill), n: size}, strings.NewReader(tt.suffix))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rd, err := NewReader(src, Options{MaxRecordBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, rd)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes for a %d-byte record with a 1 MiB limit", alloc, size)
			}
			if len(got) != 3 || got[0].Err != nil || !errors.Is(got[1].Err, ErrTooLarge) || got[2].Err != nil {
				t.Fatalf("got %d records: %+v", len(got), got)
			}
			if want := int64(tt.bigHead + size + tt.bigTail); got[1].Size != want || len(got[1].Data) != DefaultMaxRawBytes {
				t.Errorf("too-large record: size %d (want %d), %d raw bytes", got[1].Size, want, len(got[1].Data))
			}
			if want := int64(len(tt.prefix) - tt.bigHead); got[1].Offset != want {
				t.Errorf("too-large record: offset %d, want %d", got[1].Offset, want)
			}
			if string(got[2].Data) != tt.lastData || got[2].Line != tt.lastLine {
				t.Errorf("record after the large one: %q at line %d, want %q at line %d", got[2].Data, got[2].Line, tt.lastData, tt.lastLine)
			}
		})
	}
}

// TestReadBoundaries re-splits inputs through readers that return one byte, or half the input, at a time.
func TestReadBoundaries(t *testing.T) {
	inputs := []string{
		seed002,
		"\xef\xbb\xbf{\"a\":\"x\\\\\"}\r\n\r\n{\"b\":\"\\\"\"}",
		"[\n {\"a\": \"\\\\\\\"\"},\n \"s\\\"\", 12 , {\"b\": [1,2]}\n]",
		"{\"a\":1}{\"s\":\"\\u00e9\\\\\"}\n{\n\"c\":[{}]\n}",
		"{\n\"a\": 1,\n{\n\"b\": \"x\n\"}\n} junk\n{\"c\": 2}",
	}
	for i, input := range inputs {
		_, want := split(t, input, Options{})
		checkInvariants(t, []byte(input), want, DefaultMaxRawBytes)
		for _, wrap := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
			rd, err := NewReader(wrap(strings.NewReader(input)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, rd)
			if len(got) != len(want) {
				t.Fatalf("input %d: %d records through a slow reader, %d at once", i, len(got), len(want))
			}
			for k := range got {
				g, w := got[k], want[k]
				if !bytes.Equal(g.Data, w.Data) || g.Line != w.Line || g.Offset != w.Offset || g.Size != w.Size || (g.Err == nil) != (w.Err == nil) {
					t.Errorf("input %d record %d: got %+v, want %+v", i, k, g, w)
				}
			}
		}
	}
}

// errAfter returns its data, then err.
type errAfter struct {
	r   io.Reader
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestReadErrors(t *testing.T) {
	boom := errors.New("boom")
	// Small input: the error surfaces while sniffing.
	if _, err := NewReader(&errAfter{strings.NewReader(`{"a":1}`), boom}, Options{}); !errors.Is(err, boom) {
		t.Fatalf("NewReader error %v, want boom", err)
	}
	// Large input: the error surfaces from Next, after the records before it, and sticks.
	for _, input := range []string{strings.Repeat("{\"a\":1}\n", 20_000), strings.Repeat("{\n\"a\":1\n}", 20_000)} {
		rd, err := NewReader(&errAfter{strings.NewReader(input), boom}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err = rd.Next()
			if err != nil {
				break
			}
			n++
		}
		if !errors.Is(err, boom) || n == 0 {
			t.Fatalf("after %d records: err %v, want boom", n, err)
		}
		if _, err := rd.Next(); !errors.Is(err, boom) {
			t.Errorf("error is not sticky: %v", err)
		}
	}
}

func TestNextAfterEOF(t *testing.T) {
	rd, err := NewReader(strings.NewReader("[1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, rd)
	for range 2 {
		if _, err := rd.Next(); err != io.EOF {
			t.Fatalf("Next after end: %v, want io.EOF", err)
		}
	}
}

func TestReaderCSVHandOff(t *testing.T) {
	// A header longer than the peek makes sure no buffered byte is lost when the CSV reader takes over.
	long := strings.Repeat("c", 70_000)
	input := "\xef\xbb\xbfid,name,note\r\n1,\"a, b\",\"x\ny\"\r\n2,c," + long + "\r\n"
	rd, err := NewReader(strings.NewReader(input), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rd.Shape() != CSV {
		t.Fatalf("shape %v, want csv", rd.Shape())
	}
	if _, err := rd.Next(); err == nil {
		t.Fatal("Next on a CSV stream: want an error")
	}
	rd2, _ := NewReader(strings.NewReader(input), Options{})
	cr, err := rd2.CSV()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd2.CSV(); err == nil {
		t.Error("second CSV(): want an error")
	}
	if _, err := rd2.Next(); err == nil {
		t.Error("Next after CSV(): want an error")
	}
	if got := strings.Join(cr.Header(), "|"); got != "id|name|note" {
		t.Errorf("header %q", got)
	}
	rows := readCSV(t, cr)
	if len(rows) != 2 || rows[0].Fields[1] != "a, b" || rows[0].Fields[2] != "x\ny" || rows[1].Fields[2] != long || rows[1].Line != 4 {
		t.Fatalf("rows: %+v", rows)
	}
	if want := int64(strings.Index(input, "2,c")); rows[1].Offset != want {
		t.Errorf("offset %d, want %d", rows[1].Offset, want)
	}
}

func TestSniff(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(gz(t, seed002))
	rd, c, closer, err := Sniff(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if c != Gzip || rd.Shape() != Concatenated {
		t.Fatalf("got %v %v", c, rd.Shape())
	}
	if got := readAll(t, rd); len(got) != 2 {
		t.Fatalf("got %d records", len(got))
	}
	if _, _, _, err := Sniff(bytes.NewReader(gz(t, seed002)[:20]), Options{}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
}
