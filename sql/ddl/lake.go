package ddl

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/partitions"
)

// Lake is what the catalog says the lake holds: the partition folders of
// every table's live files and the delimited tables' stored types.
type Lake struct {
	// Events are the events table's partition folders, relative to
	// <lake>/events ("domain=a%2Fb/event_date=2024-02-01"), sorted.
	Events []string
	// Rejects are the folders of <lake>/_rejects ("load_date=…").
	Rejects []string
	// Tables are the delimited (CSV) tables, by name.
	Tables []Table
}

// Table is one delimited table: text columns in the files, typed by the
// views with the types the loader inferred and stored in the catalog.
type Table struct {
	Name    string // the catalog's table name, also its folder under the lake
	Columns []TableColumn
	// Key are the columns of the upsert key and Order the update-time
	// column ("" when none is present), resolved to column names the way
	// the shell resolves them (case- and punctuation-blind).
	Key   []string
	Order string
	// Partition is the partition column (a date).
	Partition string
	// Partitions are the table's partition folders ("report_date=…").
	Partitions []string
}

// TableColumn is a column with the DuckDB type the shell's views cast it
// to: VARCHAR, BIGINT, DECIMAL(38,s), BOOLEAN, DATE, TIMESTAMP, TIMESTAMPTZ.
type TableColumn struct{ Name, Type string }

// tableSchema is the JSON the loader stores in the catalog's schemas table
// for a delimited table.
type tableSchema struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Key             []string `json:"key"`
	Order           []string `json:"order"`
	PartitionColumn string   `json:"partition_column"`
}

// normColumn makes column names comparable the way keys and order columns
// of delimited tables are matched: lower case, letters and digits only.
func normColumn(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ReadLake reads from the catalog what the DDL needs. Warnings describe
// tables it cannot describe (an unreadable stored schema).
func ReadLake(ctx context.Context, cat *catalog.Catalog) (*Lake, []string, error) {
	files, err := cat.LiveFiles(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	folders := map[string]map[string]bool{}
	for _, f := range files {
		if folders[f.Table] == nil {
			folders[f.Table] = map[string]bool{}
		}
		folders[f.Table][f.Partition] = true
	}
	list := func(table string) []string {
		var out []string
		for p := range folders[table] {
			out = append(out, p)
		}
		sort.Strings(out)
		return out
	}
	l := &Lake{Events: list(partitions.EventsTable), Rejects: list("_rejects")}
	schemas, err := cat.Schemas(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, s := range schemas {
		if s.Table == partitions.EventsTable {
			continue
		}
		var ts tableSchema
		if err := json.Unmarshal([]byte(s.JSON), &ts); err != nil {
			warnings = append(warnings, fmt.Sprintf("table %s: unreadable schema (%v); no DDL for it", s.Table, err))
			continue
		}
		t := Table{Name: s.Table, Partition: ts.PartitionColumn, Partitions: list(s.Table)}
		if t.Partition == "" {
			t.Partition = "report_date"
		}
		have := map[string]string{}
		for _, c := range ts.Columns {
			t.Columns = append(t.Columns, TableColumn{c.Name, c.Type})
			have[normColumn(c.Name)] = c.Name
		}
		for _, k := range ts.Key {
			if c, ok := have[normColumn(k)]; ok {
				t.Key = append(t.Key, c)
			}
		}
		for _, o := range ts.Order {
			if c, ok := have[normColumn(o)]; ok {
				t.Order = c
				break
			}
		}
		l.Tables = append(l.Tables, t)
	}
	sort.Slice(l.Tables, func(i, j int) bool { return l.Tables[i].Name < l.Tables[j].Name })
	return l, warnings, nil
}
