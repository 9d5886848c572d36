package schema

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Delimited files (CSV) load into tables of their own. Column types are
// inferred per table at load (integer, decimal, boolean, date, timestamp,
// string), widened across files, stored in the catalog as a TableSchema, and
// applied by the SQL views as casts: the files hold the text as received.

// NormColumn makes column names comparable, case- and punctuation-blind:
// "Order ID", "orderId", "order_id" → "orderid". Keys and order columns of
// delimited tables are matched this way, by the loader and by the SQL views.
func NormColumn(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TableSchema is what the catalog stores for a delimited table: its columns
// with types, and the upsert key and order the views apply.
type TableSchema struct {
	Columns []TableColumn `json:"columns"`
	Key     []string      `json:"key"`
	Order   []string      `json:"order,omitempty"`
	// PartitionColumn is the partition folder name (report_date by default).
	PartitionColumn string `json:"partition_column"`
}

// TableColumn is one column of a TableSchema with its inferred type.
type TableColumn struct {
	Name  string `json:"name"`
	Kind  string `json:"type"` // the DuckDB type the views cast to
	Scale int    `json:"scale,omitempty"`
	kind  colKind
}

// UnmarshalJSON reads a stored column, so that Merge widens from its type.
func (c *TableColumn) UnmarshalJSON(b []byte) error {
	type plain TableColumn
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = TableColumn(p)
	c.kind = colKindOf(c.Kind)
	return nil
}

type colKind int

const (
	kNull colKind = iota
	kBool
	kInt
	kDecimal
	kDate
	kTimestamp
	kTimestampTZ
	kString
)

var kindSQL = map[colKind]string{kNull: "VARCHAR", kBool: "BOOLEAN", kInt: "BIGINT", kDate: "DATE", kTimestamp: "TIMESTAMP", kTimestampTZ: "TIMESTAMPTZ", kString: "VARCHAR"}

// ColumnTypes are the column types of one delimited object, observed value
// by value as it is read.
type ColumnTypes struct {
	cols []TableColumn
}

// NewColumnTypes starts the types of an object with these column names.
func NewColumnTypes(names []string) *ColumnTypes {
	c := &ColumnTypes{}
	for _, n := range names {
		c.cols = append(c.cols, TableColumn{Name: n})
	}
	return c
}

// A leading zero before a digit ("08123", "-012", "007.5") makes a value
// text: such values are identifiers (ZIP codes, SKUs, EAN/UPC barcodes,
// store and account numbers) whose zeros a number type would drop.
//
// The accepted values, as regular expressions (the scanners below accept
// exactly these; table_test.go keeps the expressions to check them):
//
//	integer    ^[+-]?(0|[1-9]\d{0,17})$
//	decimal    ^[+-]?(?:0|[1-9]\d{0,19})\.(\d{1,18})$   (scale: the digits after the point)
//	date       ^\d{4}-\d{2}-\d{2}$
//	timestamp  ^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$
//	with zone  the timestamp followed by ( ?(Z|[+-]\d{2}(:?\d{2})?|UTC))
//
// and the date and time must exist (validDateTime).
func classify(v string) (colKind, int) {
	// Most values neither start nor end with a space: an ASCII byte other
	// than a space or control there is a whole character that is not one.
	if n := len(v); n == 0 || v[0] <= ' ' || v[0] >= utf8.RuneSelf || v[n-1] <= ' ' || v[n-1] >= utf8.RuneSelf {
		v = strings.TrimSpace(v)
	}
	if v == "" {
		return kNull, 0
	}
	switch v[0] | 0x20 {
	case 't', 'f':
		// No other letter folds to t or f, so only these can be true or
		// false. In ASCII, only the letters' cases fold to them; other
		// text may hold a character that folds to one (ſ to s).
		if asciiFold(v, "true") || asciiFold(v, "false") {
			return kBool, 0
		}
		if isASCII(v) {
			return kString, 0
		}
		if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
			return kBool, 0
		}
		return kString, 0
	}
	if k, s, ok := scanCSVNumber(v); ok {
		return k, s
	}
	if k, ok := scanDateTime(v); ok {
		return k, 0
	}
	return kString, 0
}

// asciiFold reports whether v is lower (ASCII letters) in any case.
func asciiFold(v, lower string) bool {
	if len(v) != len(lower) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c != lower[i] && c|0x20 != lower[i] {
			return false
		}
	}
	return true
}

func isDigitByte(c byte) bool { return c-'0' < 10 }

// scanCSVNumber reports whether v is an integer or a decimal (and its scale).
func scanCSVNumber(v string) (colKind, int, bool) {
	i := 0
	if v[0] == '+' || v[0] == '-' {
		i = 1
	}
	// The integer part: 0, or a digit 1-9 and more digits.
	j := i
	for j < len(v) && isDigitByte(v[j]) {
		j++
	}
	n := j - i
	if n == 0 || (n > 1 && v[i] == '0') {
		return 0, 0, false
	}
	if j == len(v) {
		return kInt, 0, n <= 18
	}
	if v[j] != '.' || n > 20 {
		return 0, 0, false
	}
	f := j + 1
	for f < len(v) && isDigitByte(v[f]) {
		f++
	}
	scale := f - j - 1
	if f != len(v) || scale < 1 || scale > 18 {
		return 0, 0, false
	}
	return kDecimal, scale, true
}

