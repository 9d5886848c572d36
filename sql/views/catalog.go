package views

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// catalogTables are copied from the SQLite catalog into DuckDB's eventlake
// schema when the shell starts (a snapshot: one read transaction).
var catalogTables = []string{"loads", "objects", "files", "schemas", "schema_changes", "supersedes", "superseded_files"}

// timeColumns hold unix microseconds in SQLite and are TIMESTAMPTZ in SQL.
var timeColumns = map[string]bool{
	"started_at": true, "finished_at": true, "mtime": true, "first_seen": true, "committed_at": true,
	"created_at": true, "min_time": true, "max_time": true, "updated_at": true, "at": true, "reprocess_at": true,
}

func createCatalog(ctx context.Context, conn *sql.Conn, o Options, u *unavailable) error {
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS eventlake"); err != nil {
		return err
	}
	tx, err := o.Catalog.DB().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range catalogTables {
		dest := t
		if t == "schema_changes" {
			dest = "catalog_schema_changes"
		}
		if err := copyTable(ctx, tx, conn, t, dest); err != nil {
			return fmt.Errorf("catalog table %s: %w", t, err)
		}
	}
	// schema_changes shows the inferred schemas' changes the catalog
	// records and the declared ones (JSON Schema objects read, schema
	// change events) that Create adds; a refresh replaces only the former.
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS eventlake.schema_changes (table_name VARCHAR, schema_key VARCHAR,
 load_id VARCHAR, object VARCHAR, old_json VARCHAR, new_json VARCHAR, "at" TIMESTAMPTZ, changed_at TIMESTAMPTZ,
 kind VARCHAR, origin VARCHAR, change_type VARCHAR, schema_version BIGINT, followed BOOLEAN);
DELETE FROM eventlake.schema_changes WHERE kind = 'inferred';
INSERT INTO eventlake.schema_changes SELECT table_name, schema_key, load_id, object, old_json, new_json, "at", "at",
 'inferred', object, NULL, NULL, NULL FROM eventlake.catalog_schema_changes;
DROP TABLE eventlake.catalog_schema_changes`); err != nil {
		return fmt.Errorf("catalog table schema_changes: %w", err)
	}
	return createRejects(ctx, conn, o, u)
}

// The reject files' "offset" column (a reserved word, so it must be quoted)
// is also shown as byte_offset.
const emptyRejects = `SELECT NULL::VARCHAR AS object, NULL::BIGINT AS line, NULL::BIGINT AS "offset", NULL::VARCHAR AS reason,
 NULL::VARCHAR AS raw, NULL::BIGINT AS raw_bytes, NULL::VARCHAR AS profile, NULL::VARCHAR AS _load_id,
 NULL::TIMESTAMPTZ AS _ingested_at, NULL::BLOB AS raw_exact, NULL::DATE AS load_date, NULL::BIGINT AS byte_offset WHERE false`

func createRejects(ctx context.Context, conn *sql.Conn, o Options, u *unavailable) error {
	q := emptyRejects
	live, pairs, err := o.Catalog.VisibleFiles(ctx, "_rejects")
	if err != nil {
		return err
	}
	live = u.filterLive(live)
	if len(live) > 0 {
		// union_by_name: files written before raw_exact existed read it as NULL.
		q = "SELECT *, \"offset\" AS byte_offset FROM (" + readLive(o.Lake, live, pairs, "object", "hive_partitioning = true, union_by_name = true, hive_types = {'load_date': DATE}") + ")"
	}
	_, err = conn.ExecContext(ctx, "CREATE OR REPLACE VIEW eventlake.rejects AS "+q)
	return err
}

func copyTable(ctx context.Context, tx *sql.Tx, conn *sql.Conn, table, dest string) error {
	rows, err := tx.QueryContext(ctx, "SELECT * FROM "+Quote(table))
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	var defs []string
	isTime := make([]bool, len(cols))
	isInt := make([]bool, len(cols))
	for i, c := range cols {
		typ := "VARCHAR"
		switch {
		case timeColumns[c.Name()]:
			typ, isTime[i] = "TIMESTAMPTZ", true
		case strings.Contains(strings.ToUpper(c.DatabaseTypeName()), "INT"):
			typ, isInt[i] = "BIGINT", true
		}
		defs = append(defs, Quote(c.Name())+" "+typ)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE eventlake.%s (%s)", Quote(dest), strings.Join(defs, ", "))); err != nil {
		return err
	}
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "eventlake", dest)
		if err != nil {
			return err
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		row := make([]driver.Value, len(cols))
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				app.Close()
				return err
			}
			for i, v := range vals {
				row[i] = convert(v, isTime[i], isInt[i])
			}
			if err := app.AppendRow(row...); err != nil {
				app.Close()
				return err
			}
		}
		if err := rows.Err(); err != nil {
			app.Close()
			return err
		}
		return app.Close()
	})
}

func convert(v any, isTime, isInt bool) driver.Value {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case int64:
		if isTime {
			return time.UnixMicro(x).UTC()
		}
		return x
	case []byte:
		return string(x)
	case string:
		if isInt || isTime {
			return nil
		}
		return x
	case float64:
		if isInt {
			return int64(x)
		}
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}
