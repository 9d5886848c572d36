package schema

import (
	"encoding/binary"
	"math/bits"
	"testing"
	"unicode/utf8"

	"github.com/eventlake/eventlake/internal/cputime"
)

// The walk ObserveStrictAt had before strict.go: the oracle of its
// equivalence tests (the same acceptance, end, type and undo).

type oracleParser struct {
	b       []byte
	i       int
	scratch [64]byte // decoded escaped keys; longer ones allocate

	// ObserveStrictAt: validate as the validator does, and keep a copy of
	// the type from before its first change, to put back if the value is
	// invalid.
	strict   bool
	maxDepth int
	root     *Type
	backup   *Type
}

// observeStrictAtOracle is the former t.ObserveStrictAt(b, i, maxDepth).
func observeStrictAtOracle(t *Type, b []byte, i, maxDepth int) (end int, undo *Type, err error) {
	p := oracleParser{b: b, i: i, strict: true, maxDepth: maxDepth, root: t}
	if i >= len(b) {
		return 0, nil, synErr(len(b), "unexpected end of input, want a value")
	}
	if err := p.value(t, 1); err != nil {
		if p.backup != nil {
			*t = *p.backup
		}
		return 0, nil, err
	}
	return p.i, p.backup, nil
}

// change is called before every change to a type: in strict mode the first
// one saves a copy of the root to restore if the value turns out invalid.
func (p *oracleParser) change() {
	if p.strict && p.backup == nil {
		p.backup = p.root.Clone()
	}
}

// value observes the value at p.b[p.i] (not whitespace, in range) into t.
// depth is the nesting depth the value would have if it is a container.
// Recursion is bounded by MaxTypeDepth: anything deeper is typed JSON and
// skipped by the iterative validator.
func (p *oracleParser) value(t *Type, depth int) error {
	b := p.b
	if t.Kind == JSON {
		return p.skip(depth)
	}
	switch c := b[p.i]; c {
	case '{':
		return p.object(t, depth)
	case '[':
		return p.array(t, depth)
	case '"':
		start := p.i + 1
		var end int
		var esc bool
		var err error
		if p.strict {
			// scanString validates escapes, control bytes and UTF-8; a
			// string with escapes is never a timestamp (isTimestamp
			// refuses backslashes).
			if end, err = scanString(b, start); err != nil {
				return err
			}
			end--
		} else if end, esc, err = stringEnd(b, start); err != nil {
			return err
		}
		p.i = end + 1
		switch t.Kind {
		case String:
		case Unknown, Timestamp:
			k := String
			if !esc && isTimestamp(b[start:end]) {
				k = Timestamp
			}
			if t.Kind != k {
				p.change()
				t.Kind = k
			}
		default:
			p.change()
			t.setJSON()
		}
		return nil
	case 't', 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		end, err := scanLiteral(b, p.i, lit)
		if err != nil {
			return err
		}
		p.i = end
		if k := widenKind(t.Kind, Bool); k != t.Kind {
			p.change()
			if k == JSON {
				t.setJSON()
			} else {
				t.Kind = k
			}
		}
		return nil
	case 'n':
		end, err := scanLiteral(b, p.i, "null")
		p.i = end
		return err
	default:
		if c != '-' && (c < '0' || c > '9') {
			return synErr(p.i, "unexpected %s, want a JSON value", describe(c))
		}
		start := p.i
		end, err := scanNumber(b, start)
		if err != nil {
			return err
		}
		p.i = end
		if t.Kind == Float {
			return nil
		}
		k := Float
		if isInt64(b[start:end]) {
			k = Int
		}
		if k = widenKind(t.Kind, k); k != t.Kind {
			p.change()
			if k == JSON {
				t.setJSON()
			} else {
				t.Kind = k
			}
		}
		return nil
	}
}

// skip validates and steps over the value at p.i without typing it. depth
// is the nesting level the value would have if it is a container.
func (p *oracleParser) skip(depth int) error {
	maxDepth := MaxDepth
	if p.strict {
		maxDepth = p.maxDepth - depth + 1
		if maxDepth < 1 {
			// Only a container nests: a scalar is fine at any depth.
			if c := p.b[p.i]; c == '{' || c == '[' {
				return synErr(p.i, "nesting deeper than %d", MaxDepth)
			}
			maxDepth = 1
		}
	}
	end, err := validValueMax(p.b, p.i, maxDepth)
	if err != nil {
		return err
	}
	p.i = end
	return nil
}

