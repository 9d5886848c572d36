package schema

import (
	"encoding/json"
	"testing"
)

func TestNormColumn(t *testing.T) {
	for _, s := range []string{"Order ID", "orderId", "order_id", " ORDER-id "} {
		if got := NormColumn(s); got != "orderid" {
			t.Errorf("NormColumn(%q) = %q, want orderid", s, got)
		}
	}
}

func TestColumnTypesObserve(t *testing.T) {
	c := NewColumnTypes([]string{"n", "d", "when", "flag", "text", "empty"})
	rows := [][]string{
		{"1", "2", "2024-06-05", "true", "x", ""},
		{"-7", "3.25", "2024-06-05 10:00", "FALSE", "12", ""},
		{"", "4", "", "", "", ""},
	}
	for _, r := range rows {
		for i, v := range r {
			c.Observe(i, v)
		}
		c.Observe(len(r), "beyond the header") // ignored
	}
	ts := &TableSchema{}
	ts.Merge(c)
	want := []string{"BIGINT", "DECIMAL(38,2)", "TIMESTAMP", "BOOLEAN", "VARCHAR", "VARCHAR"}
	if len(ts.Columns) != len(want) {
		t.Fatalf("%d columns, want %d", len(ts.Columns), len(want))
	}
	for i, w := range want {
		if ts.Columns[i].Kind != w {
			t.Errorf("column %s: %s, want %s", ts.Columns[i].Name, ts.Columns[i].Kind, w)
		}
	}
}

// A schema read back from the catalog widens from its stored types: an
// object with only empty values keeps them, a wider one widens them.
func TestTableSchemaMergeStored(t *testing.T) {
	stored := `{"columns":[{"name":"n","type":"BIGINT"},{"name":"amount","type":"DECIMAL(38,2)","scale":2},{"name":"day","type":"DATE"}],"key":["n"],"partition_column":"report_date"}`
	ts := &TableSchema{}
	if err := json.Unmarshal([]byte(stored), ts); err != nil {
		t.Fatal(err)
	}
	c := NewColumnTypes([]string{"N", "amount", "day", "new"})
	for i, v := range []string{"", "7", "2024-06-05T10:00:00", "z"} {
		c.Observe(i, v)
	}
	ts.Merge(c)
	got, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"columns":[{"name":"n","type":"BIGINT"},{"name":"amount","type":"DECIMAL(38,2)","scale":2},{"name":"day","type":"TIMESTAMP"},{"name":"new","type":"VARCHAR"}],"key":["n"],"partition_column":"report_date"}`
	if string(got) != want {
		t.Errorf("merged schema\n got %s\nwant %s", got, want)
	}
}

// A value with a leading zero before a digit is an identifier (ZIP code, SKU,
// EAN, account number), not a number: typing it would drop the zero. So is a
// date or time that does not exist (the cast would make it NULL).
func TestColumnTypesKeepText(t *testing.T) {
	cases := []struct {
		values []string
		want   string
	}{
		{[]string{"08123", "90210"}, "VARCHAR"},
		{[]string{"90210", "08123"}, "VARCHAR"},
		{[]string{"00"}, "VARCHAR"},
		{[]string{"-012"}, "VARCHAR"},
		{[]string{"+012"}, "VARCHAR"},
		{[]string{"007.5"}, "VARCHAR"},
		{[]string{"-00.5"}, "VARCHAR"},
		{[]string{"0", "12", "-7"}, "BIGINT"},
		{[]string{"0.5", "-0.5", "10.25"}, "DECIMAL(38,2)"},
		{[]string{"0", "0.0"}, "DECIMAL(38,1)"},
		{[]string{" 0123 "}, "VARCHAR"},
		{[]string{"2024-02-30"}, "VARCHAR"},
		{[]string{"2024-13-01"}, "VARCHAR"},
		{[]string{"2024-02-29"}, "DATE"},
		{[]string{"2024-06-05 24:00"}, "VARCHAR"},
		{[]string{"2024-06-05T10:61:00"}, "VARCHAR"},
		{[]string{"2023-02-29T10:00:00Z"}, "VARCHAR"},
		{[]string{"2024-06-05T23:59:59.5Z"}, "TIMESTAMPTZ"},
	}
	for _, c := range cases {
		ct := NewColumnTypes([]string{"v"})
		for _, v := range c.values {
			ct.Observe(0, v)
		}
		ts := &TableSchema{}
		ts.Merge(ct)
		if got := ts.Columns[0].Kind; got != c.want {
			t.Errorf("%q: %s, want %s", c.values, got, c.want)
		}
	}
}
