package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
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

var (
	// A leading zero before a digit ("08123", "-012", "007.5") makes a value
	// text: such values are identifiers (ZIP codes, SKUs, EAN/UPC barcodes,
	// store and account numbers) whose zeros a number type would drop.
	reInt     = regexp.MustCompile(`^[+-]?(0|[1-9]\d{0,17})$`)
	reDecimal = regexp.MustCompile(`^[+-]?(?:0|[1-9]\d{0,19})\.(\d{1,18})$`)
	reDate    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	reTS      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$`)
	reTSZ     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?( ?(Z|[+-]\d{2}(:?\d{2})?|UTC))$`)
)

func classify(v string) (colKind, int) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return kNull, 0
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return kBool, 0
	case reInt.MatchString(v):
		return kInt, 0
	case reDecimal.MatchString(v):
		return kDecimal, len(reDecimal.FindStringSubmatch(v)[1])
	case reDate.MatchString(v) && validDateTime(v):
		return kDate, 0
	case reTS.MatchString(v) && validDateTime(v):
		return kTimestamp, 0
	case reTSZ.MatchString(v) && validDateTime(v):
		return kTimestampTZ, 0
	}
	return kString, 0
}

// validDateTime reports whether a value matching reDate, reTS or reTSZ names a
// day and time that exist: a cast of 2024-02-30 or 10:61 would give NULL.
func validDateTime(v string) bool {
	if _, err := time.Parse("2006-01-02", v[:10]); err != nil {
		return false
	}
	if len(v) < 16 {
		return true
	}
	num := func(i int) int { return int(v[i]-'0')*10 + int(v[i+1]-'0') }
	if num(11) > 23 || num(14) > 59 {
		return false
	}
	return len(v) < 19 || v[16] != ':' || num(17) <= 59
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

// Observe widens column i's type by the value v (as text); a column beyond
// the header is ignored.
func (c *ColumnTypes) Observe(i int, v string) {
	if i >= len(c.cols) {
		return
	}
	k, s := classify(v)
	col := &c.cols[i]
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
