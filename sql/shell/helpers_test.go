package shell

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// newTestConn opens an in-memory DuckDB with a few objects shaped like the lake's: a view in a domain schema,
// a table in main and a catalog-like schema.
func newTestConn(t testing.TB) *sql.Conn {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, q := range []string{
		`SET TimeZone = 'UTC'`,
		`CREATE SCHEMA cards`,
		`CREATE TABLE main.events_raw (event_id VARCHAR, event_type VARCHAR, event_time TIMESTAMPTZ, data JSON)`,
		`INSERT INTO main.events_raw VALUES
			('e1', 'card_blocked-v1', TIMESTAMPTZ '2024-05-01 10:00:00+00', '{"card_id": "c1", "reason": "lost"}'),
			('e2', 'card_blocked-v1', TIMESTAMPTZ '2024-05-02 11:30:00+00', '{"card_id": "c2", "reason": "stolen"}')`,
		`CREATE VIEW cards.card_blocked_1 AS
			SELECT event_id, event_time, data->>'card_id' AS card_id, data->>'reason' AS "Reason"
			FROM main.events_raw`,
		`CREATE SCHEMA eventlake`,
		`CREATE TABLE eventlake.loads (load_id VARCHAR, rows BIGINT)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return conn
}
