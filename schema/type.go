package schema

import (
	"bytes"
	"strconv"
	"strings"
)

// Kind is the kind of an inferred type.
type Kind uint8

// The kinds of the lattice. Widening only ever moves a type up:
// Unknown → Bool | Int | Timestamp | Object | Array, Int → Float,
// Timestamp → String, and any incompatible mix → JSON.
const (
	Unknown   Kind = iota // nothing seen yet, or only nulls
	Bool                  // true / false
	Int                   // integers that fit int64
	Float                 // float64, including integers beyond int64
	Timestamp             // strings that are all ISO-8601 timestamps with a zone offset or Z
	String                // any other string
	Object                // objects with named fields
	Array                 // arrays with one element type
	JSON                  // mixed: incompatible kinds seen, or too wide / too deep to type
)

var kindNames = [...]string{
	Unknown:   "unknown",
	Bool:      "bool",
	Int:       "int",
	Float:     "float",
	Timestamp: "timestamp",
	String:    "string",
	Object:    "object",
	Array:     "array",
	JSON:      "json",
}

// String returns the kind's name as used in the catalog encoding ("int", "object", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

const (
	// MaxFields is the most distinct keys an object type may have; an object
	// with more becomes JSON, so map-like payloads (keys that are ids or
	// dates) do not explode the view into thousands of columns.
	MaxFields = 500
	// MaxTypeDepth is the deepest nesting of objects and arrays that is typed;
	// a container nested deeper (the top-level value is at depth 1) becomes JSON.
	MaxTypeDepth = 32
	// linearFields is the field count up to which lookups scan Fields
	// instead of keeping a map: faster for the small objects events carry.
	linearFields = 16
)

// Type is a node of an inferred type. The zero value is Unknown.
//
// A Type is not safe for concurrent use: each worker observes into its own
// Type and the results are combined with Merge. Fields and Elem should be
// changed only through this package's methods (a field index is derived
// from them); types built by hand work everywhere but may hold names that
// the SQL renderings then skip.
type Type struct {
	Kind   Kind
	Fields []*Field // Object: in order of first appearance
	Elem   *Type    // Array: the element type (nil is treated as Unknown)

	// index maps field names to positions in Fields once there are more than
	// linearFields of them; it is rebuilt whenever its size disagrees with
	// Fields.
	index map[string]int
}

// Field is a named member of an Object type.
type Field struct {
	Name string
	Type *Type

	key keyWords // ObserveStrictAt's matcher of the name's raw key (strict.go)
}

// setJSON turns t into the absorbing JSON kind, dropping its children.
func (t *Type) setJSON() {
	t.Kind = JSON
	t.Fields = nil
	t.Elem = nil
	t.index = nil
}

// widenKind combines two kinds; containers of the same kind combine their
// children separately.
func widenKind(a, b Kind) Kind {
	switch {
	case a == b:
		return a
	case a == Unknown:
		return b
	case b == Unknown:
		return a
	case (a == Int && b == Float) || (a == Float && b == Int):
		return Float
	case (a == Timestamp && b == String) || (a == String && b == Timestamp):
		return String
	}
	return JSON
}

// findField returns the index of the field named key, or -1.
func (t *Type) findField(key []byte) int {
	if len(t.Fields) > linearFields {
		if len(t.index) != len(t.Fields) {
			t.rebuildIndex()
		}
		if j, ok := t.index[string(key)]; ok {
			return j
		}
		return -1
	}
	for j, f := range t.Fields {
		if f != nil && f.Name == string(key) {
			return j
		}
	}
	return -1
}

func (t *Type) rebuildIndex() {
	t.index = make(map[string]int, len(t.Fields))
	for j, f := range t.Fields {
		if f != nil {
			t.index[f.Name] = j
		}
	}
}

// representable reports whether name can become a column / struct entry:
// SQL engines reject empty identifiers, C-string APIs truncate at NUL, and
// DuckDB (like Spark and Hive) compares struct entry names case-insensitively,
// so a name equal, ignoring case, to an existing field would make the type
// invalid. Such keys are left out of the type; their values stay in the raw
// data column.
func (t *Type) representable(name []byte) bool {
	if len(name) == 0 || bytes.IndexByte(name, 0) >= 0 {
		return false
	}
	for _, f := range t.Fields {
		if f != nil && equalFold(f.Name, name) {
			return false
		}
	}
	return true
}

