package partitions

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/cputime"
	"github.com/parquet-go/parquet-go"
)

// boundsValues decodes a fuzz input into a page's values (nil for a null):
// literals, empty strings, nulls, runs of 0xFF and of U+10FFFF around the
// truncation length, values of exactly 64 and 65 bytes, and near-copies of
// the previous value (equal prefixes).
func boundsValues(data []byte) [][]byte {
	var vals [][]byte
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	take := func(n int) []byte {
		n = min(n, len(data))
		v := append([]byte{}, data[:n]...)
		data = data[n:]
		return v
	}
	for len(data) > 0 && len(vals) < 500 {
		c := next()
		switch c % 8 {
		case 0:
			vals = append(vals, nil)
		case 1:
			vals = append(vals, []byte{})
		case 2:
			vals = append(vals, take(int(next())%80))
		case 3:
			v := bytes.Repeat([]byte{0xFF}, 60+int(c>>3)%11)
			if c&0x80 != 0 {
				v = append(v, next())
			}
			vals = append(vals, v)
		case 4:
			v := []byte(strings.Repeat("\U0010FFFF", 15+int(c>>3)%4))
			if c&0x80 != 0 {
				v = append(v, next())
			}
			vals = append(vals, v)
		case 5:
			var v []byte
			if len(vals) > 0 {
				v = append(v, vals[len(vals)-1]...)
			}
			switch b := next(); {
			case b&1 == 0 || len(v) == 0:
				v = append(v, b)
			default:
				v[len(v)-1] = b
			}
			vals = append(vals, v)
		case 6:
			v := bytes.Repeat([]byte{next()}, 60+int(c>>3)%8)
			vals = append(vals, append(v, take(int(c>>6))...))
		case 7:
			n := 64 + int(c>>3)&1
			v := take(n)
			for len(v) < n {
				v = append(v, byte(len(v)))
			}
			vals = append(vals, v)
		}
	}
	return vals
}

// checkBounds compares the bounds of pages of vals with the oracle's: a
// bare bounded page of the non-null values and its slices, and the page of
// an optional column holding the nulls too.
func checkBounds(t *testing.T, vals [][]byte) {
	t.Helper()
	same := func(what string, p parquet.Page, lo, hi parquet.Value, ok bool, want parquet.Page) {
		t.Helper()
		lo0, hi0, ok0 := oracleBounds(want)
		for _, c := range [][2]parquet.Value{{lo, lo0}, {hi, hi0}} {
			a, b := c[0], c[1]
			if ok != ok0 || a.Kind() != b.Kind() || !bytes.Equal(a.ByteArray(), b.ByteArray()) || a.IsNull() != b.IsNull() ||
				a.RepetitionLevel() != b.RepetitionLevel() || a.DefinitionLevel() != b.DefinitionLevel() || a.Column() != b.Column() {
				t.Fatalf("%s of %d values: bounds %v %q %q, want %v %q %q", what, p.NumValues(), ok, lo.ByteArray(), hi.ByteArray(), ok0, lo0.ByteArray(), hi0.ByteArray())
			}
		}
	}
	var nonNull []parquet.Value
	for _, v := range vals {
		if v != nil {
			nonNull = append(nonNull, parquet.ByteArrayValue(v))
		}
	}
	for _, col := range []int{0, 3} {
		buf := boundedType{parquet.String().Type()}.NewColumnBuffer(col, 0)
		if _, err := buf.WriteValues(nonNull); err != nil {
			t.Fatal(err)
		}
		page := buf.Page()
		if reflect.TypeOf(page.(*boundedPage).Page) != plainTextPage {
			t.Fatalf("page of type %T: bounds not computed by textBounds", page.(*boundedPage).Page)
		}
		n := page.NumValues()
		for _, p := range []parquet.Page{page, page.Slice(0, n/2), page.Slice(n/3, n), page.Slice(n/2, n/2+n/4)} {
			lo, hi, ok := p.Bounds()
			same("bare page", p, lo, hi, ok, p.(*boundedPage).Page)
		}
	}

	schema := parquet.NewSchema("t", parquet.Group{
		"a": parquet.Optional(parquet.Int(64)),
		"c": boundedNode{parquet.Optional(parquet.String())},
	})
	buf := parquet.NewBuffer(schema)
	rows := make([]parquet.Row, len(vals))
	for i, v := range vals {
		c := parquet.NullValue().Level(0, 0, 1)
		if v != nil {
			c = parquet.ByteArrayValue(v).Level(0, 1, 1)
		}
		rows[i] = parquet.Row{parquet.NullValue().Level(0, 0, 0), c}
	}
	if _, err := buf.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	page := buf.ColumnBuffers()[1].Page()
	lo, hi, ok := page.Bounds()
	inner := boundedType{parquet.String().Type()}.NewColumnBuffer(1, 0)
	if _, err := inner.WriteValues(nonNull); err != nil {
		t.Fatal(err)
	}
	same("optional page", page, lo, hi, ok, inner.Page().(*boundedPage).Page)
}

