package schema

import (
	"strconv"
	"strings"
)

// ColumnType is the logical type of a lake column, as every reader sees it.
type ColumnType uint8

// The column types of the events table.
const (
	TypeString    ColumnType = iota + 1 // UTF-8 text
	TypeJSON                            // UTF-8 text holding JSON (Parquet's JSON logical type)
	TypeInt32                           // 32-bit signed integer
	TypeInt64                           // 64-bit signed integer
	TypeTimestamp                       // microseconds since the Unix epoch, adjusted to UTC
	TypeDate                            // a calendar date (partition folders only)
	TypeBinary                          // bytes as received (rejects' raw_exact)
)

var duckDBTypes = [...]string{
	TypeString:    "VARCHAR",
	TypeJSON:      "JSON",
	TypeInt32:     "INTEGER",
	TypeInt64:     "BIGINT",
	TypeTimestamp: "TIMESTAMPTZ",
	TypeDate:      "DATE",
	TypeBinary:    "BLOB",
}

// DuckDB returns the type's name in DuckDB SQL (as the views cast to it).
func (t ColumnType) DuckDB() string {
	if t > 0 && int(t) < len(duckDBTypes) {
		return duckDBTypes[t]
	}
	return "ColumnType(" + strconv.Itoa(int(t)) + ")"
}

// String returns the DuckDB name.
func (t ColumnType) String() string { return t.DuckDB() }

// Column is one column of a lake table.
type Column struct {
	Name     string
	Type     ColumnType
	Nullable bool
	Doc      string
}

// EventColumns are the columns stored in every events Parquet file, in file
// order. partitions.EventRow writes exactly these (its tests check), the SQL
// views and compaction read them by these names.
var EventColumns = []Column{
	{"event_id", TypeString, false, "the event's id (event_id / id)"},
	{"event_type", TypeString, false, "event_type / eventName"},
	{"schema_version", TypeInt32, true, "schema_version (string or number in the wild) / -vN suffix"},
	{"org_id", TypeString, true, "org_id"},
	{"cid", TypeString, true, "cid"},
	{"event_time", TypeTimestamp, false, "timestamp / created, any ISO-8601 offset, stored in UTC"},
	{"data", TypeJSON, false, "data / payload, raw bytes as received"},
	{"_object", TypeString, false, "source URL of the object the record came from"},
	{"_line", TypeInt64, false, "1-based line of the record's start in the decompressed object"},
	{"_offset", TypeInt64, false, "byte offset of the record's start in the decompressed object"},
	{"_load_id", TypeString, false, "the load that wrote the row"},
	{"_ingested_at", TypeTimestamp, false, "start time of the load that wrote the row"},
}

// EventPartitions are the partition columns of the events table, in folder
// order (events/domain=…/event_date=…/). They are not stored in the files:
// readers take them from the folder names. A missing domain is Hive's
// default partition, which reads as NULL.
var EventPartitions = []Column{
	{"domain", TypeString, true, "the envelope's domain (profile-defined elsewhere)"},
	{"event_date", TypeDate, false, "UTC date of event_time"},
}

// EventColumnNames returns the names of EventColumns, in file order.
func EventColumnNames() []string {
	out := make([]string, len(EventColumns))
	for i, c := range EventColumns {
		out[i] = c.Name
	}
	return out
}

// EmptyEventsSQL is a DuckDB query with the columns of the events table as
// its readers see them (file columns, then partitions) and no rows.
func EmptyEventsSQL() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range append(EventColumns[:len(EventColumns):len(EventColumns)], EventPartitions...) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("NULL::" + c.Type.DuckDB() + " AS " + c.Name)
	}
	b.WriteString(" WHERE false")
	return b.String()
}
