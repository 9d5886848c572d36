package format

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// The structural scanner skips plain string bytes eight at a time; reading a
// byte at a time (byteScan) is the reference it must agree with exactly:
// records, lines, offsets, sizes and errors, streamed, in place, and through
// a one-byte reader (every read boundary).
func checkWordScan(t *testing.T, input []byte, opts Options) {
	t.Helper()
	readWith := func(byteScan bool, rd *Reader) string {
		rd.byteScan = byteScan
		return fmt.Sprintf("%v %+v", rd.Shape(), readAll(t, rd))
	}
	ref, err := NewReader(bytes.NewReader(input), opts)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Shape() == CSV {
		return
	}
	want := readWith(true, ref)
	for name, mk := range map[string]func() *Reader{
		"streamed": func() *Reader { rd, _ := NewReader(bytes.NewReader(input), opts); return rd },
		"in place": func() *Reader { return NewReaderBytes(input, opts) },
		"one byte": func() *Reader { rd, _ := NewReader(iotest.OneByteReader(bytes.NewReader(input)), opts); return rd },
	} {
		if got := readWith(false, mk()); got != want {
			t.Fatalf("%s, eight bytes at a time:\n%s\nbyte at a time:\n%s", name, got, want)
		}
	}
}

// wordScanInput is a random concatenation of objects whose strings hold the
// bytes the scanner stops at ('"', '\\', '\n') at every position modulo 8,
// non-ASCII and control bytes, escapes split anywhere, and broken strings.
func wordScanInput(rng *rand.Rand) []byte {
	pieces := []string{"a", "abcdefgh", "\\\"", "\\\\", "\\n", "\\u00e9", "é", "\xff", "\x01", "\n", "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\t", "\r\n"}
	var b bytes.Buffer
	for range rng.IntN(6) + 1 {
		b.WriteString("{\n\"k\": \"")
		for range rng.IntN(40) {
			p := pieces[rng.IntN(len(pieces))]
			if rng.IntN(3) > 0 {
				p = pieces[rng.IntN(6)] // mostly well-formed string content
			}
			b.WriteString(p)
		}
		b.WriteString("\",\n\"n\": [1, \"x\"]\n}\n")
	}
	return b.Bytes()
}

func TestWordScanMatchesByteScan(t *testing.T) {
	for _, s := range splitSeeds {
		checkWordScan(t, []byte(s), Options{MaxRawBytes: 16})
	}
	_, pretty, _, _ := benchStreams(t)
	checkWordScan(t, pretty[:256<<10], Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		checkWordScan(t, wordScanInput(rng), Options{MaxRawBytes: 16, MaxRecordBytes: 1 + rng.IntN(400)})
	}
}

func FuzzSplitWordScan(f *testing.F) {
	fuzzSplit(f, rand.New(rand.NewPCG(3, 4)), func(t *testing.T, input []byte, opts Options) { checkWordScan(t, input, opts) })
}

// fuzzSplit fuzzes check over the splitter's seeds and random objects from
// wordScanInput, with MaxRawBytes 16 and a MaxRecordBytes from the input.
func fuzzSplit(f *testing.F, rng *rand.Rand, check func(t *testing.T, input []byte, opts Options)) {
	for _, s := range splitSeeds {
		f.Add([]byte(s), uint16(0))
	}
	for range 20 {
		f.Add(wordScanInput(rng), uint16(rng.IntN(300)))
	}
	f.Fuzz(func(t *testing.T, input []byte, maxRec uint16) {
		opts := Options{MaxRawBytes: 16}
		if maxRec != 0 {
			opts.MaxRecordBytes = int(maxRec)
		}
		check(t, input, opts)
	})
}