// TestTextBoundsOracle checks the bounds of pages of edge values against
// the former computation: all-null and empty pages, empty strings, values
// of 64 and 65 bytes, 0xFF and U+10FFFF prefixes, non-UTF-8, ties on the
// truncated prefix.
func TestTextBoundsOracle(t *testing.T) {
	ff := func(n int) []byte { return bytes.Repeat([]byte{0xFF}, n) }
	mr := func(n int) []byte { return []byte(strings.Repeat("\U0010FFFF", n)) }
	a64, a65 := bytes.Repeat([]byte("a"), 64), bytes.Repeat([]byte("a"), 65)
	cases := [][][]byte{
		{},
		{nil},
		{nil, nil, nil},
		{{}},
		{{}, nil, {}},
		{a64}, {a65}, {a64, a65}, {a65, a64, nil},
		{append(a64, 'b'), append(a64, 'a', 'c'), a65},
		{ff(64)}, {ff(65)}, {ff(64), ff(65)}, {append(ff(64), 1), append(ff(64), 2), append(ff(64), 1, 5)},
		{append(ff(65), 0, 3), append(ff(65), 0, 3, 0), append(ff(65), 0, 2, 9)},
		{mr(16), mr(17), append(mr(16), 'x'), append(mr(16), 'y', 'z')},
		{append(mr(16), 0x80), append(mr(16), 0x80, 1)},
		{[]byte("abcdefg"), []byte("abcdefg\x00"), []byte("abcdefgh"), []byte("abcdefg\x00\x00")},
		{[]byte("\x00"), {}, []byte("\x00\x00")},
		{[]byte("\xc3"), []byte("\xc3\xa9"), []byte("\xff\xfe")},
	}
	for _, c := range cases {
		checkBounds(t, c)
	}
	r := rand.New(rand.NewPCG(7, 8))
	// Values sharing their first 8 or 16 bytes (dates, timestamps), of 8,
	// 9, 16 and 17 bytes: settled by their second words or compared.
	for n := range 300 {
		var vals [][]byte
		for range 1 + n%40 {
			var v string
			switch r.IntN(6) {
			case 0:
				v = "2024-01-01"
			case 1:
				v = fmt.Sprintf("2024-01-01T%02d:%02d:%02dZ", r.IntN(3), r.IntN(3), r.IntN(3))
			case 2:
				v = "2024-01-0" + strings.Repeat("1", r.IntN(9))
			case 3:
				v = "2024-01-01T00:00" + strings.Repeat("\x00", r.IntN(3))
			case 4:
				v = "2024-01-" + string(rune('0'+r.IntN(3)))
			default:
				v = ""
			}
			if r.IntN(8) == 0 {
				vals = append(vals, nil)
			} else {
				vals = append(vals, []byte(v))
			}
		}
		checkBounds(t, vals)
	}
	for n := range 200 {
		var vals [][]byte
		for i := range 1 + n%50 {
			if r.IntN(5) == 0 {
				vals = append(vals, nil)
			} else {
				vals = append(vals, []byte(edgeValue(r, i+n)))
			}
		}
		checkBounds(t, vals)
		checkBounds(t, boundsValues([]byte(edgeValue(r, n))))
	}
}

// FuzzTextBounds compares the bounds of pages of fuzzed values with the
// former computation's.
func FuzzTextBounds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{2, 5, 'h', 'e', 'l', 'l', 'o', 2, 3, 'a', 'b', 'c', 1})
	f.Add([]byte{3, 0x83, 7, 11, 19, 0x9b, 9})
	f.Add([]byte{4, 0x8c, 0x80, 5, 1, 5, 2, 12, 0x84, 0})
	f.Add([]byte{7, 15, 7, 0x16, 0xff, 6, 0xff, 0x46, 1, 2})
	f.Add([]byte("\x02\x08abcdefg\x00\x02\x07abcdefg\x05\x00\x05\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBounds(t, boundsValues(data))
	})
}

// BenchmarkTextBounds computes the bounds of pages of CSV-like text
// (ascending ids, UUIDs, short codes, one date, timestamps): the former computation
// and textBounds, in turns.
func BenchmarkTextBounds(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	gen := map[string]func(i int) string{
		"id": func(i int) string { return fmt.Sprint(101680748 + i*7) },
		"uuid": func(int) string {
			return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()>>16)
		},
		"code": func(int) string { return fmt.Sprintf("STORE-%d", r.IntN(20)) },
		"date": func(int) string { return "2024-01-01" },
		"time": func(int) string { return fmt.Sprintf("2024-01-01T%02d:%02d:%02dZ", r.IntN(24), r.IntN(60), r.IntN(60)) },
	}
	for _, name := range []string{"id", "uuid", "code", "date", "time"} {
		buf := boundedType{parquet.String().Type()}.NewColumnBuffer(0, 0)
		var vals []parquet.Value
		for i := range 8000 {
			vals = append(vals, parquet.ByteArrayValue([]byte(gen[name](i))))
		}
		if _, err := buf.WriteValues(vals); err != nil {
			b.Fatal(err)
		}
		page := buf.Page().(*boundedPage).Page
		// Both in turns, 50 pages each, so they share the host's noise.
		b.Run(name, func(b *testing.B) {
			cputime.InTurns(b, 50, "page", func() {
				for range 50 {
					oracleBounds(page)
				}
			}, func() {
				for range 50 {
					(&boundedPage{Page: page}).Bounds()
				}
			})
		})
	}
}
