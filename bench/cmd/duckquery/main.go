// Command duckquery is the DuckDB side of the analyst-query benchmark: it
// loads a corpus into a native DuckDB table once, then times a query on it.
//
// Fairness, as designed for the comparison with `eventlake sql` over a
// compacted lake:
//
//   - Same rows. The table holds what eventlake's `events` view shows: one
//     row per event_id (re-deliveries are byte-identical, so which copy is
//     kept does not matter), with the view's columns — event_id, event_type,
//     schema_version, org_id, cid, event_time (TIMESTAMPTZ), data (JSON),
//     domain, event_date (DATE). The view has to de-duplicate at query time;
//     the table was de-duplicated at load time, which is the analyst's
//     alternative being measured.
//   - Same query text: the table is named events.
//   - Same cache state. The table lives in a database file that is
//     checkpointed and closed after loading (not timed). Each timed run opens
//     the file read-only in a fresh DuckDB instance, so DuckDB's buffer pool
//     is cold and the OS page cache warm, exactly like an `eventlake sql`
//     process reading the lake's Parquet files. Opening and closing are not
//     timed; running the query and fetching every result row is.
//   - Same threads as given by -threads (default: all CPUs, DuckDB's default).
//
// It prints one JSON object: the table's rows, the load time, each run's
// time and their median, and the result's row count and the sum of its last
// column (for checking eventlake's answer).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
)

// result is what duckquery prints.
type result struct {
	TableRows     int64     `json:"table_rows"`
	LoadSeconds   float64   `json:"load_seconds"`
	RunSeconds    []float64 `json:"run_seconds"`
	MedianSeconds float64   `json:"median_seconds"`
	ResultRows    int64     `json:"result_rows"`
	LastColumnSum float64   `json:"last_column_sum"`
	Threads       int       `json:"threads"`
	DuckDBVersion string    `json:"duckdb_version"`
}

const columns = `{event_id: 'VARCHAR', domain: 'VARCHAR', event_type: 'VARCHAR', ` +
	`schema_version: 'INTEGER', org_id: 'VARCHAR', cid: 'VARCHAR', "timestamp": 'VARCHAR', data: 'JSON'}`

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// loadSQL creates the events table: one row per event_id.
func loadSQL(glob, compression string) string {
	return `CREATE TABLE events AS
SELECT DISTINCT ON (event_id)
       event_id, event_type, schema_version, org_id, cid, ts AS event_time, data, domain,
       CAST(ts AT TIME ZONE 'UTC' AS DATE) AS event_date
FROM (
  SELECT *, "timestamp"::TIMESTAMPTZ AS ts
  FROM read_ndjson(` + quote(glob) + `, columns = ` + columns + `,
    compression = ` + quote(compression) + `, format = 'newline_delimited')
)`
}

func main() { os.Exit(mainCode()) }

// mainCode runs duckquery and returns the exit status (so deferred clean-up
// runs before the process exits).
func mainCode() int {
	var (
		glob        = flag.String("glob", "", "glob of the corpus objects (required)")
		compression = flag.String("compression", "auto", "input compression: auto, gzip or none")
		dbPath      = flag.String("db", "", "database file to create (default: a temporary file, removed at exit)")
		query       = flag.String("query", "", "the query to time (required); the table is named events")
		runs        = flag.Int("runs", 5, "timed runs")
		threads     = flag.Int("threads", runtime.NumCPU(), "DuckDB threads")
	)
	flag.Parse()
	if *glob == "" || *query == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: duckquery -glob GLOB -query SQL [-compression auto|gzip|none] [-db FILE] [-runs N] [-threads N]")
		return 2
	}
	switch *compression {
	case "auto", "gzip", "none":
	default:
		fmt.Fprintf(os.Stderr, "duckquery: -compression %q: want auto, gzip or none\n", *compression)
		return 2
	}
	if *runs < 1 || *threads < 1 {
		fmt.Fprintln(os.Stderr, "duckquery: -runs and -threads must be at least 1")
		return 2
	}
	path := *dbPath
	if path == "" {
		dir, err := os.MkdirTemp("", "duckquery-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "duckquery:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "events.duckdb")
	}
	res, err := run(context.Background(), path, *glob, *compression, *query, *runs, *threads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckquery:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "duckquery:", err)
		return 1
	}
	return 0
}

// session opens a DuckDB instance on path with one connection configured.
func session(ctx context.Context, dsn string, threads int) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open DuckDB %s: %w", dsn, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open DuckDB %s: %w", dsn, err)
	}
	for _, s := range []string{fmt.Sprintf("SET threads = %d", threads), "SET TimeZone = 'UTC'"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			db.Close()
			return nil, nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	return db, conn, nil
}

func run(ctx context.Context, path, glob, compression, query string, runs, threads int) (result, error) {
	res := result{Threads: threads}
	if _, err := os.Stat(path); err == nil {
		return res, fmt.Errorf("database file %s exists: give a new path", path)
	}
	db, conn, err := session(ctx, path, threads)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if _, err := conn.ExecContext(ctx, loadSQL(glob, compression)); err != nil {
		conn.Close()
		db.Close()
		return res, fmt.Errorf("load %s: %w", glob, err)
	}
	if _, err := conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		conn.Close()
		db.Close()
		return res, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	res.LoadSeconds = time.Since(start).Seconds()
	err = conn.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&res.TableRows)
	if err == nil {
		err = conn.QueryRowContext(ctx, "SELECT version()").Scan(&res.DuckDBVersion)
	}
	conn.Close()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("after loading %s: %w", path, err)
	}

	for i := 0; i < runs; i++ {
		secs, rows, sum, err := timedRun(ctx, path+"?access_mode=READ_ONLY", query, threads)
		if err != nil {
			return res, fmt.Errorf("run %d: %w", i+1, err)
		}
		res.RunSeconds = append(res.RunSeconds, secs)
		res.ResultRows, res.LastColumnSum = rows, sum
	}
	s := append([]float64(nil), res.RunSeconds...)
	sort.Float64s(s)
	res.MedianSeconds = s[len(s)/2]
	if len(s)%2 == 0 {
		res.MedianSeconds = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return res, nil
}

// timedRun opens a fresh instance, then times the query and fetching all of
// its rows; it returns the row count and the sum of the last column when
// that column is numeric.
func timedRun(ctx context.Context, dsn, query string, threads int) (secs float64, rows int64, sum float64, err error) {
	db, conn, err := session(ctx, dsn, threads)
	if err != nil {
		return 0, 0, 0, err
	}
	defer db.Close()
	defer conn.Close()
	start := time.Now()
	rs, err := conn.QueryContext(ctx, query)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("query: %w", err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return 0, 0, 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return 0, 0, 0, fmt.Errorf("query row %d: %w", rows+1, err)
		}
		rows++
		sum += number(vals[len(vals)-1])
	}
	if err := rs.Err(); err != nil {
		return 0, 0, 0, fmt.Errorf("query: %w", err)
	}
	return time.Since(start).Seconds(), rows, sum, nil
}

// number converts a scanned value to float64 (0 when not numeric).
func number(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	case float32:
		return float64(x)
	case []byte:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	case fmt.Stringer:
		f, _ := strconv.ParseFloat(x.String(), 64)
		return f
	}
	return 0
}
