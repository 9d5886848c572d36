package shell

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
)

// reservedConn adds what fulfillmenttools lakes hold: a domain schema named
// order (a reserved word) and a catalog table with a column named offset.
func reservedConn(t *testing.T) *sql.Conn {
	conn := newTestConn(t)
	for _, q := range []string{
		`CREATE SCHEMA "order"`,
		`CREATE VIEW "order".order_created_event_v1 AS SELECT 1 AS "offset", 'x' AS "select", 2 AS amount`,
		`CREATE SCHEMA "authorization"`,
		`CREATE VIEW "authorization".authorization_created_2 AS SELECT 1 AS a`,
	} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return conn
}

// Every name .tables and .schema print can be pasted into a query as is.
func TestRunReservedNamesQuoted(t *testing.T) {
	conn := reservedConn(t)
	out, _, err := run(t, Options{Conn: conn, Width: func() int { return 1 }}, ".tables")
	if err != nil {
		t.Fatal(err)
	}
	want := "\"authorization\".authorization_created_2\ncards.card_blocked_1\neventlake.loads\nmain.events_raw\n\"order\".order_created_event_v1\n"
	if out != want {
		t.Errorf(".tables =\n%s\nwant\n%s", out, want)
	}
	for _, name := range strings.Fields(out) {
		if _, _, err := run(t, Options{Conn: conn}, "select * from "+name+";"); err != nil {
			t.Errorf("pasting %s from .tables: %v", name, err)
		}
	}
	out, _, err = run(t, Options{Conn: conn}, `.schema "order".order_created_event_v1`)
	if err != nil {
		t.Fatal(err)
	}
	want = "VIEW \"order\".order_created_event_v1\n  \"offset\"  INTEGER\n  \"select\"  VARCHAR\n  amount    INTEGER\n"
	if out != want {
		t.Errorf(".schema =\n%s\nwant\n%s", out, want)
	}
	if _, _, err := run(t, Options{Conn: conn}, `select "offset", "select", amount from "order".order_created_event_v1;`); err != nil {
		t.Errorf("pasting the columns .schema prints: %v", err)
	}
}

// A syntax error at a reserved word that names one of the lake's schemas
// says how to write it.
func TestRunReservedSchemaHint(t *testing.T) {
	conn := reservedConn(t)
	for _, c := range []struct{ sql, hint string }{
		{"select count(*) from order.order_created_event_v1", `order is a reserved word: write "order".order_created_event_v1`},
		{"select *\nfrom Order.order_created_event_v1 o join cards.card_blocked_1 c on true", `Order is a reserved word: write "order".order_created_event_v1`},
		{"select * from authorization.authorization_created_2", `authorization is a reserved word: write "authorization".authorization_created_2`},
	} {
		_, _, err := run(t, Options{Conn: conn}, c.sql)
		var dberr *duckdb.Error
		if !errors.As(err, &dberr) || dberr.Type != duckdb.ErrorTypeParser {
			t.Errorf("%s: error %v, want a parser error", c.sql, err)
			continue
		}
		if !strings.Contains(err.Error(), c.hint) {
			t.Errorf("%s: error\n%v\ndoes not contain the hint %q", c.sql, err, c.hint)
		}
	}
	// Other parser errors get no hint.
	_, _, err := run(t, Options{Conn: conn}, "select from from cards.card_blocked_1")
	if err == nil || strings.Contains(err.Error(), "reserved word") {
		t.Errorf("error %v: want a parser error without a hint", err)
	}
}
