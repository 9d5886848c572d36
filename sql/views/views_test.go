package views_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/catalog"
	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/loader"
	"github.com/eventlake/eventlake/partitions/compact"
	"github.com/eventlake/eventlake/sql/views"
)

func testdata(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", "..", "testdata"}, parts...)...)
}

func load(t *testing.T, lake string, srcs ...string) {
	t.Helper()
	var specs []loader.SourceSpec
	for _, s := range srcs {
		specs = append(specs, loader.SourceSpec{URL: s})
	}
	if _, err := loader.Run(context.Background(), loader.Options{Lake: lake, Workers: 2}, specs); err != nil {
		t.Fatal(err)
	}
}

// open creates the views over lake and returns the connection's DB.
func open(t *testing.T, lake string, o views.Options) (*sql.DB, *views.Result) {
	t.Helper()
	cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	db := laketest.DuckDB(t)
	db.SetMaxOpenConns(1) // one connection: the views live in it
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o.Lake, o.Catalog = lake, cat
	res, err := views.Create(context.Background(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	return db, res
}

func goodLake(t *testing.T) string {
	lake := t.TempDir()
	load(t, lake, testdata("pismo"), testdata("subscriber"), testdata("fulfillmenttools"))
	return lake
}

func columns(t *testing.T, db *sql.DB, view string) map[string]string {
	got := map[string]string{}
	for _, r := range laketest.Rows(t, db, "select column_name, column_type from (describe "+view+")") {
		got[r[0]] = r[1]
	}
	return got
}

func TestViewsOverTestdata(t *testing.T) {
	lake := goodLake(t)
	// A file that is not in the catalog (a half-finished copy, a stray) is
	// not part of the lake: the views read the catalog's live files.
	files := laketest.Files(t, filepath.Join(lake, "events"))
	stray, err := os.ReadFile(filepath.Join(lake, "events", files[0]))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, lake, "events/domain=account/event_date=2024-02-01/part-stray.parquet", string(stray))
	db, res := open(t, lake, views.Options{})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
	for view, want := range map[string]int{
		"events_raw": 32, "events": 29, "cards.card_blocked_1": 8, "cards.card_blocked_1_history": 8,
		"account.customer_creation_1": 3, "onboarding.succeeded": 4, `"order".order_created_event_v1`: 4,
		"eventlake.objects": 8, "eventlake.loads": 1, "eventlake.rejects": 0,
	} {
		if got := laketest.One(t, db, "select count(*) from "+view); got != fmt.Sprint(want) {
			t.Errorf("count(%s) = %s, want %d", view, got, want)
		}
	}
	// Typed columns from the data fields.
	cols := columns(t, db, "cards.card_blocked_1")
	for name, typ := range map[string]string{
		"card_id": "BIGINT", "account_id": "BIGINT", "reason": "VARCHAR", "blocked_at": "TIMESTAMP WITH TIME ZONE",
		"event_time": "TIMESTAMP WITH TIME ZONE", "org_id": "VARCHAR", "event_date": "DATE", "domain": "VARCHAR",
		"data": "JSON", "note": "VARCHAR",
	} {
		if cols[name] != typ {
			t.Errorf("cards.card_blocked_1.%s is %q, want %s (all: %v)", name, cols[name], typ, cols)
		}
	}
	// Widening: amount.value was a number in one event and a string in
	// another: the column becomes JSON and keeps both values as written.
	cols = columns(t, db, `"authorization".authorization_created_2`)
	if want := `STRUCT("value" JSON, currency VARCHAR)`; cols["amount"] != want {
		t.Errorf("widened amount = %q, want %q", cols["amount"], want)
	}
	got := laketest.Rows(t, db, `select amount.value from "authorization".authorization_created_2 order by authorization_id`)
	if !reflect.DeepEqual(got, [][]string{{"12.34"}, {"99.90"}}) {
		t.Errorf("widened values = %v", got)
	}
	// The question of the issue: card-blocked events per org per day, de-duplicated.
	got = laketest.Rows(t, db, "select org_id, event_date::varchar, count(*) from cards.card_blocked_1 group by all order by all")
	want := [][]string{
		{"TN-376a4170-3c93-4676-b294-ec0b4241c7ab", "2024-02-01", "2"},
		{"TN-376a4170-3c93-4676-b294-ec0b4241c7ab", "2024-02-02", "3"},
		{"TN-a1db4e4e-315f-4a67-9036-ecacd370b561", "2019-07-20", "1"},
		{"TN-a1db4e4e-315f-4a67-9036-ecacd370b561", "2024-02-01", "2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("blocked per org per day:\n%s\nwant:\n%s", laketest.Table(got), laketest.Table(want))
	}
	// Catalog tables answer "what was loaded when, from where, what failed".
	if n := laketest.One(t, db, "select count(*) from eventlake.objects o join eventlake.loads l using (load_id) where o.status = 'committed' and l.status = 'published'"); n != "8" {
		t.Errorf("joined catalog rows = %s", n)
	}
	if n := laketest.One(t, db, "select count(*) from eventlake.schemas"); n == "0" {
		t.Errorf("no schemas in eventlake.schemas")
	}
}

// writeFile writes data under dir.
func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUpsertLatestWins(t *testing.T) {
	src := t.TempDir()
	lake := t.TempDir()
	ev := func(id, ts string, order int, status string, version any) string {
		return fmt.Sprintf(`{"event_id":"%s","domain":"shop","event_type":"order-state-1","org_id":"o","timestamp":"%s","data":{"order_id":%d,"status":"%s","version":%v}}`+"\n", id, ts, order, status, version)
	}
	// Order 1: three states; the latest by data.version is DELIVERED even
	// though its event_time is older. Order 2: a tie on version — the event
	// ingested later (second load) wins.
	writeFile(t, src, "a/1", ev("e1", "2024-03-01T10:00:00Z", 1, "NEW", 1)+ev("e2", "2024-03-01T12:00:00Z", 1, "PAID", 2)+ev("e4", "2024-03-01T09:00:00Z", 2, "NEW", 1))
	load(t, lake, src)
	writeFile(t, src, "b/2", ev("e3", "2024-03-01T11:00:00Z", 1, "DELIVERED", 3)+ev("e5", "2024-03-01T08:00:00Z", 2, "CANCELLED", 1))
	load(t, lake, src)
	cfg := &config.Config{Tables: map[string]config.Table{"shop.order_state_1": {Key: []string{"data.order_id"}, Order: "data.version"}}}
	db, res := open(t, lake, views.Options{Config: cfg})
	if len(res.Warnings) > 0 {
		t.Fatal(res.Warnings)
	}
	got := laketest.Rows(t, db, "select order_id, status from shop.order_state_1 order by order_id")
	want := [][]string{{"1", "DELIVERED"}, {"2", "CANCELLED"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("latest per key = %v, want %v", got, want)
	}
	if n := laketest.One(t, db, "select count(*) from shop.order_state_1_history"); n != "5" {
		t.Errorf("history rows = %s, want 5", n)
	}
	// Without configuration the key is event_id: every event is a row.
	db2, _ := open(t, lake, views.Options{})
	if n := laketest.One(t, db2, "select count(*) from shop.order_state_1"); n != "5" {
		t.Errorf("default key rows = %s, want 5", n)
	}
}

func TestHostileNames(t *testing.T) {
	src := t.TempDir()
	lake := t.TempDir()
	hostile := `x\"; drop table y; --`
	writeFile(t, src, "h", `{"event_id":"1","domain":"`+hostile+`","event_type":"`+hostile+`","timestamp":"2024-01-01T00:00:00Z","data":{"`+hostile+`":1,"Event_ID":2,"a.b":3,"A.B":4}}`+"\n"+
		`{"event_id":"2","domain":"X'; drop","event_type":"e","timestamp":"2024-01-01T00:00:00Z","data":{}}`+"\n"+
		`{"event_id":"3","domain":"main","event_type":"events","timestamp":"2024-01-01T00:00:00Z","data":{}}`+"\n")
	load(t, lake, src)
	db, res := open(t, lake, views.Options{})
	names := map[string]bool{}
	for _, v := range res.Views {
		names[v.Schema+"."+v.Name] = true
		if strings.ContainsAny(v.Schema+v.Name, `"'; -`) {
			t.Errorf("unsanitized name %s.%s", v.Schema, v.Name)
		}
		if n := laketest.One(t, db, fmt.Sprintf("select count(*) from %s.%s", views.Quote(v.Schema), views.Quote(v.Name))); n != "1" {
			t.Errorf("%s.%s has %s rows", v.Schema, v.Name, n)
		}
	}
	if len(res.Views) != 3 {
		t.Fatalf("views = %v", names)
	}
	// The data field names survive as quoted columns; the one colliding with
	// an envelope column is prefixed. (Fields differing only in case are one
	// column: DuckDB identifiers are case-blind; the value stays in data.)
	for _, v := range res.Views {
		if v.EventType != `x"; drop table y; --` {
			continue
		}
		cols := columns(t, db, views.Quote(v.Schema)+"."+views.Quote(v.Name))
		for _, c := range []string{`x"; drop table y; --`, "data_Event_ID", "a.b"} {
			if _, ok := cols[c]; !ok {
				t.Errorf("column %q missing: %v", c, cols)
			}
		}
	}
	if n := laketest.One(t, db, "select count(*) from events"); n != "3" {
		t.Errorf("events = %s", n)
	}
}

func TestJSONSchemaTypes(t *testing.T) {
	lake := goodLake(t)
	dir := t.TempDir()
	writeFile(t, dir, "cards/card-blocked-1.json", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
		"properties":{"card_id":{"type":"string"},"reason":{"type":"string"},"blocked_at":{"type":"string","format":"date-time"}}}`)
	db, res := open(t, lake, views.Options{SchemasDir: dir})
	cols := columns(t, db, "cards.card_blocked_1")
	if cols["card_id"] != "VARCHAR" || cols["blocked_at"] != "TIMESTAMP WITH TIME ZONE" {
		t.Errorf("JSON Schema types not used: %v", cols)
	}
	if _, ok := cols["account_id"]; ok {
		t.Errorf("field outside the JSON Schema present: %v", cols)
	}
	for _, v := range res.Views {
		if v.Schema == "cards" && v.TypesFrom != "jsonschema" {
			t.Errorf("TypesFrom = %s", v.TypesFrom)
		}
	}
}

func TestEmptyLake(t *testing.T) {
	lake, src := t.TempDir(), t.TempDir()
	writeFile(t, src, "empty", "")
	load(t, lake, src)
	db, _ := open(t, lake, views.Options{})
	for _, v := range []string{"events", "events_raw", "eventlake.rejects", "eventlake.files"} {
		if n := laketest.One(t, db, "select count(*) from "+v); n != "0" {
			t.Errorf("%s has %s rows", v, n)
		}
	}
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

func writeFileB(b *testing.B, dir, name, data string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		b.Fatal(err)
	}
}

// TestEventsAfterCompaction: compacted partitions are read without the
// window, partitions with newer files are still de-duplicated, and the
// rows are the same as before compaction.
func TestEventsAfterCompaction(t *testing.T) {
	lake := goodLake(t)
	q := "select event_id, domain, event_date::varchar, _object, _line from events order by all"
	db, _ := open(t, lake, views.Options{})
	before := laketest.Rows(t, db, q)
	if _, err := compact.Run(context.Background(), compact.Options{Lake: lake, MinFiles: 1}); err != nil {
		t.Fatal(err)
	}
	db2, _ := open(t, lake, views.Options{})
	if got := laketest.Rows(t, db2, q); !reflect.DeepEqual(got, before) {
		t.Errorf("events after compaction differ:\n%s\nwant:\n%s", laketest.Table(got), laketest.Table(before))
	}
	// Re-deliver a Pismo object under a new name: its partitions are no
	// longer clean, and events still shows each event once.
	src := t.TempDir()
	files := laketest.Files(t, testdata("pismo"))
	data, err := os.ReadFile(filepath.Join(testdata("pismo"), files[0]))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, src, "again", string(data)+"\n")
	load(t, lake, src)
	db3, _ := open(t, lake, views.Options{})
	if n := laketest.One(t, db3, "select count(*) from events"); n != fmt.Sprint(len(before)) {
		t.Errorf("events after a re-delivery into compacted partitions = %s, want %d", n, len(before))
	}
	if n := laketest.One(t, db3, "select count(*) from events_raw"); n != fmt.Sprint(len(before)+9) {
		t.Errorf("events_raw = %s, want %d", n, len(before)+9)
	}
}

// allColumns reads every column of a view as text, in a stable order.
const allColumns = `select event_id, event_type, schema_version, org_id, cid, event_time::varchar, data::varchar, _object, _line,
 _offset, _load_id, _ingested_at::varchar, domain, event_date::varchar from %s order by all`

func TestQueryCache(t *testing.T) {
	ctx := context.Background()
	lake := goodLake(t)
	if _, err := compact.Run(ctx, compact.Options{Lake: lake, MinFiles: 1}); err != nil {
		t.Fatal(err)
	}
	read := func(t *testing.T) (events, raw [][]string, res *views.Result, db *sql.DB) {
		t.Helper()
		db, res = open(t, lake, views.Options{})
		return laketest.Rows(t, db, fmt.Sprintf(allColumns, "events")), laketest.Rows(t, db, fmt.Sprintf(allColumns, "events_raw")), res, db
	}
	usesCache := func(t *testing.T, db *sql.DB) bool {
		t.Helper()
		return strings.Contains(laketest.One(t, db, "select sql from duckdb_views() where view_name = 'events_raw'"), "query_cache.events")
	}
	build := func(t *testing.T) views.CacheStats {
		t.Helper()
		cat, err := catalog.Open(loader.CatalogPath(lake), catalog.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer cat.Close()
		st, err := views.BuildCache(ctx, lake, cat)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	wantEvents, wantRaw, _, db := read(t)
	if usesCache(t, db) {
		t.Fatal("views use a cache that was never built")
	}

	st := build(t)
	if !st.Built || st.Partitions == 0 || st.Rows != int64(len(wantEvents)) {
		t.Fatalf("cache build = %+v, want every compacted partition (%d rows)", st, len(wantEvents))
	}
	if st := build(t); st.Built {
		t.Error("an up-to-date cache was rebuilt")
	}
	events, raw, _, db := read(t)
	if !usesCache(t, db) {
		t.Fatal("views do not read the cache")
	}
	if !reflect.DeepEqual(events, wantEvents) || !reflect.DeepEqual(raw, wantRaw) {
		t.Fatalf("rows through the cache differ:\n%s\nwant:\n%s", laketest.Table(events), laketest.Table(wantEvents))
	}

	// A load into compacted partitions: they are read from Parquet again,
	// the other partitions still from the cache, and the rows are those of
	// a shell without a cache.
	src := t.TempDir()
	data, err := os.ReadFile(filepath.Join(testdata("pismo"), laketest.Files(t, testdata("pismo"))[0]))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, src, "again", string(data)+`{"event_id":"new-1","domain":"account","event_type":"customer-creation-1","timestamp":"2024-02-01T10:00:00Z","data":{"n":1}}`+"\n")
	load(t, lake, src)
	events, raw, _, db = read(t)
	if !usesCache(t, db) || !strings.Contains(laketest.One(t, db, "select sql from duckdb_views() where view_name = 'events_raw'"), "NOT IN") {
		t.Error("stale partitions are not excluded from the cache")
	}
	cache := views.CachePath(lake)
	if err := os.Rename(cache, cache+".away"); err != nil {
		t.Fatal(err)
	}
	wantEvents, wantRaw, _, _ = read(t)
	if !reflect.DeepEqual(events, wantEvents) || !reflect.DeepEqual(raw, wantRaw) {
		t.Fatalf("after a load into cached partitions, rows differ from Parquet's:\n%s\nwant:\n%s", laketest.Table(events), laketest.Table(wantEvents))
	}
	if len(raw) != len(wantRaw) || len(events) < 1 {
		t.Fatal("no rows")
	}

	// A damaged cache is not used, with a warning.
	if err := os.WriteFile(cache, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	events, _, res, db := read(t)
	if usesCache(t, db) || !reflect.DeepEqual(events, wantEvents) {
		t.Error("a damaged cache was used")
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "query cache") {
		t.Errorf("no warning about the damaged cache: %v", res.Warnings)
	}
	// A rebuild replaces it, and removes what a killed build left behind
	// (a build of a live process is left alone).
	dead := cache + ".tmp-999999999"
	live := fmt.Sprintf("%s.tmp-%d", cache, os.Getppid())
	for _, f := range []string{dead, dead + ".wal", live} {
		writeFile(t, filepath.Dir(f), filepath.Base(f), "x")
	}
	if st := build(t); !st.Built {
		t.Error("a damaged cache was not rebuilt")
	}
	for f, want := range map[string]bool{dead: false, dead + ".wal": false, live: true} {
		if _, err := os.Stat(f); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(f), err == nil, want)
		}
	}
}
