package schema

import (
	"encoding/binary"
	"unicode/utf8"
)

// ObserveStrictAt validates the JSON value starting at b[i] (not whitespace)
// exactly as the validator checks a value that may nest maxDepth levels, and
// widens t by it in the same walk: one pass instead of Validate then
// Observe. It returns the value's end. When t changed, undo is a copy of t
// from before (else nil), to restore with *t = *undo if the record holding
// the value is rejected later. When the value is invalid it returns the first
// problem found (its text may differ from the validator's: callers that
// report it validate again) and leaves t exactly as it was.
//
// Once the type has stabilised, a key equal to the field expected next (the
// order of the previous object) is matched by comparing its bytes with the
// field's name, without scanning it: a name free of quotes, backslashes and
// control bytes, and valid UTF-8, can only be followed by the closing quote
// if the key is exactly that name.
func (t *Type) ObserveStrictAt(b []byte, i, maxDepth int) (end int, undo *Type, err error) {
	if i >= len(b) {
		return 0, nil, synErr(len(b), "unexpected end of input, want a value")
	}
	w := strictWalker{b: b, maxDepth: maxDepth, root: t}
	if end, err = w.value(t, i, 1); err != nil {
		if w.backup != nil {
			*t = *w.backup
		}
		return 0, nil, err
	}
	return end, w.backup, nil
}

// strictWalker is ObserveStrictAt's state. Offsets are passed and returned
// rather than kept in the struct, so that they stay in registers.
type strictWalker struct {
	b        []byte
	maxDepth int
	root     *Type
	backup   *Type    // root from before its first change
	scratch  [64]byte // decoded escaped keys; longer ones allocate
}

// change is called before every change to a type: the first one saves a
// copy of the root to restore if the value turns out invalid.
func (w *strictWalker) change() {
	if w.backup == nil {
		w.backup = w.root.Clone()
	}
}

// value validates and observes the value at b[i] (not whitespace, in range)
// into t and returns its end. depth is the nesting depth the value would
// have if it is a container. Recursion is bounded by MaxTypeDepth: anything
// deeper is typed JSON and stepped over by the iterative validator.
func (w *strictWalker) value(t *Type, i, depth int) (int, error) {
	b := w.b
	switch c := b[i]; c {
	case '"':
		end := skipPlain(b, i+1)
		if end < len(b) && b[end] == '"' {
			end++
		} else {
			var err error
			if end, _, err = scanStringFrom(b, i, end); err != nil {
				return 0, err
			}
		}
		switch t.Kind {
		case String, JSON:
		case Unknown, Timestamp:
			// A string with escapes is never a timestamp (isTimestamp
			// refuses backslashes).
			k := String
			if isTimestamp(b[i+1 : end-1]) {
				k = Timestamp
			}
			if t.Kind != k {
				w.change()
				t.Kind = k
			}
		default:
			w.change()
			t.setJSON()
		}
		return end, nil
	case '{':
		return w.object(t, i, depth)
	case '[':
		return w.array(t, i, depth)
	case 't', 'f', 'n':
		var end int
		var err error
		switch c {
		case 't':
			if i+4 <= len(b) && binary.LittleEndian.Uint32(b[i:]) == wordTrue {
				end = i + 4
			} else {
				end, err = scanLiteral(b, i, "true")
			}
		case 'f':
			if i+5 <= len(b) && binary.LittleEndian.Uint32(b[i+1:]) == wordAlse {
				end = i + 5
			} else {
				end, err = scanLiteral(b, i, "false")
			}
		default:
			return scanNull(b, i) // null never changes a type
		}
		if err != nil {
			return 0, err
		}
		if k := widenKind(t.Kind, Bool); k != t.Kind {
			w.change()
			if k == JSON {
				t.setJSON()
			} else {
				t.Kind = k
			}
		}
		return end, nil
	default:
		if c != '-' && (c < '0' || c > '9') {
			return 0, synErr(i, "unexpected %s, want a JSON value", describe(c))
		}
		end, isInt, err := scanNumberInt(b, i)
		if err != nil {
			return 0, err
		}
		if t.Kind == Float || t.Kind == JSON || (t.Kind == Int && isInt) {
			return end, nil
		}
		k := Float
		if isInt {
			k = Int
		}
		if k = widenKind(t.Kind, k); k != t.Kind {
			w.change()
			if k == JSON {
				t.setJSON()
			} else {
				t.Kind = k
			}
		}
		return end, nil
	}
}

