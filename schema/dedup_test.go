package schema_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/eventlake/eventlake/schema"
)

// The SQL text is what the views have always run: pinned, so a change to the
// rule is a visible change here.
func TestDedupSQL(t *testing.T) {
	want := "PARTITION BY domain, event_date, event_id ORDER BY _ingested_at DESC, _load_id DESC, _object, _line"
	if got := schema.EventsDedup.Window(); got != want {
		t.Errorf("Window() = %q\nwant %q", got, want)
	}
	want = "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY _ingested_at DESC, _load_id DESC, _object, _line) = 1"
	if got := schema.EventsDedup.By("event_id").Qualify(); got != want {
		t.Errorf("By(event_id).Qualify() = %q\nwant %q", got, want)
	}
}

// The rule only names events columns, and orders by columns that are never
// NULL (CompareEvents has no NULL to compare).
func TestDedupColumnsAreEventColumns(t *testing.T) {
	cols := map[string]schema.Column{}
	for _, c := range append(slices.Clone(schema.EventColumns), schema.EventPartitions...) {
		cols[c.Name] = c
	}
	for _, p := range schema.EventsDedup.PartitionBy {
		if _, ok := cols[p]; !ok {
			t.Errorf("partition column %s is not an events column", p)
		}
	}
	for _, o := range schema.EventsDedup.OrderBy {
		c, ok := cols[o.Column]
		if !ok {
			t.Errorf("order column %s is not an events column", o.Column)
		} else if c.Nullable {
			t.Errorf("order column %s is nullable", o.Column)
		}
	}
}

type dedupRow struct {
	n            int
	domain, date string
	id           string
	rank         schema.EventRank
	sqlGroupRank int64
}

// randomRows makes rows with many duplicates and ties on every order column,
// with strings that differ in case, length and multi-byte characters.
func randomRows(r *rand.Rand, n int) []*dedupRow {
	strs := []string{"a", "A", "b", "ab", "aB", "é", "e", "z", "L10", "L2", "2024-06-05T10:00:00Z-1", "2024-06-05T10:00:00Z-2", "s3://b/k\u00e9y", "s3://b/key"}
	pick := func() string { return strs[r.IntN(len(strs))] }
	base := time.Date(2024, 6, 5, 0, 0, 0, 0, time.UTC).UnixMicro()
	rows := make([]*dedupRow, n)
	for i := range rows {
		rows[i] = &dedupRow{
			n:      i,
			domain: []string{"account", "cards"}[r.IntN(2)],
			date:   []string{"2024-06-05", "2024-06-06"}[r.IntN(2)],
			id:     fmt.Sprintf("ev-%d", r.IntN(40)),
			rank: schema.EventRank{
				IngestedAt: base + int64(r.IntN(3))*1_000_000 + int64(r.IntN(2)),
				LoadID:     pick(),
				Object:     pick(),
				Line:       int64(r.IntN(4)) - 1,
			},
		}
		if i > 0 && r.IntN(3) == 0 {
			// A re-delivery: an earlier row again, at times with one order
			// column changed.
			prev := *rows[r.IntN(i)]
			prev.n = i
			switch r.IntN(6) {
			case 0:
				prev.rank.IngestedAt++
			case 1:
				prev.rank.LoadID = pick()
			case 2:
				prev.rank.Object = pick()
			case 3:
				prev.rank.Line = int64(r.IntN(4)) - 1
			}
			rows[i] = &prev
		}
	}
	return rows
}

