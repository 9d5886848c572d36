package main

import (
	"context"
	dbsql "database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/partitions"
	"github.com/eventlake/eventlake/sql/shell"
	"github.com/eventlake/eventlake/sql/views"
)

// Partition pruning of `sql` on a lake in a bucket: which events partitions
// (domain=…/event_date=…) the SELECT statements of a script can read, decided
// from DuckDB's own parse tree (json_serialize_sql), never from the text.
//
// Every reference to a table is looked at. A reference to events, events_raw
// or a typed view (<domain schema>.<view>) that is the only table of its
// SELECT is bounded by the conjuncts of that SELECT's WHERE that compare
// domain or event_date with constants (=, <, <=, >, >=, BETWEEN, IN, AND,
// OR); a typed view is also bounded by its domain. Any other reference (a
// join, a CTE named like a view, an unknown view, a table function) reads
// every partition, and so does a statement DuckDB cannot serialize (anything
// but SELECT) or a dot command other than those shaping the output: what is
// not understood is not pruned. The
// answers stay exact because the views of the three kinds filter before they
// de-duplicate only within a partition (events, _history views) or within a
// domain (typed views whose upsert key is configured: only their domain
// prunes them).

// partPred accepts an events partition (its domain and event_date, as the
// views read them); a nil partPred accepts every partition.
type partPred func(domain, date string) bool

func andPred(a, b partPred) partPred {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(d, t string) bool { return a(d, t) && b(d, t) }
}

// orPred accepts what either accepts; nil (every partition) when either is.
func orPred(a, b partPred) partPred {
	if a == nil || b == nil {
		return nil
	}
	return func(d, t string) bool { return a(d, t) || b(d, t) }
}

// outputDots are the dot commands that change only how results are shown.
var outputDots = map[string]bool{".mode": true, ".timer": true, ".headers": true, ".header": true, ".nullvalue": true,
	".width": true, ".maxrows": true, ".echo": true, ".print": true, ".separator": true, ".output": true, ".once": true}

// catalogOnly are the eventlake.* views that read no events file.
var catalogOnly = map[string]bool{"loads": true, "objects": true, "files": true, "rejects": true, "schemas": true}

// pruner turns a parse tree into a partPred.
type pruner struct {
	schemas map[string]string // domain schema name (lower case) → domain
	keyed   bool              // some typed view has a configured upsert key or order
	ctes    map[string]bool   // names of common table expressions (lower case)
	refs    int               // references that read events partitions
	pred    partPred          // the union of their bounds
	all     bool              // some reference reads every partition
}

// scriptPartitions returns the partition filter of the events files a
// script can read, or nil when it cannot tell (every partition).
func scriptPartitions(ctx context.Context, script string, cat *catalog.Catalog, cfg *config.Config) (partPred, error) {
	stmts, dots := shell.Statements(script)
	for _, d := range dots {
		// Dot commands that only shape the output leave the SQL as it is.
		if !outputDots[strings.ToLower(strings.Fields(d)[0])] {
			return nil, nil
		}
	}
	if len(stmts) == 0 {
		return nil, nil
	}
	tree, err := parseTree(ctx, strings.Join(stmts, ";\n"))
	if err != nil || tree == nil {
		return nil, err
	}
	schemas, err := cat.Schemas(ctx, "events")
	if err != nil {
		return nil, err
	}
	var domains []string
	seen := map[string]bool{}
	for _, s := range schemas {
		if d, _, ok := strings.Cut(s.Key, "/"); ok && !seen[d] {
			seen[d] = true
			domains = append(domains, d)
		}
	}
	keyed := false
	for _, t := range cfg.Tables {
		keyed = keyed || len(t.Key) > 0 || t.Order != ""
	}
	return treePartitions(tree, views.Assign(domains), keyed), nil
}

// treePartitions is scriptPartitions on a parse tree, given the domains'
// schema names and whether some typed view has a configured key or order.
func treePartitions(tree any, schemaOf map[string]string, keyed bool) partPred {
	p := &pruner{schemas: map[string]string{}, ctes: map[string]bool{}, keyed: keyed}
	for d, sn := range schemaOf {
		p.schemas[strings.ToLower(sn)] = d
	}
	p.collectCTEs(tree)
	p.walk(tree)
	if p.all || p.refs == 0 {
		return nil
	}
	return p.pred
}

