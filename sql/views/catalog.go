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

func createCatalog(ctx context.Context, conn *sql.Conn, o Options) error {
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS eventlake"); err != nil {
		return err
	}
	tx, err := o.Catalog.DB().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range catalogTables {
		if err := copyTable(ctx, tx, conn, t); err != nil {
			return fmt.Errorf("catalog table %s: %w", t, err)
		}
	}
	return createRejects(ctx, conn, o)
}

const emptyRejects = `SELECT NULL::VARCHAR AS object, NULL::BIGINT AS line, NULL::BIGINT AS "offset", NULL::VARCHAR AS reason,
 NULL::VARCHAR AS raw, NULL::BIGINT AS raw_bytes, NULL::VARCHAR AS profile, NULL::VARCHAR AS _load_id,
 NULL::TIMESTAMPTZ AS _ingested_at, NULL::DATE AS load_date WHERE false`

func createRejects(ctx context.Context, conn *sql.Conn, o Options) error {
	q := emptyRejects
	live, pairs, err := o.Catalog.VisibleFiles(ctx, "_rejects")
	if err != nil {
		return err
	}
	if len(live) > 0 {
		q = readLive(o.Lake, live, pairs, "object", "hive_partitioning = true, hive_types = {'load_date': DATE}")
	}
	_, err = conn.ExecContext(ctx, "CREATE OR REPLACE VIEW eventlake.rejects AS "+q)
	return err
}

func copyTable(ctx context.Context, tx *sql.Tx, conn *sql.Conn, table string) error {
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
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE eventlake.%s (%s)", Quote(table), strings.Join(defs, ", "))); err != nil {
		return err
	}
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "eventlake", table)
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
