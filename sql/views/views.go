// Package views creates the SQL surface of a lake in a DuckDB connection:
//
//	events_raw                every row as written (re-deliveries included), with domain and event_date
//	events                    one row per event_id (latest _ingested_at, then _load_id), per partition
//	<domain>.<event_type>     one typed view per event type: envelope + data fields as columns,
//	                          de-duplicated, or upserted by the key configured for it (latest wins)
//	<domain>.<event_type>_history  every distinct event of the type, typed
//	eventlake.loads, .objects, .files, .schemas, .schema_changes, .rejects   the catalog
//	eventlake.type_conflicts  values whose JSON type differs from the declared JSON Schema's, per object
//
// Names derived from data are sanitized (schemas, views) or quoted
// (columns), so no value can inject SQL.
package views

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/schema"
)

// Options say what to expose.
type Options struct {
	Lake    string
	Catalog *catalog.Catalog
	Config  *config.Config
	// SchemaStore holds JSON Schemas (<domain>/<event_type>.json, Pismo's
	// layout, optionally under json_schemas/). The newest declaration of an
	// event type, from the store or from a json_schema_change event in the
	// lake, wins over the inferred types.
	SchemaStore SchemaStore
	// SchemasDir is a local SchemaStore (when SchemaStore is nil).
	SchemasDir string
	// Schemas, when set, limits the typed views to the domain schemas it
	// accepts (by SQL name): a script that names none of a domain's
	// schema does not pay for binding its views. Nil creates them all.
	Schemas func(schema string) bool
	// Files, when set, are the live files the session has: the views leave
	// the others out without a warning (`sql` on a lake in a bucket
	// downloads only the files a script can read). Nil: every live file.
	Files func(catalog.FileRecord) bool
}

// View describes one typed view.
type View struct {
	Schema, Name      string // SQL names
	Domain, EventType string // raw values
	Columns           int
	TypesFrom         string // inferred | jsonschema
	// SchemaOrigin is where the JSON Schema came from: a schema object's
	// URL or "event <event_id>" of a json_schema_change event.
	SchemaOrigin string
	Key          []string
}

// Result lists what was created.
type Result struct {
	Views []View
	// Tables are the delimited (CSV) tables' views, e.g. orders.
	Tables   []string
	Warnings []string
}

// envelope columns of the events table in file order.
var envelope = schema.EventColumnNames()

// emptyEvents is a stand-in for events_raw with its columns and no rows.
var emptyEvents = schema.EmptyEventsSQL()