// parseTree returns DuckDB's parse tree of a script of SELECT statements,
// or nil when DuckDB cannot serialize it (other statements, dot commands).
func parseTree(ctx context.Context, script string) (any, error) {
	db, err := dbsql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out string
	if err := db.QueryRowContext(ctx, "SELECT json_serialize_sql("+views.Literal(script)+")::VARCHAR").Scan(&out); err != nil {
		return nil, nil // not a script DuckDB can parse as it is: no pruning
	}
	var tree struct {
		Error      bool  `json:"error"`
		Statements []any `json:"statements"`
	}
	if err := json.Unmarshal([]byte(out), &tree); err != nil || tree.Error || len(tree.Statements) == 0 {
		return nil, nil
	}
	return tree.Statements, nil
}

func (p *pruner) collectCTEs(n any) {
	switch v := n.(type) {
	case map[string]any:
		if m, ok := v["cte_map"].(map[string]any); ok {
			entries, _ := m["map"].([]any)
			for _, e := range entries {
				if em, ok := e.(map[string]any); ok {
					if k, ok := em["key"].(string); ok {
						p.ctes[strings.ToLower(k)] = true
					}
				}
			}
		}
		for _, c := range v {
			p.collectCTEs(c)
		}
	case []any:
		for _, c := range v {
			p.collectCTEs(c)
		}
	}
}

// walk visits every node; a SELECT whose FROM is one table bounds that
// table by its WHERE, every other table reference is unbounded.
func (p *pruner) walk(n any) {
	switch v := n.(type) {
	case map[string]any:
		if v["type"] == "SELECT_NODE" {
			if from, ok := v["from_table"].(map[string]any); ok && from["type"] == "BASE_TABLE" {
				p.table(from, v["where_clause"])
				for k, c := range v {
					if k != "from_table" {
						p.walk(c)
					}
				}
				return
			}
		}
		if v["type"] == "BASE_TABLE" {
			p.table(v, nil)
			return
		}
		for _, c := range v {
			p.walk(c)
		}
	case []any:
		for _, c := range v {
			p.walk(c)
		}
	}
}

// table adds the partitions a table reference reads, filtered by where
// (nil: no WHERE, or the reference is not alone in its FROM).
func (p *pruner) table(ref map[string]any, where any) {
	str := func(k string) string { s, _ := ref[k].(string); return strings.ToLower(s) }
	schemaName, name, catalogName := str("schema_name"), str("table_name"), str("catalog_name")
	if a, _ := ref["column_name_alias"].([]any); len(a) > 0 || ref["at_clause"] != nil || (catalogName != "" && catalogName != "memory") {
		p.all = true
		return
	}
	if schemaName == "" && p.ctes[name] {
		if name == "events" || name == "events_raw" {
			p.all = true // a CTE shadowing a view: not worth telling apart
		}
		return // the CTE's own query is walked
	}
	if schemaName == "eventlake" && catalogOnly[name] {
		return
	}
	qual := str("alias")
	if qual == "" {
		qual = name
	}
	var pred partPred
	switch domain, typed := p.schemas[schemaName]; {
	case (schemaName == "" || schemaName == "main") && (name == "events" || name == "events_raw"):
		pred = whereBound(where, qual, true)
		if pred == nil {
			p.all = true
			return
		}
	case typed:
		// A latest-per-key view whose key spans partitions is pruned by
		// its domain only.
		pred = andPred(func(d, _ string) bool { return d == domain },
			whereBound(where, qual, strings.HasSuffix(name, "_history") || !p.keyed))
	default:
		p.all = true
		return
	}
	if p.refs == 0 {
		p.pred = pred
	} else {
		p.pred = orPred(p.pred, pred)
	}
	p.refs++
}

