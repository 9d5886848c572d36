package views

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/schema"
)

// createTables creates, for each delimited table, <table>_history (every
// row, typed) and <table> (the latest row per key).
func createTables(ctx context.Context, conn *sql.Conn, o Options, schemas []catalog.SchemaRecord, res *Result, u *unavailable) error {
	var names []string
	for _, s := range schemas {
		if s.Table != "events" {
			names = append(names, s.Table)
		}
	}
	assigned := Assign(names)
	for _, s := range schemas {
		if s.Table == "events" {
			continue
		}
		var ts schema.TableSchema
		if err := json.Unmarshal([]byte(s.JSON), &ts); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("table %s: unreadable schema: %v", s.Table, err))
			continue
		}
		files, pairs, err := o.Catalog.VisibleFiles(ctx, s.Table)
		if err != nil {
			return err
		}
		files = u.filterLive(files)
		name := assigned[s.Table]
		part := ts.PartitionColumn
		if part == "" {
			part = "report_date"
		}
		var cols []string
		have := map[string]string{} // lower name → SQL expression
		for _, c := range ts.Columns {
			expr := Quote(c.Name)
			if c.Kind != "VARCHAR" {
				expr = fmt.Sprintf("TRY_CAST(%s AS %s)", Quote(c.Name), c.Kind)
			}
			cols = append(cols, fmt.Sprintf("%s AS %s", expr, Quote(c.Name)))
			have[schema.NormColumn(c.Name)] = Quote(c.Name)
		}
		if len(files) == 0 {
			continue // only quarantined or duplicate objects so far
		}
		src := "(" + readLive(o.Lake, files, pairs, "_object", fmt.Sprintf("hive_partitioning = true, union_by_name = true, hive_types = {%s: DATE}", Literal(part))) + ")"
		history := fmt.Sprintf("SELECT %s, %s, _report_time::TIMESTAMPTZ AS _report_time, _object, _line, _offset, _load_id, _ingested_at FROM %s",
			strings.Join(cols, ", "), Quote(part), src)
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW main.%s AS %s", Quote(name+"_history"), history)); err != nil {
			return fmt.Errorf("view %s_history: %w", name, err)
		}
		var keys []string
		for _, k := range ts.Key {
			if e, ok := have[schema.NormColumn(k)]; ok {
				keys = append(keys, e)
			}
		}
		if len(keys) == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("table %s: key %v not among its columns; %s shows every row", s.Table, ts.Key, name))
			keys = []string{"_object", "_line"}
		}
		order := ""
		for _, oc := range ts.Order {
			if e, ok := have[schema.NormColumn(oc)]; ok {
				order = e + " DESC NULLS LAST, "
				break
			}
		}
		latest := fmt.Sprintf("SELECT * FROM main.%s QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s_report_time DESC NULLS LAST, _ingested_at DESC, _object DESC, _line DESC) = 1",
			Quote(name+"_history"), strings.Join(keys, ", "), order)
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW main.%s AS %s", Quote(name), latest)); err != nil {
			return fmt.Errorf("view %s: %w", name, err)
		}
		res.Tables = append(res.Tables, name)
	}
	return nil
}