// enter starts observing a container of kind at depth into t. done means
// the container was already stepped over (validated, not typed): it nests
// deeper than MaxTypeDepth, or t holds another kind and becomes JSON.
func (p *oracleParser) enter(t *Type, depth int, kind Kind) (done bool, err error) {
	switch {
	case p.strict && depth > p.maxDepth:
		return true, synErr(p.i, "nesting deeper than %d", MaxDepth)
	case depth > MaxTypeDepth || (t.Kind != Unknown && t.Kind != kind):
		if t.Kind != JSON {
			p.change()
			t.setJSON()
		}
		return true, p.skip(depth)
	case t.Kind == Unknown:
		p.change()
		t.Kind = kind
	}
	return false, nil
}

func (p *oracleParser) object(t *Type, depth int) error {
	if done, err := p.enter(t, depth, Object); done {
		return err
	}
	b := p.b
	start := p.i
	p.i = skipWS(b, p.i+1)
	if p.i < len(b) && b[p.i] == '}' {
		p.i++
		return nil
	}
	next := 0 // the field expected next: objects usually repeat their key order
	for {
		if p.i >= len(b) {
			return synErr(p.i, "unexpected end of input in object, want a string key")
		}
		if b[p.i] != '"' {
			return synErr(p.i, "unexpected %s in object, want a string key", describe(b[p.i]))
		}
		ks := p.i + 1
		var ke int
		var esc bool
		var err error
		if p.strict {
			if ke, esc, err = scanStringEsc(b, ks); err != nil {
				return err
			}
			ke--
		} else if ke, esc, err = stringEnd(b, ks); err != nil {
			return err
		}
		key := b[ks:ke]
		if esc {
			if key, err = unescape(p.scratch[:0], key, ks); err != nil {
				return err
			}
		}
		var f *Field
		if next < len(t.Fields) && t.Fields[next] != nil && t.Fields[next].Name == string(key) {
			f = t.Fields[next]
			next++
		} else if j := t.findField(key); j >= 0 {
			f = t.Fields[j]
			next = j + 1
		} else if !utf8.Valid(key) {
			// Checked here, off the hot path, so that field names are always
			// valid UTF-8 and encode losslessly.
			return synErr(ks, "invalid UTF-8 in object key")
		} else if t.representable(key) {
			p.change()
			if len(t.Fields) >= MaxFields {
				// Too many distinct keys: a map, not a record. Re-walk the
				// whole object as JSON.
				t.setJSON()
				p.i = start
				return p.skip(depth)
			}
			f = t.addField(string(key))
			next = len(t.Fields)
		}
		p.i = skipWS(b, ke+1)
		if p.i >= len(b) {
			return synErr(p.i, "unexpected end of input in object, want ':'")
		}
		if b[p.i] != ':' {
			return synErr(p.i, "unexpected %s in object, want ':' after key", describe(b[p.i]))
		}
		p.i = skipWS(b, p.i+1)
		if p.i >= len(b) {
			return synErr(p.i, "unexpected end of input in object, want a value")
		}
		if f == nil {
			err = p.skip(depth + 1)
		} else {
			if f.Type == nil {
				p.change()
				f.Type = &Type{}
			}
			err = p.value(f.Type, depth+1)
		}
		if err != nil {
			return err
		}
		if end, err := p.afterMember('}', "object"); end || err != nil {
			return err
		}
	}
}

// afterMember steps over the ',' after a member or element, or the closer
// that ends the container (end).
func (p *oracleParser) afterMember(closer byte, in string) (end bool, err error) {
	b := p.b
	p.i = skipWS(b, p.i)
	if p.i >= len(b) {
		return false, synErr(p.i, "unexpected end of input in %s, want ',' or '%c'", in, closer)
	}
	switch b[p.i] {
	case ',':
		p.i = skipWS(b, p.i+1)
		return false, nil
	case closer:
		p.i++
		return true, nil
	}
	return false, synErr(p.i, "unexpected %s in %s, want ',' or '%c'", describe(b[p.i]), in, closer)
}

func (p *oracleParser) array(t *Type, depth int) error {
	if done, err := p.enter(t, depth, Array); done {
		return err
	}
	if t.Elem == nil {
		p.change()
		t.Elem = &Type{}
	}
	b := p.b
	p.i = skipWS(b, p.i+1)
	if p.i < len(b) && b[p.i] == ']' {
		p.i++
		return nil
	}
	for {
		if p.i >= len(b) {
			return synErr(p.i, "unexpected end of input in array, want a value")
		}
		if err := p.value(t.Elem, depth+1); err != nil {
			return err
		}
		if end, err := p.afterMember(']', "array"); end || err != nil {
			return err
		}
	}
}

