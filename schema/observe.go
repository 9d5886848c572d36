package schema

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Observe widens t so that the JSON value b conforms to it.
//
// b is assumed to be valid JSON (Validate first): Observe checks the syntax
// of what it walks and returns a *SyntaxError when it notices a problem, but
// it does not promise to notice every one (it does not check the UTF-8 of
// strings, for instance), and t may have been partly widened by then. It
// never panics.
//
// Widening rules: Unknown+X = X; Int+Float = Float; Timestamp+String =
// String; Object+Object = union of fields (each widened); Array+Array = element
// widened; null never changes a type (columns are nullable); any other mix =
// JSON, which absorbs everything after. An object with more than MaxFields
// distinct keys, or a container nested deeper than MaxTypeDepth, becomes
// JSON at that level. Keys that cannot be struct entries (empty, containing
// NUL, or equal ignoring case to an earlier key of the same object) are not
// added as fields.
//
// Once the type has stabilised Observe does not allocate: fields are matched
// in their previous order first, then by index.
func (t *Type) Observe(b []byte) error {
	if t == nil {
		return errors.New("schema: Observe on a nil *Type")
	}
	p := parser{b: b}
	p.i = skipWS(b, 0)
	if p.i >= len(b) {
		return synErr(p.i, "unexpected end of input, want a JSON value")
	}
	if err := p.value(t, 1); err != nil {
		return err
	}
	if p.i = skipWS(b, p.i); p.i < len(b) {
		return synErr(p.i, "unexpected %s after top-level value", describe(b[p.i]))
	}
	return nil
}

type parser struct {
	b       []byte
	i       int
	scratch [64]byte // decoded escaped keys; longer ones allocate
}

// value observes the value at p.b[p.i] (not whitespace, in range) into t.
// depth is the nesting depth the value would have if it is a container.
// Recursion is bounded by MaxTypeDepth: anything deeper is typed JSON and
// skipped by the iterative validator.
func (p *parser) value(t *Type, depth int) error {
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
		if end, esc, err = stringEnd(b, start); err != nil {
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
				t.Kind = k
			}
		default:
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
func (p *parser) skip(depth int) error {
	end, err := validValueMax(p.b, p.i, MaxDepth)
	if err != nil {
		return err
	}
	p.i = end
	return nil
}

// enter starts observing a container of kind at depth into t. done means
// the container was already stepped over (validated, not typed): it nests
// deeper than MaxTypeDepth, or t holds another kind and becomes JSON.
func (p *parser) enter(t *Type, depth int, kind Kind) (done bool, err error) {
	switch {
	case depth > MaxTypeDepth || (t.Kind != Unknown && t.Kind != kind):
		if t.Kind != JSON {
			t.setJSON()
		}
		return true, p.skip(depth)
	case t.Kind == Unknown:
		t.Kind = kind
	}
	return false, nil
}

func (p *parser) object(t *Type, depth int) error {
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
		if ke, esc, err = stringEnd(b, ks); err != nil {
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
		i, err := colon(b, ke+1)
		if err != nil {
			return err
		}
		p.i = skipWS(b, i)
		if p.i >= len(b) {
			return synErr(p.i, "unexpected end of input in object, want a value")
		}
		if f == nil {
			err = p.skip(depth + 1)
		} else {
			if f.Type == nil {
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
func (p *parser) afterMember(closer byte, in string) (end bool, err error) {
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

func (p *parser) array(t *Type, depth int) error {
	if done, err := p.enter(t, depth, Array); done {
		return err
	}
	if t.Elem == nil {
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

// quoteOrBackslash flags '"' and '\\' bytes of x (bit 7 of each byte); the
// lowest flag is exact.
func quoteOrBackslash(x uint64) uint64 {
	q := x ^ (lsb * '"')
	s := x ^ (lsb * '\\')
	return (((q - lsb) &^ q) | ((s - lsb) &^ s)) & msb
}

// stringEnd finds the closing quote of the string whose content starts at
// b[i]. It reports whether the string contains escapes. Unlike scanString it
// does not validate the content.
func stringEnd(b []byte, i int) (end int, escaped bool, err error) {
	n := len(b)
	for {
		for i+8 <= n {
			if m := quoteOrBackslash(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < n && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= n {
			return 0, false, synErr(n, "unexpected end of input in string")
		}
	found:
		if b[i] == '"' {
			return i, escaped, nil
		}
		escaped = true
		i += 2 // a backslash and the escaped byte; \uXXXX digits are plain bytes
	}
}

// unescape appends the decoded string content s (escapes included) to dst.
// Invalid surrogates decode to U+FFFD, as in encoding/json. off is the
// offset of s in the input, for errors.
func unescape(dst, s []byte, off int) ([]byte, error) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, synErr(off+i, "unterminated escape in string")
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return nil, synErr(off+i, "invalid \\u escape in string")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok = hex4(s, i+2)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return nil, synErr(off+i+1, "invalid escape '\\%c' in string", e)
		}
		i += 2
	}
	return dst, nil
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// isInt64 reports whether the number literal s (valid syntax) is an integer
// that fits int64: no fraction or exponent, at most 19 digits, and at most
// 9223372036854775807 (…808 when negative).
func isInt64(s []byte) bool {
	neg := len(s) > 0 && s[0] == '-'
	d := s
	if neg {
		d = s[1:]
	}
	if len(d) == 0 || len(d) > 19 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	if len(d) < 19 {
		return true
	}
	limit := "9223372036854775807"
	if neg {
		limit = "9223372036854775808"
	}
	return string(d) <= limit
}

// isTimestamp reports whether s is an ISO-8601 / RFC 3339 date-time with an
// explicit zone, in the forms DuckDB casts to TIMESTAMPTZ:
//
//	YYYY-MM-DD('T'|' ')hh:mm:ss[.f{1,9}](Z|±hh|±hhmm|±hh:mm)
//
// Every field is range-checked (minute 69 or February 30 is a plain
// string); years are 0001–9999, zone offsets at most 18 hours. Zone-less and
// date-only strings are not timestamps: their meaning depends on the reader.
func isTimestamp(s []byte) bool {
	if len(s) < 20 || len(s) > 35 {
		return false
	}
	if s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return false
	}
	year, ok1 := num(s, 0, 4)
	month, ok2 := num(s, 5, 2)
	day, ok3 := num(s, 8, 2)
	hour, ok4 := num(s, 11, 2)
	minute, ok5 := num(s, 14, 2)
	sec, ok6 := num(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return false
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return false
	}
	i := 19
	if s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j || i-j > 9 || i >= len(s) {
			return false
		}
	}
	switch s[i] {
	case 'Z':
		return i+1 == len(s)
	case '+', '-':
		oh, ok := num(s, i+1, 2)
		if !ok || oh > 18 {
			return false
		}
		i += 3
		if i == len(s) {
			return true
		}
		if s[i] == ':' {
			i++
		}
		om, ok := num(s, i, 2)
		return ok && om <= 59 && i+2 == len(s)
	}
	return false
}

// num parses n decimal digits at s[i:].
func num(s []byte, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range s[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
