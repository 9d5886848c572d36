package partitions

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Page bounds of text columns.
//
// Readers that use the page index (parquet-mr in Spark, Hive, Athena and
// Trino; Arrow) skip every page whose [min, max] in the column index
// cannot hold the value looked up, so every non-null page needs bounds
// that hold all its values. Whole values would do, but parquet-go keeps
// each page's min and max until the file is closed, and data or a long id
// would make that memory grow with the input. So the PLAIN text columns
// (ids, JSON documents, CSV fields) report bounds truncated to
// pageBoundBytes, the way parquet-mr truncates its column index: the min
// is a prefix of the smallest value, the max a prefix of the largest,
// incremented so it still sorts after it. The truncation is done as each
// page is written (boundedPage), so neither the column index, nor the
// column chunk statistics, nor the page headers ever hold more than
// pageBoundBytes per value. A max whose prefix cannot be incremented (all
// 0xFF bytes) is kept whole, as parquet-mr does.
//
// parquet-go's own truncation (ColumnIndexSizeLimit) is not used: it is
// applied only when the file is closed, and its increment of an all-0xFF
// prefix yields a max smaller than the value. Dictionary-encoded columns
// (short, repeated values) keep exact bounds.

// pageBoundBytes is the longest min or max a text page reports (parquet-mr's
// default column-index truncation length).
const pageBoundBytes = 64

// truncateMin returns a copy of at most pageBoundBytes of v that sorts
// before or equal to v. Valid UTF-8 is cut at a rune boundary.
func truncateMin(v []byte) []byte {
	if len(v) <= pageBoundBytes {
		return append([]byte(nil), v...)
	}
	return append([]byte(nil), v[:runeCut(v)]...)
}

// runeCut returns where to cut v (longer than pageBoundBytes): at most
// pageBoundBytes, backed up to the start of a rune so a cut of UTF-8 text
// stays UTF-8 (any prefix sorts before v).
func runeCut(v []byte) int {
	n := pageBoundBytes
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(v[n]); k++ {
		n--
	}
	return n
}

// truncateMax returns a value of at most pageBoundBytes (or v itself when
// none exists) that sorts after or equal to v: a prefix whose last rune
// (valid UTF-8) or byte is incremented, so the result stays valid UTF-8
// when v is.
func truncateMax(v []byte) []byte {
	if len(v) <= pageBoundBytes {
		return append([]byte(nil), v...)
	}
	if n := runeCut(v); utf8.Valid(v[:n]) {
		p := []rune(string(v[:n]))
		for i := len(p) - 1; i >= 0; i-- {
			r := p[i] + 1
			if r == 0xD800 {
				r = 0xE000 // surrogates are not valid runes
			}
			if r <= utf8.MaxRune {
				p[i] = r
				return []byte(string(p[:i+1]))
			}
		}
		return append([]byte(nil), v...)
	}
	p := append([]byte(nil), v[:pageBoundBytes]...)
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xFF {
			p[i]++
			return p[:i+1]
		}
	}
	return append([]byte(nil), v...)
}

// boundedType is a byte-array type whose pages report truncated bounds.
type boundedType struct{ parquet.Type }

func (t boundedType) NewColumnBuffer(columnIndex, numValues int) parquet.ColumnBuffer {
	return boundedBuffer{t.Type.NewColumnBuffer(columnIndex, numValues)}
}

// NewColumnIndexer returns an indexer that keeps the bounds it gets: they
// are already truncated.
func (t boundedType) NewColumnIndexer(int) parquet.ColumnIndexer {
	return t.Type.NewColumnIndexer(0)
}

type boundedBuffer struct{ parquet.ColumnBuffer }

func (b boundedBuffer) Page() parquet.Page          { return &boundedPage{Page: b.ColumnBuffer.Page()} }
func (b boundedBuffer) Clone() parquet.ColumnBuffer { return boundedBuffer{b.ColumnBuffer.Clone()} }

