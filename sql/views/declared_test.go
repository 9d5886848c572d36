package views_test

import (
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