// Create creates every view in conn.
func Create(ctx context.Context, conn *sql.Conn, o Options) (*Result, error) {
	if o.Config == nil {
		o.Config = &config.Config{}
	}
	res := &Result{}
	exec := func(q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%w\nin: %s", err, clip(q, 300))
		}
		return nil
	}
	if err := exec("SET TimeZone = 'UTC'; SET parquet_metadata_cache = true"); err != nil {
		return nil, err
	}
	// Views are bound when created. Binding hundreds of views against
	// read_parquet over many files costs ~1 ms each, so they are first
	// created against an empty stand-in with the same columns, and
	// events_raw is pointed at the files at the end: DuckDB resolves a
	// view's references by name at query time.
	if err := exec("DROP VIEW IF EXISTS main.events_raw; CREATE OR REPLACE TABLE main.events_raw AS " + emptyEvents); err != nil {
		return nil, err
	}
	u := &unavailable{lake: o.Lake, has: o.Files}
	if err := createCatalog(ctx, conn, o, u); err != nil {
		return nil, err
	}
	all, err := o.Catalog.Schemas(ctx, "")
	if err != nil {
		return nil, err
	}
	decl, warnings, err := loadDeclarations(ctx, conn, o, all)
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, warnings...)
	var conflicts []string // parts of eventlake.type_conflicts
	if err := createTables(ctx, conn, o, all, res, u); err != nil {
		return nil, err
	}
	var schemas []catalog.SchemaRecord
	for _, s := range all {
		if s.Table == "events" {
			schemas = append(schemas, s)
		}
	}
	types := map[string]*schema.Type{} // "domain/event_type" → type
	var domains []string
	seenDomain := map[string]bool{}
	type pair struct{ domain, eventType string }
	var pairs []pair
	for _, s := range schemas {
		d, et, ok := strings.Cut(s.Key, "/")
		if !ok {
			continue
		}
		t := &schema.Type{}
		if err := t.UnmarshalJSON([]byte(s.JSON)); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("schema of %s is unreadable (%v); its view shows data as JSON", s.Key, err))
			t = &schema.Type{}
		}
		types[s.Key] = t
		pairs = append(pairs, pair{d, et})
		if !seenDomain[d] {
			seenDomain[d] = true
			domains = append(domains, d)
		}
	}
	schemaNames := Assign(domains)
	byDomain := map[string][]string{}
	for _, p := range pairs {
		byDomain[p.domain] = append(byDomain[p.domain], p.eventType)
	}
	sort.Strings(domains)
	for _, d := range domains {
		sn := schemaNames[d]
		if o.Schemas != nil && !o.Schemas(sn) {
			continue
		}
		if err := exec("CREATE SCHEMA IF NOT EXISTS " + Quote(sn)); err != nil {
			return nil, err
		}
		ets := byDomain[d]
		sort.Strings(ets)
		viewNames := Assign(ets)
		for _, et := range ets {
			v := View{Schema: sn, Name: viewNames[et], Domain: d, EventType: et, TypesFrom: "inferred"}
			t := types[d+"/"+et]
			tc := tableConfig(o.Config, sn, v.Name, d, et)
			js, from, ws := decl.resolve(ctx, d, et)
			res.Warnings = append(res.Warnings, ws...)
			if js != nil {
				overridden := map[string]bool{}
				for p := range tc.Types {
					overridden[strings.TrimPrefix(p, "data.")] = true
				}
				shown := sn + "." + v.Name
				res.Warnings = append(res.Warnings, conflictWarnings(shown, from.origin, js, t, overridden)...)
				if q := conflictCheck(shown, d, et, js, overridden); q != "" {
					conflicts = append(conflicts, q)
				}
				t, v.TypesFrom, v.SchemaOrigin = js, "jsonschema", from.origin
			}
			q, cols, key, err := typedQuery(t, d, et, tc)
			if err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("view %s.%s: %v", sn, v.Name, err))
				continue
			}
			v.Columns, v.Key = cols, key
			if err := exec(fmt.Sprintf("CREATE OR REPLACE VIEW %s.%s AS %s", Quote(sn), Quote(v.Name), q.latest)); err != nil {
				return nil, err
			}
			if err := exec(fmt.Sprintf("CREATE OR REPLACE VIEW %s.%s AS %s", Quote(sn), Quote(v.Name+"_history"), q.history)); err != nil {
				return nil, err
			}
			res.Views = append(res.Views, v)
		}
	}
	if err := decl.insertChanges(ctx, conn); err != nil {
		return nil, fmt.Errorf("schema changes: %w", err)
	}
	tc := emptyConflicts
	if len(conflicts) > 0 {
		tc = strings.Join(conflicts, " UNION ALL ")
	}
	if err := exec("CREATE OR REPLACE VIEW eventlake.type_conflicts AS " + tc); err != nil {
		return nil, err
	}
	raw, events, warnings, err := eventsQueries(ctx, conn, o, u)
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, warnings...)
	if w := u.warning(); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	if err := exec("DROP TABLE main.events_raw; CREATE VIEW main.events_raw AS " + raw); err != nil {
		return nil, err
	}
	if err := exec("CREATE OR REPLACE VIEW main.events AS " + events); err != nil {
		return nil, err
	}
	return res, nil
}