// boundedPage reports its page's bounds truncated. It computes them once:
// parquet-go asks a page it writes for its bounds twice (the page header's
// statistics, then the column index and chunk statistics), and each time
// the page's values are all compared.
type boundedPage struct {
	parquet.Page
	done   bool
	lo, hi parquet.Value
	ok     bool
}

func (p *boundedPage) Bounds() (lo, hi parquet.Value, ok bool) {
	if !p.done {
		p.lo, p.hi, p.ok = p.bounds()
		p.done = true
	}
	return p.lo, p.hi, p.ok
}

func (p *boundedPage) bounds() (lo, hi parquet.Value, ok bool) {
	if reflect.TypeOf(p.Page) != plainTextPage {
		lo, hi, ok = p.Page.Bounds()
		if !ok {
			return lo, hi, ok
		}
		return parquet.ByteArrayValue(truncateMin(lo.ByteArray())).Level(lo.RepetitionLevel(), lo.DefinitionLevel(), lo.Column()),
			parquet.ByteArrayValue(truncateMax(hi.ByteArray())).Level(hi.RepetitionLevel(), hi.DefinitionLevel(), hi.Column()),
			true
	}
	data := p.Page.Data()
	values, offsets := data.ByteArray()
	lower, upper, ok := textBounds(values, offsets)
	if !ok {
		return parquet.Value{}, parquet.Value{}, false
	}
	col := p.Page.Column()
	return parquet.ByteArrayValue(lower).Level(0, 0, col), parquet.ByteArrayValue(upper).Level(0, 0, col), true
}

// plainTextPage is the type of parquet-go's pages of PLAIN byte arrays
// (and of their slices): the pages of a boundedBuffer. Their Bounds
// compares every value whole, up to twice; boundedPage reads their values
// itself (Data: the values back to back and their offsets) and gets the
// same bounds with textBounds. A page of any other type is asked for its
// Bounds.
var plainTextPage = reflect.TypeOf(parquet.ByteArrayType.NewColumnBuffer(0, 0).Page())

// textBounds returns truncateMin of the smallest and truncateMax of the
// largest of the values (value i is values[offsets[i]:offsets[i+1]]), or
// false when there are none. It compares what the truncation reads: both
// results depend on the first pageBoundBytes+1 bytes of a value only (the
// cut backs up from byte pageBoundBytes; a longer value is cut), so values
// are ordered by those prefixes (keys), which sort as the values do (ties
// aside). Most values are settled by their first 8 bytes read as one
// integer (textWord): strictly between those of the bounds so far, the
// value changes neither. When both bounds share their first 8 bytes (dates,
// timestamps), the next 8 are looked at the same way. Other values are
// compared with the largest key and, when smaller, with the smallest. The
// one exception is a max whose key cannot be incremented (all 0xFF bytes,
// or all U+10FFFF): truncateMax keeps it whole, so the largest whole value
// is looked for.
func textBounds(values []byte, offsets []uint32) (lower, upper []byte, ok bool) {
	n := len(offsets) - 1
	if n < 1 {
		return nil, nil, false
	}
	const keyLen = pageBoundBytes + 1
	// word1 is the second word of a key (0 when it has none).
	word1 := func(k []byte, j int) uint64 {
		if len(k) <= 8 {
			return 0
		}
		return textWord(values, j+8, len(k)-8)
	}
	lo := values[offsets[0]:min(offsets[1], offsets[0]+keyLen)]
	hi := lo
	loW := textWord(values, int(offsets[0]), len(lo))
	hiW := loW
	loW1 := word1(lo, int(offsets[0]))
	hiW1 := loW1
	for i := 1; i < n; i++ {
		j, e := int(offsets[i]), int(offsets[i+1])
		w := textWord(values, j, e-j)
		if loW < w && w < hiW {
			continue // strictly between the bounds so far
		}
		if w == loW && w == hiW && e-j > 8 && len(lo) > 8 && len(hi) > 8 {
			// The same first 8 bytes as both bounds: strictly between them
			// when its next 8 are, or equal to both when they are all three
			// the same 9 to 16 bytes.
			w1 := textWord(values, j+8, e-j-8)
			if loW1 < w1 && w1 < hiW1 {
				continue
			}
			if w1 == loW1 && w1 == hiW1 && e-j <= 16 && e-j == len(lo) && e-j == len(hi) {
				continue
			}
		}
		v := values[j:min(e, j+keyLen)]
		c := 1
		if w < hiW {
			c = -1
		} else if w == hiW {
			c = bytes.Compare(v, hi)
		}
		switch {
		case c > 0:
			hi, hiW, hiW1 = v, w, word1(v, j)
		case c < 0 && (w < loW || w == loW && bytes.Compare(v, lo) < 0):
			lo, loW, loW1 = v, w, word1(v, j)
		}
	}
	lower, upper = truncateMin(lo), truncateMax(hi)
	if len(upper) > pageBoundBytes {
		// Not incremented: the largest value is the bound, whole.
		whole := values[offsets[0]:offsets[1]]
		for i := 1; i < n; i++ {
			if v := values[offsets[i]:offsets[i+1]]; bytes.Compare(v, whole) > 0 {
				whole = v
			}
		}
		upper = truncateMax(whole)
	}
	return lower, upper, true
}