// whereBound returns what a WHERE clause requires of the partition columns
// of the table qual names (nil: nothing known). dates tells whether
// event_date bounds may be used.
func whereBound(where any, qual string, dates bool) partPred {
	e, ok := where.(map[string]any)
	if !ok {
		return nil
	}
	kids := func(k string) []any { c, _ := e[k].([]any); return c }
	switch e["type"] {
	case "CONJUNCTION_AND":
		var pred partPred
		for _, c := range kids("children") {
			pred = andPred(pred, whereBound(c, qual, dates))
		}
		return pred
	case "CONJUNCTION_OR":
		cs := kids("children")
		if len(cs) == 0 {
			return nil
		}
		pred := whereBound(cs[0], qual, dates)
		for _, c := range cs[1:] {
			pred = orPred(pred, whereBound(c, qual, dates))
		}
		return pred
	case "COMPARE_EQUAL", "COMPARE_LESSTHAN", "COMPARE_GREATERTHAN", "COMPARE_LESSTHANOREQUALTO", "COMPARE_GREATERTHANOREQUALTO":
		op := e["type"].(string)
		col, val := partColumn(e["left"], qual, dates), constant(e["right"])
		if col == "" {
			// constant op column: the mirrored comparison
			col, val = partColumn(e["right"], qual, dates), constant(e["left"])
			op = map[string]string{"COMPARE_LESSTHAN": "COMPARE_GREATERTHAN", "COMPARE_GREATERTHAN": "COMPARE_LESSTHAN",
				"COMPARE_LESSTHANOREQUALTO": "COMPARE_GREATERTHANOREQUALTO", "COMPARE_GREATERTHANOREQUALTO": "COMPARE_LESSTHANOREQUALTO",
				"COMPARE_EQUAL": "COMPARE_EQUAL"}[op]
		}
		if col == "" || val == nil || !valid(col, *val) {
			return nil
		}
		v := *val
		if col == "domain" {
			if op != "COMPARE_EQUAL" {
				return nil
			}
			return func(d, _ string) bool { return d == v }
		}
		return func(_, t string) bool {
			switch op {
			case "COMPARE_EQUAL":
				return t == v
			case "COMPARE_LESSTHAN":
				return t < v
			case "COMPARE_GREATERTHAN":
				return t > v
			case "COMPARE_LESSTHANOREQUALTO":
				return t <= v
			}
			return t >= v
		}
	case "COMPARE_BETWEEN":
		col, lo, hi := partColumn(e["input"], qual, dates), constant(e["lower"]), constant(e["upper"])
		if col != "event_date" || lo == nil || hi == nil || !valid(col, *lo) || !valid(col, *hi) {
			return nil
		}
		return func(_, t string) bool { return *lo <= t && t <= *hi }
	case "COMPARE_IN":
		cs := kids("children")
		if len(cs) < 2 {
			return nil
		}
		col := partColumn(cs[0], qual, dates)
		in := map[string]bool{}
		for _, c := range cs[1:] {
			v := constant(c)
			if col == "" || v == nil || !valid(col, *v) {
				return nil
			}
			in[*v] = true
		}
		if col == "domain" {
			return func(d, _ string) bool { return in[d] }
		}
		return func(_, t string) bool { return in[t] }
	}
	return nil
}

// partColumn returns "domain" or "event_date" when e is a reference to that
// column of the table qual names (unqualified or qualified by it).
func partColumn(e any, qual string, dates bool) string {
	m, ok := e.(map[string]any)
	if !ok || m["type"] != "COLUMN_REF" {
		return ""
	}
	names, _ := m["column_names"].([]any)
	var parts []string
	for _, n := range names {
		s, _ := n.(string)
		parts = append(parts, strings.ToLower(s))
	}
	if len(parts) == 2 && parts[0] == qual {
		parts = parts[1:]
	}
	if len(parts) != 1 {
		return ""
	}
	if parts[0] == "domain" || (dates && parts[0] == "event_date") {
		return parts[0]
	}
	return ""
}

// constant returns the value of a VARCHAR constant, also under a cast to
// VARCHAR or DATE ('2024-01-02', DATE '2024-01-02', '2024-01-02'::DATE).
func constant(e any) *string {
	m, ok := e.(map[string]any)
	if !ok {
		return nil
	}
	if m["type"] == "OPERATOR_CAST" {
		ct, _ := m["cast_type"].(map[string]any)
		if tc, _ := m["try_cast"].(bool); tc || ct == nil || (ct["id"] != "DATE" && ct["id"] != "VARCHAR") {
			return nil
		}
		return constant(m["child"])
	}
	if m["type"] != "VALUE_CONSTANT" {
		return nil
	}
	v, _ := m["value"].(map[string]any)
	if v == nil {
		return nil
	}
	t, _ := v["type"].(map[string]any)
	s, ok := v["value"].(string)
	if isNull, _ := v["is_null"].(bool); isNull || !ok || t == nil || t["id"] != "VARCHAR" {
		return nil
	}
	return &s
}

// valid tells whether a constant compares with the column as a string
// would: any domain, a date only in its canonical form (DuckDB would read
// '2024-1-2' as that day too; such a constant is not used).
func valid(col, v string) bool {
	if col == "domain" {
		return true
	}
	t, err := time.Parse("2006-01-02", v)
	return err == nil && t.Format("2006-01-02") == v
}

// keepPartition applies a partPred to an events file's partition folder
// (domain=…/event_date=…). A value the views would read other than as its
// plain text (escaped, the default partition) is kept.
func keepPartition(pred partPred, f catalog.FileRecord) bool {
	if pred == nil || f.Table != "events" {
		return true
	}
	ds, ts, ok := strings.Cut(f.Partition, "/")
	d, okd := strings.CutPrefix(ds, "domain=")
	t, okt := strings.CutPrefix(ts, "event_date=")
	if !ok || !okd || !okt || strings.Contains(d, "%") || d == partitions.DefaultPartition || d == views.SchemaChangeDomain || !valid("event_date", t) {
		return true
	}
	return pred(d, t)
}