// eventsQueries returns the SQL of events_raw and events. Both read exactly
// the live files of published loads, as the catalog lists them, rather than
// globbing the folder: a shell sees whole loads and whole compactions, never
// a half-published one.
//
// events keeps one row per event_id. The window is partitioned by the
// partition columns too: re-deliveries share their timestamp, so their
// partition, and a filter on domain or event_date then prunes files below
// the de-duplication. A partition whose files all come from one compaction
// holds no duplicates (compaction dropped them), so its files are read
// without the window at all.
//
// Files missing on disk or of another size than recorded are left out
// (recorded in u). Files holding rows of reprocessed or forgotten objects
// (superseded rows) are read through an anti-join with the superseded
// (_object, _load_id) pairs, taken from the same catalog snapshot as the
// file list; their partitions are neither served from the cache nor
// treated as compacted.
func eventsQueries(ctx context.Context, conn *sql.Conn, o Options, u *unavailable) (raw, events string, warnings []string, err error) {
	listed, pairs, err := o.Catalog.VisibleFiles(ctx, "events")
	if err != nil {
		return "", "", nil, err
	}
	// A partition that lost a file is no longer the set the query cache
	// holds, so it is read from its remaining files.
	live := listed[:0:0]
	for _, f := range listed {
		if u.ok(f.FileRecord) {
			live = append(live, f)
		}
	}
	if len(live) == 0 {
		_, _ = conn.ExecContext(ctx, "DETACH DATABASE IF EXISTS "+cacheAlias)
		return emptyEvents, emptyEvents, nil, nil
	}
	// Partitions compacted and untouched since hold no duplicates; those
	// the query cache holds as they are now are read from it.
	clean := compactedPartitions(live)
	for _, f := range live {
		if f.Superseded > 0 {
			clean[f.Partition] = false
		}
	}
	cached, cerr := attachCache(ctx, conn, o.Lake)
	if cerr != nil {
		warnings = append(warnings, cerr.Error())
	}
	root := filepath.ToSlash(abs(o.Lake)) + "/" + partitions.EventsTable + "/"
	cachedOf := map[string][]string{} // partition → cached files
	for _, f := range cached {
		if rel, ok := strings.CutPrefix(f, root); ok {
			p := path.Dir(rel)
			cachedOf[p] = append(cachedOf[p], f)
		}
	}
	liveOf := map[string][]string{}
	for _, f := range live {
		liveOf[f.Partition] = append(liveOf[f.Partition], absPath(o.Lake, f.Path))
	}
	fromCache := map[string]bool{}
	for p, files := range liveOf {
		c := cachedOf[p]
		if clean[p] && len(c) == len(files) {
			slices.Sort(c)
			slices.Sort(files)
			fromCache[p] = slices.Equal(c, files)
		}
	}
	var stale []string // cached files of partitions that changed since
	for p, files := range cachedOf {
		if !fromCache[p] {
			stale = append(stale, files...)
		}
	}
	slices.Sort(stale)
	var done, rest []catalog.LiveFile
	for _, f := range live {
		switch {
		case fromCache[f.Partition]:
		case clean[f.Partition]:
			done = append(done, f)
		default:
			rest = append(rest, f)
		}
	}
	read := func(files []catalog.LiveFile) string {
		q := readLive(o.Lake, files, pairs, "_object", "hive_partitioning = true, hive_types = {'domain': VARCHAR, 'event_date': DATE}")
		if strings.Contains(q, " UNION ALL ") {
			q = "SELECT * FROM (" + q + ")"
		}
		return q
	}
	dedup := " " + schema.EventsDedup.Qualify()
	var unique, all []string // parts without duplicates; all parts of events_raw
	if len(fromCache) > 0 && len(stale) < len(cached) {
		q := "SELECT * EXCLUDE (filename) FROM " + cacheAlias + ".events"
		if len(stale) > 0 {
			q += " WHERE filename NOT IN (" + strings.Trim(literalList(stale), "[]") + ")"
		}
		unique, all = append(unique, q), append(all, q)
	}
	if len(done) > 0 {
		unique, all = append(unique, read(done)), append(all, read(done))
	}
	if len(rest) > 0 {
		all = append(all, read(rest))
	}
	raw = strings.Join(all, " UNION ALL BY NAME ")
	switch {
	case len(rest) == 0:
		events = "SELECT * FROM main.events_raw"
	case len(unique) == 0:
		events = "SELECT * FROM main.events_raw" + dedup
	default:
		events = strings.Join(unique, " UNION ALL BY NAME ") + " UNION ALL BY NAME (" + read(rest) + dedup + ")"
	}
	return raw, events, warnings, nil
}

