// Command duckcopy is the DuckDB side of the ingest benchmark: in its own
// process it converts a corpus (-shape: Pismo NDJSON, pretty-printed Pismo
// subscriber files, fulfillmenttools NDJSON, JWO order CSV) into a
// Hive-partitioned (domain, event_date; report_date for JWO), zstd-compressed
// Parquet folder with one COPY … TO … (PARTITION_BY …) statement — the
// fairest DuckDB equivalent of `eventlake load` we could write:
//
//   - the columns are given explicitly to read_ndjson (data as JSON), so
//     DuckDB does not spend time sniffing a schema, which eventlake does not
//     do either;
//   - the timestamp is cast to TIMESTAMPTZ once, in a subquery, and both
//     event_time and the UTC event_date derive from it;
//   - everything else is DuckDB's default (threads from -threads,
//     preserve_insertion_order on, zstd at DuckDB's default level).
//
// Unlike eventlake it writes no lineage columns (_object, _line, _offset,
// _load_id, _ingested_at), keeps no catalog and does not stage and publish
// atomically: that work is all on eventlake's side of the comparison.
//
// Usage:
//
//	duckcopy [-shape pismo|pismo-subscriber|fulfillmenttools|jwo-orders] -glob 'corpus/main_stream/*/*/*/*/*' -out DIR [-threads N] [-compression auto|gzip|none]
//
// It prints one JSON object on stdout: rows copied, seconds spent in the
// statement, threads and the DuckDB version.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
)

// result is what duckcopy prints.
type result struct {
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	Threads       int     `json:"threads"`
	DuckDBVersion string  `json:"duckdb_version"`
	SQL           string  `json:"sql,omitempty"`
}

// columns are the envelope's fields with explicit types; data stays JSON.
const columns = `{event_id: 'VARCHAR', domain: 'VARCHAR', event_type: 'VARCHAR', ` +
	`schema_version: 'INTEGER', org_id: 'VARCHAR', cid: 'VARCHAR', "timestamp": 'VARCHAR', data: 'JSON'}`

// quote makes s a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Shapes: the input shapes duckcopy has a statement for (the corpus
// layouts of bench/corpus).
const (
	shapePismo      = "pismo"            // NDJSON envelopes, raw or gzipped
	shapeSubscriber = "pismo-subscriber" // pretty-printed envelopes, concatenated
	shapeFT         = "fulfillmenttools" // {"id","eventName","payload","created"} NDJSON
	shapeJWO        = "jwo-orders"       // JWO order CSV, partitioned by the report date of the key
)

// events is the projection every JSON shape ends in: eventlake's events
// columns without lineage, the timestamp cast once.
const events = `SELECT event_id, event_type, schema_version, org_id, cid, ts AS event_time, data, domain,
         strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%d') AS event_date`

