package shell

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/eventlake/eventlake/internal/jsonstr"
)

// Values are scanned generically (database/sql style `any`) and rendered here. Text renderings (table, csv,
// line) follow the duckdb CLI: DOUBLE like DuckDB's VARCHAR cast (1.0, 1e+20), DECIMAL with its full scale,
// TIMESTAMPTZ as "2024-01-02 03:04:05.12+00", nested values as {'a': 1, 'b': [x, y]} and {k=v}. JSON
// renderings use JSON types where they exist (numbers, booleans, null, objects, arrays) and DuckDB's text
// otherwise (RFC 3339 for timestamps).

// jsonType marks values that duckdb-go decoded from a JSON column: they are JSON already (objects keep Go's
// sorted key order, numbers are float64).
var jsonType = &typeInfo{name: "JSON"}

// rawJSONType is the type of a JSON column fetched as its text (see rawJSONQuery): the values are strings
// holding JSON documents.
var rawJSONType = &typeInfo{name: "JSON", raw: true}

// fromJSON reports whether a value typed t came out of a JSON document. duckdb-go decodes JSON values nested
// in a STRUCT or LIST too, but names their type VARCHAR, so a non-string value under VARCHAR is JSON.
func fromJSON(t *typeInfo) bool {
	return t.is("JSON", "VARCHAR")
}

// textValue is the text of a top-level value for the table, csv and line formats; ok is false for NULL.
func textValue(v any, t *typeInfo) (s string, ok bool) {
	if v == nil {
		return "", false
	}
	if t.is("JSON") {
		if s, ok := v.(string); ok && t.raw {
			return s, true
		}
		return string(appendJSON(nil, v, jsonType)), true
	}
	if s, ok := v.(string); ok {
		return s, true
	}
	var b strings.Builder
	writeText(&b, v, t, false)
	return b.String(), true
}

// writeText writes the text of a value; nested is true inside a STRUCT, LIST or MAP, where strings are quoted
// when needed and NULL is spelled out.
func writeText(b *strings.Builder, v any, t *typeInfo, nested bool) {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case string:
		if nested {
			b.WriteString(quoteNested(x))
		} else {
			b.WriteString(x)
		}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int8:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int16:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case uint8:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint16:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float32:
		b.WriteString(formatFloat(float64(x), 32))
	case float64:
		if fromJSON(t) {
			b.Write(appendJSON(nil, x, jsonType))
		} else {
			b.WriteString(formatFloat(x, 64))
		}
	case *big.Int:
		b.WriteString(x.String())
	case duckdb.Decimal:
		b.WriteString(decimalText(x))
	case time.Time:
		b.WriteString(timeText(x, t))
	case duckdb.Interval:
		b.WriteString(intervalText(x))
	case []byte:
		b.WriteString(bytesText(x, t))
	case duckdb.UUID:
		b.WriteString(uuidText(x[:]))
	case *duckdb.UUID:
		if x == nil {
			b.WriteString("NULL")
		} else {
			b.WriteString(uuidText(x[:]))
		}
	case map[string]any:
		if !t.is("STRUCT") {
			b.Write(appendJSON(nil, x, jsonType))
			return
		}
		b.WriteByte('{')
		for i, k := range structKeys(x, t) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteSingle(k))
			b.WriteString(": ")
			writeText(b, x[k], t.field(k), true)
		}
		b.WriteByte('}')
	case []any:
		if !t.is("LIST", "ARRAY") {
			b.Write(appendJSON(nil, x, jsonType))
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeText(b, e, t.elemType(), true)
		}
		b.WriteByte(']')
	case duckdb.OrderedMap:
		keys, vals := x.Keys(), x.Values()
		writeMapText(b, keys, vals, t)
	case duckdb.Map:
		keys, vals := sortedMap(x, t)
		writeMapText(b, keys, vals, t)
	case duckdb.Union:
		writeText(b, x.Value, t.field(x.Tag), nested)
	case fmt.Stringer:
		b.WriteString(x.String())
	default:
		if fromJSON(t) {
			b.Write(appendJSON(nil, x, jsonType))
			return
		}
		fmt.Fprint(b, x)
	}
}

