package main

import (
	"context"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/catalog"
)

// scriptPartitions' rules, on DuckDB's parse trees: which of six
// partitions (domains a and b × three days) a script reads. What is not
// understood reads every partition.
func TestTreePartitions(t *testing.T) {
	parts := []string{"a/2024-01-01", "a/2024-01-02", "a/2024-01-03", "b/2024-01-01", "b/2024-01-02", "b/2024-01-03"}
	const all = "a/2024-01-01 a/2024-01-02 a/2024-01-03 b/2024-01-01 b/2024-01-02 b/2024-01-03"
	schemaOf := map[string]string{"a": "a", "b": "bee"}
	for _, c := range []struct {
		sql, want string
		keyed     bool
	}{
		{sql: "select * from events where event_date = '2024-01-02'", want: "a/2024-01-02 b/2024-01-02"},
		{sql: "select * from events_raw where event_date between '2024-01-02' and '2024-01-03'", want: "a/2024-01-02 a/2024-01-03 b/2024-01-02 b/2024-01-03"},
		{sql: "select * from main.events e where e.event_date >= DATE '2024-01-03' and e.domain = 'a'", want: "a/2024-01-03"},
		{sql: "select * from events where '2024-01-02' > event_date", want: "a/2024-01-01 b/2024-01-01"},
		{sql: "select * from events where event_date < '2024-01-02'::date or domain in ('b')", want: "a/2024-01-01 b/2024-01-01 b/2024-01-02 b/2024-01-03"},
		{sql: "select * from events where domain = 'a' and event_type = 'x' and event_date in ('2024-01-01', '2024-01-03')", want: "a/2024-01-01 a/2024-01-03"},
		{sql: "select count(*) from EVENTS where Event_Date = '2024-01-01'; select * from events where event_date = '2024-01-03'", want: "a/2024-01-01 a/2024-01-03 b/2024-01-01 b/2024-01-03"},
		{sql: "select * from bee.some_view where event_date = '2024-01-02'", want: "b/2024-01-02"},
		{sql: "select * from bee.some_view where event_date = '2024-01-02'", keyed: true, want: "b/2024-01-01 b/2024-01-02 b/2024-01-03"},
		{sql: "select * from bee.some_view_history where event_date = '2024-01-02'", keyed: true, want: "b/2024-01-02"},
		{sql: "select * from a.x", want: "a/2024-01-01 a/2024-01-02 a/2024-01-03"},
		{sql: "select (select count(*) from events_raw where event_date = '2024-01-01') from events where event_date = '2024-01-03'", want: "a/2024-01-01 a/2024-01-03 b/2024-01-01 b/2024-01-03"},
		{sql: "with x as (select * from events where event_date = '2024-01-01') select * from x", want: "a/2024-01-01 b/2024-01-01"},
		{sql: "select * from eventlake.files, events where event_date = '2024-01-01'", want: all}, // a join
		{sql: "select count(*) from eventlake.files; select * from events where event_date = '2024-01-01'", want: "a/2024-01-01 b/2024-01-01"},
		// not understood: every partition
		{sql: "select * from events", want: all},
		{sql: "select * from events where not event_date = '2024-01-01'", want: all},
		{sql: "select * from events where event_date <> '2024-01-01'", want: all},
		{sql: "select * from events where event_date = '2024-1-1'", want: all},
		{sql: "select * from events where event_date = current_date", want: all},
		{sql: "select * from events where domain > 'a'", want: all},
		{sql: "select * from events where event_date = '2024-01-01' or event_type = 'x'", want: all},
		{sql: "select * from events e(a, b, c, d, e, f, g, h, i, j, domain) where domain = 'a'", want: all},
		{sql: "select * from events where event_date in (select max(event_date) from events_raw)", want: all},
		{sql: "select * from events x where y.event_date = '2024-01-01'", want: all},
		{sql: "with events as (select * from events_raw) select * from events where event_date = '2024-01-01'", want: all},
		{sql: "select * from eventlake.type_conflicts; select * from events where event_date = '2024-01-01'", want: all},
		{sql: "select * from read_parquet('x.parquet'); select * from events where event_date = '2024-01-01'", want: "a/2024-01-01 b/2024-01-01"},
		{sql: "create view v as select * from events where event_date = '2024-01-01'", want: all},
		{sql: ".tables", want: all},
		{sql: "select 1", want: all},
	} {
		tree, err := parseTree(context.Background(), c.sql)
		if err != nil {
			t.Fatal(err)
		}
		pred := treePartitions(tree, schemaOf, c.keyed)
		var got []string
		for _, p := range parts {
			d, day, _ := strings.Cut(p, "/")
			if keepPartition(pred, catalog.FileRecord{Table: "events", Partition: "domain=" + d + "/event_date=" + day}) {
				got = append(got, p)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s (keyed %v):\n got %s\nwant %s", c.sql, c.keyed, g, c.want)
		}
	}
}

// A partition value the views read other than as its text (escaped, the
// default partition), files of other tables and the schema change events
// are always kept.
func TestKeepPartitionKeepsWhatItCannotRead(t *testing.T) {
	none := func(string, string) bool { return false }
	for _, f := range []catalog.FileRecord{
		{Table: "events", Partition: "domain=b%20c/event_date=2024-01-01"},
		{Table: "events", Partition: "domain=__HIVE_DEFAULT_PARTITION__/event_date=2024-01-01"},
		{Table: "events", Partition: "domain=a/event_date=__HIVE_DEFAULT_PARTITION__"},
		{Table: "events", Partition: "domain=dataplatform/event_date=2024-01-01"},
		{Table: "accounts", Partition: "event_date=2024-01-01"},
	} {
		if !keepPartition(none, f) {
			t.Errorf("%s %s left out", f.Table, f.Partition)
		}
	}
	if keepPartition(none, catalog.FileRecord{Table: "events", Partition: "domain=a/event_date=2024-01-01"}) {
		t.Error("a plain partition was kept")
	}
}