// readLive returns a query reading files with read_parquet options opts,
// without the superseded rows: the files that hold some are read through an
// anti-join with pairs on (objCol, _load_id).
func readLive(lake string, files []catalog.LiveFile, pairs []catalog.ObjectLoad, objCol, opts string) string {
	var plain, filtered []catalog.FileRecord
	for _, f := range files {
		if f.Superseded > 0 && len(pairs) > 0 {
			filtered = append(filtered, f.FileRecord)
		} else {
			plain = append(plain, f.FileRecord)
		}
	}
	var parts []string
	if len(plain) > 0 {
		parts = append(parts, "SELECT * FROM read_parquet("+fileList(lake, plain)+", "+opts+")")
	}
	if len(filtered) > 0 {
		var b strings.Builder
		for i, p := range pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + Literal(p.Object) + "," + Literal(p.LoadID) + ")")
		}
		parts = append(parts, "SELECT r.* FROM read_parquet("+fileList(lake, filtered)+", "+opts+") r ANTI JOIN (VALUES "+b.String()+
			") s(superseded_object, superseded_load) ON r."+Quote(objCol)+" = s.superseded_object AND r._load_id = s.superseded_load")
	}
	return strings.Join(parts, " UNION ALL BY NAME ")
}

func fileList(lake string, files []catalog.FileRecord) string {
	root := abs(lake)
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range files {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Literal(filepath.ToSlash(filepath.Join(root, filepath.FromSlash(f.Path)))))
	}
	b.WriteByte(']')
	return b.String()
}

// Refresh re-points events_raw and eventlake.rejects at the catalog's
// current live files (after a load or a compaction committed) and copies
// the catalog tables again, keeping every other view: they read through
// events_raw. (Views of event types that appeared since Create need a new
// session.) It returns warnings as Create does (files left out); a caller
// shows each distinct warning once.
func Refresh(ctx context.Context, conn *sql.Conn, o Options) ([]string, error) {
	u := &unavailable{lake: o.Lake, has: o.Files}
	raw, events, warnings, err := eventsQueries(ctx, conn, o, u)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE VIEW main.events_raw AS "+raw+"; CREATE OR REPLACE VIEW main.events AS "+events); err != nil {
		return nil, err
	}
	if err := createCatalog(ctx, conn, o, u); err != nil {
		return nil, err
	}
	if w := u.warning(); w != "" {
		warnings = append(warnings, w)
	}
	return warnings, nil
}

// Count returns, from the catalog alone, how many event types get a typed
// view (each also has its _history view) and in how many domains.
func Count(ctx context.Context, cat *catalog.Catalog) (types, domains int, err error) {
	all, err := cat.Schemas(ctx, "")
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	for _, s := range all {
		if d, _, ok := strings.Cut(s.Key, "/"); ok && s.Table == "events" {
			types++
			if !seen[d] {
				seen[d] = true
				domains++
			}
		}
	}
	return types, domains, nil
}

