package shell

import (
	"strconv"
	"strings"
)

// typeInfo is a parsed DuckDB type name as reported by duckdb-go's ColumnTypeDatabaseTypeName, e.g.
// `BIGINT`, `DECIMAL(10,2)`, `VARCHAR[]`, `INTEGER[3]`, `STRUCT("a" INTEGER, "b" VARCHAR[])`,
// `MAP(VARCHAR, BIGINT)`, `UNION("num" INTEGER)`, `JSON`.
//
// The rendering needs it because a scanned value alone is ambiguous: []byte is a BLOB, a UUID or a GEOMETRY,
// time.Time is a DATE, a TIME or a TIMESTAMP, and map[string]any is a STRUCT (whose field order only the type
// knows) or a JSON object.
type typeInfo struct {
	name   string      // upper-case base name: INTEGER, VARCHAR, DECIMAL, LIST, ARRAY, STRUCT, MAP, UNION, JSON, …
	width  int         // DECIMAL width
	scale  int         // DECIMAL scale
	size   int         // ARRAY size
	elem   *typeInfo   // LIST and ARRAY element
	key    *typeInfo   // MAP key
	value  *typeInfo   // MAP value
	fields []typeField // STRUCT fields and UNION members, in declaration order
	raw    bool        // JSON fetched as text rather than decoded by the driver
}

type typeField struct {
	name string
	typ  *typeInfo
}

var unknownType = &typeInfo{name: "UNKNOWN"}

// parseType parses a duckdb-go type name. It never fails: what it does not understand becomes a type with that
// name and no structure, which renders values generically.
func parseType(s string) *typeInfo {
	p := &typeParser{s: s}
	t := p.parse()
	if t == nil {
		return &typeInfo{name: strings.ToUpper(strings.TrimSpace(s))}
	}
	return t
}

type typeParser struct {
	s   string
	pos int
}

func (p *typeParser) skipSpace() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *typeParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// ident reads a bare word (letters, digits, '_').
func (p *typeParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) && isIdentByte(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// fieldName reads a struct field name: "quoted" (with "" escapes) or bare.
func (p *typeParser) fieldName() (string, bool) {
	p.skipSpace()
	if p.peek() != '"' {
		n := p.ident()
		return n, n != ""
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		if c == '"' {
			if p.peek() == '"' {
				b.WriteByte('"')
				p.pos++
				continue
			}
			return b.String(), true
		}
		b.WriteByte(c)
	}
	return "", false
}

// parse reads one type and its [] / [N] suffixes; nil on a syntax it does not know.
func (p *typeParser) parse() *typeInfo {
	p.skipSpace()
	name := strings.ToUpper(p.ident())
	if name == "" {
		return nil
	}
	t := &typeInfo{name: name}
	p.skipSpace()
	if p.peek() == '(' {
		p.pos++
		switch name {
		case "STRUCT", "UNION":
			for {
				fname, ok := p.fieldName()
				if !ok {
					return nil
				}
				ft := p.parse()
				if ft == nil {
					return nil
				}
				t.fields = append(t.fields, typeField{name: fname, typ: ft})
				p.skipSpace()
				if p.peek() == ',' {
					p.pos++
					continue
				}
				break
			}
		case "MAP":
			t.key = p.parse()
			p.skipSpace()
			if t.key == nil || p.peek() != ',' {
				return nil
			}
			p.pos++
			t.value = p.parse()
			if t.value == nil {
				return nil
			}
		default: // DECIMAL(w,s) and anything else with numeric parameters
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] != ')' {
				p.pos++
			}
			if name == "DECIMAL" {
				w, s, _ := strings.Cut(p.s[start:p.pos], ",")
				t.width, _ = strconv.Atoi(strings.TrimSpace(w))
				t.scale, _ = strconv.Atoi(strings.TrimSpace(s))
			}
		}
		p.skipSpace()
		if p.peek() != ')' {
			return nil
		}
		p.pos++
	}
	for {
		p.skipSpace()
		if p.peek() != '[' {
			return t
		}
		p.pos++
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] != ']' {
			p.pos++
		}
		if p.pos >= len(p.s) {
			return nil
		}
		digits := p.s[start:p.pos]
		p.pos++
		if digits == "" {
			t = &typeInfo{name: "LIST", elem: t}
		} else {
			n, err := strconv.Atoi(digits)
			if err != nil {
				return nil
			}
			t = &typeInfo{name: "ARRAY", elem: t, size: n}
		}
	}
}

// field returns the type of a STRUCT field or UNION member by name.
func (t *typeInfo) field(name string) *typeInfo {
	if t != nil {
		for _, f := range t.fields {
			if f.name == name {
				return f.typ
			}
		}
	}
	return unknownType
}

func (t *typeInfo) elemType() *typeInfo {
	if t != nil && t.elem != nil {
		return t.elem
	}
	return unknownType
}

func (t *typeInfo) is(names ...string) bool {
	if t == nil {
		return false
	}
	for _, n := range names {
		if t.name == n {
			return true
		}
	}
	return false
}

// numeric reports whether values of the type are numbers (right-aligned in table mode).
func (t *typeInfo) numeric() bool {
	return t.is("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
		"UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "BIGNUM")
}

// shortNames are the duckdb CLI's names for the type row under the table header.
var shortNames = map[string]string{
	"TINYINT": "int8", "SMALLINT": "int16", "INTEGER": "int32", "BIGINT": "int64", "HUGEINT": "int128",
	"UTINYINT": "uint8", "USMALLINT": "uint16", "UINTEGER": "uint32", "UBIGINT": "uint64", "UHUGEINT": "uint128",
	"TIMESTAMPTZ": "timestamp with time zone", "TIMETZ": "time with time zone",
	"TIMESTAMP_S": "timestamp_s", "TIMESTAMP_MS": "timestamp_ms", "TIMESTAMP_NS": "timestamp_ns",
}

// display renders the type the way the duckdb CLI shows it under a column name (lower case, int64, …).
func (t *typeInfo) display() string {
	var b strings.Builder
	t.writeDisplay(&b)
	return b.String()
}

func (t *typeInfo) writeDisplay(b *strings.Builder) {
	switch t.name {
	case "LIST":
		t.elemType().writeDisplay(b)
		b.WriteString("[]")
	case "ARRAY":
		t.elemType().writeDisplay(b)
		b.WriteString("[" + strconv.Itoa(t.size) + "]")
	case "STRUCT", "UNION":
		b.WriteString(strings.ToLower(t.name) + "(")
		for i, f := range t.fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdentIfNeeded(f.name) + " ")
			f.typ.writeDisplay(b)
		}
		b.WriteString(")")
	case "MAP":
		b.WriteString("map(")
		t.key.writeDisplay(b)
		b.WriteString(", ")
		t.value.writeDisplay(b)
		b.WriteString(")")
	case "DECIMAL":
		b.WriteString("decimal(" + strconv.Itoa(t.width) + "," + strconv.Itoa(t.scale) + ")")
	default:
		if s, ok := shortNames[t.name]; ok {
			b.WriteString(s)
		} else {
			b.WriteString(strings.ToLower(t.name))
		}
	}
}

// quoteIdentIfNeeded double-quotes an identifier unless it is a plain lower-case name that is not a keyword
// DuckDB reserves (order, offset, authorization, …): what the shell prints can be pasted into a query.
func quoteIdentIfNeeded(s string) string {
	plain := s != "" && !(s[0] >= '0' && s[0] <= '9') && !isKeyword(s)
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c == '_' || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
