package icetable

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/parquet-go/parquet-go"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/lake"
	"github.com/eventlake/eventlake/partitions"
)

// The CSV tables (a CSV profile's table, e.g. orders) are Iceberg tables
// too, kept by the same hooks. Their files hold every field as text plus
// the lineage columns (partitions.WriteTable); the types the shell's views
// apply are inferred per load and may widen, so the Iceberg schema is the
// files' own: the data columns as optional strings, then _report_time,
// _object, _line, _offset, _load_id, _ingested_at, and the partition
// column (report_date, or the profile's partition column) unless it is a
// data column. The partition spec is identity(<partition column>), a
// string, as the folders hold it.
//
// The first snapshot's files give the schema. A later file with a column
// the schema lacks (a report that gained a column) adds it as a new
// optional string field: a new schema id, committed as its own metadata
// version before the snapshot adding the file, with the name mapping
// updated; older files read it as null.

// metaColumns are the lineage columns of a CSV table's files.
var metaColumns = []iceberg.NestedField{
	{Name: "_report_time", Type: iceberg.PrimitiveTypes.TimestampTz},
	{Name: "_object", Type: iceberg.PrimitiveTypes.String, Required: true},
	{Name: "_line", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	{Name: "_offset", Type: iceberg.PrimitiveTypes.Int64, Required: true},
	{Name: "_load_id", Type: iceberg.PrimitiveTypes.String, Required: true},
	{Name: "_ingested_at", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
}

// partCSV is the partition field id of a CSV table.
const partCSV = 1000

// CSVTable returns the Iceberg table of the lake's CSV table name; its
// metadata lives in <lake>/<name>/_iceberg/.
func CSVTable(l lake.Layout, name string, o Options) *Table {
	t := newTable(l, name, &kind{}, o)
	t.kind.partition = csvPartition
	t.kind.prepare = t.prepareCSV
	return t
}

// csvPartition reads a CSV table file's partition value from its catalog
// partition ("<column>=<escaped value>"); nil for the default partition.
func csvPartition(f catalog.FileRecord) (map[int]any, error) {
	_, v, ok := strings.Cut(f.Partition, "=")
	if !ok || strings.Contains(v, "/") {
		return nil, fmt.Errorf("icetable: file %s: partition %q is not <column>=<value>", f.Path, f.Partition)
	}
	s, err := partitions.Unescape(v)
	if err != nil {
		return nil, fmt.Errorf("icetable: file %s: partition %q: %w", f.Path, f.Partition, err)
	}
	if s == "" {
		return map[int]any{partCSV: nil}, nil
	}
	return map[int]any{partCSV: s}, nil
}

// fileColumns reads the column names of a Parquet file's footer, through
// the table's IO (by ranged reads of a file in a bucket).
func (t *Table) fileColumns(path string) ([]string, error) {
	fh, err := t.fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	size, err := fh.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(fh, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("read footer of %s: %w", path, err)
	}
	var out []string
	for _, c := range pf.Schema().Columns() {
		out = append(out, strings.Join(c, "."))
	}
	return out, nil
}

// prepareCSV gives the table its schema: from files when it has none yet
// (the table is then created by Sync), else by adding the columns of files
// the current snapshot does not list that the schema lacks. It sets the
// kind's columns from the resulting schema.
func (t *Table) prepareCSV(ctx context.Context, tbl *table.Table, files []catalog.FileRecord) (*table.Table, error) {
	var have map[string]iceberg.DataFile
	if tbl != nil {
		var err error
		if have, err = t.currentFiles(tbl); err != nil {
			return nil, err
		}
	}
	var cols []string
	seen := map[string]bool{}
	partCol := ""
	for _, f := range files {
		abs := t.location(f.Path)
		if _, ok := have[abs]; ok {
			continue
		}
		if partCol == "" {
			partCol, _, _ = strings.Cut(f.Partition, "=")
		}
		fc, err := t.fileColumns(abs)
		if err != nil {
			return nil, fmt.Errorf("icetable: %w", err)
		}
		for _, c := range fc {
			if !seen[c] && !strings.HasPrefix(c, "_") {
				seen[c] = true
				cols = append(cols, c)
			}
		}
	}
	if tbl == nil {
		if partCol == "" {
			return nil, nil // no file yet: Sync commits nothing
		}
		sc, spec := csvSchema(cols, partCol)
		t.kind.schema = func() *iceberg.Schema { return sc }
		t.kind.spec = func() iceberg.PartitionSpec { return spec }
		t.kind.columns = schemaColumns(sc)
		return nil, nil
	}
	sc := tbl.Schema()
	var missing []string
	for _, c := range cols {
		if _, ok := sc.FindFieldByName(c); !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		txn := tbl.NewTransaction()
		us := txn.UpdateSchema(true, false)
		for _, c := range missing {
			us.AddColumn([]string{c}, iceberg.PrimitiveTypes.String, "", false, nil)
		}
		if err := us.Commit(); err != nil {
			return nil, fmt.Errorf("icetable: add columns %q: %w", missing, err)
		}
		staged, err := txn.StagedTable()
		if err != nil {
			return nil, err
		}
		mapping, err := json.Marshal(staged.Schema().NameMapping())
		if err != nil {
			return nil, err
		}
		if err := txn.SetProperties(iceberg.Properties{table.DefaultNameMappingKey: string(mapping)}); err != nil {
			return nil, err
		}
		if tbl, err = txn.Commit(ctx); err != nil {
			return nil, fmt.Errorf("icetable: commit the schema adding %q: %w", missing, err)
		}
	}
	t.kind.columns = schemaColumns(tbl.Schema())
	return tbl, nil
}

// csvSchema builds a CSV table's first schema and partition spec.
func csvSchema(cols []string, partCol string) (*iceberg.Schema, iceberg.PartitionSpec) {
	var fields []iceberg.NestedField
	for _, c := range cols {
		fields = append(fields, iceberg.NestedField{ID: len(fields) + 1, Name: c, Type: iceberg.PrimitiveTypes.String})
	}
	for _, m := range metaColumns {
		m.ID = len(fields) + 1
		fields = append(fields, m)
	}
	src := slices.IndexFunc(fields, func(f iceberg.NestedField) bool { return f.Name == partCol })
	if src < 0 {
		fields = append(fields, iceberg.NestedField{ID: len(fields) + 1, Name: partCol, Type: iceberg.PrimitiveTypes.String,
			Doc: "an identity partition, not stored in the data files"})
		src = len(fields) - 1
	}
	spec := iceberg.NewPartitionSpecID(0, iceberg.PartitionField{SourceIDs: []int{fields[src].ID}, FieldID: partCSV,
		Name: partCol, Transform: iceberg.IdentityTransform{}})
	return iceberg.NewSchema(0, fields...), spec
}

// schemaColumns maps a schema's field names to their ids; every column's
// bounds are recorded (text bounds are the files' truncated ones).
func schemaColumns(sc *iceberg.Schema) map[string]column {
	out := map[string]column{}
	for _, f := range sc.Fields() {
		out[f.Name] = column{f.ID, true}
	}
	return out
}

// csvTables are the CSV tables of a lake, found at each publication: the
// tables with live files, those the transaction writes, and those that
// have an Iceberg table already (a table whose files all left).
type csvTables struct {
	layout lake.Layout
	opts   Options
	byName map[string]*Table
}

func (c *csvTables) list(ctx context.Context, p *lake.Publication) ([]*Table, error) {
	names := map[string]bool{}
	live, err := p.Catalog.LiveTables(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range live {
		names[n] = true
	}
	for _, f := range p.Files {
		n, _, _ := strings.Cut(f, "/")
		names[n] = true
	}
	// A table whose files all left keeps its Iceberg table, to commit
	// their removal: in a folder, found by its metadata folder; in a
	// bucket (not listed whole), by the catalog's record of its files.
	withMeta := tablesWithMetadata(c.layout)
	if c.opts.Bucket != nil {
		if withMeta, err = p.Catalog.TablesEver(ctx); err != nil {
			return nil, err
		}
	}
	for _, n := range withMeta {
		names[n] = true
	}
	var out []*Table
	for n := range names {
		if n == "" || n == partitions.EventsTable || strings.HasPrefix(n, "_") {
			continue
		}
		t, ok := c.byName[n]
		if !ok {
			t = CSVTable(c.layout, n, c.opts)
			c.byName[n] = t
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Table) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// CSVWriterOptions are the lake.OpenWriter options that keep, besides ts,
// an Iceberg table of every CSV table of the lake; they replace
// WriterOptions(ts...).
func CSVWriterOptions(l lake.Layout, o Options, ts ...*Table) []lake.Option {
	c := &csvTables{layout: l, opts: o, byName: map[string]*Table{}}
	var out []lake.Option
	for _, t := range ts {
		out = append(out, lake.WithPublishHook(publishHook{t}))
	}
	out = append(out, lake.WithPublishHook(csvHook{c, false}))
	out = append(out, lake.WithRetention(keeper{ts, c}))
	for _, t := range ts {
		out = append(out, lake.WithFinishHook(expireHook{t}))
	}
	return append(out, lake.WithFinishHook(csvHook{c, true}))
}

// csvHook runs the publishing (or finishing) hook of each CSV table.
type csvHook struct {
	c      *csvTables
	finish bool
}

func (h csvHook) Run(ctx context.Context, p *lake.Publication) error {
	ts, err := h.c.list(ctx, p)
	if err != nil {
		return err
	}
	for _, t := range ts {
		var err error
		if h.finish {
			err = expireHook{t}.Run(ctx, p)
		} else {
			err = publishHook{t}.Run(ctx, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CSVTables lists the lake's CSV tables as the hooks see them at a
// publication (for iceberg sync).
func CSVTables(ctx context.Context, l lake.Layout, o Options, p *lake.Publication) ([]*Table, error) {
	c := &csvTables{layout: l, opts: o, byName: map[string]*Table{}}
	return c.list(ctx, p)
}

// tablesWithMetadata lists the lake's table folders that hold an Iceberg
// metadata folder.
func tablesWithMetadata(l lake.Layout) []string {
	var out []string
	es, err := os.ReadDir(l.Root())
	if err != nil {
		return nil
	}
	for _, e := range es {
		if _, err := os.Stat(filepath.Join(l.TableDir(e.Name()), MetaFolder)); err == nil && e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// CSVTablesOf returns the Iceberg tables of the CSV tables among names
// (lake table names: events and the _-tables left out), which may or may
// not have metadata yet.
func CSVTablesOf(l lake.Layout, o Options, names []string) []*Table {
	var out []*Table
	for _, n := range names {
		if n != "" && n != partitions.EventsTable && !strings.HasPrefix(n, "_") {
			out = append(out, CSVTable(l, n, o))
		}
	}
	return out
}

// ExistingCSVTables lists the Iceberg tables of the lake's CSV tables that
// have metadata, by name, without the catalog (for ddl).
func ExistingCSVTables(l lake.Layout, o Options) []*Table {
	var out []*Table
	for _, n := range tablesWithMetadata(l) {
		if n != partitions.EventsTable && !strings.HasPrefix(n, "_") {
			out = append(out, CSVTable(l, n, o))
		}
	}
	return out
}