// Version is a cheap fingerprint of what the catalog holds: it changes when
// a load or compaction commits, so a shell knows when to Refresh.
func Version(ctx context.Context, cat *catalog.Catalog) (string, error) {
	var loads, live, removed int64
	err := cat.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM loads WHERE status = ?),
 (SELECT count(*) FROM files WHERE status = 'live'), (SELECT count(*) FROM files WHERE status = 'removed')`, string(catalog.LoadPublished)).Scan(&loads, &live, &removed)
	return fmt.Sprintf("%d/%d/%d", loads, live, removed), err
}

func tableConfig(c *config.Config, schema, view, domain, eventType string) config.Table {
	for _, k := range []string{schema + "." + view, domain + "/" + eventType, domain + "." + eventType} {
		if t, ok := c.Tables[k]; ok {
			return t
		}
	}
	return config.Table{}
}

type queries struct{ latest, history string }

// typedQuery builds the SQL of a typed view and its history twin.
func typedQuery(t *schema.Type, domain, eventType string, tc config.Table) (queries, int, []string, error) {
	taken := map[string]bool{"d": true}
	for _, c := range envelope {
		taken[c] = true
	}
	for _, c := range schema.EventPartitions {
		taken[c.Name] = true
	}
	// from_json structure of data's top-level fields, with the configured
	// column types (tables.<view>.types) in place of the inferred ones
	fieldNames, structure := withTypes(t, tc.Types)
	var fields []*schema.Field
	for _, n := range fieldNames {
		fields = append(fields, &schema.Field{Name: n})
	}
	cols := dedupe(prefixed(fieldNames, taken), taken)
	var sel []string
	sel = append(sel, "event_id", "event_type", "schema_version", "org_id", "cid", "event_time", "domain", "event_date")
	renamed := false
	for i, f := range fields {
		renamed = renamed || cols[i] != f.Name
	}
	if renamed {
		for i, f := range fields {
			sel = append(sel, fmt.Sprintf("d.%s AS %s", Quote(f.Name), Quote(cols[i])))
		}
	} else if len(fields) > 0 {
		// One expression instead of one per field: cheaper to bind.
		sel = append(sel, "unnest(d)")
	}
	sel = append(sel, "data", "_object", "_line", "_offset", "_load_id", "_ingested_at")
	dataExpr := "NULL"
	if structure != "" {
		dataExpr = fmt.Sprintf("from_json(data, %s)", Literal(structure))
	}
	base := fmt.Sprintf("SELECT *, %s AS d FROM main.events_raw WHERE domain = %s AND event_type = %s",
		dataExpr, Literal(domain), Literal(eventType))
	// events of this type, one row per event_id
	dedup := schema.EventsDedup.By("event_id").Qualify()
	history := fmt.Sprintf("SELECT %s FROM (%s %s)", strings.Join(sel, ", "), base, dedup)

	key := tc.Key
	if len(key) == 0 {
		key = []string{"event_id"}
	}
	var keyExprs []string
	for _, k := range key {
		e, err := columnExpr(k, fields)
		if err != nil {
			return queries{}, 0, nil, fmt.Errorf("key %q: %w", k, err)
		}
		keyExprs = append(keyExprs, e)
	}
	order := tc.Order
	if order == "" {
		order = "event_time"
	}
	orderExpr, err := columnExpr(order, fields)
	if err != nil {
		return queries{}, 0, nil, fmt.Errorf("order %q: %w", order, err)
	}
	latest := history
	if !(len(key) == 1 && key[0] == "event_id") || tc.Order != "" {
		latest = fmt.Sprintf("SELECT %s FROM (%s %s) QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s DESC NULLS LAST, _ingested_at DESC, _load_id DESC, _object DESC, _line DESC) = 1",
			strings.Join(sel, ", "), base, dedup, strings.Join(keyExprs, ", "), orderExpr)
	}
	return queries{latest: latest, history: history}, len(schema.EventColumns) + len(schema.EventPartitions) + len(fields), key, nil
}

// columnExpr maps a configured key/order column to SQL over the base query:
// an envelope column, or a data path ("data.account.id").
func columnExpr(col string, fields []*schema.Field) (string, error) {
	for _, c := range envelope {
		if col == c {
			return c, nil
		}
	}
	for _, c := range schema.EventPartitions {
		if col == c.Name {
			return col, nil
		}
	}
	path, ok := strings.CutPrefix(col, "data.")
	if !ok || path == "" {
		return "", fmt.Errorf("not an envelope column or a data.<path>")
	}
	parts := strings.Split(path, ".")
	// A typed top-level field: use the typed value (numbers order as numbers).
	for _, f := range fields {
		if f.Name == parts[0] {
			e := "d"
			for _, p := range parts {
				e += "." + Quote(p)
			}
			return e, nil
		}
	}
	jp := "$"
	for _, p := range parts {
		jp += "." + `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
	}
	return fmt.Sprintf("json_extract_string(data, %s)", Literal(jp)), nil
}

// prefixed renames data fields that collide with envelope columns.
func prefixed(names []string, taken map[string]bool) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if taken[strings.ToLower(n)] {
			n = "data_" + n
		}
		out[i] = n
	}
	return out
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