// BenchmarkObserveStrictFormer is BenchmarkObserveStrict with the former
// walk, to compare in one run.
func BenchmarkObserveStrictFormer(b *testing.B) {
	doc := pismoData()
	var ty Type
	if _, _, err := observeStrictAtOracle(&ty, doc, 0, MaxDepth-1); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	defer cputime.Bench(b)()
	for b.Loop() {
		if _, _, err := observeStrictAtOracle(&ty, doc, 0, MaxDepth-1); err != nil {
			b.Fatal(err)
		}
	}
}

// The string scan before skipPlain: the oracle of FuzzScanString.

// stringSpecial flags (in bit 7 of each byte) the bytes of x that a string
// scan must look at: '"', '\\', control characters and non-ASCII bytes. The
// lowest flagged byte is always exact (borrows only propagate upwards).
func stringSpecialOracle(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return (((q - lsb) &^ q) | ((s - lsb) &^ s) | ((x - lsb*0x20) &^ x) | x) & msb
}

// scanString validates a string whose opening quote is at b[i-1] and returns
// the offset just after the closing quote.
func scanStringOracle(b []byte, i int) (int, error) {
	end, _, err := scanStringEscOracle(b, i)
	return end, err
}

// scanStringEsc is scanString that also reports whether the string holds an
// escape (a backslash).
func scanStringEscOracle(b []byte, i int) (end int, esc bool, err error) {
	start := i - 1
	n := len(b)
	for {
		for i+8 <= n {
			if m := stringSpecialOracle(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= n {
			return 0, false, synErr(n, "unexpected end of input in string starting at byte %d", start)
		}
	special:
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= n {
				return 0, false, synErr(n, "unexpected end of input in string escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= n {
						return 0, false, synErr(n, "unexpected end of input in \\u escape")
					}
					if !isHex(b[k]) {
						return 0, false, synErr(k, "invalid hex digit %s in \\u escape", describe(b[k]))
					}
				}
				i += 6
			default:
				return 0, false, synErr(i+1, "invalid escape '\\%c' in string", b[i+1])
			}
		case c < 0x20:
			return 0, false, synErr(i, "control character 0x%02x in string (must be escaped)", c)
		case c >= 0x80:
			size := utf8Seq(b[i:])
			if size == 0 {
				return 0, false, synErr(i, "invalid UTF-8 byte 0x%02x in string", c)
			}
			i += size
		default:
			i++
		}
	}
}

// The members walk before its inline key and string scans: the oracle of
// FuzzMembersOracle.

func membersOracle(b []byte, special string, value func(b []byte, i int) (int, error), fn func(key, value []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) {
		return Validate(b)
	}
	if b[i] != '{' {
		if err := Validate(b); err != nil {
			return err
		}
		return ErrNotObject
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			kStart := i + 1
			vStart, err := validKey(b, i)
			if err != nil {
				return err
			}
			// validKey returns the offset after ':' and whitespace; the key
			// ends at the last quote before the colon.
			kEnd := vStart - 1
			for kEnd > kStart && b[kEnd] != '"' {
				kEnd--
			}
			if vStart >= len(b) {
				return synErr(vStart, "unexpected end of input in object, want a value")
			}
			// The record's own object is one level: values may nest one
			// level less for the record to stay within MaxDepth.
			end := -1
			if value != nil && string(b[kStart:kEnd]) == special {
				if end, err = value(b, vStart); err != nil {
					return err
				}
			}
			if end < 0 {
				if end, err = validValueMax(b, vStart, MaxDepth-1); err != nil {
					return err
				}
			}
			if err := fn(b[kStart:kEnd], b[vStart:end]); err != nil {
				return err
			}
			i = skipWS(b, end)
			if i >= len(b) {
				return synErr(i, "unexpected end of input in object, want ',' or '}'")
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return synErr(i, "unexpected %s in object, want ',' or '}'", describe(b[i]))
			}
			i = skipWS(b, i+1)
		}
	}
	if i = skipWS(b, i); i < len(b) {
		return synErr(i, "unexpected %s after top-level value", describe(b[i]))
	}
	return nil
}
