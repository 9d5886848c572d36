package views

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/schema"
)

// Pismo publishes a JSON Schema per event type, in a bucket laid out as
// json_schemas/<domain>/<event_type>.json, and announces every change to one
// as an event of the stream: dataplatform/json_schema_change, with
// change_type INSERT, MODIFY or REMOVE and the schema as a JSON string in
// new_schema. A typed view follows the newest declaration of its event type
// from either place; with none (or after a REMOVE) it uses the types
// inferred at load time.

// SchemaStore is a place JSON Schemas are read from: a folder or a bucket
// holding <domain>/<event_type>.json. cmd/eventlake implements it with the
// loader's source backends (s3://, gs://, local), which the SQL packages do
// not link.
type SchemaStore interface {
	// URL names the root (without secrets), as shown in schema_changes.
	URL() string
	// List calls fn for every object under the root; key is relative to it.
	List(ctx context.Context, fn func(key string, modTime time.Time) error) error
	// Read returns an object's content.
	Read(ctx context.Context, key string) ([]byte, error)
}

// DirStore is a SchemaStore over a local folder.
func DirStore(dir string) SchemaStore { return dirStore(dir) }

type dirStore string

func (d dirStore) URL() string { return abs(string(d)) + "/" }

func (d dirStore) List(ctx context.Context, fn func(string, time.Time) error) error {
	root := string(d)
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), info.ModTime())
	})
}

func (d dirStore) Read(ctx context.Context, key string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(key)))
}

// SchemaChangeDomain and SchemaChangeType identify Pismo's schema change events.
const (
	SchemaChangeDomain = "dataplatform"
	SchemaChangeType   = "json_schema_change"
)

// declaration is one published version of a JSON Schema: an object of the
// schema store or a json_schema_change event.
type declaration struct {
	kind      string // "bucket" or "event"
	origin    string // the object's URL, or "event <event_id>"
	change    string // INSERT, MODIFY, REMOVE; "" for a bucket object
	domain    string // schema_domain
	eventType string // schema_event_type (bucket: the file name without .json)
	name      string // schema_name: <domain>/<event_type>-<version>
	version   int64  // schema_version; bucket: the -N suffix of the file name
	at        time.Time
	doc       string // the JSON Schema; "" for REMOVE (and unread bucket objects)
	key       string // bucket object key
	followed  bool   // a view follows it
}

// matches tells whether d declares the lake's event type et of domain.
func (d *declaration) matches(domain, et string) bool {
	if d.domain != domain {
		return false
	}
	return d.name == domain+"/"+et || d.eventType == et || (d.eventType+"-"+strconv.FormatInt(d.version, 10)) == et
}

func (d *declaration) schemaKey() string {
	if d.name != "" {
		return d.name
	}
	if d.kind == "bucket" {
		return d.domain + "/" + d.eventType
	}
	return fmt.Sprintf("%s/%s-%d", d.domain, d.eventType, d.version)
}

// declarations are every declaration known to a session.
type declarations struct {
	store SchemaStore
	all   []*declaration
}