func writeMapText(b *strings.Builder, keys, vals []any, t *typeInfo) {
	kt, vt := unknownType, unknownType
	if t.is("MAP") {
		kt, vt = t.key, t.value
	}
	b.WriteByte('{')
	for i := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writeText(b, keys[i], kt, true)
		b.WriteByte('=')
		writeText(b, vals[i], vt, true)
	}
	b.WriteByte('}')
}

// sortedMap orders a duckdb.Map (a Go map, so unordered) by the text of its keys for deterministic output.
func sortedMap(m duckdb.Map, t *typeInfo) (keys, vals []any) {
	kt := unknownType
	if t.is("MAP") {
		kt = t.key
	}
	type kv struct {
		text string
		k, v any
	}
	entries := make([]kv, 0, len(m))
	for k, v := range m {
		var b strings.Builder
		writeText(&b, k, kt, false)
		entries = append(entries, kv{b.String(), k, v})
	}
	slices.SortFunc(entries, func(a, b kv) int { return strings.Compare(a.text, b.text) })
	for _, e := range entries {
		keys = append(keys, e.k)
		vals = append(vals, e.v)
	}
	return keys, vals
}

// structKeys returns the keys of a scanned STRUCT in declaration order (Go maps have none); keys the type does
// not list (which should not happen) follow in sorted order.
func structKeys(m map[string]any, t *typeInfo) []string {
	keys := make([]string, 0, len(m))
	seen := make(map[string]bool, len(m))
	for _, f := range t.fields {
		if _, ok := m[f.name]; ok && !seen[f.name] {
			keys = append(keys, f.name)
			seen[f.name] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(keys, rest...)
}

// quoteNested quotes a string inside a nested value the way DuckDB does when the bare text would be
// ambiguous: empty, "NULL", surrounding spaces, or characters that delimit nested values.
func quoteNested(s string) string {
	need := s == "" || strings.EqualFold(s, "null") || strings.TrimSpace(s) != s ||
		strings.ContainsAny(s, `'"[]{},:=`)
	if !need {
		return s
	}
	return quoteSingle(s)
}

// quoteSingle wraps s in single quotes, escaping ' and \ with a backslash (DuckDB's nested-value style).
func quoteSingle(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// formatFloat renders a float like DuckDB's cast to VARCHAR (the shortest round-trip digits, positional
// notation for exponents -4…15 with at least one decimal, scientific notation otherwise).
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, bits)
	mant, expText, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expText)
	if exp >= -4 && exp < 16 {
		r := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(r, ".") {
			r += ".0"
		}
		return r
	}
	sign := "+"
	if exp < 0 {
		sign, exp = "-", -exp
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, exp)
}

