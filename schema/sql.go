package schema

import (
	"strings"

	"github.com/eventlake/eventlake/internal/jsonstr"
)

// The SQL renderings below treat nodes the views cannot type as JSON:
// Unknown (never seen, or only nulls), JSON, objects without fields, and any
// container deeper than MaxTypeDepth. They skip fields whose names cannot be
// struct entries (empty, containing NUL, or equal ignoring case to an
// earlier field) — Observe, Merge, UnmarshalJSON and FromJSONSchema never
// produce such fields, so this only matters for hand-built types.

// DuckDB returns the DuckDB SQL type of t: BOOLEAN, BIGINT, DOUBLE,
// TIMESTAMPTZ, VARCHAR, STRUCT("name" T, …) with every field name
// double-quoted (embedded quotes doubled), T[] for arrays, and JSON for the
// JSON kind, for Unknown and for an object without fields.
func (t *Type) DuckDB() string {
	return string(t.appendDuckDB(nil, 1))
}

func (t *Type) appendDuckDB(dst []byte, depth int) []byte {
	switch kindOf(t) {
	case Bool:
		return append(dst, "BOOLEAN"...)
	case Int:
		return append(dst, "BIGINT"...)
	case Float:
		return append(dst, "DOUBLE"...)
	case Timestamp:
		return append(dst, "TIMESTAMPTZ"...)
	case String:
		return append(dst, "VARCHAR"...)
	case Object:
		fields := visibleFields(t, depth)
		if len(fields) == 0 {
			break
		}
		dst = append(dst, "STRUCT("...)
		for j, f := range fields {
			if j > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, '"')
			dst = append(dst, strings.ReplaceAll(f.Name, `"`, `""`)...)
			dst = append(dst, '"', ' ')
			dst = f.Type.appendDuckDB(dst, depth+1)
		}
		return append(dst, ')')
	case Array:
		if depth > MaxTypeDepth {
			break
		}
		dst = t.Elem.appendDuckDB(dst, depth+1)
		return append(dst, "[]"...)
	}
	return append(dst, "JSON"...)
}

// Structure returns the JSON "structure" argument of DuckDB's
// json_transform / from_json for t, e.g.
// {"card_id":"BIGINT","amount":{"value":"DOUBLE"},"tags":["VARCHAR"]}.
// Scalars are JSON strings naming the DuckDB type ("BIGINT"); the JSON kind,
// Unknown and objects without fields are "JSON". The result is always a
// valid JSON document; field names are JSON-escaped.
func (t *Type) Structure() string {
	return string(t.appendStructure(nil, 1))
}

func (t *Type) appendStructure(dst []byte, depth int) []byte {
	switch kindOf(t) {
	case Object:
		fields := visibleFields(t, depth)
		if len(fields) == 0 {
			break
		}
		dst = append(dst, '{')
		for j, f := range fields {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, f.Name)
			dst = append(dst, ':')
			dst = f.Type.appendStructure(dst, depth+1)
		}
		return append(dst, '}')
	case Array:
		if depth > MaxTypeDepth {
			break
		}
		dst = append(dst, '[')
		dst = t.Elem.appendStructure(dst, depth+1)
		return append(dst, ']')
	case Bool, Int, Float, Timestamp, String:
		dst = append(dst, '"')
		dst = t.appendDuckDB(dst, depth)
		return append(dst, '"')
	}
	return append(dst, `"JSON"`...)
}

// Hive returns the Spark / Hive type of t for external engines' DDL:
// boolean, bigint, double, timestamp, string, struct<name:type,…>,
// array<type>; the JSON kind, Unknown and objects without fields are
// string. Field names with characters outside [A-Za-z0-9_] (or starting
// with a digit) are back-quoted, embedded back quotes doubled.
func (t *Type) Hive() string {
	return string(t.appendHive(nil, 1))
}

func (t *Type) appendHive(dst []byte, depth int) []byte {
	switch kindOf(t) {
	case Bool:
		return append(dst, "boolean"...)
	case Int:
		return append(dst, "bigint"...)
	case Float:
		return append(dst, "double"...)
	case Timestamp:
		return append(dst, "timestamp"...)
	case Object:
		fields := visibleFields(t, depth)
		if len(fields) == 0 {
			break
		}
		dst = append(dst, "struct<"...)
		for j, f := range fields {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendHiveName(dst, f.Name)
			dst = append(dst, ':')
			dst = f.Type.appendHive(dst, depth+1)
		}
		return append(dst, '>')
	case Array:
		if depth > MaxTypeDepth {
			break
		}
		dst = append(dst, "array<"...)
		dst = t.Elem.appendHive(dst, depth+1)
		return append(dst, '>')
	}
	return append(dst, "string"...)
}

func appendHiveName(dst []byte, name string) []byte {
	plain := name != "" && !(name[0] >= '0' && name[0] <= '9')
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	}
	if plain {
		return append(dst, name...)
	}
	dst = append(dst, '`')
	dst = append(dst, strings.ReplaceAll(name, "`", "``")...)
	return append(dst, '`')
}

// visibleFields returns the fields of object t that the SQL renderings emit,
// or nil when t is nested too deep to be typed.
func visibleFields(t *Type, depth int) []*Field {
	if depth > MaxTypeDepth {
		return nil
	}
	var seen Type
	out := make([]*Field, 0, len(t.Fields))
	for _, f := range t.Fields {
		if f == nil || !seen.representable([]byte(f.Name)) {
			continue
		}
		seen.Fields = append(seen.Fields, f)
		out = append(out, f)
	}
	return out
}