// versionSuffix is the N of a trailing -N or _N (customer-creation-1 → 1).
func versionSuffix(et string) int64 {
	i := strings.LastIndexAny(et, "-_")
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseInt(et[i+1:], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// loadDeclarations lists the schema store and reads the schema change
// events in the lake.
func loadDeclarations(ctx context.Context, conn *sql.Conn, o Options, schemas []catalog.SchemaRecord) (*declarations, []string, error) {
	ds := &declarations{store: o.SchemaStore}
	if ds.store == nil && o.SchemasDir != "" {
		ds.store = DirStore(o.SchemasDir)
	}
	var warnings []string
	if ds.store != nil {
		err := ds.store.List(ctx, func(key string, mtime time.Time) error {
			rel := strings.TrimPrefix(key, "json_schemas/")
			name, ok := strings.CutSuffix(rel, ".json")
			d, et, ok2 := strings.Cut(name, "/")
			if !ok || !ok2 || d == "" || et == "" || strings.Contains(et, "/") {
				return nil
			}
			ds.all = append(ds.all, &declaration{kind: "bucket", origin: ds.store.URL() + key, domain: d, eventType: et,
				version: versionSuffix(et), at: mtime, key: key})
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("schemas %s: %w", ds.store.URL(), err)
		}
	}
	has := false
	for _, s := range schemas {
		has = has || (s.Table == "events" && s.Key == SchemaChangeDomain+"/"+SchemaChangeType)
	}
	if !has {
		return ds, warnings, nil
	}
	live, err := o.Catalog.LiveFiles(ctx, "events")
	if err != nil {
		return nil, nil, err
	}
	var files []catalog.FileRecord
	for _, f := range live {
		if strings.HasPrefix(f.Partition, "domain="+SchemaChangeDomain+"/") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return ds, warnings, nil
	}
	q := `SELECT event_id, event_time, coalesce(upper(json_extract_string(data, '$.change_type')), ''),
 coalesce(json_extract_string(data, '$.schema_domain'), ''), coalesce(json_extract_string(data, '$.schema_event_type'), ''),
 coalesce(json_extract_string(data, '$.schema_name'), ''), json_extract_string(data, '$.schema_version'),
 coalesce(json_extract_string(data, '$.new_schema'), '')
 FROM read_parquet(` + fileList(o.Lake, files) + `) WHERE event_type = ` + Literal(SchemaChangeType) + `
 QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at DESC, _load_id DESC) = 1
 ORDER BY event_time, event_id`
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the schema change events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d := &declaration{kind: "event"}
		var id string
		var version sql.NullString
		var at sql.NullTime
		if err := rows.Scan(&id, &at, &d.change, &d.domain, &d.eventType, &d.name, &version, &d.doc); err != nil {
			return nil, nil, err
		}
		d.origin, d.at = "event "+id, at.Time
		if version.Valid {
			if d.version, err = strconv.ParseInt(strings.TrimSpace(version.String), 10, 64); err != nil {
				warnings = append(warnings, fmt.Sprintf("schema change event %s: schema_version %q is not a number", id, version.String))
			}
		}
		switch d.change {
		case "INSERT", "MODIFY", "REMOVE":
		default:
			warnings = append(warnings, fmt.Sprintf("schema change event %s: change_type %q is not INSERT, MODIFY or REMOVE; ignored", id, d.change))
			continue
		}
		if d.change == "REMOVE" {
			d.doc = ""
		}
		ds.all = append(ds.all, d)
	}
	return ds, warnings, rows.Err()
}

// resolve returns the declared type of the lake's event type et of domain:
// the newest declaration (by schema version, then time; an event before a
// bucket object of the same instant) that matches, nil when there is none,
// it is a REMOVE, or nothing usable was declared.
func (ds *declarations) resolve(ctx context.Context, domain, et string) (*schema.Type, *declaration, []string) {
	var cands []*declaration
	for _, d := range ds.all {
		if d.matches(domain, et) {
			cands = append(cands, d)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.version != b.version {
			return a.version > b.version
		}
		if !a.at.Equal(b.at) {
			return a.at.After(b.at)
		}
		return a.kind == "event" && b.kind != "event"
	})
	var warnings []string
	for _, d := range cands {
		if d.change == "REMOVE" {
			d.followed = true
			return nil, d, warnings
		}
		if d.kind == "bucket" && d.doc == "" {
			b, err := ds.store.Read(ctx, d.key)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				warnings = append(warnings, fmt.Sprintf("schema %s: %v", d.origin, err))
				continue
			}
			d.doc = string(b)
		}
		t, err := schema.FromJSONSchema([]byte(d.doc))
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("schema %s (%s): %v; not used", d.schemaKey(), d.origin, err))
			continue
		}
		d.followed = true
		return t, d, warnings
	}
	return nil, nil, warnings
}

// insertChanges adds the declarations to eventlake.schema_changes: every
// schema change event, and the bucket objects that were read.
func (ds *declarations) insertChanges(ctx context.Context, conn *sql.Conn) error {
	var vals []string
	for _, d := range ds.all {
		if d.kind == "bucket" && d.doc == "" {
			continue
		}
		doc := "NULL"
		if d.doc != "" {
			doc = Literal(d.doc)
		}
		at := "NULL"
		if !d.at.IsZero() {
			at = Literal(d.at.UTC().Format(time.RFC3339Nano)) + "::TIMESTAMPTZ"
		}
		change := "NULL"
		if d.change != "" {
			change = Literal(d.change)
		}
		vals = append(vals, fmt.Sprintf("('events', %s, NULL, %s, NULL, %s, %s, %s, %s, %s, %s, %d, %t)",
			Literal(d.schemaKey()), Literal(d.origin), doc, at, at, Literal(d.kind), Literal(d.origin), change, d.version, d.followed))
	}
	if len(vals) == 0 {
		return nil
	}
	_, err := conn.ExecContext(ctx, "DELETE FROM eventlake.schema_changes WHERE kind <> 'inferred'; INSERT INTO eventlake.schema_changes VALUES "+strings.Join(vals, ", "))
	return err
}

