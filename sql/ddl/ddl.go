// Package ddl prints the statements that let external engines — Athena,
// Spark, Trino's Hive connector — read the lake the way the shell does:
//
//	events_raw        every row as written (re-deliveries included)
//	events            a view: one row per (domain, event_date, event_id), the shell's rule
//	<table>_raw       a delimited (CSV) table's files, every field text as received
//	<table>_history   a view: every row, typed with the catalog's column types
//	<table>           a view: the latest row per key, the shell's rule
//	rejects           quarantined records (<lake>/_rejects)
//
// The column lists are the files' schemas; partition columns come from the
// Hive-escaped folder names (domain=…/event_date=…).
package ddl

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// Column is one column with its type in each engine.
type Column struct {
	Name                 string
	Athena, Spark, Trino string
	// Parquet is the type DuckDB reports for the file column, so tests can
	// check every engine type against what the files really contain.
	Parquet string
}

// Columns of the events files, in file order (schema.EventColumns).
var Columns = engineColumns(schema.EventColumns)

// Partitions of the events table (schema.EventPartitions).
var Partitions = engineColumns(schema.EventPartitions)

// engineColumns names each lake column's type in every engine.
func engineColumns(cols []schema.Column) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		var e Column
		switch c.Type {
		case schema.TypeString:
			e = Column{"", "string", "STRING", "varchar", "VARCHAR"}
		case schema.TypeJSON:
			e = Column{"", "string", "STRING", "varchar", "JSON"}
		case schema.TypeInt32:
			e = Column{"", "int", "INT", "integer", "INTEGER"}
		case schema.TypeInt64:
			e = Column{"", "bigint", "BIGINT", "bigint", "BIGINT"}
		case schema.TypeTimestamp:
			e = Column{"", "timestamp", "TIMESTAMP", "timestamp(3)", "TIMESTAMP WITH TIME ZONE"}
		case schema.TypeDate:
			e = Column{"", "date", "DATE", "date", "DATE"}
		case schema.TypeBinary:
			e = Column{"", "binary", "BINARY", "varbinary", "BLOB"}
		default:
			panic("ddl: no engine type for " + c.Type.String())
		}
		e.Name = c.Name
		out[i] = e
	}
	return out
}

// RejectColumns are the columns of the _rejects files, in file order.
var RejectColumns = engineColumns([]schema.Column{
	{Name: "object", Type: schema.TypeString},
	{Name: "line", Type: schema.TypeInt64},
	{Name: "offset", Type: schema.TypeInt64},
	{Name: "reason", Type: schema.TypeString},
	{Name: "raw", Type: schema.TypeString},
	{Name: "raw_bytes", Type: schema.TypeInt64},
	{Name: "profile", Type: schema.TypeString},
	{Name: "_load_id", Type: schema.TypeString},
	{Name: "_ingested_at", Type: schema.TypeTimestamp},
	{Name: "raw_exact", Type: schema.TypeBinary},
})

// RejectPartitions are the partition columns of _rejects.
var RejectPartitions = engineColumns([]schema.Column{{Name: "load_date", Type: schema.TypeDate}})

// tableMeta are the columns the loader adds to every delimited table's
// files, after the text fields.
var tableMeta = engineColumns([]schema.Column{
	{Name: "_report_time", Type: schema.TypeTimestamp},
	{Name: "_object", Type: schema.TypeString},
	{Name: "_line", Type: schema.TypeInt64},
	{Name: "_offset", Type: schema.TypeInt64},
	{Name: "_load_id", Type: schema.TypeString},
	{Name: "_ingested_at", Type: schema.TypeTimestamp},
})

var textColumn = engineColumns([]schema.Column{{Type: schema.TypeString}})[0]

// Options for one statement set.
type Options struct {
	Engine   string // athena | spark | trino
	Location string // lake root URL, e.g. s3://bucket/prefix/
	Database string // schema / database name (default "eventlake")
	// Lake is what the catalog holds (ReadLake). Without it the delimited
	// tables are unknown, and Athena, whose partitions must be listed or
	// projected from the catalog's domains and dates, cannot be served.
	Lake *Lake
	// Now dates the projection checks (default time.Now()).
	Now time.Time
}

// Result is the DDL and what the caller should tell the user on stderr.
type Result struct {
	Text     string
	Warnings []string
}

