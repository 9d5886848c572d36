package shell

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"
)

// keywords holds DuckDB's keywords that are not "unreserved" (reserved,
// column_name, type_function): as a bare schema, table or column name they
// are syntax errors in some position, so every name the shell prints that is
// one of them is quoted. The list comes from duckdb_keywords() of the linked
// DuckDB, read once per process.
var keywords struct {
	once sync.Once
	set  map[string]bool
}

// loadKeywords reads the keyword list through conn, once per process. A
// failure leaves the list empty: names are then quoted only for their
// characters.
func loadKeywords(conn *sql.Conn) {
	keywords.once.Do(func() {
		set := map[string]bool{}
		rows, err := conn.QueryContext(context.Background(),
			`SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'`)
		if err == nil {
			defer rows.Close()
			for rows.Next() {
				var k string
				if rows.Scan(&k) == nil {
					set[strings.ToLower(k)] = true
				}
			}
		}
		keywords.set = set
	})
}

func isKeyword(s string) bool { return keywords.set[s] }

// qualifiedRe finds name.name pairs whose first part is written bare.
var qualifiedRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|[^"A-Za-z0-9_$])([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`)
})

// reservedHint adds a hint to a parser error when the statement qualifies a
// name with a bare keyword that is one of the database's schemas (a lake of
// fulfillmenttools events has a schema named order): DuckDB's own message
// only says "syntax error at or near".
func (s *session) reservedHint(ctx context.Context, text string, err error) error {
	var de *duckdb.Error
	if !errors.As(err, &de) || de.Type != duckdb.ErrorTypeParser {
		return err
	}
	for _, m := range qualifiedRe().FindAllStringSubmatch(text, -1) {
		word, name := m[2], m[3]
		lw := strings.ToLower(word)
		if !isKeyword(lw) {
			continue
		}
		var n int
		if s.conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", lw).Scan(&n) != nil || n == 0 {
			continue
		}
		if !strings.HasPrefix(name, `"`) {
			name = quoteIdentIfNeeded(strings.ToLower(name))
		}
		return fmt.Errorf("%w\nHint: %s is a reserved word: write %s.%s", err, word, quoteIdentIfNeeded(lw), name)
	}
	return err
}