// The literals' bytes as little-endian words.
const (
	wordTrue = uint32('t') | uint32('r')<<8 | uint32('u')<<16 | uint32('e')<<24
	wordAlse = uint32('a') | uint32('l')<<8 | uint32('s')<<16 | uint32('e')<<24
	wordNull = uint32('n') | uint32('u')<<8 | uint32('l')<<16 | uint32('l')<<24
)

// scanNull is scanLiteral(b, i, "null").
func scanNull(b []byte, i int) (int, error) {
	if i+4 <= len(b) && binary.LittleEndian.Uint32(b[i:]) == wordNull {
		return i + 4, nil
	}
	return scanLiteral(b, i, "null")
}

// skip validates and steps over the value at b[i] without typing it. depth
// is the nesting level the value would have if it is a container.
func (w *strictWalker) skip(i, depth int) (int, error) {
	maxDepth := w.maxDepth - depth + 1
	if maxDepth < 1 {
		// Only a container nests: a scalar is fine at any depth.
		if c := w.b[i]; c == '{' || c == '[' {
			return 0, synErr(i, "nesting deeper than %d", MaxDepth)
		}
		maxDepth = 1
	}
	return validValueMax(w.b, i, maxDepth)
}

// enter starts observing a container of kind at b[i], at depth, into t.
// done means the container was already stepped over (validated, not
// typed), ending at end: it nests deeper than MaxTypeDepth, or t holds
// another kind and becomes JSON.
func (w *strictWalker) enter(t *Type, i, depth int, kind Kind) (done bool, end int, err error) {
	switch {
	case depth > w.maxDepth:
		return true, 0, synErr(i, "nesting deeper than %d", MaxDepth)
	case depth > MaxTypeDepth || (t.Kind != Unknown && t.Kind != kind):
		if t.Kind != JSON {
			w.change()
			t.setJSON()
		}
		end, err = w.skip(i, depth)
		return true, end, err
	case t.Kind == Unknown:
		w.change()
		t.Kind = kind
	}
	return false, 0, nil
}

// keyWords matches a field's name against a raw key: the first 16 bytes of
// the name and its closing quote as two little-endian words with masks
// (m1 zero when they fit in one word), the rest of a longer name compared
// bytewise.
type keyWords struct {
	w0, w1, m0, m1 uint64
	state          uint8 // 0: not computed, 1: usable, 2: the name cannot be matched raw
	long           bool  // the name and its quote are longer than 16 bytes
}

// plainName reports whether f's name can be matched against a key's raw
// bytes: no quote, backslash or control byte, and valid UTF-8. It computes
// f.key.
func (f *Field) plainName() bool {
	if f.key.state == 0 {
		f.key = keyWords{state: 2}
		ok := utf8.ValidString(f.Name)
		for k := 0; ok && k < len(f.Name); k++ {
			if c := f.Name[k]; c < 0x20 || c == '"' || c == '\\' {
				ok = false
			}
		}
		if ok {
			var q [16]byte
			n := copy(q[:], f.Name)
			if n < len(q) {
				q[n] = '"'
				n++
			}
			kw := keyWords{state: 1, long: len(f.Name)+1 > 16}
			kw.w0 = binary.LittleEndian.Uint64(q[:8])
			kw.w1 = binary.LittleEndian.Uint64(q[8:])
			if n >= 8 {
				kw.m0 = ^uint64(0)
				kw.m1 = ^uint64(0) >> (64 - 8*(n-8)) // n-8 == 0: no second word
				if n == 8 {
					kw.m1 = 0
				}
			} else {
				kw.m0 = ^uint64(0) >> (64 - 8*n)
			}
			f.key = kw
		}
	}
	return f.key.state == 1
}