// decimalText renders a DECIMAL with exactly its scale's digits after the point (duckdb-go's own String drops
// trailing zeros, DuckDB does not).
func decimalText(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	digits := new(big.Int).Abs(d.Value).String()
	if scale := int(d.Scale); scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if d.Value.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

// bytesText renders a BLOB like DuckDB (printable ASCII as is, other bytes as \xHH) and a UUID canonically.
func bytesText(p []byte, t *typeInfo) string {
	if t.is("UUID") && len(p) == 16 {
		return uuidText(p)
	}
	var b strings.Builder
	for _, c := range p {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02X`, c)
		}
	}
	return b.String()
}

func uuidText(p []byte) string {
	h := hex.EncodeToString(p)
	if len(h) != 32 {
		return h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Infinity sentinels: DuckDB stores ±infinity as the extreme values of the physical type, and duckdb-go turns
// them into (very distant) time.Time values.
const (
	dateInfinityDays = math.MaxInt32
	tsInfinity       = math.MaxInt64
)

// infinity returns "infinity" or "-infinity" for DuckDB's infinite DATE and TIMESTAMP values.
func infinity(x time.Time, t *typeInfo) string {
	switch {
	case t.is("DATE"):
		days := x.Unix() / 86400
		if x.Unix() < 0 && x.Unix()%86400 != 0 {
			days--
		}
		switch days {
		case dateInfinityDays:
			return "infinity"
		case -dateInfinityDays:
			return "-infinity"
		}
	case t.is("TIMESTAMP", "TIMESTAMPTZ"):
		switch x.UnixMicro() {
		case tsInfinity:
			return "infinity"
		case -tsInfinity:
			return "-infinity"
		}
	case t.is("TIMESTAMP_NS"):
		switch x.UnixNano() {
		case tsInfinity:
			return "infinity"
		case -tsInfinity:
			return "-infinity"
		}
	}
	return ""
}

// dateText renders a date, with DuckDB's " (BC)" suffix for years before 1 in text mode and astronomical
// (ISO 8601) year numbering in JSON.
func dateText(x time.Time, iso bool) string {
	y, m, d := x.Date()
	if iso {
		if y < 0 {
			return fmt.Sprintf("-%04d-%02d-%02d", -y, m, d)
		}
		return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	}
	if y <= 0 {
		return fmt.Sprintf("%04d-%02d-%02d (BC)", 1-y, m, d)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// clockText renders hh:mm:ss with the fraction of a second without trailing zeros.
func clockText(x time.Time) string {
	s := fmt.Sprintf("%02d:%02d:%02d", x.Hour(), x.Minute(), x.Second())
	if ns := x.Nanosecond(); ns != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	}
	return s
}

// offsetText renders a UTC offset as DuckDB does: +00, +02:30, -05.
func offsetText(x time.Time, colon bool) string {
	_, off := x.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	s := fmt.Sprintf("%c%02d", sign, off/3600)
	if m, sec := off%3600/60, off%60; m != 0 || sec != 0 || colon {
		s += fmt.Sprintf(":%02d", m)
		if sec != 0 {
			s += fmt.Sprintf(":%02d", sec)
		}
	}
	return s
}

// timeText renders a DATE / TIME / TIMESTAMP value as DuckDB's cast to VARCHAR does (in UTC: duckdb-go returns
// TIMESTAMPTZ as a UTC instant).
func timeText(x time.Time, t *typeInfo) string {
	if inf := infinity(x, t); inf != "" {
		return inf
	}
	switch {
	case t.is("DATE"):
		return dateText(x, false)
	case t.is("TIME"):
		return clockText(x)
	case t.is("TIMETZ"):
		return clockText(x) + offsetText(x, false)
	case t.is("TIMESTAMPTZ"):
		return timestampText(x) + offsetText(x, false)
	case t.is("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"):
		return timestampText(x)
	}
	return timestampText(x) + offsetText(x, false)
}

func timestampText(x time.Time) string {
	y := x.Year()
	clock := clockText(x)
	if y <= 0 {
		return fmt.Sprintf("%04d-%02d-%02d %s (BC)", 1-y, x.Month(), x.Day(), clock)
	}
	return dateText(x, false) + " " + clock
}

// timeJSON renders a DATE / TIME / TIMESTAMP for JSON: timestamps in RFC 3339 (UTC as Z), dates as
// YYYY-MM-DD, times as hh:mm:ss[.f][offset].
func timeJSON(x time.Time, t *typeInfo) string {
	if inf := infinity(x, t); inf != "" {
		return inf
	}
	switch {
	case t.is("DATE"):
		return dateText(x, true)
	case t.is("TIME"):
		return clockText(x)
	case t.is("TIMETZ"):
		return clockText(x) + offsetText(x, true)
	}
	off := "Z"
	if _, o := x.Zone(); o != 0 {
		off = offsetText(x, true)
	}
	return dateText(x, true) + "T" + clockText(x) + off
}

// intervalText renders an INTERVAL as DuckDB does: "1 year 2 months 3 days 04:05:06.5", "-1 day -02:00:00".
func intervalText(iv duckdb.Interval) string {
	var parts []string
	unit := func(n int64, name string) {
		if n == 0 {
			return
		}
		if n == 1 || n == -1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		} else {
			parts = append(parts, fmt.Sprintf("%d %ss", n, name))
		}
	}
	unit(int64(iv.Months/12), "year")
	unit(int64(iv.Months%12), "month")
	unit(int64(iv.Days), "day")
	if iv.Micros != 0 || len(parts) == 0 {
		m := iv.Micros
		sign := ""
		if m < 0 {
			sign = "-"
			m = -m
		}
		s := fmt.Sprintf("%s%02d:%02d:%02d", sign, m/3_600_000_000, m/60_000_000%60, m/1_000_000%60)
		if frac := m % 1_000_000; frac != 0 {
			s += "." + strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// appendJSON appends the JSON encoding of a value typed t.
func appendJSON(b []byte, v any, t *typeInfo) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float32:
		return appendFloatJSON(b, float64(x), 32, false)
	case float64:
		return appendFloatJSON(b, x, 64, fromJSON(t))
	case *big.Int:
		return x.Append(b, 10)
	case duckdb.Decimal:
		return append(b, decimalText(x)...)
	case string:
		if t.raw {
			// Embed the document as is, compacted to keep one row per line; text that is not valid JSON
			// (possible in Parquet files written elsewhere) becomes a string.
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(x)); err == nil {
				return append(b, buf.Bytes()...)
			}
		}
		return jsonstr.Append(b, x)
	case time.Time:
		return jsonstr.Append(b, timeJSON(x, t))
	case duckdb.Interval:
		return jsonstr.Append(b, intervalText(x))
	case []byte:
		return jsonstr.Append(b, bytesText(x, t))
	case duckdb.UUID:
		return jsonstr.Append(b, uuidText(x[:]))
	case *duckdb.UUID:
		if x == nil {
			return append(b, "null"...)
		}
		return jsonstr.Append(b, uuidText(x[:]))
	case map[string]any:
		var keys []string
		if t.is("STRUCT") {
			keys = structKeys(x, t)
		} else {
			keys = make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
		}
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, k)
			b = append(b, ':')
			ft := jsonType
			if t.is("STRUCT") {
				ft = t.field(k)
			}
			b = appendJSON(b, x[k], ft)
		}
		return append(b, '}')
	case []any:
		et := jsonType
		if t.is("LIST", "ARRAY") {
			et = t.elemType()
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e, et)
		}
		return append(b, ']')
	case duckdb.OrderedMap:
		return appendMapJSON(b, x.Keys(), x.Values(), t)
	case duckdb.Map:
		keys, vals := sortedMap(x, t)
		return appendMapJSON(b, keys, vals, t)
	case duckdb.Union:
		return appendJSON(b, x.Value, t.field(x.Tag))
	case fmt.Stringer:
		return jsonstr.Append(b, x.String())
	default:
		if enc, err := json.Marshal(x); err == nil {
			return append(b, enc...)
		}
		return jsonstr.Append(b, fmt.Sprint(x))
	}
}

// appendMapJSON encodes a MAP as a JSON object; keys become their text rendering.
func appendMapJSON(b []byte, keys, vals []any, t *typeInfo) []byte {
	kt, vt := unknownType, unknownType
	if t.is("MAP") {
		kt, vt = t.key, t.value
	}
	b = append(b, '{')
	for i := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var kb strings.Builder
		writeText(&kb, keys[i], kt, false)
		b = jsonstr.Append(b, kb.String())
		b = append(b, ':')
		b = appendJSON(b, vals[i], vt)
	}
	return append(b, '}')
}

// appendFloatJSON encodes a float. DOUBLE columns use DuckDB's digits (valid JSON numbers); values decoded from
// JSON documents keep encoding/json's style. NaN and ±Inf have no JSON number and become strings.
func appendFloatJSON(b []byte, f float64, bits int, jsonStyle bool) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return jsonstr.Append(b, formatFloat(f, bits))
	}
	if jsonStyle {
		enc, err := json.Marshal(f)
		if err == nil {
			return append(b, enc...)
		}
	}
	return append(b, formatFloat(f, bits)...)
}