// TestDedupSQLAndGoAgree ranks random rows with the rule's SQL in DuckDB and
// with CompareEvents, and checks both give every row of a group the same
// place (rows the rule cannot tell apart may take either of their places).
func TestDedupSQLAndGoAgree(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	types := map[string]string{}
	for _, c := range append(slices.Clone(schema.EventColumns), schema.EventPartitions...) {
		types[c.Name] = c.Type.DuckDB()
	}
	if _, err := db.Exec(fmt.Sprintf("SET TimeZone = 'UTC'; CREATE TABLE t (n INTEGER, domain %s, event_date %s, event_id %s, _ingested_at %s, _load_id %s, _object %s, _line %s)",
		types["domain"], types["event_date"], types["event_id"], types["_ingested_at"], types["_load_id"], types["_object"], types["_line"])); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 7))
		rows := randomRows(r, 1500)
		if _, err := db.Exec("DELETE FROM t"); err != nil {
			t.Fatal(err)
		}
		var values []string
		var args []any
		for _, row := range rows {
			values = append(values, "(?, ?, ?::DATE, ?, make_timestamp(?::BIGINT), ?, ?, ?)")
			args = append(args, row.n, row.domain, row.date, row.id, row.rank.IngestedAt, row.rank.LoadID, row.rank.Object, row.rank.Line)
		}
		if _, err := db.Exec("INSERT INTO t VALUES "+strings.Join(values, ", "), args...); err != nil {
			t.Fatal(err)
		}
		q := "SELECT n, row_number() OVER (" + schema.EventsDedup.Window() + ") FROM t"
		res, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for res.Next() {
			var n int
			var rn int64
			if err := res.Scan(&n, &rn); err != nil {
				t.Fatal(err)
			}
			rows[n].sqlGroupRank = rn
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		res.Close()

		groups := map[string][]*dedupRow{}
		for _, row := range rows {
			k := strings.Join([]string{row.domain, row.date, row.id}, "/")
			groups[k] = append(groups[k], row)
		}
		ties, winners := 0, 0
		for k, g := range groups {
			slices.SortStableFunc(g, func(a, b *dedupRow) int { return schema.CompareEvents(&a.rank, &b.rank) })
			for i, row := range g {
				if row.sqlGroupRank < 1 || int(row.sqlGroupRank) > len(g) {
					t.Fatalf("seed %d group %s: row %d has SQL rank %d", seed, k, row.n, row.sqlGroupRank)
				}
				// The row at the SQL's place must be equal to this one under
				// the Go order.
				if other := g[row.sqlGroupRank-1]; schema.CompareEvents(&row.rank, &other.rank) != 0 {
					t.Fatalf("seed %d group %s: SQL puts row %+v at %d, Go puts it at %d (there: %+v)",
						seed, k, row.rank, row.sqlGroupRank, i+1, other.rank)
				}
				if i > 0 && schema.CompareEvents(&g[i-1].rank, &row.rank) == 0 {
					ties++
				}
			}
			winners++
		}
		if ties == 0 || winners < 100 {
			t.Fatalf("seed %d: %d groups, %d full ties: the random rows do not exercise the rule", seed, winners, ties)
		}
	}
}

func TestCompareEvents(t *testing.T) {
	a := schema.EventRank{IngestedAt: 10, LoadID: "L1", Object: "o1", Line: 5}
	later := a
	later.IngestedAt = 11
	laterLoad := a
	laterLoad.LoadID = "L2"
	smallerObject := a
	smallerObject.Object = "o0"
	smallerLine := a
	smallerLine.Line = 4
	for name, w := range map[string]schema.EventRank{"later ingest": later, "later load": laterLoad, "smaller object": smallerObject, "smaller line": smallerLine} {
		if schema.CompareEvents(&w, &a) >= 0 || schema.CompareEvents(&a, &w) <= 0 {
			t.Errorf("%s does not win", name)
		}
	}
	if b := a; schema.CompareEvents(&a, &b) != 0 {
		t.Error("equal ranks compare unequal")
	}
}

// The empty stand-in of events_raw has the columns and DuckDB types readers
// of the lake see: the file columns, then the partitions.
func TestEmptyEventsSQL(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE " + schema.EmptyEventsSQL() + ")")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	want := []string{"event_id VARCHAR", "event_type VARCHAR", "schema_version INTEGER", "org_id VARCHAR", "cid VARCHAR",
		"event_time TIMESTAMP WITH TIME ZONE", "data JSON", "_object VARCHAR", "_line BIGINT", "_offset BIGINT", "_load_id VARCHAR",
		"_ingested_at TIMESTAMP WITH TIME ZONE", "domain VARCHAR", "event_date DATE"}
	if !slices.Equal(got, want) {
		t.Errorf("columns\n got %q\nwant %q", got, want)
	}
}