// keyAt reports whether the key whose content starts at b[ks] is exactly f's
// name, followed by its closing quote (f.plainName() is true).
func (f *Field) keyAt(b []byte, ks int) bool {
	kw := &f.key
	if ks+16 > len(b) {
		e := ks + len(f.Name)
		return e < len(b) && b[e] == '"' && string(b[ks:e]) == f.Name
	}
	if (binary.LittleEndian.Uint64(b[ks:])^kw.w0)&kw.m0 != 0 {
		return false
	}
	if kw.m1 == 0 {
		return true
	}
	if (binary.LittleEndian.Uint64(b[ks+8:])^kw.w1)&kw.m1 != 0 {
		return false
	}
	if !kw.long {
		return true
	}
	e := ks + len(f.Name)
	return e < len(b) && b[e] == '"' && string(b[ks+16:e]) == f.Name[16:]
}

func (w *strictWalker) object(t *Type, i, depth int) (int, error) {
	if done, end, err := w.enter(t, i, depth, Object); done {
		return end, err
	}
	b := w.b
	n := len(b)
	start := i
	i++
	if i < n && isWS[b[i]] {
		i = skipWS(b, i)
	}
	if i < n && b[i] == '}' {
		return i + 1, nil
	}
	next := 0 // the field expected next: objects usually repeat their key order
	for {
		if i >= n {
			return 0, synErr(i, "unexpected end of input in object, want a string key")
		}
		if b[i] != '"' {
			return 0, synErr(i, "unexpected %s in object, want a string key", describe(b[i]))
		}
		ks := i + 1
		var f *Field
		ke := -1
		if next < len(t.Fields) {
			if g := t.Fields[next]; g != nil {
				var match bool
				if kw := &g.key; kw.state == 1 && ks+16 <= n {
					// keyAt's words, inline.
					x0 := binary.LittleEndian.Uint64(b[ks:])
					x1 := binary.LittleEndian.Uint64(b[ks+8:])
					match = (x0^kw.w0)&kw.m0|(x1^kw.w1)&kw.m1 == 0 && (!kw.long || g.keyAt(b, ks))
				} else {
					match = g.plainName() && g.keyAt(b, ks)
				}
				if match {
					f, ke = g, ks+len(g.Name)
					next++
				}
			}
		}
		if ke < 0 {
			var err error
			var done bool
			if f, ke, next, done, err = w.key(t, ks, next); done || err != nil {
				if err == nil {
					// Too many distinct keys: a map, not a record. Re-walk
					// the whole object as JSON.
					return w.skip(start, depth)
				}
				return 0, err
			}
		}
		i = ke + 1
		if i < n && b[i] == ':' {
			i++
		} else {
			var err error
			if i, err = colon(b, i); err != nil {
				return 0, err
			}
		}
		if i < n && isWS[b[i]] {
			i = skipWS(b, i)
		}
		if i >= n {
			return 0, synErr(i, "unexpected end of input in object, want a value")
		}
		var err error
		if f == nil {
			i, err = w.skip(i, depth+1)
		} else {
			ft := f.Type
			if ft == nil {
				w.change()
				ft = &Type{}
				f.Type = ft
			}
			// The members of a stable type, inline: a string of a string
			// column, null, a number of a number column.
			switch c := b[i]; {
			case c == '"' && ft.Kind == String:
				if j := skipPlain(b, i+1); j < n && b[j] == '"' {
					i = j + 1
				} else {
					i, _, err = scanStringFrom(b, i, j)
				}
			case c == '"' && ft.Kind == Timestamp:
				s := i + 1
				if j := skipPlain(b, s); j < n && b[j] == '"' {
					i = j + 1
				} else if i, _, err = scanStringFrom(b, i, j); err != nil {
					break
				}
				if !isTimestamp(b[s : i-1]) {
					w.change()
					ft.Kind = String
				}
			case c == 'n':
				i, err = scanNull(b, i)
			case (c >= '0' && c <= '9' || c == '-') && (ft.Kind == Int || ft.Kind == Float):
				var isInt bool
				if i, isInt, err = scanNumberInt(b, i); err == nil && !isInt && ft.Kind == Int {
					w.change()
					ft.Kind = Float
				}
			default:
				i, err = w.value(ft, i, depth+1)
			}
		}
		if err != nil {
			return 0, err
		}
		if i < n && isWS[b[i]] {
			i = skipWS(b, i)
		}
		if i >= n {
			return 0, synErr(i, "unexpected end of input in object, want ',' or '}'")
		}
		switch b[i] {
		case ',':
			i++
			if i < n && isWS[b[i]] {
				i = skipWS(b, i)
			}
		case '}':
			return i + 1, nil
		default:
			return 0, synErr(i, "unexpected %s in object, want ',' or '}'", describe(b[i]))
		}
	}
}