// copySQL is the benchmark statement for a shape.
func copySQL(shape, glob, out, compression string) (string, error) {
	jsonCompression := compression
	if compression == "none" {
		jsonCompression = "uncompressed" // read_json's name for it
	}
	to := ` TO ` + quote(out) + ` (FORMAT parquet, PARTITION_BY (domain, event_date), COMPRESSION zstd, OVERWRITE_OR_IGNORE)`
	switch shape {
	case shapePismo, shapeSubscriber:
		format := "newline_delimited"
		if shape == shapeSubscriber {
			// Objects one after another, spanning lines.
			format = "unstructured"
		}
		return `COPY (
  ` + events + `
  FROM (
    SELECT *, "timestamp"::TIMESTAMPTZ AS ts
    FROM read_json(` + quote(glob) + `,
      columns = ` + columns + `,
      compression = ` + quote(jsonCompression) + `,
      format = ` + quote(format) + `)
  )
)` + to, nil
	case shapeFT:
		// eventlake's fulfillmenttools profile: domain = eventName up to its
		// first '-' or '_', lower-cased; schema_version = the N of a
		// trailing -vN/_vN; org_id and cid NULL; data = payload.
		return `COPY (
  ` + events + `
  FROM (
    SELECT id AS event_id, eventName AS event_type,
           TRY_CAST(regexp_extract(eventName, '[-_]v([0-9]+)$', 1) AS INTEGER) AS schema_version,
           NULL::VARCHAR AS org_id, NULL::VARCHAR AS cid, payload AS data,
           lower(regexp_extract(eventName, '^[^-_]*')) AS domain,
           created::TIMESTAMPTZ AS ts
    FROM read_json(` + quote(glob) + `,
      columns = {id: 'VARCHAR', eventName: 'VARCHAR', payload: 'JSON', created: 'VARCHAR'},
      compression = ` + quote(jsonCompression) + `,
      format = 'newline_delimited')
  )
)` + to, nil
	case shapeJWO:
		// eventlake's jwo-orders profile: table orders, every field text as
		// received, partitioned by the report date in the key
		// (Order/<YYYY-MM-DD>/<HH>/ALL<NN>.csv000). The dialect is given, so
		// DuckDB does not sniff it.
		return `COPY (
  SELECT * EXCLUDE (filename), regexp_extract(filename, '/Order/([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1) AS report_date
  FROM read_csv(` + quote(glob) + `,
    header = true, all_varchar = true, filename = true,
    delim = ',', quote = '"', escape = '"', compression = ` + quote(compression) + `)
) TO ` + quote(out) + ` (FORMAT parquet, PARTITION_BY (report_date), COMPRESSION zstd, OVERWRITE_OR_IGNORE)`, nil
	}
	return "", fmt.Errorf("unknown -shape %q (known: %s, %s, %s, %s)", shape, shapePismo, shapeSubscriber, shapeFT, shapeJWO)
}

func main() {
	var (
		glob        = flag.String("glob", "", "glob of the corpus objects (required)")
		out         = flag.String("out", "", "output folder (required; created)")
		threads     = flag.Int("threads", runtime.NumCPU(), "DuckDB threads")
		compression = flag.String("compression", "auto", "input compression: auto, gzip or none")
		printSQL    = flag.Bool("print-sql", false, "include the statement in the JSON output")
		shape       = flag.String("shape", shapePismo, "input shape: pismo, pismo-subscriber, fulfillmenttools or jwo-orders")
	)
	flag.Parse()
	if *glob == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: duckcopy -glob GLOB -out DIR [-threads N] [-compression auto|gzip|none]")
		os.Exit(2)
	}
	switch *compression {
	case "auto", "gzip", "none":
	default:
		fmt.Fprintf(os.Stderr, "duckcopy: -compression %q: want auto, gzip or none\n", *compression)
		os.Exit(2)
	}
	if *threads < 1 {
		fmt.Fprintf(os.Stderr, "duckcopy: -threads %d: want at least 1\n", *threads)
		os.Exit(2)
	}
	stmt, err := copySQL(*shape, *glob, *out, *compression)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckcopy:", err)
		os.Exit(2)
	}
	res, err := run(context.Background(), stmt, *out, *threads)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckcopy:", err)
		os.Exit(1)
	}
	if *printSQL {
		res.SQL = stmt
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "duckcopy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stmt, out string, threads int) (result, error) {
	res := result{Threads: threads}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return res, fmt.Errorf("open DuckDB: %w", err)
	}
	defer db.Close()
	// One connection: SET applies to the session that runs the COPY.
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("open DuckDB connection: %w", err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, "SELECT version()").Scan(&res.DuckDBVersion); err != nil {
		return res, fmt.Errorf("DuckDB version: %w", err)
	}
	// UTC session time zone: the TIMESTAMPTZ values print and compare the
	// same on every machine.
	for _, s := range []string{fmt.Sprintf("SET threads = %d", threads), "SET TimeZone = 'UTC'"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return res, fmt.Errorf("%s: %w", s, err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", out, err)
	}
	start := time.Now()
	// COPY returns one row: the number of rows written.
	err = conn.QueryRowContext(ctx, stmt).Scan(&res.Rows)
	res.Seconds = time.Since(start).Seconds()
	if errors.Is(err, sql.ErrNoRows) {
		return res, errors.New("COPY returned no row count")
	}
	if err != nil {
		return res, fmt.Errorf("COPY to %s: %w", out, err)
	}
	return res, nil
}
