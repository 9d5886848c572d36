// Package laketest holds helpers for tests that read a lake back the way
// users do: through DuckDB, from the Parquet files on disk.
package laketest

import (
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver
)

// DuckDB opens an in-memory DuckDB.
func DuckDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Rows runs a query and returns every row as strings (NULL as "NULL").
func Rows(t testing.TB, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else if b, ok := v.([]byte); ok {
				row[i] = string(b)
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// One runs a query returning one value.
func One(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	r := Rows(t, db, q, args...)
	if len(r) != 1 || len(r[0]) != 1 {
		t.Fatalf("query %s: want one value, got %v", q, r)
	}
	return r[0][0]
}

// EventsGlob is the glob of the events table's files in a lake.
func EventsGlob(lake string) string {
	return filepath.ToSlash(filepath.Join(lake, "events", "*", "*", "*.parquet"))
}

// Events is a read_parquet expression over a lake's events with the
// partition columns.
func Events(lake string) string {
	return fmt.Sprintf("read_parquet('%s', hive_partitioning = true)", EventsGlob(lake))
}

// Files lists the files under dir (relative, sorted); missing dir → nil.
func Files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Table formats rows for failure messages.
func Table(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " | "))
		b.WriteByte('\n')
	}
	return b.String()
}