// textWord returns the first (up to) 8 bytes of the text of length l at
// values[j:] as a big-endian integer, zero-padded: words of unequal value
// order their texts, and equal words mean one text's first 8 bytes are a
// prefix of the other's.
func textWord(values []byte, j, l int) uint64 {
	if j+8 <= len(values) {
		x := binary.BigEndian.Uint64(values[j:])
		if l >= 8 {
			return x
		}
		return x &^ (^uint64(0) >> (8 * uint(l)))
	}
	var x uint64
	for k := 0; k < l && k < 8; k++ {
		x |= uint64(values[j+k]) << (56 - 8*k)
	}
	return x
}

func (p *boundedPage) Slice(i, j int64) parquet.Page { return &boundedPage{Page: p.Page.Slice(i, j)} }

// bounded reports whether a leaf node gets truncated page bounds: PLAIN
// byte arrays (dictionary-encoded ones hold short repeated values).
func bounded(n parquet.Node) bool {
	if !n.Leaf() || n.Type().Kind() != parquet.ByteArray {
		return false
	}
	if e := n.Encoding(); e != nil && (e.Encoding() == parquet.RLEDictionary.Encoding() || e.Encoding() == parquet.PlainDictionary.Encoding()) {
		return false
	}
	return true
}

// boundedNode is a leaf whose type reports truncated page bounds.
type boundedNode struct{ parquet.Node }

func (n boundedNode) Type() parquet.Type { return boundedType{n.Node.Type()} }

// boundedField is a struct field whose type reports truncated page bounds.
type boundedField struct{ parquet.Field }

func (f boundedField) Type() parquet.Type { return boundedType{f.Field.Type()} }

// boundedRoot is a struct schema's root with its text fields bounded.
type boundedRoot struct {
	parquet.Node
	fields []parquet.Field
}

func (r boundedRoot) Fields() []parquet.Field { return r.fields }

// boundedSchema returns the schema of struct rows of type T with truncated
// page bounds on its PLAIN text columns. Its columns, order and types are
// those of parquet.SchemaOf, so parquet-go keeps writing the rows
// directly from the structs.
func boundedSchema(row any) *parquet.Schema {
	s := parquet.SchemaOf(row)
	fields := s.Fields()
	out := make([]parquet.Field, len(fields))
	for i, f := range fields {
		if bounded(f) {
			out[i] = boundedField{f}
		} else {
			out[i] = f
		}
	}
	return parquet.NewSchema(s.Name(), boundedRoot{Node: s, fields: out})
}