// digits2 is the two-digit number at v[i:], or -1.
func digits2(v string, i int) int {
	if i+2 > len(v) || !isDigitByte(v[i]) || !isDigitByte(v[i+1]) {
		return -1
	}
	return int(v[i]-'0')*10 + int(v[i+1]-'0')
}

// scanDateTime reports whether v is an existing date, timestamp, or
// timestamp with a zone.
func scanDateTime(v string) (colKind, bool) {
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return 0, false
	}
	y1, y2 := digits2(v, 0), digits2(v, 2)
	month, day := digits2(v, 5), digits2(v, 8)
	if y1 < 0 || y2 < 0 || month < 0 || day < 0 {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(y1*100+y2, month) {
		return 0, false
	}
	if len(v) == 10 {
		return kDate, true
	}
	// [T ]hh:mm
	if len(v) < 16 || (v[10] != 'T' && v[10] != ' ') || v[13] != ':' {
		return 0, false
	}
	h, m := digits2(v, 11), digits2(v, 14)
	if h < 0 || m < 0 || h > 23 || m > 59 {
		return 0, false
	}
	i := 16
	if i < len(v) && v[i] == ':' {
		s := digits2(v, i+1)
		if s < 0 || s > 59 {
			return 0, false
		}
		i += 3
		if i < len(v) && v[i] == '.' {
			j := i + 1
			for j < len(v) && isDigitByte(v[j]) {
				j++
			}
			if n := j - i - 1; n < 1 || n > 9 {
				return 0, false
			}
			i = j
		}
	}
	if i == len(v) {
		return kTimestamp, true
	}
	// The zone: optional space, then Z, UTC, or ±hh, ±hhmm, ±hh:mm.
	if v[i] == ' ' {
		i++
	}
	switch z := v[i:]; {
	case z == "Z" || z == "UTC":
		return kTimestampTZ, true
	case len(z) >= 3 && (z[0] == '+' || z[0] == '-') && digits2(z, 1) >= 0:
		switch z = z[3:]; {
		case z == "",
			len(z) == 2 && digits2(z, 0) >= 0,
			len(z) == 3 && z[0] == ':' && digits2(z, 1) >= 0:
			return kTimestampTZ, true
		}
	}
	return 0, false
}

func widen(a colKind, as int, b colKind, bs int) (colKind, int) {
	switch {
	case a == b:
		return a, max(as, bs)
	case a == kNull:
		return b, bs
	case b == kNull:
		return a, as
	case (a == kInt && b == kDecimal) || (a == kDecimal && b == kInt):
		return kDecimal, max(as, bs)
	case (a == kDate && b == kTimestamp) || (a == kTimestamp && b == kDate):
		return kTimestamp, 0
	}
	return kString, 0
}

// ObserveRow widens the columns' types by a row's values: Observe(i,
// fields[i]) for each field, in one call.
func (c *ColumnTypes) ObserveRow(fields []string) {
	cols := c.cols
	if len(fields) < len(cols) {
		cols = cols[:len(fields)]
	}
	for i := range cols {
		col := &cols[i]
		if col.kind == kString {
			continue // text stays text, whatever follows
		}
		k, s := classify(fields[i])
		col.kind, col.Scale = widen(col.kind, col.Scale, k, s)
	}
}

// Observe widens column i's type by the value v (as text); a column beyond
// the header is ignored.
func (c *ColumnTypes) Observe(i int, v string) {
	if i >= len(c.cols) {
		return
	}
	col := &c.cols[i]
	if col.kind == kString {
		return // text stays text, whatever follows
	}
	k, s := classify(v)
	col.kind, col.Scale = widen(col.kind, col.Scale, k, s)
}

func (t *TableColumn) sqlType() string {
	if t.kind == kDecimal {
		return fmt.Sprintf("DECIMAL(38,%d)", t.Scale)
	}
	return kindSQL[t.kind]
}

func colKindOf(s string) colKind {
	if strings.HasPrefix(s, "DECIMAL") {
		return kDecimal
	}
	for k, v := range kindSQL {
		if v == s && k != kNull {
			return k
		}
	}
	return kNull
}

// Merge widens ts by an object's column types (matching columns by name,
// ignoring case); columns it has not seen are appended.
func (ts *TableSchema) Merge(obj *ColumnTypes) {
	idx := map[string]int{}
	for i, c := range ts.Columns {
		idx[strings.ToLower(c.Name)] = i
	}
	for _, c := range obj.cols {
		if i, ok := idx[strings.ToLower(c.Name)]; ok {
			s := &ts.Columns[i]
			s.kind, s.Scale = widen(s.kind, s.Scale, c.kind, c.Scale)
			s.Kind = s.sqlType()
			continue
		}
		c.Kind = c.sqlType()
		idx[strings.ToLower(c.Name)] = len(ts.Columns)
		ts.Columns = append(ts.Columns, c)
	}
}
