// Package ddl prints the statements that let external engines read the lake
// as written: Athena (with partition projection), Spark, and Trino's Hive
// connector. The column list is the events Parquet schema; the partition
// columns come from the folder names (domain=…/event_date=…).
package ddl

import (
	"fmt"
	"sort"
	"strings"
)

// Column is one column with its type in each engine.
type Column struct {
	Name                 string
	Athena, Spark, Trino string
	// Parquet is the type DuckDB reports for the file column, so tests can
	// check every engine type against what the files really contain.
	Parquet string
}

// Columns of the events files, in file order.
var Columns = []Column{
	{"event_id", "string", "STRING", "varchar", "VARCHAR"},
	{"event_type", "string", "STRING", "varchar", "VARCHAR"},
	{"schema_version", "int", "INT", "integer", "INTEGER"},
	{"org_id", "string", "STRING", "varchar", "VARCHAR"},
	{"cid", "string", "STRING", "varchar", "VARCHAR"},
	{"event_time", "timestamp", "TIMESTAMP", "timestamp(3)", "TIMESTAMP WITH TIME ZONE"},
	{"data", "string", "STRING", "varchar", "JSON"},
	{"_object", "string", "STRING", "varchar", "VARCHAR"},
	{"_line", "bigint", "BIGINT", "bigint", "BIGINT"},
	{"_offset", "bigint", "BIGINT", "bigint", "BIGINT"},
	{"_load_id", "string", "STRING", "varchar", "VARCHAR"},
	{"_ingested_at", "timestamp", "TIMESTAMP", "timestamp(3)", "TIMESTAMP WITH TIME ZONE"},
}

// Partitions of the events table.
var Partitions = []Column{
	{"domain", "string", "STRING", "varchar", "VARCHAR"},
	{"event_date", "date", "DATE", "date", "DATE"},
}

// Options for one statement set.
type Options struct {
	Engine   string // athena | spark | trino
	Location string // lake root URL, e.g. s3://bucket/prefix/
	Database string // schema / database name (default "eventlake")
	Table    string // default "events"
	// Domains (raw values from the catalog) feed Athena's enum projection.
	Domains []string
	// FirstDate is the earliest event_date (YYYY-MM-DD), for Athena's date
	// projection range (default 2000-01-01).
	FirstDate string
}

// Engines lists the supported engines.
var Engines = []string{"athena", "spark", "trino"}

// Generate returns the DDL text.
func Generate(o Options) (string, error) {
	if o.Location == "" {
		return "", fmt.Errorf("a location is required (the lake's URL as the engine sees it, e.g. s3://bucket/prefix/)")
	}
	if strings.ContainsAny(o.Location, "'\n\\") {
		return "", fmt.Errorf("location %q contains a quote, backslash or newline", o.Location)
	}
	loc := strings.TrimRight(o.Location, "/") + "/events/"
	if o.Database == "" {
		o.Database = "eventlake"
	}
	if o.Table == "" {
		o.Table = "events"
	}
	if o.FirstDate == "" {
		o.FirstDate = "2000-01-01"
	}
	switch o.Engine {
	case "athena":
		return athena(o, loc), nil
	case "spark":
		return spark(o, loc), nil
	case "trino":
		return trino(o, loc), nil
	}
	return "", fmt.Errorf("unknown engine %q (want %s)", o.Engine, strings.Join(Engines, ", "))
}

func bq(s string) string  { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
func dq(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func athena(o Options, loc string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- Athena (Trino engine). Partition projection: no MSCK REPAIR needed; new domains need the enum updated\n")
	fmt.Fprintf(&b, "-- (re-run eventlake ddl). Columns starting with '_' must be double-quoted in Athena queries.\n")
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s.%s (\n", bq(o.Database), bq(o.Table))
	for i, c := range Columns {
		fmt.Fprintf(&b, "  %s %s%s\n", bq(c.Name), c.Athena, comma(i, len(Columns)))
	}
	fmt.Fprintf(&b, ")\nPARTITIONED BY (%s %s, %s %s)\n", bq("domain"), "string", bq("event_date"), "date")
	fmt.Fprintf(&b, "STORED AS PARQUET\nLOCATION %s\nTBLPROPERTIES (\n", lit(loc))
	domains := append([]string(nil), o.Domains...)
	sort.Strings(domains)
	props := [][2]string{
		{"projection.enabled", "true"},
		{"projection.domain.type", "enum"},
		{"projection.domain.values", strings.Join(domains, ",")},
		{"projection.event_date.type", "date"},
		{"projection.event_date.format", "yyyy-MM-dd"},
		{"projection.event_date.range", o.FirstDate + ",NOW"},
		{"projection.event_date.interval", "1"},
		{"projection.event_date.interval.unit", "DAYS"},
		{"storage.location.template", loc + "domain=${domain}/event_date=${event_date}/"},
		{"parquet.compression", "ZSTD"},
	}
	for i, p := range props {
		fmt.Fprintf(&b, "  %s = %s%s\n", lit(p[0]), lit(p[1]), comma(i, len(props)))
	}
	b.WriteString(");\n")
	return b.String()
}

func spark(o Options, loc string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- Spark SQL. Run the RECOVER PARTITIONS statement after each load to see new partitions.\n")
	fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS %s;\n", bq(o.Database))
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s (\n", bq(o.Database), bq(o.Table))
	all := append(append([]Column(nil), Columns...), Partitions...)
	for i, c := range all {
		fmt.Fprintf(&b, "  %s %s%s\n", bq(c.Name), c.Spark, comma(i, len(all)))
	}
	fmt.Fprintf(&b, ")\nUSING parquet\nPARTITIONED BY (%s, %s)\nLOCATION %s;\n", bq("domain"), bq("event_date"), lit(loc))
	fmt.Fprintf(&b, "ALTER TABLE %s.%s RECOVER PARTITIONS;\n", bq(o.Database), bq(o.Table))
	return b.String()
}

func trino(o Options, loc string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- Trino, Hive connector (catalog \"hive\"). Timestamps are read at the connector's precision\n")
	fmt.Fprintf(&b, "-- (hive.timestamp-precision, default MILLISECONDS); the files hold microseconds.\n")
	fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS hive.%s;\n", dq(o.Database))
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS hive.%s.%s (\n", dq(o.Database), dq(o.Table))
	all := append(append([]Column(nil), Columns...), Partitions...)
	for i, c := range all {
		fmt.Fprintf(&b, "  %s %s%s\n", dq(c.Name), c.Trino, comma(i, len(all)))
	}
	fmt.Fprintf(&b, ")\nWITH (\n  external_location = %s,\n  format = 'PARQUET',\n  partitioned_by = ARRAY['domain', 'event_date']\n);\n", lit(loc))
	fmt.Fprintf(&b, "CALL hive.system.sync_partition_metadata(%s, %s, 'ADD');\n", lit(o.Database), lit(o.Table))
	return b.String()
}

func comma(i, n int) string {
	if i < n-1 {
		return ","
	}
	return ""
}
