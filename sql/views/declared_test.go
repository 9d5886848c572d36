package views_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/config"
	"github.com/eventlake/eventlake/internal/laketest"
	"github.com/eventlake/eventlake/sql/views"
)

func payments(t *testing.T) string {
	src, lake := t.TempDir(), t.TempDir()
	var b strings.Builder
	for i, amt := range []string{"0.1", "0.2", "1234567890123.45", "-0.3"} {
		fmt.Fprintf(&b, `{"event_id":"p%d","domain":"transactions","event_type":"payment-1","timestamp":"2024-03-01T10:00:0%dZ","data":{"amount":%s,"fee":{"value":%s},"note":"n"}}`+"\n", i, i, amt, amt)
	}
	writeFile(t, src, "p.json", b.String())
	load(t, lake, src)
	return lake
}

// Money declared DECIMAL sums exactly; as DOUBLE it does not.
func TestTypesOverrideDecimal(t *testing.T) {
	lake := payments(t)
	db, _ := open(t, lake, views.Options{})
	if cols := columns(t, db, "transactions.payment_1"); cols["amount"] != "DOUBLE" {
		t.Fatalf("amount without configuration = %s, want DOUBLE (the inferred type)", cols["amount"])
	}
	if got := laketest.One(t, db, "select sum(amount) = 0.3 from transactions.payment_1 where event_id in ('p0','p1')"); got != "false" {
		t.Fatalf("0.1 + 0.2 as DOUBLE = 0.3: %s (the test cannot fail)", got)
	}
	cfg := &config.Config{Tables: map[string]config.Table{"transactions.payment_1": {
		Types: map[string]string{"data.amount": "DECIMAL(18,2)", "data.fee.value": "DECIMAL(18,2)", "data.missing": "BIGINT"},
		Key:   []string{"data.amount"},
	}}}
	db, res := open(t, lake, views.Options{Config: cfg})
	if len(res.Warnings) > 0 {
		t.Fatal(res.Warnings)
	}
	cols := columns(t, db, "transactions.payment_1")
	if cols["amount"] != "DECIMAL(18,2)" || cols["fee"] != "STRUCT(\"value\" DECIMAL(18,2))" || cols["missing"] != "BIGINT" || cols["note"] != "VARCHAR" {
		t.Errorf("columns = %v", cols)
	}
	got := laketest.Rows(t, db, "select sum(amount)::varchar, sum(fee.value)::varchar, (sum(amount) filter (where event_id in ('p0','p1')) = 0.3)::varchar from transactions.payment_1")
	if want := [][]string{{"1234567890123.45", "1234567890123.45", "true"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("sums = %v, want %v", got, want)
	}
	got = laketest.Rows(t, db, "select amount::varchar from transactions.payment_1_history order by event_id")
	if want := [][]string{{"0.10"}, {"0.20"}, {"1234567890123.45"}, {"-0.30"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("amounts = %v, want %v", got, want)
	}
}

// schemaChange is a dataplatform/json_schema_change event as Pismo sends it:
// new_schema is a JSON document in a string.
func schemaChange(id, ts, change, domain, eventType, version, newSchema string) string {
	data := map[string]any{"change_type": change, "schema_name": domain + "/" + eventType + "-" + version,
		"schema_domain": domain, "schema_event_type": eventType, "schema_version": version}
	if newSchema != "" {
		data["new_schema"] = newSchema
	}
	b, _ := json.Marshal(map[string]any{"event_id": id, "domain": "dataplatform", "event_type": "json_schema_change",
		"schema_version": "1", "org_id": "TN-1", "timestamp": ts, "data": data})
	return string(b) + "\n"
}

const cardBlockedSchema = `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":["card_id"],
 "properties":{"card_id":{"type":"string"},"account_id":{"type":"integer"},"reason":{"type":"integer"},"blocked_at":{"type":"string","format":"date-time"}}}`

// A json_schema_change event in the lake types the next session's view;
// a later REMOVE drops the declared schema again.
func TestSchemaChangeEvents(t *testing.T) {
	lake, src := t.TempDir(), t.TempDir()
	load(t, lake, testdata("pismo"))
	db, _ := open(t, lake, views.Options{})
	if cols := columns(t, db, "cards.card_blocked_1"); cols["card_id"] != "BIGINT" {
		t.Fatalf("inferred card_id = %s", cols["card_id"])
	}
	// An older INSERT and a newer MODIFY: the newer one wins.
	writeFile(t, src, "changes/1.json",
		schemaChange("sc-1", "2024-01-01T00:00:00Z", "INSERT", "cards", "card-blocked", "1", `{"type":"object","properties":{"card_id":{"type":"integer"}}}`)+
			schemaChange("sc-2", "2024-01-02T00:00:00Z", "MODIFY", "cards", "card-blocked", "1", cardBlockedSchema))
	load(t, lake, src)
	db, res := open(t, lake, views.Options{})
	cols := columns(t, db, "cards.card_blocked_1")
	if cols["card_id"] != "VARCHAR" || cols["account_id"] != "BIGINT" || cols["reason"] != "BIGINT" {
		t.Errorf("columns after the schema change = %v", cols)
	}
	for _, v := range res.Views {
		if v.Schema == "cards" && v.Name == "card_blocked_1" && (v.TypesFrom != "jsonschema" || v.SchemaOrigin != "event sc-2") {
			t.Errorf("view %+v: want types from the JSON Schema of event sc-2", v)
		}
	}
	// reason is declared integer but arrives as strings: a warning names
	// the column and both types, and type_conflicts lists it per object.
	warned := false
	for _, w := range res.Warnings {
		warned = warned || (strings.Contains(w, "cards.card_blocked_1") && strings.Contains(w, "reason") &&
			strings.Contains(w, "BIGINT") && strings.Contains(w, "VARCHAR") && strings.Contains(w, "eventlake.type_conflicts"))
	}
	if !warned {
		t.Errorf("no warning about reason: %q", res.Warnings)
	}
	got := laketest.Rows(t, db, `select view_name, column_name, declared_type, observed_type, sum(events)::varchar from eventlake.type_conflicts group by all order by all`)
	if want := [][]string{{"cards.card_blocked_1", "card_id", "VARCHAR", "BIGINT", "8"}, {"cards.card_blocked_1", "reason", "BIGINT", "VARCHAR", "8"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("type_conflicts = %v, want %v", got, want)
	}
	if n := laketest.One(t, db, `select count(distinct object) from eventlake.type_conflicts where object like '%card%' or object like '%main_stream%'`); n == "0" {
		t.Errorf("type_conflicts names no object")
	}
	got = laketest.Rows(t, db, `select kind, origin, change_type, schema_key, followed::varchar from eventlake.schema_changes where kind <> 'inferred' order by changed_at`)
	if want := [][]string{{"event", "event sc-1", "INSERT", "cards/card-blocked-1", "false"}, {"event", "event sc-2", "MODIFY", "cards/card-blocked-1", "true"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("schema_changes = %v, want %v", got, want)
	}
	if n := laketest.One(t, db, `select count(*) from eventlake.schema_changes where kind = 'inferred'`); n == "0" {
		t.Errorf("the catalog's own schema changes are gone")
	}
	// REMOVE drops the declared schema: back to the inferred types.
	writeFile(t, src, "changes/2.json", schemaChange("sc-3", "2024-01-03T00:00:00Z", "REMOVE", "cards", "card-blocked", "1", ""))
	load(t, lake, src)
	db, _ = open(t, lake, views.Options{})
	if cols := columns(t, db, "cards.card_blocked_1"); cols["card_id"] != "BIGINT" || cols["reason"] != "VARCHAR" {
		t.Errorf("columns after REMOVE = %v", cols)
	}
	if n := laketest.One(t, db, `select count(*) from eventlake.type_conflicts`); n != "0" {
		t.Errorf("type_conflicts after REMOVE has %s rows", n)
	}
}

// The catalog's columns named like reserved words have plain twins.
func TestCatalogColumnsNotReserved(t *testing.T) {
	src, lake := t.TempDir(), t.TempDir()
	writeFile(t, src, "a.json", `{"event_id":"a","domain":"d","event_type":"t","timestamp":"2024-03-01T10:00:00Z","data":{}}`+"\n"+`{"event_id":"b","domain":"d","event_type":"t","timestamp":"not a time","data":{}}`+"\n")
	load(t, lake, src)
	db, _ := open(t, lake, views.Options{})
	got := laketest.Rows(t, db, `select line, byte_offset, byte_offset = "offset" from eventlake.rejects`)
	if want := [][]string{{"2", "92", "true"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("rejects = %v, want %v", got, want)
	}
	if n := laketest.One(t, db, `select count(*) from eventlake.schema_changes where changed_at = "at"`); n == "0" {
		t.Errorf("schema_changes.changed_at missing")
	}
	empty, _ := open(t, payments(t), views.Options{})
	if n := laketest.One(t, empty, `select count(byte_offset) from eventlake.rejects`); n != "0" {
		t.Errorf("empty rejects: %s", n)
	}
}