// key scans the key whose content starts at b[ks] and finds or adds its
// field in t (nil: the key is left out of the type), returning the offset
// of its closing quote and the field expected next. tooMany means t had
// MaxFields fields and became JSON.
func (w *strictWalker) key(t *Type, ks, next int) (f *Field, ke, nextOut int, tooMany bool, err error) {
	b := w.b
	ke, esc, err := scanStringEsc(b, ks)
	if err != nil {
		return nil, 0, 0, false, err
	}
	ke--
	key := b[ks:ke]
	if esc {
		if key, err = unescape(w.scratch[:0], key, ks); err != nil {
			return nil, 0, 0, false, err
		}
	}
	switch {
	case next < len(t.Fields) && t.Fields[next] != nil && t.Fields[next].Name == string(key):
		f = t.Fields[next]
		next++
	default:
		if j := t.findField(key); j >= 0 {
			f = t.Fields[j]
			next = j + 1
		} else if !utf8.Valid(key) {
			// Checked here, off the hot path, so that field names are
			// always valid UTF-8 and encode losslessly.
			return nil, 0, 0, false, synErr(ks, "invalid UTF-8 in object key")
		} else if t.representable(key) {
			w.change()
			if len(t.Fields) >= MaxFields {
				t.setJSON()
				return nil, 0, 0, true, nil
			}
			f = t.addField(string(key))
			next = len(t.Fields)
		}
	}
	return f, ke, next, false, nil
}

func (w *strictWalker) array(t *Type, i, depth int) (int, error) {
	if done, end, err := w.enter(t, i, depth, Array); done {
		return end, err
	}
	if t.Elem == nil {
		w.change()
		t.Elem = &Type{}
	}
	b := w.b
	n := len(b)
	i++
	if i < n && isWS[b[i]] {
		i = skipWS(b, i)
	}
	if i < n && b[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= n {
			return 0, synErr(i, "unexpected end of input in array, want a value")
		}
		var err error
		if i, err = w.value(t.Elem, i, depth+1); err != nil {
			return 0, err
		}
		if i < n && isWS[b[i]] {
			i = skipWS(b, i)
		}
		if i >= n {
			return 0, synErr(i, "unexpected end of input in array, want ',' or ']'")
		}
		switch b[i] {
		case ',':
			i++
			if i < n && isWS[b[i]] {
				i = skipWS(b, i)
			}
		case ']':
			return i + 1, nil
		default:
			return 0, synErr(i, "unexpected %s in array, want ',' or ']'", describe(b[i]))
		}
	}
}

// scanNumberInt is scanNumber that also reports whether the number is an
// integer that fits int64 (isInt64 of its text).
func scanNumberInt(b []byte, i int) (end int, isInt bool, err error) {
	start := i
	n := len(b)
	if b[i] == '-' {
		i++
	}
	if i >= n {
		return 0, false, synErr(n, "unexpected end of input in number, want a digit")
	}
	d := i
	switch c := b[i]; {
	case c == '0':
		i++
		if i < n && b[i] >= '0' && b[i] <= '9' {
			return 0, false, synErr(i, "leading zero in number")
		}
	case c >= '1' && c <= '9':
		i++
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, false, synErr(i, "unexpected %s in number, want a digit", describe(c))
	}
	if i < n && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		if b[i] == '.' {
			i++
			if i >= n || b[i] < '0' || b[i] > '9' {
				return 0, false, numDigitErr(b, i, "after decimal point")
			}
			for i < n && b[i] >= '0' && b[i] <= '9' {
				i++
			}
		}
		if i < n && (b[i] == 'e' || b[i] == 'E') {
			i++
			if i < n && (b[i] == '+' || b[i] == '-') {
				i++
			}
			if i >= n || b[i] < '0' || b[i] > '9' {
				return 0, false, numDigitErr(b, i, "in exponent")
			}
			for i < n && b[i] >= '0' && b[i] <= '9' {
				i++
			}
		}
		return i, false, nil
	}
	switch nd := i - d; {
	case nd < 19:
		return i, true, nil
	case nd > 19:
		return i, false, nil
	}
	return i, isInt64(b[start:i]), nil
}