// Engines lists the supported engines.
var Engines = []string{"athena", "spark", "trino"}

// ErrNeedLake: the statements depend on the partitions the catalog lists.
var ErrNeedLake = errors.New("athena needs --lake: its partitions are projected from, or listed after, the catalog's domains and dates")

// Limits of Athena's partition projection: past them, or with a value the
// projection cannot spell, partitions are listed one by one instead.
const (
	projectionPastYears    = 20      // earliest projected date: today minus this
	projectionMaxCombos    = 1000000 // enum values × days
	partitionsPerStatement = 100     // partitions per ALTER TABLE … ADD
)

// Generate returns the DDL text.
func Generate(o Options) (*Result, error) {
	if o.Location == "" {
		return nil, fmt.Errorf("a location is required (the lake's URL as the engine sees it, e.g. s3://bucket/prefix/)")
	}
	if strings.ContainsAny(o.Location, "'\"\n\r\\`") {
		return nil, fmt.Errorf("location %q contains a quote, backslash or newline", o.Location)
	}
	if o.Database == "" {
		o.Database = "eventlake"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	switch o.Engine {
	case "athena", "spark", "trino":
	default:
		return nil, fmt.Errorf("unknown engine %q (want %s)", o.Engine, strings.Join(Engines, ", "))
	}
	if o.Engine == "athena" && o.Lake == nil {
		return nil, ErrNeedLake
	}
	g := &gen{o: o, root: strings.TrimRight(o.Location, "/") + "/"}
	return g.run(), nil
}

type gen struct {
	o        Options
	root     string
	b        strings.Builder
	warnings []string
}

// table is one external table over a folder of the lake.
type table struct {
	name, folder string
	cols, parts  []Column
	folders      []string // partition folders; nil when the catalog was not read
}

func (g *gen) warnf(format string, a ...any) {
	g.warnings = append(g.warnings, fmt.Sprintf(format, a...))
}

func (g *gen) run() *Result {
	var folders, rejects []string
	if g.o.Lake != nil {
		folders, rejects = g.o.Lake.Events, g.o.Lake.Rejects
	}
	g.header()
	events := table{name: "events_raw", folder: partitions.EventsTable, cols: Columns, parts: Partitions, folders: folders}
	g.section("events_raw: every row as written, re-deliveries included (`eventlake compact` drops them).")
	g.table(events)
	g.section("events: one row per (domain, event_date, event_id) — the latest _ingested_at, then the greatest\n" +
		"_load_id, then the first _object and _line — exactly the shell's events view.")
	g.view("events", g.eventsView())
	if g.o.Lake == nil {
		g.section("Delimited (CSV) tables such as orders are described by the catalog: run eventlake ddl with --lake.")
	} else {
		for _, t := range g.o.Lake.Tables {
			g.csvTable(t)
		}
	}
	g.section("rejects: quarantined records (<lake>/_rejects), the shell's eventlake.rejects.")
	g.table(table{name: "rejects", folder: "_rejects", cols: RejectColumns, parts: RejectPartitions, folders: rejects})
	return &Result{Text: g.b.String(), Warnings: g.warnings}
}

func (g *gen) header() {
	switch g.o.Engine {
	case "athena":
		g.line("-- Athena (engine version 3). Run the statements in order; re-run this output after loads as the")
		g.line("-- comment above each table's partition statement says. Quote columns starting with '_' in queries.")
	case "spark":
		g.line("-- Spark SQL (3.4 or later). Re-run each table's RECOVER PARTITIONS after a load adds a partition")
		g.line("-- (a domain or a date): Spark lists the folders and unescapes their names, so every value is reached.")
		fmt.Fprintf(&g.b, "CREATE DATABASE IF NOT EXISTS %s;\n", bq(g.o.Database))
	case "trino":
		g.line("-- Trino, Hive connector (catalog \"hive\"). Timestamps are read at the connector's precision")
		g.line("-- (hive.timestamp-precision, default MILLISECONDS); the files hold microseconds. Re-run each table's")
		g.line("-- sync_partition_metadata after a load adds a partition: it lists the folders and unescapes their names.")
		fmt.Fprintf(&g.b, "CREATE SCHEMA IF NOT EXISTS hive.%s;\n", dq(g.o.Database))
	}
}

func (g *gen) line(s string) { g.b.WriteString(s + "\n") }

func (g *gen) section(comment string) {
	g.b.WriteString("\n")
	for _, l := range strings.Split(comment, "\n") {
		g.line("-- " + l)
	}
}

// ident quotes an identifier in DML (views) of the engine.
func (g *gen) ident(s string) string {
	if g.o.Engine == "spark" {
		return bq(s)
	}
	return dq(s)
}

// ref names a table or view of the database in DML.
func (g *gen) ref(name string) string {
	switch g.o.Engine {
	case "spark":
		return bq(g.o.Database) + "." + bq(name)
	case "trino":
		return "hive." + dq(g.o.Database) + "." + dq(name)
	}
	return dq(g.o.Database) + "." + dq(name)
}

func typeOf(engine string, c Column) string {
	switch engine {
	case "athena":
		return c.Athena
	case "spark":
		return c.Spark
	}
	return c.Trino
}

func (g *gen) table(t table) {
	loc := g.root + t.folder + "/"
	switch g.o.Engine {
	case "athena":
		fmt.Fprintf(&g.b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s.%s (\n", bq(g.o.Database), bq(t.name))
		for i, c := range t.cols {
			fmt.Fprintf(&g.b, "  %s %s%s\n", bq(c.Name), c.Athena, comma(i, len(t.cols)))
		}
		var parts []string
		for _, p := range t.parts {
			parts = append(parts, bq(p.Name)+" "+p.Athena)
		}
		fmt.Fprintf(&g.b, ")\nPARTITIONED BY (%s)\nSTORED AS PARQUET\nLOCATION %s;\n", strings.Join(parts, ", "), hiveLit(loc))
		g.athenaPartitions(t, loc)
	case "spark":
		fmt.Fprintf(&g.b, "CREATE TABLE IF NOT EXISTS %s.%s (\n", bq(g.o.Database), bq(t.name))
		all := append(append([]Column(nil), t.cols...), t.parts...)
		var parts []string
		for i, c := range all {
			fmt.Fprintf(&g.b, "  %s %s%s\n", bq(c.Name), c.Spark, comma(i, len(all)))
		}
		for _, p := range t.parts {
			parts = append(parts, bq(p.Name))
		}
		fmt.Fprintf(&g.b, ")\nUSING parquet\nPARTITIONED BY (%s)\nLOCATION %s;\n", strings.Join(parts, ", "), hiveLit(loc))
		g.checkFolders(t)
		fmt.Fprintf(&g.b, "ALTER TABLE %s.%s RECOVER PARTITIONS;\n", bq(g.o.Database), bq(t.name))
	case "trino":
		fmt.Fprintf(&g.b, "CREATE TABLE IF NOT EXISTS hive.%s.%s (\n", dq(g.o.Database), dq(t.name))
		all := append(append([]Column(nil), t.cols...), t.parts...)
		var parts []string
		for i, c := range all {
			fmt.Fprintf(&g.b, "  %s %s%s\n", dq(c.Name), c.Trino, comma(i, len(all)))
		}
		for _, p := range t.parts {
			parts = append(parts, sqlLit(p.Name))
		}
		fmt.Fprintf(&g.b, ")\nWITH (\n  external_location = %s,\n  format = 'PARQUET',\n  partitioned_by = ARRAY[%s]\n);\n", sqlLit(loc), strings.Join(parts, ", "))
		g.checkFolders(t)
		fmt.Fprintf(&g.b, "CALL hive.system.sync_partition_metadata(%s, %s, 'ADD');\n", sqlLit(g.o.Database), sqlLit(t.name))
	}
}

// partition is one folder split into its escaped values.
type partition struct {
	folder string
	values []string // escaped, as in the folder name
}

// parse splits the table's folders; folders that do not match the
// partition columns, and values no Hive-based engine can tell apart from a
// missing one, are left out with a warning.
func (g *gen) parse(t table) []partition {
	var out []partition
	for _, f := range t.folders {
		kvs := strings.Split(f, "/")
		if len(kvs) != len(t.parts) {
			g.warnf("%s/%s: not a partition folder of %s; left out", t.folder, f, t.name)
			continue
		}
		p := partition{folder: f}
		ok := true
		for i, kv := range kvs {
			k, v, _ := strings.Cut(kv, "=")
			raw, err := partitions.Unescape(v)
			switch {
			case k != t.parts[i].Name || err != nil:
				g.warnf("%s/%s: not a partition folder of %s; left out", t.folder, f, t.name)
				ok = false
			case v != partitions.DefaultPartition && raw == partitions.DefaultPartition:
				g.warnf("%s/%s: the value %s reads as NULL in Hive-based engines, which cannot tell it from a missing %s; left out",
					t.folder, f, partitions.DefaultPartition, k)
				ok = false
			}
			p.values = append(p.values, v)
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// checkFolders warns, for engines that list folders themselves, about the
// values they read as NULL.
func (g *gen) checkFolders(t table) { g.parse(t) }

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// athenaPartitions prints how Athena finds the table's partitions:
// projection when every value can be spelled by it and the dates are in a
// sane window, otherwise every partition listed with its location.
func (g *gen) athenaPartitions(t table, loc string) {
	parts := g.parse(t)
	today := g.o.Now.UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(-projectionPastYears, 0, 0), today.AddDate(1, 0, 0)
	var why []string
	var outliers []string
	enums := make([]map[string]bool, len(t.parts))
	unsafe := make([][]string, len(t.parts)) // folder names projection cannot spell
	first := make([]string, len(t.parts))
	for i := range enums {
		enums[i] = map[string]bool{}
	}
	for _, p := range parts {
		for i, v := range p.values {
			if t.parts[i].Athena == "date" {
				d, err := time.Parse("2006-01-02", v)
				if !dateRE.MatchString(v) || err != nil || d.Before(from) || d.After(to) {
					outliers = append(outliers, t.folder+"/"+p.folder)
				} else if first[i] == "" || v < first[i] {
					first[i] = v
				}
				continue
			}
			enums[i][v] = true
			switch {
			case v == partitions.DefaultPartition:
				why = appendOnce(why, fmt.Sprintf("a missing (NULL) %s, which projection cannot produce", t.parts[i].Name))
			case !projectionSafe(v):
				unsafe[i] = appendOnce(unsafe[i], v)
			}
		}
	}
	for i, list := range unsafe {
		if len(list) > 0 {
			why = append(why, fmt.Sprintf("%s folder names that are not the plain value or hold a comma: %s", t.parts[i].Name, names(list)))
		}
	}
	if len(outliers) > 0 {
		g.warnf("%s: %d partition(s) dated before %s or after %s (%s), too far for Athena's partition projection; "+
			"its partitions are listed one by one instead", t.name, len(outliers), from.Format("2006-01-02"), to.Format("2006-01-02"), names(outliers))
		why = append(why, "dates outside the projection window")
	}
	combos := 1
	for i, c := range t.parts {
		if c.Athena == "date" {
			if first[i] != "" {
				d, _ := time.Parse("2006-01-02", first[i])
				combos *= int(to.Sub(d).Hours()/24) + 1
			}
		} else {
			combos *= max(len(enums[i]), 1)
		}
	}
	if combos > projectionMaxCombos {
		why = append(why, fmt.Sprintf("the projection would span %d partitions", combos))
	}
	if len(parts) == 0 {
		why = append(why, "no partitions yet")
	}
	name := bq(g.o.Database) + "." + bq(t.name)
	if len(why) == 0 {
		g.line("-- Partition projection: Athena computes the partitions from these properties (and then ignores")
		g.line("-- listed partitions). Dates up to a year ahead need nothing; re-run this ALTER TABLE, printed by")
		g.line("-- eventlake ddl with the catalog's current values, after a load adds a value of an enumerated column")
		g.line("-- or an earlier date.")
		props := [][2]string{{"projection.enabled", "true"}}
		var template []string
		for i, c := range t.parts {
			template = append(template, c.Name+"=${"+c.Name+"}")
			if c.Athena == "date" {
				props = append(props, [][2]string{
					{"projection." + c.Name + ".type", "date"},
					{"projection." + c.Name + ".format", "yyyy-MM-dd"},
					{"projection." + c.Name + ".range", first[i] + ",NOW+1YEARS"},
					{"projection." + c.Name + ".interval", "1"},
					{"projection." + c.Name + ".interval.unit", "DAYS"},
				}...)
				continue
			}
			var vals []string
			for v := range enums[i] {
				vals = append(vals, v)
			}
			sort.Strings(vals)
			props = append(props, [][2]string{
				{"projection." + c.Name + ".type", "enum"},
				{"projection." + c.Name + ".values", strings.Join(vals, ",")},
			}...)
		}
		props = append(props, [2]string{"storage.location.template", loc + strings.Join(template, "/") + "/"})
		fmt.Fprintf(&g.b, "ALTER TABLE %s SET TBLPROPERTIES (\n", name)
		for i, p := range props {
			fmt.Fprintf(&g.b, "  %s = %s%s\n", hiveLit(p[0]), hiveLit(p[1]), comma(i, len(props)))
		}
		g.line(");")
		return
	}
	g.line("-- Partitions listed one by one, because of:")
	for _, w := range why {
		g.line("--   " + w)
	}
	g.line("-- Athena ignores listed partitions while partition projection is enabled, so it is switched off.")
	g.line("-- Re-run eventlake ddl and these statements after a load adds a partition (a new value or date):")
	g.line("-- ADD IF NOT EXISTS leaves the known ones as they are.")
	fmt.Fprintf(&g.b, "ALTER TABLE %s SET TBLPROPERTIES ('projection.enabled' = 'false');\n", name)
	for len(parts) > 0 {
		n := min(len(parts), partitionsPerStatement)
		fmt.Fprintf(&g.b, "ALTER TABLE %s ADD IF NOT EXISTS\n", name)
		for j, p := range parts[:n] {
			var spec []string
			for i, v := range p.values {
				val := v // the NULL folder keeps its name: Hive readers show it as NULL
				if v != partitions.DefaultPartition {
					val, _ = partitions.Unescape(v)
				}
				spec = append(spec, bq(t.parts[i].Name)+" = "+hiveLit(val))
			}
			end := ""
			if j == n-1 {
				end = ";"
			}
			fmt.Fprintf(&g.b, "  PARTITION (%s) LOCATION %s%s\n", strings.Join(spec, ", "), hiveLit(loc+p.folder+"/"), end)
		}
		parts = parts[n:]
	}
}

// projectionSafe: the folder name is the value itself (so the template
// spells the folder and the column shows the shell's value), it is not the
// NULL folder, it cannot split the comma-separated enum, and it is plain
// printable ASCII without spaces.
func projectionSafe(v string) bool {
	if v == "" || v == partitions.DefaultPartition || partitions.Escape(v) != v {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7F || c == ',' || c == '$' {
			return false
		}
	}
	return true
}

func names(list []string) string {
	if len(list) > 10 {
		return strings.Join(list[:10], ", ") + fmt.Sprintf(" and %d more", len(list)-10)
	}
	return strings.Join(list, ", ")
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func (g *gen) view(name, body string) {
	fmt.Fprintf(&g.b, "CREATE OR REPLACE VIEW %s AS\n%s;\n", g.ref(name), body)
}

// latest keeps one row per partition of the window: the first in order.
func (g *gen) latest(cols []string, from, partitionBy, orderBy string) string {
	return fmt.Sprintf("SELECT %s\nFROM (\n  SELECT *, row_number() OVER (PARTITION BY %s ORDER BY %s) AS %s\n  FROM %s\n) AS latest\nWHERE %s = 1",
		strings.Join(cols, ", "), partitionBy, orderBy, g.ident("_eventlake_rank"), from, g.ident("_eventlake_rank"))
}

func (g *gen) eventsView() string {
	var cols []string
	for _, c := range append(append([]Column(nil), Columns...), Partitions...) {
		cols = append(cols, g.ident(c.Name))
	}
	var by, order []string
	for _, c := range schema.EventsDedup.PartitionBy {
		by = append(by, g.ident(c))
	}
	for _, t := range schema.EventsDedup.OrderBy {
		dir := " ASC NULLS LAST"
		if t.Desc {
			dir = " DESC NULLS LAST"
		}
		order = append(order, g.ident(t.Column)+dir)
	}
	return g.latest(cols, g.ref("events_raw"), strings.Join(by, ", "), strings.Join(order, ", "))
}

// castType is the engine type of a column the shell casts to duck.
func (g *gen) castType(duck string) (string, bool) {
	e := g.o.Engine
	switch {
	case duck == "VARCHAR":
		return "", true
	case duck == "BIGINT" || duck == "BOOLEAN" || duck == "DATE" || strings.HasPrefix(duck, "DECIMAL("):
		if e == "spark" {
			return duck, true
		}
		return strings.ToLower(duck), true
	case duck == "TIMESTAMP":
		return map[string]string{"athena": "timestamp", "spark": "TIMESTAMP_NTZ", "trino": "timestamp(6)"}[e], true
	case duck == "TIMESTAMPTZ":
		return map[string]string{"athena": "timestamp with time zone", "spark": "TIMESTAMP", "trino": "timestamp(6) with time zone"}[e], true
	}
	return "", false
}

// csvTable prints a delimited table: the files as text, the typed history
// and the latest row per key, as the shell's views compute them.
func (g *gen) csvTable(t Table) {
	for _, reserved := range []string{"events", "events_raw", "rejects"} {
		if t.Name == reserved || t.Name+"_raw" == reserved || t.Name+"_history" == reserved {
			g.warnf("table %s: its name collides with %s; no DDL for it", t.Name, reserved)
			return
		}
	}
	var cols []Column
	for _, c := range t.Columns {
		tc := textColumn
		tc.Name = c.Name
		cols = append(cols, tc)
	}
	cols = append(cols, tableMeta...)
	part := Column{t.Partition, "date", "DATE", "date", "DATE"}
	g.section(fmt.Sprintf("%s_raw: the %s files as written, every field the text received.", t.Name, t.Name))
	g.table(table{name: t.Name + "_raw", folder: t.Name, cols: cols, parts: []Column{part}, folders: t.Partitions})

	q := g.ident
	var sel []string
	for _, c := range t.Columns {
		typ, ok := g.castType(c.Type)
		switch {
		case !ok:
			g.warnf("table %s: column %s has the unknown type %s; it stays text", t.Name, c.Name, c.Type)
			sel = append(sel, q(c.Name))
		case typ == "":
			sel = append(sel, q(c.Name))
		case c.Type == "TIMESTAMP" || c.Type == "TIMESTAMPTZ":
			// Trino's cast wants a space between date and time; the others take both.
			v := "trim(" + q(c.Name) + ")"
			sel = append(sel, fmt.Sprintf("TRY_CAST(CASE WHEN length(%s) > 10 THEN substr(%s, 1, 10) || ' ' || substr(%s, 12) ELSE %s END AS %s) AS %s",
				v, v, v, v, typ, q(c.Name)))
		default:
			sel = append(sel, fmt.Sprintf("TRY_CAST(trim(%s) AS %s) AS %s", q(c.Name), typ, q(c.Name)))
		}
	}
	for _, c := range []string{t.Partition, "_report_time", "_object", "_line", "_offset", "_load_id", "_ingested_at"} {
		sel = append(sel, q(c))
	}
	g.section(fmt.Sprintf("%s_history: every row, typed as the shell's %s_history (a value that does not parse is NULL).", t.Name, t.Name))
	g.view(t.Name+"_history", "SELECT "+strings.Join(sel, ",\n  ")+"\nFROM "+g.ref(t.Name+"_raw"))

	var keys []string
	for _, k := range t.Key {
		keys = append(keys, q(k))
	}
	if len(keys) == 0 {
		g.warnf("table %s: no key column; %s shows every row", t.Name, t.Name)
		keys = []string{q("_object"), q("_line")}
	}
	order := ""
	if t.Order != "" {
		order = q(t.Order) + " DESC NULLS LAST, "
	}
	var out []string
	for _, c := range t.Columns {
		out = append(out, q(c.Name))
	}
	for _, c := range []string{t.Partition, "_report_time", "_object", "_line", "_offset", "_load_id", "_ingested_at"} {
		out = append(out, q(c))
	}
	g.section(fmt.Sprintf("%s: the latest row per key (%s), as the shell's %s.", t.Name, strings.Join(t.Key, ", "), t.Name))
	g.view(t.Name, g.latest(out, g.ref(t.Name+"_history"), strings.Join(keys, ", "),
		order+fmt.Sprintf("%s DESC NULLS LAST, %s DESC NULLS LAST, %s DESC NULLS LAST, %s DESC NULLS LAST", q("_report_time"), q("_ingested_at"), q("_object"), q("_line"))))
}

func bq(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
func dq(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sqlLit is a standard SQL string literal (Trino): quotes are doubled.
func sqlLit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// hiveLit is a Hive DDL string literal (Athena DDL, Spark): backslash
// escapes, and control characters spelled out so a literal is one line.
func hiveLit(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\' || r == '\'' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7F:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func comma(i, n int) string {
	if i < n-1 {
		return ","
	}
	return ""
}
