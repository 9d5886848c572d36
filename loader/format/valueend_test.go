package format

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/schema"
)

// prefixEnd is the loader's way of finding an object's end (a profile's
// MapObservingPrefix): the strict walk of the object at the start of b.
func prefixEnd() func(b []byte) int {
	ty := &schema.Type{}
	return func(b []byte) int {
		end, err := schema.MembersPrefix(b, "data", func(b []byte, i int) (int, error) {
			end, _, err := ty.ObserveStrictAt(b, i, schema.MaxDepth-1)
			return end, err
		}, func(k, v []byte) error { return nil })
		if err != nil {
			return -1
		}
		return end
	}
}

// checkValueEnd holds a Reader whose objects' ends are found by SetValueEnd's
// function to the Reader's own scanner: the same records, lines, offsets,
// sizes and errors, in place and streamed. It returns how many records the
// function took.
func checkValueEnd(t *testing.T, input []byte, opts Options) int {
	t.Helper()
	ref := NewReaderBytes(input, opts)
	if ref.Shape() == CSV {
		return 0
	}
	want := fmt.Sprintf("%v %+v", ref.Shape(), readAll(t, ref))
	taken := 0
	for name, mk := range map[string]func() *Reader{
		"in place": func() *Reader { return NewReaderBytes(input, opts) },
		"streamed": func() *Reader { rd, _ := NewReader(bytes.NewReader(input), opts); return rd },
	} {
		rd := mk()
		rd.SetValueEnd(prefixEnd(), nil)
		recs := readAll(t, rd)
		for i := range recs {
			if recs[i].Taken {
				taken++
				recs[i].Taken = false // the scanner's records are not
			}
		}
		if got := fmt.Sprintf("%v %+v", rd.Shape(), recs); got != want {
			t.Fatalf("%s, ends found by the strict walk:\n%s\nby the scanner:\n%s", name, got, want)
		}
	}
	return taken
}

func TestValueEndMatchesScanner(t *testing.T) {
	for _, s := range splitSeeds {
		checkValueEnd(t, []byte(s), Options{MaxRawBytes: 16})
	}
	ndjson, pretty, _, _ := benchStreams(t)
	if n := checkValueEnd(t, pretty[:256<<10], Options{}); n == 0 {
		t.Fatal("no record of the pretty-printed stream was taken by the strict walk")
	}
	if n := checkValueEnd(t, ndjson[:256<<10], Options{}); n == 0 {
		t.Fatal("no NDJSON line was taken by the strict walk")
	}
	// NDJSON lines the walk must leave to the scanner, among ones it takes:
	// two objects or an object and more on one line, an object over two
	// lines, a line within the limit only without its trailing spaces (with
	// a newline after it and at the end), CRLF, tabs, blank lines.
	obj := `{"event_id":"e","data":{"a":[1,{"b":"c"}]}}`
	long := `{"event_id":"l","data":"` + string(bytes.Repeat([]byte("x"), 60)) + `"}`
	for _, in := range []string{
		obj + "\n" + obj + " " + obj + "\n" + obj + "\n",
		obj + "\n" + obj + " garbage\n" + obj + "x\n" + obj,
		obj + "\n{\"event_id\":\n\"split\"}\n" + obj + "\n",
		obj + " \t \r\n\r\n\n  " + obj + "\t\n" + obj + "\r\n",
		obj + "\n" + long + strings.Repeat(" ", 40) + "\n" + obj + "\n" + long + strings.Repeat(" ", 40),
		obj + "\n[1,2]\n" + obj + "\n\"s\"\n{}\n{\"a\":1}{\"b\":2}\n",
	} {
		for _, limit := range []int{0, 90, 100, 120} {
			checkValueEnd(t, []byte(in), Options{MaxRawBytes: 16, MaxRecordBytes: limit})
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	taken := 0
	for range 3000 {
		taken += checkValueEnd(t, wordScanInput(rng), Options{MaxRawBytes: 16, MaxRecordBytes: 1 + rng.IntN(400)})
	}
	if taken == 0 {
		t.Fatal("no random record was taken by the strict walk")
	}
}

func FuzzSplitValueEnd(f *testing.F) {
	fuzzSplit(f, rand.New(rand.NewPCG(7, 8)), func(t *testing.T, input []byte, opts Options) { checkValueEnd(t, input, opts) })
}