// conflictKinds maps a declared kind to the name the conflict checks use
// and the observed names that agree with it.
func conflictKinds(k schema.Kind) (declared string, ok []string) {
	switch k {
	case schema.Bool:
		return "BOOLEAN", []string{"BOOLEAN"}
	case schema.Int:
		return "BIGINT", []string{"BIGINT"}
	case schema.Float:
		return "DOUBLE", []string{"BIGINT", "DOUBLE"}
	case schema.Timestamp:
		return "TIMESTAMPTZ", []string{"TIMESTAMPTZ"}
	case schema.String:
		return "VARCHAR", []string{"VARCHAR", "TIMESTAMPTZ"}
	case schema.Object:
		return "STRUCT", []string{"STRUCT"}
	case schema.Array:
		return "LIST", []string{"LIST"}
	}
	return "", nil
}

// inferredName names an inferred kind as conflictKinds does.
func inferredName(k schema.Kind) string {
	switch k {
	case schema.JSON:
		return "JSON (mixed)"
	case schema.Timestamp:
		return "TIMESTAMPTZ"
	}
	n, _ := conflictKinds(k)
	return n
}

// conflictWarnings compares a declared type with the one the catalog
// inferred from the loaded data, top-level field by field.
func conflictWarnings(view string, origin string, declared, inferred *schema.Type, overridden map[string]bool) []string {
	if declared == nil || inferred == nil || inferred.Kind != schema.Object {
		return nil
	}
	inf := map[string]*schema.Type{}
	for _, f := range inferred.Fields {
		inf[f.Name] = f.Type
	}
	var out []string
	for _, f := range declared.Fields {
		it := inf[f.Name]
		if it == nil || it.Kind == schema.Unknown || overridden[f.Name] || f.Type == nil {
			continue
		}
		d, ok := conflictKinds(f.Type.Kind)
		if d == "" {
			continue
		}
		obs := inferredName(it.Kind)
		agree := false
		for _, k := range ok {
			agree = agree || k == obs
		}
		if !agree {
			out = append(out, fmt.Sprintf("%s: column %s is declared %s (JSON Schema of %s) but the loaded data has %s values; eventlake.type_conflicts lists the objects",
				view, f.Name, d, origin, obs))
		}
	}
	return out
}

// conflictCheck is the SQL of one declared view's part of
// eventlake.type_conflicts: the objects whose values of a declared
// top-level field have another JSON type.
func conflictCheck(view, domain, et string, declared *schema.Type, overridden map[string]bool) string {
	if declared == nil || declared.Kind != schema.Object {
		return ""
	}
	var fields []string
	for _, f := range declared.Fields {
		if f.Type == nil || overridden[f.Name] {
			continue
		}
		d, ok := conflictKinds(f.Type.Kind)
		if d == "" {
			continue
		}
		path := `$."` + strings.ReplaceAll(strings.ReplaceAll(f.Name, `\`, `\\`), `"`, `\"`) + `"`
		fields = append(fields, fmt.Sprintf("{c: %s, p: %s, d: %s, ts: %t, ok: %s}", Literal(f.Name), Literal(path), Literal(d), f.Type.Kind == schema.Timestamp, literalList(ok)))
	}
	if len(fields) == 0 {
		return ""
	}
	observed := `CASE json_type(data, f.p) WHEN 'UBIGINT' THEN 'BIGINT' WHEN 'OBJECT' THEN 'STRUCT' WHEN 'ARRAY' THEN 'LIST'
 WHEN 'VARCHAR' THEN CASE WHEN TRY_CAST(json_extract_string(data, f.p) AS TIMESTAMPTZ) IS NOT NULL AND f.ts THEN 'TIMESTAMPTZ' ELSE 'VARCHAR' END
 ELSE json_type(data, f.p) END`
	return fmt.Sprintf(`SELECT %s AS view_name, domain, event_type, f.c AS column_name, f.d AS declared_type, observed_type,
 _object AS object, count(DISTINCT event_id) AS events, min(_line) AS first_line
 FROM (SELECT domain, event_type, event_id, _object, _line, f, %s AS observed_type
  FROM main.events_raw, (SELECT unnest([%s]) AS f) WHERE domain = %s AND event_type = %s)
 WHERE observed_type IS NOT NULL AND observed_type <> 'NULL' AND NOT list_contains(f.ok, observed_type)
 GROUP BY ALL`, Literal(view), observed, strings.Join(fields, ", "), Literal(domain), Literal(et))
}

const emptyConflicts = `SELECT NULL::VARCHAR AS view_name, NULL::VARCHAR AS domain, NULL::VARCHAR AS event_type,
 NULL::VARCHAR AS column_name, NULL::VARCHAR AS declared_type, NULL::VARCHAR AS observed_type, NULL::VARCHAR AS object,
 NULL::BIGINT AS events, NULL::BIGINT AS first_line WHERE false`
