package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseFull(t *testing.T) {
	c, err := Parse(strings.NewReader(`
lake: ./lake
profile: pismo
workers: 3
zstd_level: 2
lock_wait: 30s
on_change: skip
generic: {event_id: id, timestamp: meta.ts, domain: "=shop"}
profiles:
  acme: {event_id: uuid, timestamp: ts}
csv_profiles:
  sales: {table: sales, key: [sale_id], order: updated_at}
sources:
  - url: s3://b/main_stream/
    profile: pismo
    since: 2024-02-01
tables:
  cards.card_blocked_1: {key: [data.card_id], order: event_time}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Lake != "./lake" || c.Workers != 3 || time.Duration(c.LockWait) != 30*time.Second || c.OnChange != "skip" ||
		c.Generic.Domain != "=shop" || c.Profiles["acme"].EventID != "uuid" || c.CSVProfiles["sales"].Key[0] != "sale_id" ||
		c.Sources[0].Since != "2024-02-01" || c.Tables["cards.card_blocked_1"].Key[0] != "data.card_id" {
		t.Errorf("parsed %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"workrs: 2":                                      "workrs",
		"on_change: maybe":                               "on_change",
		"zstd_level: 20":                                 "zstd_level",
		"lock_wait: soon":                                "duration",
		"sources: [{profile: pismo}]":                    "url is missing",
		"sources: [{url: x, since: yesterday}]":          "not a date",
		"generic: {event_id: id}":                        "timestamp",
		"profiles: {pismo: {event_id: a, timestamp: b}}": "built-in",
		"profiles: {fulfillmenttools: {event_id: a, timestamp: b}}": "built-in",
		"profiles: {auto: {event_id: a, timestamp: b}}":             "built-in",
		"profiles: {acme: {event_id: a}}":                           "profile acme: the mapping needs event_id and timestamp",
		"profiles: {acme: {event_id: '=a', timestamp: b}}":          "profile acme: event_id and timestamp must be paths, not constants",
		"csv_profiles: {x: {table: t}}":                             "key is missing",
	}
	for in, want := range cases {
		if _, err := Parse(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error %v, want one mentioning %q", in, err, want)
		}
	}
	if c, err := Parse(strings.NewReader("")); err != nil || c == nil {
		t.Errorf("empty config: %v", err)
	}
}

func TestParseTypes(t *testing.T) {
	c, err := Parse(strings.NewReader(`
tables:
  account.payment_1: {types: {data.amount: "DECIMAL(18,2)", data.fee.value: "decimal(38, 4)", data.tags: "VARCHAR[]"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tables["account.payment_1"].Types["data.amount"]; got != "DECIMAL(18,2)" {
		t.Errorf("types = %v", c.Tables["account.payment_1"].Types)
	}
	for _, bad := range []string{
		`{types: {amount: "DECIMAL(18,2)"}}`,             // not a data path
		`{types: {data.amount: "DECIMAL(18,2)); drop"}}`, // not a type
		`{types: {data.amount: ""}}`,
		`{types: {"data.": "BIGINT"}}`,
	} {
		if _, err := Parse(strings.NewReader("tables:\n  a.b: " + bad + "\n")); err == nil {
			t.Errorf("types %s: no error", bad)
		} else if !strings.Contains(err.Error(), "tables.a.b.types") {
			t.Errorf("types %s: error %q does not name the setting", bad, err)
		}
	}
}

func TestUnknownKeyNamesLineAndSuggestion(t *testing.T) {
	_, err := Parse(strings.NewReader("lake: x\nsources:\n  - url: s3://b/p/\n    profle: pismo\ntabels: {}\n"))
	for _, want := range []string{
		`unknown key "profle" in the config line 4; did you mean "profile"?`,
		`unknown key "tabels" in the config line 5; did you mean "tables"?`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "config.") {
		t.Errorf("error names Go types: %v", err)
	}
}