// equalFold is strings.EqualFold(s, string(b)) without allocating for
// ASCII names. Unicode simple folding is a superset of DuckDB's ASCII-only
// case-insensitivity and close to Spark's, so it errs on the safe side.
func equalFold(s string, b []byte) bool {
	ascii := true
	if len(s) == len(b) {
		for i := 0; i < len(s); i++ {
			x, y := s[i], b[i]
			if x >= 0x80 || y >= 0x80 {
				ascii = false
				break
			}
			if x != y && lower(x) != lower(y) {
				return false
			}
		}
		if ascii {
			return true
		}
	}
	if ascii && isASCII(s) && bytes.IndexFunc(b, func(r rune) bool { return r >= 0x80 }) < 0 {
		return false // lengths differ and only Unicode folding could bridge that
	}
	return strings.EqualFold(s, string(b))
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// addField appends a new Unknown field; the caller checked representable and
// MaxFields.
func (t *Type) addField(name string) *Field {
	f := &Field{Name: name, Type: &Type{}}
	t.Fields = append(t.Fields, f)
	if len(t.Fields) > linearFields {
		if len(t.index) != len(t.Fields)-1 {
			t.rebuildIndex()
		} else {
			t.index[name] = len(t.Fields) - 1
		}
	}
	return f
}

// Merge widens t by u with the same rules as Observe. It is used to combine
// per-worker results and the catalog's stored schema. u is not modified and
// t shares no nodes with u afterwards. Fields new to t are appended in u's
// order.
func (t *Type) Merge(u *Type) {
	if t == nil {
		return
	}
	t.merge(u, 1)
}

func (t *Type) merge(u *Type, depth int) {
	if u == nil || u.Kind == Unknown || t.Kind == JSON {
		return
	}
	k := widenKind(t.Kind, u.Kind)
	if k == JSON || ((k == Object || k == Array) && depth > MaxTypeDepth) || depth > MaxDepth {
		t.setJSON()
		return
	}
	t.Kind = k
	switch k {
	case Object:
		for _, uf := range u.Fields {
			if uf == nil {
				continue
			}
			j := t.findField([]byte(uf.Name))
			if j < 0 {
				if !t.representable([]byte(uf.Name)) {
					continue
				}
				if len(t.Fields) >= MaxFields {
					t.setJSON()
					return
				}
				t.addField(uf.Name)
				j = len(t.Fields) - 1
			}
			ft := t.Fields[j].Type
			if ft == nil {
				ft = &Type{}
				t.Fields[j].Type = ft
			}
			ft.merge(uf.Type, depth+1)
		}
	case Array:
		if t.Elem == nil {
			t.Elem = &Type{}
		}
		t.Elem.merge(u.Elem, depth+1)
	}
}

// Clone returns a deep copy of t (nil for nil).
func (t *Type) Clone() *Type {
	if t == nil {
		return nil
	}
	return t.clone(0)
}

func (t *Type) clone(depth int) *Type {
	c := &Type{Kind: t.Kind}
	if depth > MaxDepth {
		// Only a hand-built cyclic or absurdly deep tree gets here.
		c.Kind = JSON
		return c
	}
	if t.Fields != nil {
		c.Fields = make([]*Field, len(t.Fields))
		for j, f := range t.Fields {
			if f == nil {
				continue
			}
			nf := &Field{Name: f.Name}
			if f.Type != nil {
				nf.Type = f.Type.clone(depth + 1)
			}
			c.Fields[j] = nf
		}
	}
	if t.Elem != nil {
		c.Elem = t.Elem.clone(depth + 1)
	}
	return c
}

// Equal reports whether t and u describe the same type: same kind, same
// fields in the same order with equal types, equal element types. A nil
// *Type (and a nil Elem or field type) equals Unknown.
func (t *Type) Equal(u *Type) bool {
	return equal(t, u, 0)
}

func equal(t, u *Type, depth int) bool {
	if t == u {
		return true
	}
	tk, uk := kindOf(t), kindOf(u)
	if tk != uk {
		return false
	}
	if depth > MaxDepth {
		return false
	}
	switch tk {
	case Object:
		if len(t.Fields) != len(u.Fields) {
			return false
		}
		for j, f := range t.Fields {
			g := u.Fields[j]
			if f == nil || g == nil {
				if f != g {
					return false
				}
				continue
			}
			if f.Name != g.Name || !equal(f.Type, g.Type, depth+1) {
				return false
			}
		}
	case Array:
		return equal(t.Elem, u.Elem, depth+1)
	}
	return true
}

func kindOf(t *Type) Kind {
	if t == nil {
		return Unknown
	}
	return t.Kind
}
