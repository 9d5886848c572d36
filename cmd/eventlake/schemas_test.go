package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlake/eventlake/internal/testservers"
)

// The schema bucket in Pismo's layout (json_schemas/<domain>/<event_type>.json)
// types the views, and the shell says where each schema came from.
func TestSQLSchemasFromBucket(t *testing.T) {
	srv := testservers.S3(t)
	srv.CreateBucket(t, "pismo-data-prod-dataplatform-docs")
	srv.Put(t, "pismo-data-prod-dataplatform-docs", "json_schemas/cards/card-blocked-1.json", []byte(`{"$schema":"http://json-schema.org/draft-07/schema#",
 "type":"object","properties":{"card_id":{"type":"string"},"account_id":{"type":"integer"},"reason":{"type":"integer"}}}`))
	srv.Put(t, "pismo-data-prod-dataplatform-docs", "json_schemas/account/unrelated-1.json", []byte(`not read`))
	lake := sqlLake(t)
	for _, url := range []string{srv.URL("pismo-data-prod-dataplatform-docs", "json_schemas/", nil), srv.URL("pismo-data-prod-dataplatform-docs", "", nil)} {
		code, out, errOut := runCLI(t, "sql", "--lake", lake, "--schemas", url, "--format", "csv", "-c",
			`select column_name, column_type from (describe cards.card_blocked_1) where column_name in ('card_id', 'account_id', 'reason') order by 1;
select kind, origin, followed from eventlake.schema_changes where kind <> 'inferred';`)
		if code != 0 {
			t.Fatalf("--schemas %s: exit %d: %s", url, code, errOut)
		}
		want := "column_name,column_type\naccount_id,BIGINT\ncard_id,VARCHAR\nreason,BIGINT\nkind,origin,followed\nbucket,s3://pismo-data-prod-dataplatform-docs/json_schemas/cards/card-blocked-1.json,true\n"
		if out != want {
			t.Errorf("--schemas %s:\n%s\nwant\n%s", url, out, want)
		}
		if !strings.Contains(errOut, "warning: cards.card_blocked_1: column reason is declared BIGINT") || !strings.Contains(errOut, "has VARCHAR values") {
			t.Errorf("no type conflict warning: %q", errOut)
		}
	}
	// A bucket that cannot be read is an error, not silently inferred types.
	code, _, errOut := runCLI(t, "sql", "--lake", lake, "--schemas", srv.URL("no-such-bucket", "json_schemas/", nil), "-c", "select 1")
	if code == 0 || !strings.Contains(errOut, "no-such-bucket") {
		t.Errorf("missing bucket: exit %d, %q", code, errOut)
	}
}

// A json_schema_change event loaded into the lake types the next shell's view.
func TestSQLSchemaChangeEventTypesNextShell(t *testing.T) {
	lake := sqlLake(t)
	describe := `select column_type from (describe cards.card_blocked_1) where column_name = 'card_id'`
	if code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", describe); code != 0 || out != "column_type\nBIGINT\n" {
		t.Fatalf("before: exit %d %q %s", code, out, errOut)
	}
	src := t.TempDir()
	ev := `{"event_id":"sc-9","domain":"dataplatform","event_type":"json_schema_change","schema_version":"1","timestamp":"2024-05-01T00:00:00Z",` +
		`"data":{"change_type":"INSERT","schema_name":"cards/card-blocked-1","schema_domain":"cards","schema_event_type":"card-blocked","schema_version":"1",` +
		`"new_schema":"{\"type\":\"object\",\"properties\":{\"card_id\":{\"type\":\"string\"}}}"}}` + "\n"
	if err := os.WriteFile(filepath.Join(src, "change.json"), []byte(ev), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", src); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := runCLI(t, "sql", "--lake", lake, "--format", "csv", "-c", describe+`; select origin, change_type from eventlake.schema_changes where kind = 'event'`)
	if want := "column_type\nVARCHAR\norigin,change_type\nevent sc-9,INSERT\n"; code != 0 || out != want {
		t.Errorf("after the schema change: exit %d\n%s\nwant\n%s\n%s", code, out, want, errOut)
	}
}

// fulfillmenttools' order domain: the hint says how to write it.
func TestSQLReservedDomainHint(t *testing.T) {
	lake := t.TempDir()
	if code, _, errOut := runCLI(t, "load", "--lake", lake, "-q", testdata("fulfillmenttools")); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ := runCLI(t, "sql", "--lake", lake, "-c", ".tables order%")
	if code != 0 || !strings.Contains(out, `"order".order_created_event_v1`) {
		t.Errorf(".tables: exit %d %q", code, out)
	}
	code, _, errOut := runCLI(t, "sql", "--lake", lake, "-c", "select count(*) from order.order_created_event_v1")
	if code != 1 || !strings.Contains(errOut, `order is a reserved word: write "order".order_created_event_v1`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
